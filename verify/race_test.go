//go:build race

package verify

// boundTestTokens is smaller under the race detector, which slows the
// million-token bound test about tenfold; the bound logic is the same.
const boundTestTokens = 200_000
