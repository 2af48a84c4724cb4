package redisstore_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/redisstore"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

var _ dpop.ReplayStore = (*redisstore.Store)(nil)

const publicURL = "https://api.example.com"

// TestFleet: two API instances, each with its own verifiers and its own
// Redis client, share one Redis as their DPoP replay store. A proof spent
// at one is refused at the other; with Redis down a DPoP request is 503,
// never 401 or 200; once Redis is back, requests pass again.
func TestFleet(t *testing.T) {
	srv := startRedis(t)
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	x := enc.EncodeToString(key.Public().(ed25519.PublicKey))
	sum := sha256.Sum256([]byte(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`))
	tok, err := iss.Mint(stepuptest.Token{Claims: map[string]any{"cnf": map[string]any{"jkt": enc.EncodeToString(sum[:])}}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	proof := func() string {
		n++
		hdr, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "EdDSA", "jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": x}})
		ath := sha256.Sum256([]byte(tok))
		payload, _ := json.Marshal(map[string]any{"jti": fmt.Sprintf("fleet-%d", n), "htm": "GET", "htu": publicURL + "/x",
			"iat": time.Now().Unix(), "ath": enc.EncodeToString(ath[:])})
		in := enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload)
		return in + "." + enc.EncodeToString(ed25519.Sign(key, []byte(in)))
	}
	instance := func() http.Handler {
		keys, err := jwks.NewStatic(iss.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
		if err != nil {
			t.Fatal(err)
		}
		dv, err := dpop.New(dpop.Config{Replay: newStore(t, newClient(t, srv.addr()), "dpop:")})
		if err != nil {
			t.Fatal(err)
		}
		g, err := httpmw.New(v, httpmw.WithDPoP(dv, publicURL))
		if err != nil {
			t.Fatal(err)
		}
		return g.Require(claims.Requirement{}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	}
	a, b := instance(), instance()
	send := func(h http.Handler, p string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", p)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}

	p := proof()
	if rec := send(a, p); rec.Code != http.StatusNoContent {
		t.Fatalf("first use at A: got %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	if rec := send(b, p); rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("replay at B: got %d %q, want 401 invalid_dpop_proof", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}

	srv.stop()
	rec := send(a, proof())
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("WWW-Authenticate") != "" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("Redis down: got %d %q, want 503 with Retry-After and no challenge", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}

	srv.start()
	if rec := send(b, proof()); rec.Code != http.StatusNoContent {
		t.Errorf("Redis back: got %d %q, want 204", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}
