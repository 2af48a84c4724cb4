// Package keyfuncadapter serves stepup verification keys from the key
// storage of an existing github.com/MicahParks/keyfunc/v3 Keyfunc, so that
// a golang-jwt + keyfunc application can adopt stepup without running a
// second JWKS cache. It lives apart from package jwks to keep keyfunc out
// of jwks' import graph.
//
//	k, err := keyfunc.NewDefaultCtx(ctx, []string{"https://idp.example.com/jwks"})
//	if err != nil { ... }
//	v, err := verify.New(keyfuncadapter.FromKeyfunc(k), cfg)
//
// Every JWK goes through jwks.ParseKey, so the rules of package jwks apply
// (no symmetric keys, RSA >= 2048 bits, use/key_ops allow verification,
// alg fits the key, public part only). A kid shared by several keys in the
// storage is ambiguous and not served. A token without kid is matched only
// when the storage holds exactly one key (RFC 8725 §3.10). Refreshing is
// left to keyfunc: an unknown kid goes through the storage's KeyRead, which
// for keyfunc's HTTP storage refreshes under its own rate limit.
//
// See RFC 7517 (https://www.rfc-editor.org/rfc/rfc7517) and RFC 8725
// (https://www.rfc-editor.org/rfc/rfc8725).
package keyfuncadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"

	"github.com/stepupauth/stepup/jwks"
)

// FromKeyfunc returns a jwks.Source backed by k.Storage(). The Source is
// safe for concurrent use (as long as the storage is, which keyfunc's are)
// and ignores the issuer: bind it to one with jwks.NewMulti when several
// issuers are accepted.
func FromKeyfunc(k keyfunc.Keyfunc) jwks.Source {
	return FromStorage(k.Storage())
}

// FromStorage returns a jwks.Source backed by a jwkset.Storage.
func FromStorage(s jwkset.Storage) jwks.Source {
	return &source{storage: s, cache: make(map[string]cached)}
}

// source converts storage JWKs to *jwks.Key and remembers the conversion
// per kid, so that an unchanged JWK keeps returning the same *jwks.Key
// pointer (the verified-token cache relies on it) and a lookup only reads
// the storage's snapshot and compares members: no JSON, no parsing. A JWK
// whose public members changed under the same kid is converted again and
// gets a new *jwks.Key.
type source struct {
	storage jwkset.Storage

	mu    sync.Mutex
	cache map[string]cached // by kid
}

type cached struct {
	jwk jwkset.JWKMarshal // public members the key was parsed from
	key *jwks.Key
}

const storageName = "keyfunc storage"

func (s *source) Key(ctx context.Context, _ string, kid string) (*jwks.Key, error) {
	all, err := s.storage.KeyReadAll(ctx)
	if err != nil {
		return nil, s.unavailable(ctx, err)
	}
	i, n := match(all, kid)
	if n == 0 && kid != "" {
		// Let the storage refresh on an unknown kid (keyfunc's HTTP
		// storage does so under its rate limit), then look again.
		if _, err := s.storage.KeyRead(ctx, kid); err != nil {
			if errors.Is(err, jwkset.ErrKeyNotFound) {
				return nil, jwks.ErrUnknownKey
			}
			return nil, s.unavailable(ctx, err)
		}
		if all, err = s.storage.KeyReadAll(ctx); err != nil {
			return nil, s.unavailable(ctx, err)
		}
		i, n = match(all, kid)
	}
	switch {
	case n == 0:
		return nil, jwks.ErrUnknownKey
	case n > 1:
		return nil, fmt.Errorf("%w: %w", jwks.ErrUnknownKey, &jwks.KeyError{KID: kid, Reason: "duplicate kid"})
	}
	return s.convert(all[i].Marshal(), len(all))
}

// match returns the index of the first JWK named kid and how many there
// are; for kid "" the only JWK of a one-key storage.
func match(all []jwkset.JWK, kid string) (first, n int) {
	if kid == "" {
		if len(all) == 1 {
			return 0, 1
		}
		return 0, 0
	}
	first = -1
	for i := range all {
		if all[i].Marshal().KID == kid {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	return first, n
}

// convert returns the *jwks.Key for the JWK m: the cached one when m's
// public members are unchanged, else a fresh conversion of its public part
// through jwks.ParseKey.
func (s *source) convert(m jwkset.JWKMarshal, storageLen int) (*jwks.Key, error) {
	m.D, m.P, m.Q, m.DP, m.DQ, m.QI, m.OTH = "", "", "", "", "", "", nil
	s.mu.Lock()
	c, ok := s.cache[m.KID]
	s.mu.Unlock()
	if ok && samePublic(&c.jwk, &m) {
		return c.key, nil
	}

	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", jwks.ErrUnknownKey, &jwks.KeyError{KID: m.KID, Reason: "malformed jwk"})
	}
	k, err := jwks.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", jwks.ErrUnknownKey, err)
	}
	m.KEYOPS = slices.Clone(m.KEYOPS) // the cache keeps its own copies
	m.X5C = slices.Clone(m.X5C)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cache[m.KID]; ok && samePublic(&c.jwk, &m) {
		return c.key, nil // another lookup converted it meanwhile
	}
	if len(s.cache) > storageLen+16 {
		// Kids left the storage: start over. Keys still present are parsed
		// again and get new pointers, which only costs a cache miss to
		// whoever keys on them.
		clear(s.cache)
	}
	s.cache[m.KID] = cached{jwk: m, key: k}
	return k, nil
}

// samePublic reports whether two JWKs have the same public members (the
// private ones are cleared before caching and comparing).
func samePublic(a, b *jwkset.JWKMarshal) bool {
	return a.KTY == b.KTY && a.USE == b.USE && slices.Equal(a.KEYOPS, b.KEYOPS) &&
		a.ALG == b.ALG && a.KID == b.KID && a.X5U == b.X5U && slices.Equal(a.X5C, b.X5C) &&
		a.X5T == b.X5T && a.X5TS256 == b.X5TS256 && a.CRV == b.CRV &&
		a.X == b.X && a.Y == b.Y && a.N == b.N && a.E == b.E && a.K == b.K
}

func (s *source) unavailable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &jwks.UnavailableError{URL: storageName, Err: err}
}
