package dpop

// The defaults, for the external tests.
const (
	DefaultMaxAge = defaultMaxAge
	DefaultLeeway = defaultLeeway
	MaxProofSize  = maxProofSize
)
