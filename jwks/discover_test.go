package jwks_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
			if !slices.Equal(r.Issuers(), []string{issuer}) || r.URL() != p.URL+"/jwks" {
				t.Errorf("Issuers/URL: got %q %q", r.Issuers(), r.URL())
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
	// Both URLs tried, named in one line (a log line stays one line).
	if msg := err.Error(); strings.ContainsAny(msg, "\r\n") ||
		!strings.Contains(msg, "/.well-known/openid-configuration") ||
		!strings.Contains(msg, "/.well-known/oauth-authorization-server") {
		t.Errorf("no metadata: got message %q, want both URLs on one line", msg)
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

// tlsIDP is an https issuer on loopback (httptest.NewTLSServer) whose
// metadata names jwksURI(p); it serves a JWKS at /jwks as well.
func tlsIDP(t *testing.T, jwksURI func(p *httptest.Server) string) *httptest.Server {
	t.Helper()
	testKeys(t)
	var p *httptest.Server
	p = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"issuer": p.URL, "jwks_uri": jwksURI(p)})
		case "/jwks":
			w.Header().Set("Content-Type", "application/jwk-set+json")
			w.Write(setJSON(t, rsaJWK(t, 0, "k1")))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

// TestDiscoverDowngrade: an https issuer's keys come over https. A
// jwks_uri on plain http, even on a loopback address, is refused at
// discovery, before the JWKS is fetched, unless InsecureAllowHTTP is
// set.
func TestDiscoverDowngrade(t *testing.T) {
	plain := newJWKSServer(t, nil)
	plain.setBody(setJSON(t, rsaJWK(t, 0, "k1")))
	issuer := tlsIDP(t, func(*httptest.Server) string { return plain.URL + "/jwks" })
	ctx := context.Background()

	_, err := jwks.Discover(ctx, issuer.URL, jwks.WithHTTPClient(issuer.Client()))
	if !errors.Is(err, jwks.ErrDowngrade) {
		t.Fatalf("Discover: got %v, want an error wrapping ErrDowngrade", err)
	}
	var fe *jwks.FetchError
	if !errors.As(err, &fe) || !strings.HasSuffix(fe.URL, "/.well-known/openid-configuration") {
		t.Errorf("Discover: got %v, want a *FetchError naming the metadata document", err)
	}
	for _, want := range []string{"jwks: fetch ", "https issuer names a jwks_uri that is not https", plain.URL + "/jwks", "InsecureAllowHTTP"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to contain %q", err, want)
		}
	}
	if n := plain.fetches.Load(); n != 0 {
		t.Errorf("the http JWKS was fetched %d times, want 0", n)
	}

	r, err := jwks.Discover(ctx, issuer.URL, jwks.WithHTTPClient(issuer.Client()), jwks.InsecureAllowHTTP())
	if err != nil {
		t.Fatalf("Discover with InsecureAllowHTTP: %v", err)
	}
	defer r.Close()
	if _, err := r.Key(ctx, issuer.URL, "k1"); err != nil {
		t.Errorf("Key after an allowed downgrade: %v", err)
	}
}

// TestDiscoverHTTPS: an https issuer with an https jwks_uri, and a
// loopback http issuer with a loopback http jwks_uri (tests, stepuptest),
// need no option.
func TestDiscoverHTTPS(t *testing.T) {
	ctx := context.Background()
	issuer := tlsIDP(t, func(p *httptest.Server) string { return p.URL + "/jwks" })
	r, err := jwks.Discover(ctx, issuer.URL, jwks.WithHTTPClient(issuer.Client()))
	if err != nil {
		t.Fatalf("https issuer, https jwks_uri: %v", err)
	}
	r.Close()

	p := newIDP(t)
	p.serve("/.well-known/openid-configuration", map[string]any{"issuer": p.URL, "jwks_uri": p.URL + "/jwks"})
	r, err = jwks.Discover(ctx, p.URL)
	if err != nil {
		t.Fatalf("loopback http issuer, loopback http jwks_uri: %v", err)
	}
	r.Close()
}

// TestDiscoverJWKSHosts: with WithJWKSHosts, a discovered jwks_uri on a
// host outside the list is refused before it is fetched.
func TestDiscoverJWKSHosts(t *testing.T) {
	ctx := context.Background()
	var fetched atomic.Int64
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(setJSON(t, rsaJWK(t, 0, "k1")))
	}))
	defer other.Close()
	// The tenant's issuer points its jwks_uri at another host: [::1]
	// stands in for an internal service.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "[::1]", 1)
	if otherURL == other.URL {
		t.Skipf("test server not on 127.0.0.1: %s", other.URL)
	}
	issuer := tlsIDP(t, func(*httptest.Server) string { return otherURL + "/jwks" })

	_, err := jwks.Discover(ctx, issuer.URL, jwks.WithHTTPClient(issuer.Client()), jwks.WithJWKSHosts("127.0.0.1", "*.example.com"))
	if !errors.Is(err, jwks.ErrHostNotAllowed) {
		t.Fatalf("jwks_uri host outside the list: got %v, want ErrHostNotAllowed", err)
	}
	var fe *jwks.FetchError
	if !errors.As(err, &fe) {
		t.Errorf("got %T, want a *FetchError", err)
	}
	if !strings.Contains(err.Error(), `"::1"`) || !strings.Contains(err.Error(), "WithJWKSHosts") {
		t.Errorf("error %q: want the refused host and how to allow it", err)
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the refused JWKS host was fetched %d times, want 0", n)
	}

	// The same document with the host in the list: the keys are fetched.
	issuer = tlsIDP(t, func(p *httptest.Server) string { return p.URL + "/jwks" })
	r, err := jwks.Discover(ctx, issuer.URL, jwks.WithHTTPClient(issuer.Client()), jwks.WithJWKSHosts("idp.example.com", "127.0.0.1"))
	if err != nil {
		t.Fatalf("jwks_uri host in the list: %v", err)
	}
	r.Close()
}

// TestWithJWKSHosts: how entries match (NewRemote applies the list to its
// URL without fetching) and which entries are configuration errors.
func TestWithJWKSHosts(t *testing.T) {
	tests := []struct {
		url   string
		hosts []string
		ok    bool
	}{
		{"https://idp.example.com/jwks", []string{"idp.example.com"}, true},
		{"https://IDP.Example.COM:8443/jwks", []string{"idp.example.com"}, true},
		{"https://idp.example.com./jwks", []string{"idp.example.com"}, true},
		{"https://idp.example.com/jwks", []string{"IDP.example.com."}, true},
		{"https://idp.example.com/jwks", []string{"other.example.com", "idp.example.com"}, true},
		{"https://evil.example.net/jwks", []string{"idp.example.com"}, false},
		{"https://idp.example.com.evil.net/jwks", []string{"idp.example.com"}, false},
		{"https://example.com/jwks", []string{"idp.example.com"}, false},
		{"https://tenant.auth0.com/.well-known/jwks.json", []string{"*.auth0.com"}, true},
		{"https://a.b.auth0.com/jwks", []string{"*.auth0.com"}, true},
		{"https://auth0.com/jwks", []string{"*.auth0.com"}, false},
		{"https://evilauth0.com/jwks", []string{"*.auth0.com"}, false},
		{"https://127.0.0.1/jwks", []string{"*.0.0.1"}, false}, // wildcards match names, not IPs
		{"http://127.0.0.1:8080/jwks", []string{"127.0.0.1"}, true},
		{"http://127.0.0.2:8080/jwks", []string{"127.0.0.1"}, false},
		{"http://[::1]:9000/jwks", []string{"::1"}, true},
		{"http://[::1]:9000/jwks", []string{"[0:0:0:0:0:0:0:1]"}, true},
		// The list adds to the https rule, it does not replace it.
		{"http://idp.example.com/jwks", []string{"idp.example.com"}, false},
	}
	for _, tt := range tests {
		r, err := jwks.NewRemote(tt.url, jwks.WithJWKSHosts(tt.hosts...))
		if (err == nil) != tt.ok {
			t.Errorf("NewRemote(%q, WithJWKSHosts(%q)): got err %v, want ok=%v", tt.url, tt.hosts, err, tt.ok)
		}
		if err == nil {
			r.Close()
			continue
		}
		if !strings.HasPrefix(err.Error(), "jwks: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}

	for _, bad := range [][]string{
		{},
		{""},
		{"https://idp.example.com"},
		{"idp.example.com:443"},
		{"idp.example.com/jwks"},
		{"*"},
		{"*.*.example.com"},
		{"idp..example.com"},
		{"idp.example.com", "user@idp.example.com"},
		{"fe80::1%eth0"},
	} {
		_, err := jwks.NewRemote("https://idp.example.com/jwks", jwks.WithJWKSHosts(bad...))
		if err == nil {
			t.Errorf("WithJWKSHosts(%q): got no error", bad)
			continue
		}
		if errors.Is(err, jwks.ErrHostNotAllowed) || !strings.Contains(err.Error(), "WithJWKSHosts") {
			t.Errorf("WithJWKSHosts(%q): got %q, want a configuration error naming the option", bad, err)
		}
	}
	// A later call replaces the list.
	if _, err := jwks.NewRemote("https://b.example.com/jwks", jwks.WithJWKSHosts("a.example.com"), jwks.WithJWKSHosts("b.example.com")); err != nil {
		t.Errorf("second WithJWKSHosts call: %v, want it to replace the first", err)
	}
}
