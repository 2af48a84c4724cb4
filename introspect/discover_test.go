package introspect_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stepupauth/stepup/introspect"
)

// metadataServer serves metadata documents by path, built by doc from the
// server's own URL, and an introspection endpoint at /introspect.
type metadataServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newMetadataServer(t *testing.T, tls bool, docs func(base string) map[string]string) *metadataServer {
	return newMetadataServerAnswering(t, tls, `{"active":true,"sub":"alice"}`, docs)
}

// newMetadataServerAnswering is newMetadataServer whose endpoint answers
// body.
func newMetadataServerAnswering(t *testing.T, tls bool, body string, docs func(base string) map[string]string) *metadataServer {
	t.Helper()
	m := &metadataServer{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.seen = append(m.seen, r.URL.Path)
		m.mu.Unlock()
		if r.URL.Path == "/introspect" {
			answer(body)(w, r)
			return
		}
		doc, ok := docs(m.URL)[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc)
	})
	if tls {
		m.Server = httptest.NewTLSServer(h)
	} else {
		m.Server = httptest.NewServer(h)
	}
	t.Cleanup(m.Close)
	return m
}

func (m *metadataServer) paths() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.seen...)
}

func doc(issuer, endpoint string) string {
	return `{"issuer":"` + issuer + `","introspection_endpoint":"` + endpoint + `"}`
}

func discoverCfg() introspect.Config {
	return introspect.Config{ClientID: "rs", ClientSecret: "secret", Now: newClock().Now}
}

func TestDiscover(t *testing.T) {
	t.Run("RFC 8414", func(t *testing.T) {
		m := newMetadataServer(t, false, func(base string) map[string]string {
			return map[string]string{"/.well-known/oauth-authorization-server": doc(base, base+"/introspect")}
		})
		c, err := introspect.Discover(ctx, m.URL, discoverCfg())
		if err != nil {
			t.Fatal(err)
		}
		if cl, err := c.Introspect(ctx, token); err != nil || cl.Subject != "alice" {
			t.Fatalf("Introspect: %v, %v", cl, err)
		}
	})
	t.Run("issuer with a path", func(t *testing.T) {
		m := newMetadataServer(t, false, func(base string) map[string]string {
			return map[string]string{"/.well-known/oauth-authorization-server/tenant": doc(base+"/tenant", base+"/introspect")}
		})
		if _, err := introspect.Discover(ctx, m.URL+"/tenant", discoverCfg()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OpenID Connect fallback", func(t *testing.T) {
		m := newMetadataServer(t, false, func(base string) map[string]string {
			return map[string]string{"/tenant/.well-known/openid-configuration": doc(base+"/tenant", base+"/introspect")}
		})
		if _, err := introspect.Discover(ctx, m.URL+"/tenant", discoverCfg()); err != nil {
			t.Fatal(err)
		}
		if p := m.paths(); len(p) != 2 || p[0] != "/.well-known/oauth-authorization-server/tenant" {
			t.Errorf("paths %q, want RFC 8414 first, then OIDC", p)
		}
	})
	t.Run("issuer mismatch", func(t *testing.T) {
		m := newMetadataServer(t, false, func(base string) map[string]string {
			return map[string]string{
				"/.well-known/oauth-authorization-server": doc("https://evil.example", base+"/introspect"),
				"/.well-known/openid-configuration":       doc(base, base+"/introspect"),
			}
		})
		_, err := introspect.Discover(ctx, m.URL, discoverCfg())
		if !errors.Is(err, introspect.ErrIssuerMismatch) {
			t.Fatalf("got %v, want ErrIssuerMismatch", err)
		}
		if p := m.paths(); len(p) != 1 {
			t.Errorf("paths %q: a mismatch must not fall back", p)
		}
	})
	t.Run("no introspection_endpoint", func(t *testing.T) {
		m := newMetadataServer(t, false, func(base string) map[string]string {
			return map[string]string{"/.well-known/oauth-authorization-server": `{"issuer":"` + base + `"}`}
		})
		if _, err := introspect.Discover(ctx, m.URL, discoverCfg()); err == nil || !strings.Contains(err.Error(), "introspection_endpoint") {
			t.Fatalf("got %v, want an error naming introspection_endpoint", err)
		}
	})
	t.Run("https issuer with an http endpoint", func(t *testing.T) {
		m := newMetadataServer(t, true, func(base string) map[string]string {
			return map[string]string{"/.well-known/oauth-authorization-server": doc(base, "http://127.0.0.1:1/introspect")}
		})
		cfg := discoverCfg()
		cfg.HTTPClient = m.Client()
		if _, err := introspect.Discover(ctx, m.URL, cfg); err == nil || !strings.Contains(err.Error(), "not https") {
			t.Fatalf("got %v, want a downgrade refused", err)
		}
	})
	t.Run("https issuer", func(t *testing.T) {
		m := newMetadataServer(t, true, func(base string) map[string]string {
			return map[string]string{"/.well-known/oauth-authorization-server": doc(base, base+"/introspect")}
		})
		cfg := discoverCfg()
		cfg.HTTPClient = m.Client()
		c, err := introspect.Discover(ctx, m.URL, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Introspect(ctx, token); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the discovered issuer is checked", func(t *testing.T) {
		m := newMetadataServerAnswering(t, false, `{"active":true,"iss":"https://evil.example"}`, func(base string) map[string]string {
			return map[string]string{"/.well-known/oauth-authorization-server": doc(base, base+"/introspect")}
		})
		c, err := introspect.Discover(ctx, m.URL, discoverCfg())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Introspect(ctx, token)
		if got := reason(t, err); got != introspect.ReasonIssuer {
			t.Errorf("reason %q, want issuer", got)
		}
	})
}

func TestDiscoverConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		issuer string
		edit   func(*introspect.Config)
	}{
		{"Endpoint set", "https://as.example.com", func(c *introspect.Config) { c.Endpoint = "https://as.example.com/i" }},
		{"other Issuer", "https://as.example.com", func(c *introspect.Config) { c.Issuer = "https://other.example.com" }},
		{"http issuer", "http://as.example.com", nil},
		{"issuer with query", "https://as.example.com?x=1", nil},
		{"no client authentication", "https://as.example.com", func(c *introspect.Config) { c.ClientSecret = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := discoverCfg()
			if tt.edit != nil {
				tt.edit(&cfg)
			}
			if _, err := introspect.Discover(ctx, tt.issuer, cfg); !errors.Is(err, introspect.ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
}
