package jwks

import (
	"context"
	"maps"
	"slices"
)

// Multi routes lookups to one Source per issuer. A lookup for an issuer it
// does not hold returns ErrUnknownIssuer at once, without any fetch. It is
// safe for concurrent use; it does not own (or close) its sources.
type Multi struct {
	byIssuer map[string]Source
}

// NewMulti returns a Multi for the given issuer -> Source map (copied).
// Issuers are matched exactly (no normalisation of trailing slashes). It
// is an error to pass no issuer, an empty issuer, a nil Source, or an
// IssuerSource (such as a discovered Remote) under an issuer it does not
// serve.
func NewMulti(bySource map[string]Source) (*Multi, error) {
	if len(bySource) == 0 {
		return nil, errorf("multi: no issuers")
	}
	for iss, src := range bySource {
		if iss == "" {
			return nil, errorf("multi: empty issuer")
		}
		if src == nil {
			return nil, errorf("multi: nil source for issuer %q", iss)
		}
		if is, ok := src.(IssuerSource); ok {
			if served := is.Issuers(); len(served) > 0 && !slices.Contains(served, iss) {
				return nil, errorf("multi: source for issuer %q serves only %q", iss, served)
			}
		}
	}
	return &Multi{byIssuer: maps.Clone(bySource)}, nil
}

// Key implements Source.
func (m *Multi) Key(ctx context.Context, issuer, kid string) (*Key, error) {
	src, ok := m.byIssuer[issuer]
	if !ok {
		return nil, ErrUnknownIssuer
	}
	return src.Key(ctx, issuer, kid)
}

// Issuers returns the configured issuers, sorted. It implements
// IssuerSource.
func (m *Multi) Issuers() []string {
	return slices.Sorted(maps.Keys(m.byIssuer))
}
