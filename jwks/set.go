package jwks

import (
	"context"
	"slices"
)

// Set is an immutable, validated key set. It implements Source for any
// issuer: use it for a fixed JWKS, or inside a Multi to bind it to one
// issuer. A Set is safe for concurrent use.
type Set struct {
	keys     []*Key          // usable keys in document order
	byID     map[string]*Key // usable keys that have a kid
	rejected []KeyError
}

// NewStatic parses an inline JWK Set (RFC 7517 §5). Bad keys are skipped
// (see ParseKey and Set.Rejected); a set with no usable key is an error
// wrapping ErrNoUsableKeys.
func NewStatic(jwksJSON []byte) (*Set, error) {
	s, err := parseSet(jwksJSON, nil)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Key returns the key with the given kid; issuer is ignored. A token
// without a kid (kid == "") gets the set's only key when the set holds
// exactly one key, and ErrUnknownKey otherwise (RFC 8725 §3.10: the key
// must be unambiguous).
func (s *Set) Key(_ context.Context, _ string, kid string) (*Key, error) {
	if k := s.lookup(kid); k != nil {
		return k, nil
	}
	return nil, ErrUnknownKey
}

func (s *Set) lookup(kid string) *Key {
	if s == nil {
		return nil
	}
	if kid == "" {
		if len(s.keys) == 1 {
			return s.keys[0]
		}
		return nil
	}
	return s.byID[kid]
}

// find returns the key of s equal to k (same kid, alg, kty and material).
func (s *Set) find(k *Key) *Key {
	if k.ID != "" {
		if old := s.byID[k.ID]; old != nil && sameKey(old, k) {
			return old
		}
		return nil
	}
	for _, old := range s.keys {
		if old.ID == "" && sameKey(old, k) {
			return old
		}
	}
	return nil
}

// Keys returns the usable keys in document order. The slice is a copy; the
// Keys must not be modified.
func (s *Set) Keys() []*Key { return slices.Clone(s.keys) }

// Rejected returns the keys of the document that were skipped, and why.
func (s *Set) Rejected() []KeyError { return slices.Clone(s.rejected) }
