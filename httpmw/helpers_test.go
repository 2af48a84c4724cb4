package httpmw_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

const (
	testIssuer   = "https://idp.example.com/"
	testAudience = "https://api.example.com"
	testKID      = "k1"
	// secretText is planted in internal errors; it must never reach a
	// response.
	secretText = "INTERNAL-SECRET-7f3a"
)

// testNow is the fixed clock of every verifier in these tests.
var testNow = time.Unix(1_800_000_000, 0).UTC()

// issuer signs ES256 access tokens with a key generated for the test.
type issuer struct {
	priv *ecdsa.PrivateKey
	jwks []byte // public JWK Set
	jwk  map[string]any
}

func newIssuer(tb testing.TB) *issuer {
	tb.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := jwk.PublicKeyOf(&priv.PublicKey)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range map[string]any{jwk.KeyIDKey: testKID, jwk.AlgorithmKey: jwa.ES256(), jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	b, err := json.Marshal(pub)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	set, err := json.Marshal(map[string]any{"keys": []any{m}})
	if err != nil {
		tb.Fatal(err)
	}
	return &issuer{priv: priv, jwks: set, jwk: m}
}

// baseClaims is a token that meets every requirement of the tests.
func baseClaims() map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"aud":       testAudience,
		"sub":       "alice",
		"client_id": "app",
		"jti":       "id-1",
		"iat":       testNow.Add(-time.Minute).Unix(),
		"exp":       testNow.Add(time.Hour).Unix(),
		"auth_time": testNow.Add(-time.Minute).Unix(),
		"acr":       claims.ACRMultiFactor,
		"amr":       []string{"pwd", "otp"},
		"scope":     "profile transfer",
	}
}

// mint signs baseClaims changed by set (a nil value deletes the claim).
func (is *issuer) mint(tb testing.TB, set map[string]any) string {
	tb.Helper()
	c := baseClaims()
	maps.Copy(c, set)
	for k, v := range set {
		if v == nil {
			delete(c, k)
		}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		tb.Fatal(err)
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.KeyIDKey, testKID); err != nil {
		tb.Fatal(err)
	}
	if err := h.Set(jws.TypeKey, "at+jwt"); err != nil {
		tb.Fatal(err)
	}
	tok, err := jws.Sign(payload, jws.WithKey(jwa.ES256(), is.priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		tb.Fatal(err)
	}
	return string(tok)
}

func newVerifier(tb testing.TB, src jwks.Source) *verify.Verifier {
	tb.Helper()
	v, err := verify.New(src, verify.Config{
		Issuer:   testIssuer,
		Audience: testAudience,
		Now:      func() time.Time { return testNow },
	})
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func (is *issuer) verifier(tb testing.TB) *verify.Verifier {
	tb.Helper()
	set, err := jwks.NewStatic(is.jwks)
	if err != nil {
		tb.Fatal(err)
	}
	return newVerifier(tb, set)
}

func newGuard(tb testing.TB, v *verify.Verifier, opts ...httpmw.Option) *httpmw.Guard {
	tb.Helper()
	g, err := httpmw.New(v, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// downSource is a key source in an outage.
type downSource struct{}

func (downSource) Key(context.Context, string, string) (*jwks.Key, error) {
	return nil, fmt.Errorf("jwks: fetch https://idp.example.com/jwks: %s: %w", secretText, claims.ErrUnavailable)
}

// refusals is a decision hook that sees the refusals only.
func refusals(f func(r *http.Request, err error)) httpmw.Option {
	return httpmw.WithDecisionHook(func(r *http.Request, err error) {
		if err != nil {
			f(r, err)
		}
	})
}

// answered is the status g.Reject answers err with.
func answered(g *httpmw.Guard, err error) int {
	rec := httptest.NewRecorder()
	g.Reject(rec, httptest.NewRequest("GET", "/", nil), err)
	return rec.Code
}
