package jwks_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stepupauth/stepup/jwks"
)

// TestMulti: lookups are routed by issuer; an unknown issuer is rejected
// with zero fetches.
func TestMulti(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, setJSON(t, rsaJWK(t, 1, "remote-key")))
	static, err := jwks.NewStatic(setJSON(t, rsaJWK(t, 0, "static-key")))
	if err != nil {
		t.Fatal(err)
	}
	m, err := jwks.NewMulti(map[string]jwks.Source{
		"https://a.example/": static,
		"https://b.example/": h.remote,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Issuers(); !slices.Equal(got, []string{"https://a.example/", "https://b.example/"}) {
		t.Errorf("Issuers: got %v", got)
	}
	for _, iss := range []string{"https://evil.example/", "https://b.example", "", "HTTPS://B.EXAMPLE/"} {
		if _, err := m.Key(ctx, iss, "remote-key"); !errors.Is(err, jwks.ErrUnknownIssuer) {
			t.Errorf("Key(%q): got %v, want ErrUnknownIssuer", iss, err)
		}
	}
	if got := h.srv.fetches.Load(); got != 0 {
		t.Errorf("fetches after unknown issuers: got %d, want 0", got)
	}
	if k, err := m.Key(ctx, "https://a.example/", "static-key"); err != nil || k.ID != "static-key" {
		t.Errorf("static issuer: got (%v, %v)", k, err)
	}
	if _, err := m.Key(ctx, "https://a.example/", "remote-key"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("key of another issuer: got %v, want ErrUnknownKey", err)
	}
	if k, err := m.Key(ctx, "https://b.example/", "remote-key"); err != nil || k.ID != "remote-key" {
		t.Errorf("remote issuer: got (%v, %v)", k, err)
	}
	if got := h.srv.fetches.Load(); got != 1 {
		t.Errorf("fetches: got %d, want 1", got)
	}
}

func TestNewMultiErrors(t *testing.T) {
	static, err := jwks.NewStatic(setJSON(t, rsaJWK(t, 0, "k")))
	if err != nil {
		t.Fatal(err)
	}
	p := newIDP(t)
	p.serve("/.well-known/openid-configuration", map[string]any{"issuer": p.URL, "jwks_uri": p.URL + "/jwks"})
	discovered, err := jwks.Discover(context.Background(), p.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer discovered.Close()
	tests := []struct {
		name string
		m    map[string]jwks.Source
	}{
		{"nil map", nil},
		{"empty issuer", map[string]jwks.Source{"": static}},
		{"nil source", map[string]jwks.Source{"https://a.example/": nil}},
		{"discovered for another issuer", map[string]jwks.Source{p.URL + "/": discovered}},
	}
	for _, tt := range tests {
		if _, err := jwks.NewMulti(tt.m); err == nil {
			t.Errorf("%s: got no error", tt.name)
		}
	}
	if _, err := jwks.NewMulti(map[string]jwks.Source{p.URL: discovered}); err != nil {
		t.Errorf("discovered under its issuer: %v", err)
	}
}
