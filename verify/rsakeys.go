package verify

import (
	"crypto/rsa"
	"sync"

	"github.com/stepupauth/stepup/internal/rsapkcs1"
)

// maxPreparedKeys bounds a Verifier's prepared RSA keys. An issuer
// publishes a handful of keys and rotates them slowly; 256 covers many
// issuers. When full, the map is dropped and refilled from the keys in use.
const maxPreparedKeys = 256

// rsaKeyCache holds the RSA keys a Verifier's Source returned, prepared for
// rsapkcs1.Verify (modulus and Montgomery constants computed once), so that
// RS256/384/512 no longer pay crypto/rsa's per-call bigmod.NewModulus:
// work that depends only on the key is done once (see Speed in the
// package documentation).
//
// It is keyed by the *rsa.PublicKey pointer: a jwks.Set hands out the same
// *Key, and so the same *rsa.PublicKey, for as long as a key is unchanged,
// and a new one when it is replaced, so a refresh needs no invalidation.
// The pointer is only a hint: on every hit the prepared key is checked
// against the key's modulus and exponent as they are now (Matches), so a
// Source that changes a key in place, or reuses a pointer, is still checked
// with the key it returned. Entries are made only for keys a Source
// returned and checkKey accepted, never for anything a token carries.
//
// The keys are kept here, in the verifier, rather than prepared by jwks
// when a set is loaded: jwks.Key is an exported struct any Source can
// build, and holding an rsapkcs1.PublicKey in it would mean exporting an
// internal type or a side channel between the packages. This way every
// Source benefits, and a key's preparation happens on its first token
// instead of at load, which costs the same once.
//
// The zero value is ready; a nil *rsaKeyCache prepares a key per call and
// keeps nothing. It is safe for concurrent use.
type rsaKeyCache struct {
	mu   sync.RWMutex
	keys map[*rsa.PublicKey]*rsapkcs1.PublicKey
}

// get returns pub prepared, from the cache or by rsapkcs1.Prepare, which
// refuses keys outside the bounds checkKey applies.
func (c *rsaKeyCache) get(pub *rsa.PublicKey) (*rsapkcs1.PublicKey, error) {
	if c == nil {
		return rsapkcs1.Prepare(pub)
	}
	c.mu.RLock()
	p := c.keys[pub]
	c.mu.RUnlock()
	if p != nil && p.Matches(pub) {
		return p, nil
	}
	p, err := rsapkcs1.Prepare(pub)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxPreparedKeys {
		c.keys = make(map[*rsa.PublicKey]*rsapkcs1.PublicKey)
	}
	c.keys[pub] = p
	c.mu.Unlock()
	return p, nil
}
