//go:build !race

package verify

// heapTestTokens is how many distinct tokens TestTokenCacheHeapBounded
// signs and verifies: the 2 MiB cache overflows about forty times.
const heapTestTokens = 40_000

// raceEnabled: allocation counts are not exact under the race detector.
const raceEnabled = false
