//go:build !race

package verify

// heapTestTokens is how many distinct tokens TestTokenCacheHeapBounded
// signs and verifies: the 2 MiB cache overflows about forty times.
const heapTestTokens = 40_000

// raceEnabled reports whether the race detector is on: it changes
// allocation counts (sync.Pool drops items at random under it), so tests
// that count allocations skip.
const raceEnabled = false
