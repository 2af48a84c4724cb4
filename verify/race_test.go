//go:build race

package verify

// heapTestTokens is how many distinct tokens TestTokenCacheHeapBounded
// signs and verifies. The race detector slows signing several times over;
// 10,000 tokens still overflow the 2 MiB cache about ten times.
const heapTestTokens = 10_000

// raceEnabled: allocation counts are not exact under the race detector.
const raceEnabled = true
