package jwks_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/stepupauth/stepup/jwks"
)

// Keys generated once per test binary (RSA generation is slow under -race).
var (
	keysOnce sync.Once
	rsaKeys  []*rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	edPub    ed25519.PublicKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys = append(rsaKeys, k)
		}
		var err error
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if edPub, _, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
}

// jwkMap renders key (public or private) as a JWK object with extra members.
func jwkMap(t testing.TB, key any, kid string, extra map[string]any) map[string]any {
	t.Helper()
	k, err := jwk.Import(key)
	if err != nil {
		t.Fatalf("jwk.Import: %v", err)
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		m["kid"] = kid
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

// setJSON renders a JWK Set document.
func setJSON(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rsaJWK is the public JWK of the i-th test RSA key with kid and alg RS256.
func rsaJWK(t testing.TB, i int, kid string) map[string]any {
	testKeys(t)
	return jwkMap(t, &rsaKeys[i].PublicKey, kid, map[string]any{"alg": "RS256", "use": "sig"})
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// jwksServer is a loopback JWKS endpoint whose answer the test controls.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64

	mu      sync.Mutex
	body    []byte
	ctype   string
	status  int
	cache   string
	handler http.HandlerFunc // overrides everything when set
}

func newJWKSServer(t testing.TB, body []byte) *jwksServer {
	t.Helper()
	s := &jwksServer{body: body, ctype: "application/jwk-set+json; charset=utf-8", status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		h, body, ctype, status, cache := s.handler, s.body, s.ctype, s.status, s.cache
		s.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", ctype)
		if cache != "" {
			w.Header().Set("Cache-Control", cache)
		}
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *jwksServer) setBody(b []byte) { s.set(func(s *jwksServer) { s.body = b }) }

func (s *jwksServer) url() string { return s.URL + "/jwks.json" }

// kids returns the kids of the usable keys of set, sorted, without empty
// kids.
func kids(set *jwks.Set) []string {
	var ids []string
	for _, k := range set.Keys() {
		if k.ID != "" {
			ids = append(ids, k.ID)
		}
	}
	slices.Sort(ids)
	return ids
}
