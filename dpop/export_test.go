package dpop

// The defaults, for the external tests.
const (
	DefaultLeeway = defaultLeeway
	MaxProofSize  = maxProofSize
)
