package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/dsig"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
)

const (
	testIssuer   = "https://issuer.example.com/"
	testAudience = "https://api.example.com"
)

// testNow is the fixed clock of every test.
var testNow = time.Unix(1_800_000_000, 0)

func fixedNow() time.Time { return testNow }

// testKeyMaterial holds the private keys of the tests, generated once per
// test binary (RSA generation is the slow part).
type testKeyMaterial struct {
	rsa      *rsa.PrivateKey
	rsaSmall *rsa.PrivateKey // 1024 bits: below the verifier's minimum
	p256     *ecdsa.PrivateKey
	p384     *ecdsa.PrivateKey
	p521     *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
	attacker *ecdsa.PrivateKey // the attacker's own key
}

var testKeys = sync.OnceValue(func() *testKeyMaterial {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	var m testKeyMaterial
	var err error
	m.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
	must(err)
	m.rsaSmall, err = rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	m.p256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	m.p384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	must(err)
	m.p521, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	_, m.ed, err = ed25519.GenerateKey(rand.Reader)
	must(err)
	m.attacker, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	return &m
})

// kidFor is the kid under which each test signing alg's key is published.
var kidFor = map[string]string{
	"RS256": "rsa", "RS384": "rsa", "RS512": "rsa",
	"PS256": "rsa", "PS384": "rsa", "PS512": "rsa",
	"ES256": "p256", "ES384": "p384", "ES512": "p521", "EdDSA": "ed", "Ed25519": "ed",
}

// privFor returns the private key that signs alg in the tests.
func privFor(alg string) any {
	m := testKeys()
	switch kidFor[alg] {
	case "rsa":
		return m.rsa
	case "p256":
		return m.p256
	case "p384":
		return m.p384
	case "p521":
		return m.p521
	case "ed":
		return m.ed
	}
	panic("no test key for " + alg)
}

// mapSource is an in-test jwks.Source over a map issuer -> kid -> key. It
// counts lookups.
type mapSource struct {
	mu    sync.Mutex
	keys  map[string]map[string]*jwks.Key
	err   error // returned by every lookup when set
	calls int
}

func (s *mapSource) Key(_ context.Context, issuer, kid string) (*jwks.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.err != nil {
		return nil, s.err
	}
	set, ok := s.keys[issuer]
	if !ok {
		return nil, jwks.ErrUnknownIssuer
	}
	k, ok := set[kid]
	if !ok {
		return nil, fmt.Errorf("%w: %q", jwks.ErrUnknownKey, kid)
	}
	return k, nil
}

// Issuers implements jwks.IssuerSource: each issuer has its own map.
func (s *mapSource) Issuers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.keys))
}

func (s *mapSource) lookups() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// newTestSource publishes the test keys for testIssuer, each with its JWK
// alg set except "rsa", which serves RS* and PS* and so has none.
func newTestSource() *mapSource {
	m := testKeys()
	return &mapSource{keys: map[string]map[string]*jwks.Key{testIssuer: {
		"rsa":       {ID: "rsa", KeyType: "RSA", Public: &m.rsa.PublicKey},
		"rsa-rs256": {ID: "rsa-rs256", Algorithm: "RS256", KeyType: "RSA", Public: &m.rsa.PublicKey},
		"rsa-small": {ID: "rsa-small", KeyType: "RSA", Public: &m.rsaSmall.PublicKey},
		"p256":      {ID: "p256", Algorithm: "ES256", KeyType: "EC", Public: &m.p256.PublicKey},
		"p384":      {ID: "p384", Algorithm: "ES384", KeyType: "EC", Public: &m.p384.PublicKey},
		"p521":      {ID: "p521", Algorithm: "ES512", KeyType: "EC", Public: &m.p521.PublicKey},
		"ed":        {ID: "ed", Algorithm: "EdDSA", KeyType: "OKP", Public: m.ed.Public()},
	}}}
}

func newTestVerifier(t testing.TB, src jwks.Source, mod func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{Issuer: testIssuer, Audience: testAudience, Now: fixedNow}
	if mod != nil {
		mod(&cfg)
	}
	v, err := New(src, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// claimSet returns a valid RFC 9068 claim set at testNow; mod edits it
// (delete a key to drop a claim).
func claimSet(mod func(map[string]any)) map[string]any {
	c := map[string]any{
		"iss":       testIssuer,
		"aud":       testAudience,
		"sub":       "user-1",
		"client_id": "client-1",
		"iat":       testNow.Add(-time.Minute).Unix(),
		"exp":       testNow.Add(5 * time.Minute).Unix(),
		"jti":       "token-1",
		"acr":       "urn:example:loa:2",
		"amr":       []string{"pwd", "otp"},
		"auth_time": testNow.Add(-2 * time.Minute).Unix(),
		"scope":     "read write",
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// stdHeader is the header of a well-formed access token for alg.
func stdHeader(alg string) string {
	return mustJSON(map[string]any{"alg": alg, "typ": "at+jwt", "kid": kidFor[alg]})
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// sign signs header.payload (both JSON text) with priv under alg and
// returns the compact JWS.
func sign(alg string, priv any, header, payload string) string {
	input := enc(header) + "." + enc(payload)
	sig, err := dsig.Sign(priv, joseAlgs[alg].dsig, []byte(input), nil)
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// mint returns a valid access token for alg signed with the test key.
func mint(alg string, claimsMod func(map[string]any)) string {
	return sign(alg, privFor(alg), stdHeader(alg), mustJSON(claimSet(claimsMod)))
}

// rejectionOf checks that err is an invalid_token *claims.Error and returns
// its reason.
func rejectionOf(t *testing.T, err error) Reason {
	t.Helper()
	if err == nil {
		t.Fatal("got nil error, want invalid_token")
	}
	var ce *claims.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %T %v, want *claims.Error", err, err)
	}
	if ce.Code != claims.CodeInvalidToken {
		t.Fatalf("got code %q, want %q", ce.Code, claims.CodeInvalidToken)
	}
	var te *TokenError
	if !errors.As(err, &te) {
		t.Fatalf("got cause %v, want a *TokenError", ce.Err)
	}
	return te.Reason
}
