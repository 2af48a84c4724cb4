package introspect_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/introspect"
)

func TestNewRefusesBadConfig(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ok := introspect.Config{Endpoint: "https://as.example.com/introspect", ClientID: "rs", ClientSecret: "s"}
	tests := []struct {
		name string
		edit func(*introspect.Config)
		want string // in the message
	}{
		{"no endpoint", func(c *introspect.Config) { c.Endpoint = "" }, "Endpoint is empty"},
		{"http non-loopback", func(c *introspect.Config) { c.Endpoint = "http://as.example.com/introspect" }, "requires TLS"},
		{"http localhost name", func(c *introspect.Config) { c.Endpoint = "http://localhost:8080/introspect" }, "requires TLS"},
		{"other scheme", func(c *introspect.Config) { c.Endpoint = "ftp://as.example.com/introspect" }, "not https"},
		{"relative", func(c *introspect.Config) { c.Endpoint = "/introspect" }, "absolute"},
		{"fragment", func(c *introspect.Config) { c.Endpoint = "https://as.example.com/introspect#x" }, "fragment"},
		{"user info", func(c *introspect.Config) { c.Endpoint = "https://rs:pw@as.example.com/introspect" }, "user info"},
		{"no client id", func(c *introspect.Config) { c.ClientID = "" }, "ClientID"},
		{"no authentication", func(c *introspect.Config) { c.ClientSecret = "" }, "no client authentication"},
		{"two authentications", func(c *introspect.Config) { c.PrivateKey = p256 }, "exactly one"},
		{"SecretPost without secret", func(c *introspect.Config) { c.ClientSecret, c.PrivateKey, c.SecretPost = "", p256, true }, "SecretPost"},
		{"KeyID without key", func(c *introspect.Config) { c.KeyID = "k1" }, "KeyID"},
		{"RSA 1024", func(c *introspect.Config) { c.ClientSecret, c.PrivateKey = "", rsa1024 }, "2048"},
		{"P-224", func(c *introspect.Config) { c.ClientSecret, c.PrivateKey = "", p224 }, "curve"},
		{"RequireIssuer alone", func(c *introspect.Config) { c.RequireIssuer = true }, "RequireIssuer"},
		{"RequireAudience alone", func(c *introspect.Config) { c.RequireAudience = true }, "RequireAudience"},
		{"negative Leeway", func(c *introspect.Config) { c.Leeway = -time.Second }, "NoLeeway"},
		{"Leeway with NoLeeway", func(c *introspect.Config) { c.Leeway, c.NoLeeway = time.Second, true }, "one of them"},
		{"negative Timeout", func(c *introspect.Config) { c.Timeout = -1 }, "Timeout"},
		{"negative MaxResponseSize", func(c *introspect.Config) { c.MaxResponseSize = -1 }, "MaxResponseSize"},
		{"negative CacheTTL", func(c *introspect.Config) { c.CacheTTL = -1 }, "CacheTTL"},
		{"negative InactiveTTL", func(c *introspect.Config) { c.InactiveTTL = -1 }, "InactiveTTL"},
		{"negative StaleTTL", func(c *introspect.Config) { c.StaleTTL = -1 }, "StaleTTL"},
		{"negative CacheSize", func(c *introspect.Config) { c.CacheSize = -1 }, "CacheSize"},
		{"NoCache with CacheTTL", func(c *introspect.Config) { c.NoCache, c.CacheTTL = true, time.Minute }, "NoCache"},
		{"NoCache with StaleTTL", func(c *introspect.Config) { c.NoCache, c.StaleTTL = true, time.Minute }, "NoCache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := introspect.New(cfg)
			if !errors.Is(err, introspect.ErrConfig) {
				t.Fatalf("got %v, want an error wrapping ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestNewAcceptsEndpoints(t *testing.T) {
	for _, e := range []string{
		"https://as.example.com/introspect",
		"https://as.example.com/introspect?tenant=a", // RFC 6749 §3.1 allows a query
		"http://127.0.0.1:8080/introspect",
		"http://[::1]:8080/introspect",
	} {
		if _, err := introspect.New(introspect.Config{Endpoint: e, ClientID: "rs", ClientSecret: "s"}); err != nil {
			t.Errorf("New with Endpoint %q: %v", e, err)
		}
	}
}

// The caller's HTTP client is copied, not modified, when New makes it
// refuse redirects.
func TestNewLeavesCallerClient(t *testing.T) {
	hc := &http.Client{}
	mustNew(t, introspect.Config{Endpoint: "https://as.example.com/i", ClientID: "rs", ClientSecret: "s", HTTPClient: hc})
	if hc.CheckRedirect != nil {
		t.Error("New set CheckRedirect on the caller's client")
	}
}
