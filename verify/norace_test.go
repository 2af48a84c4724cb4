//go:build !race

package verify

// boundTestTokens is how many distinct tokens the bound test inserts.
const boundTestTokens = 1_000_000
