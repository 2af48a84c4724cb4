//go:build race

package verify

// heapTestTokens is how many distinct tokens TestTokenCacheHeapBounded
// signs and verifies. The race detector slows signing several times over;
// 10,000 tokens still overflow the 2 MiB cache about ten times.
const heapTestTokens = 10_000

// raceEnabled reports whether the race detector is on: it changes
// allocation counts (sync.Pool drops items at random under it), so tests
// that count allocations skip.
const raceEnabled = true
