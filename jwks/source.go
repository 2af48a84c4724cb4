package jwks

import (
	"context"
	"crypto"
	"errors"
)

// Key is one verification key of an issuer's key set.
type Key struct {
	ID        string           // kid
	Algorithm string           // the JWK's alg; empty when the JWK has none
	KeyType   string           // kty: "RSA", "EC" or "OKP"
	Public    crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// Source gives the verifier the key that signed a token. Implementations
// are safe for concurrent use.
//
// Key returns the key with the given kid from the issuer's set. It returns
// an error matching ErrUnknownIssuer for an issuer the source does not serve
// (without fetching anything), ErrUnknownKey when the kid is not in the set
// even after any refresh the source allows, and claims.ErrUnavailable when
// the set cannot be had.
type Source interface {
	Key(ctx context.Context, issuer, kid string) (*Key, error)
}

// IssuerSource is implemented by a Source that serves only some issuers,
// each from its own key set, and can say which: Multi, and a Remote made
// by Discover. A verifier accepting several issuers checks its
// configuration against Issuers, so that a token from one issuer cannot
// verify with another's keys. A nil or empty result means the source
// serves any issuer from one key set (a Remote made by NewRemote).
type IssuerSource interface {
	Source
	Issuers() []string
}

// Errors a Source returns, to be tested with errors.Is.
var (
	ErrUnknownIssuer = errors.New("jwks: unknown issuer")
	ErrUnknownKey    = errors.New("jwks: unknown key id")
)
