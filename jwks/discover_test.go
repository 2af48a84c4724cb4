package jwks_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stepupauth/stepup/jwks"
)

// idp is a loopback authorization server serving metadata documents at
// chosen paths and a JWKS at /jwks; it records the paths requested.
type idp struct {
	*httptest.Server
	mu    sync.Mutex
	docs  map[string]map[string]any // path -> document
	paths []string
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	testKeys(t)
	p := &idp{docs: map[string]map[string]any{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths = append(p.paths, r.URL.Path)
		doc, ok := p.docs[r.URL.Path]
		p.mu.Unlock()
		switch {
		case r.URL.Path == "/jwks":
			w.Header().Set("Content-Type", "application/jwk-set+json")
			w.Write(setJSON(t, rsaJWK(t, 0, "k1")))
		case ok:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(doc)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *idp) serve(path string, doc map[string]any) {
	p.mu.Lock()
	p.docs[path] = doc
	p.mu.Unlock()
}

func (p *idp) requested() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name      string
		issuerPth string // appended to the server URL
		docPath   string // where the server publishes the document
		docIssuer string // "" = the issuer itself
		wantPaths []string
	}{
		{"oidc root", "", "/.well-known/openid-configuration", "",
			[]string{"/.well-known/openid-configuration", "/jwks"}},
		{"oidc trailing slash", "/", "/.well-known/openid-configuration", "",
			[]string{"/.well-known/openid-configuration", "/jwks"}},
		{"oidc tenant path with slash", "/tenant/", "/tenant/.well-known/openid-configuration", "",
			[]string{"/tenant/.well-known/openid-configuration", "/jwks"}},
		{"rfc 8414 fallback root", "", "/.well-known/oauth-authorization-server", "",
			[]string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks"}},
		{"rfc 8414 path insertion", "/tenant/a/", "/.well-known/oauth-authorization-server/tenant/a", "",
			[]string{"/tenant/a/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/tenant/a", "/jwks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			issuer := p.URL + tt.issuerPth
			p.serve(tt.docPath, map[string]any{"issuer": issuer, "jwks_uri": p.URL + "/jwks"})
			r, err := jwks.Discover(context.Background(), issuer)
			if err != nil {
				t.Fatalf("Discover(%q): %v", issuer, err)
			}
			defer r.Close()
			if got := strings.Join(p.requested(), " "); got != strings.Join(tt.wantPaths, " ") {
				t.Errorf("requests: got %q, want %q", got, strings.Join(tt.wantPaths, " "))
			}
			if r.Issuer() != issuer || r.URL() != p.URL+"/jwks" {
				t.Errorf("Issuer/URL: got %q %q", r.Issuer(), r.URL())
			}
			// Warm: no further fetch for a known key.
			if k, err := r.Key(context.Background(), issuer, "k1"); err != nil || k.ID != "k1" {
				t.Errorf("Key: got (%v, %v), want k1", k, err)
			}
			if _, err := r.Key(context.Background(), issuer+"x", "k1"); !errors.Is(err, jwks.ErrUnknownIssuer) {
				t.Errorf("Key for another issuer: got %v, want ErrUnknownIssuer", err)
			}
			if n := len(p.requested()); n != len(tt.wantPaths) {
				t.Errorf("requests after lookups: got %d, want %d", n, len(tt.wantPaths))
			}
		})
	}
}

func TestDiscoverRejects(t *testing.T) {
	tests := []struct {
		name     string
		doc      func(p *idp, issuer string) map[string]any
		mismatch bool
		want     string
	}{
		{"issuer mismatch", func(p *idp, issuer string) map[string]any {
			return map[string]any{"issuer": "https://evil.example.com", "jwks_uri": p.URL + "/jwks"}
		}, true, "discovered issuer does not match"},
		{"issuer differs by trailing slash", func(p *idp, issuer string) map[string]any {
			return map[string]any{"issuer": issuer + "/", "jwks_uri": p.URL + "/jwks"}
		}, true, "discovered issuer does not match"},
		{"issuer missing", func(p *idp, issuer string) map[string]any {
			return map[string]any{"jwks_uri": p.URL + "/jwks"}
		}, true, "discovered issuer does not match"},
		{"jwks_uri over http", func(p *idp, issuer string) map[string]any {
			return map[string]any{"issuer": issuer, "jwks_uri": "http://idp.example.com/jwks"}
		}, false, "url must be https"},
		{"jwks_uri missing", func(p *idp, issuer string) map[string]any {
			return map[string]any{"issuer": issuer}
		}, false, "no jwks_uri"},
		{"jwks_uri not a string", func(p *idp, issuer string) map[string]any {
			return map[string]any{"issuer": issuer, "jwks_uri": 7}
		}, false, "malformed metadata document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			issuer := p.URL
			p.serve("/.well-known/openid-configuration", tt.doc(p, issuer))
			r, err := jwks.Discover(context.Background(), issuer)
			if err == nil {
				r.Close()
				t.Fatal("Discover: got no error")
			}
			if got := errors.Is(err, jwks.ErrIssuerMismatch); got != tt.mismatch {
				t.Errorf("errors.Is(ErrIssuerMismatch): got %v, want %v (%v)", got, tt.mismatch, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error: got %q, want it to contain %q", err, tt.want)
			}
			for _, path := range p.requested() {
				if path == "/jwks" {
					t.Errorf("the JWKS was fetched after a rejected document")
				}
				if tt.mismatch && strings.Contains(path, "oauth-authorization-server") {
					t.Errorf("fallback tried after an issuer mismatch")
				}
			}
		})
	}
}

func TestDiscoverFailures(t *testing.T) {
	p := newIDP(t)
	ctx := context.Background()
	// Nothing published: both documents 404.
	_, err := jwks.Discover(ctx, p.URL)
	var fe *jwks.FetchError
	if !errors.As(err, &fe) || fe.StatusCode != http.StatusNotFound {
		t.Errorf("no metadata: got %v, want a 404 *FetchError", err)
	}
	// Unreachable issuer: fails fast with an error.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	if _, err := jwks.Discover(ctx, dead.URL); err == nil {
		t.Errorf("unreachable issuer: got no error")
	}
	for _, bad := range []string{"http://idp.example.com", "https://idp.example.com/?q=1", "https://idp.example.com/#f", "not a url"} {
		if _, err := jwks.Discover(ctx, bad); err == nil {
			t.Errorf("Discover(%q): got no error", bad)
		}
	}
}
