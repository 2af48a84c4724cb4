package stepuptest

// Unexported values the external tests assert on.
var (
	ErrUnsupportedAlgorithm = errUnsupportedAlgorithm
	ErrUnknownKey           = errUnknownKey
)
