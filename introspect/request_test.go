package introspect_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRequestForm(t *testing.T) {
	s := newServer(t, answer(`{"active":false}`))
	c := mustNew(t, config(s, newClock()))
	c.Introspect(ctx, token)
	r := s.last()
	if r.method != http.MethodPost {
		t.Errorf("method %s, want POST (RFC 7662 §2.1)", r.method)
	}
	if got := r.header.Get("Content-Type"); got != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q, want application/x-www-form-urlencoded", got)
	}
	if got := r.header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept %q, want application/json", got)
	}
	if got := r.form.Get("token"); got != token {
		t.Errorf("token %q, want %q", got, token)
	}
	if got := r.form.Get("token_type_hint"); got != "access_token" {
		t.Errorf("token_type_hint %q, want access_token", got)
	}
}

// RFC 6749 §2.3.1: the client id and secret are encoded with
// application/x-www-form-urlencoded, then joined by ':' and base64-encoded.
func TestClientSecretBasic(t *testing.T) {
	s := newServer(t, answer(`{"active":false}`))
	cfg := config(s, newClock())
	cfg.ClientID, cfg.ClientSecret = "client:1 é", "s&cr+t %"
	mustNew(t, cfg).Introspect(ctx, token)
	r := s.last()
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("client%3A1+%C3%A9:s%26cr%2Bt+%25"))
	if got := r.header.Get("Authorization"); got != want {
		t.Errorf("Authorization %q, want %q", got, want)
	}
	for _, f := range []string{"client_id", "client_secret", "client_assertion"} {
		if r.form.Has(f) {
			t.Errorf("form has %s with client_secret_basic", f)
		}
	}
}

func TestClientSecretPost(t *testing.T) {
	s := newServer(t, answer(`{"active":false}`))
	cfg := config(s, newClock())
	cfg.SecretPost = true
	mustNew(t, cfg).Introspect(ctx, token)
	r := s.last()
	if got := r.form.Get("client_id"); got != "rs" {
		t.Errorf("client_id %q, want rs", got)
	}
	if got := r.form.Get("client_secret"); got != "secret" {
		t.Errorf("client_secret %q, want secret", got)
	}
	if got := r.header.Get("Authorization"); got != "" {
		t.Errorf("Authorization %q with client_secret_post, want none", got)
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		alg string
		key crypto.Signer
	}{{"ES256", ec256}, {"ES384", ec384}, {"ES512", ec521}, {"RS256", rk}, {"EdDSA", ed}} {
		t.Run(tt.alg, func(t *testing.T) {
			clk := newClock()
			s := newServer(t, answer(`{"active":false}`))
			cfg := config(s, clk)
			cfg.ClientSecret, cfg.PrivateKey, cfg.KeyID = "", tt.key, "key-1"
			c := mustNew(t, cfg)
			jtis := map[string]bool{}
			for i := range 2 {
				c.Introspect(ctx, token+string(rune('a'+i)))
				r := s.last()
				if got := r.form.Get("client_assertion_type"); got != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
					t.Errorf("client_assertion_type %q", got)
				}
				if got := r.header.Get("Authorization"); got != "" {
					t.Errorf("Authorization %q with private_key_jwt, want none", got)
				}
				if got := r.form.Get("client_id"); got != "rs" {
					t.Errorf("client_id %q, want rs", got)
				}
				p := verifyAssertion(t, r.form.Get("client_assertion"), tt.alg, "key-1", tt.key.Public())
				if p.Iss != "rs" || p.Sub != "rs" {
					t.Errorf("iss %q sub %q, want rs (RFC 7523 §3)", p.Iss, p.Sub)
				}
				if p.Aud != cfg.Endpoint {
					t.Errorf("aud %q, want %q", p.Aud, cfg.Endpoint)
				}
				if p.Iat != clk.Now().Unix() || p.Exp <= p.Iat || p.Exp-p.Iat > 60 {
					t.Errorf("iat %d exp %d, want iat now (%d) and exp at most 60s later", p.Iat, p.Exp, clk.Now().Unix())
				}
				if len(p.Jti) < 16 || jtis[p.Jti] {
					t.Errorf("jti %q: want a fresh random value per request", p.Jti)
				}
				jtis[p.Jti] = true
			}
		})
	}
}

type assertionPayload struct {
	Iss, Sub, Aud, Jti string
	Iat, Exp           int64
}

// verifyAssertion checks a JWS compact assertion as an authorization
// server would and returns its payload.
func verifyAssertion(t *testing.T, jws, alg, kid string, pub crypto.PublicKey) assertionPayload {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion has %d parts", len(parts))
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("base64url: %v", err)
		}
		return b
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(dec(parts[0]), &h); err != nil {
		t.Fatal(err)
	}
	if h.Alg != alg || h.Kid != kid {
		t.Errorf("header alg %q kid %q, want %q %q", h.Alg, h.Kid, alg, kid)
	}
	input, sig := []byte(parts[0]+"."+parts[1]), dec(parts[2])
	ok := false
	switch k := pub.(type) {
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, input, sig)
	case *rsa.PublicKey:
		d := sha256.Sum256(input)
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig) == nil
	case *ecdsa.PublicKey:
		var d []byte
		switch alg {
		case "ES256":
			x := sha256.Sum256(input)
			d = x[:]
		case "ES384":
			x := sha512.Sum384(input)
			d = x[:]
		case "ES512":
			x := sha512.Sum512(input)
			d = x[:]
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			t.Fatalf("ECDSA signature of %d bytes, want r||s of %d", len(sig), 2*size)
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		ok = ecdsa.Verify(k, d, r, s)
	}
	if !ok {
		t.Fatal("assertion signature does not verify")
	}
	var p assertionPayload
	if err := json.Unmarshal(dec(parts[1]), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Each request's assertion is fresh: its iat follows the clock.
func TestPrivateKeyJWTFresh(t *testing.T) {
	clk := newClock()
	s := newServer(t, answer(`{"active":false}`))
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	cfg := config(s, clk)
	cfg.ClientSecret, cfg.PrivateKey, cfg.NoCache = "", ed, true
	c := mustNew(t, cfg)
	c.Introspect(ctx, token)
	clk.Add(time.Hour)
	c.Introspect(ctx, token)
	p := verifyAssertion(t, s.last().form.Get("client_assertion"), "EdDSA", "", ed.Public())
	if p.Iat != clk.Now().Unix() {
		t.Errorf("iat %d, want %d", p.Iat, clk.Now().Unix())
	}
}
