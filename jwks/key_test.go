package jwks_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"testing"

	"github.com/stepupauth/stepup/jwks"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestParseKey(t *testing.T) {
	testKeys(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// A 1024-bit modulus (crypto/rsa refuses to generate such keys; only
	// the size matters here).
	n1024 := new(big.Int).SetBit(big.NewInt(1), 1023, 1)
	small := map[string]any{"kty": "RSA", "kid": "small", "n": b64(n1024.Bytes()), "e": "AQAB"}
	rsaPub := rsaJWK(t, 0, "r")
	withE := func(e string) map[string]any {
		m := jwkMap(t, &rsaKeys[0].PublicKey, "r", nil)
		m["e"] = e
		return m
	}

	tests := []struct {
		name    string
		jwk     any
		wantKty string // "" when rejected
		reason  string
	}{
		{"rsa 2048", rsaPub, "RSA", ""},
		{"rsa private drops private part", jwkMap(t, rsaKeys[0], "r", nil), "RSA", ""},
		{"ec p-256 es256", jwkMap(t, &ecKey.PublicKey, "e", map[string]any{"alg": "ES256"}), "EC", ""},
		{"ec private", jwkMap(t, ecKey, "e", nil), "EC", ""},
		{"ec p-384", jwkMap(t, &p384.PublicKey, "e", map[string]any{"alg": "ES384"}), "EC", ""},
		{"ed25519", jwkMap(t, edPub, "o", map[string]any{"alg": "EdDSA"}), "OKP", ""},
		{"key_ops verify", jwkMap(t, edPub, "o", map[string]any{"key_ops": []string{"verify"}}), "OKP", ""},
		{"rsa 1024", small, "", "rsa key shorter than 2048 bits"},
		{"rsa e=1", withE("AQ"), "", "rsa public exponent not 65537"},
		{"rsa even e", withE("AAI"), "", "rsa public exponent not 65537"},
		{"oct", map[string]any{"kty": "oct", "kid": "h", "k": b64(make([]byte, 32))}, "", "symmetric key (kty oct) not accepted from a key set"},
		{"unknown kty", map[string]any{"kty": "XYZ", "kid": "u"}, "", "unsupported kty"},
		{"missing kty", map[string]any{"kid": "u"}, "", "missing kty"},
		{"use enc", jwkMap(t, &ecKey.PublicKey, "e", map[string]any{"use": "enc"}), "", "use is not sig"},
		{"key_ops sign only", jwkMap(t, &ecKey.PublicKey, "e", map[string]any{"key_ops": []string{"sign"}}), "", "key_ops does not allow verify"},
		{"key_ops one comma string", jwkMap(t, &ecKey.PublicKey, "e", map[string]any{"key_ops": []string{"sign, verify"}}), "", "key_ops does not allow verify"},
		{"key_ops not an array", jwkMap(t, &ecKey.PublicKey, "e", map[string]any{"key_ops": "verify"}), "", "malformed jwk"},
		{"kid not a string", jwkMap(t, &ecKey.PublicKey, "", map[string]any{"kid": 7}), "", "malformed jwk"},
		{"alg of another kty", jwkMap(t, &ecKey.PublicKey, "e", map[string]any{"alg": "RS256"}), "", "alg does not fit the key type"},
		{"alg of another curve", jwkMap(t, &p384.PublicKey, "e", map[string]any{"alg": "ES256"}), "", "alg does not fit the key type"},
		{"alg HS256 on rsa", jwkMap(t, &rsaKeys[0].PublicKey, "r", map[string]any{"alg": "HS256"}), "", "alg does not fit the key type"},
		{"alg none", jwkMap(t, &rsaKeys[0].PublicKey, "r", map[string]any{"alg": "none"}), "", "alg does not fit the key type"},
		{"x25519", jwkMap(t, x25519.PublicKey(), "x", nil), "", "unsupported curve"},
		{"crv of another size", jwkMap(t, &ecKey.PublicKey, "e", map[string]any{"crv": "P-384"}), "", "malformed key material"},
		{"ec point off curve", jwkMap(t, &ecKey.PublicKey, "e", map[string]any{"y": b64(make([]byte, 32))}), "", "ec point not on curve"},
		{"not an object", []int{1}, "", "malformed jwk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(tt.jwk)
			if err != nil {
				t.Fatal(err)
			}
			k, err := jwks.ParseKey(raw)
			if tt.wantKty != "" {
				if err != nil {
					t.Fatalf("ParseKey: got error %v, want a %s key", err, tt.wantKty)
				}
				if k.KeyType != tt.wantKty {
					t.Errorf("KeyType: got %q, want %q", k.KeyType, tt.wantKty)
				}
				switch k.Public.(type) {
				case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
				default:
					t.Errorf("Public: got %T, want a public key type", k.Public)
				}
				return
			}
			var ke *jwks.KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("ParseKey: got (%v, %v), want a *KeyError", k, err)
			}
			if ke.Reason != tt.reason {
				t.Errorf("reason: got %q, want %q", ke.Reason, tt.reason)
			}
		})
	}
}

func TestNewStatic(t *testing.T) {
	ctx := context.Background()
	doc := setJSON(t,
		rsaJWK(t, 0, "a"),
		rsaJWK(t, 1, "dup"),
		jwkMap(t, &ecKey.PublicKey, "dup", nil),
		map[string]any{"kty": "oct", "kid": "h", "k": b64(make([]byte, 32))},
		jwkMap(t, &ecKey.PublicKey, "enc", map[string]any{"use": "enc"}),
		rsaJWK(t, 2, "c"),
	)
	s, err := jwks.NewStatic(doc)
	if err != nil {
		t.Fatalf("NewStatic: %v", err)
	}
	if got, want := kids(s), []string{"a", "c"}; !slices.Equal(got, want) {
		t.Errorf("IDs: got %v, want %v", got, want)
	}
	if got := len(s.Keys()); got != 2 {
		t.Errorf("Len: got %d, want 2", got)
	}
	var reasons []string
	for _, r := range s.Rejected() {
		reasons = append(reasons, r.KID+": "+r.Reason)
	}
	slices.Sort(reasons)
	want := []string{
		"dup: duplicate kid", "dup: duplicate kid",
		"enc: use is not sig",
		"h: symmetric key (kty oct) not accepted from a key set",
	}
	if !slices.Equal(reasons, want) {
		t.Errorf("Rejected: got %q, want %q", reasons, want)
	}
	for _, kid := range []string{"a", "c"} {
		if k, err := s.Key(ctx, "any-issuer", kid); err != nil || k.ID != kid {
			t.Errorf("Key(%q): got (%v, %v), want the key", kid, k, err)
		}
	}
	for _, kid := range []string{"dup", "h", "enc", "missing", ""} {
		if _, err := s.Key(ctx, "", kid); !errors.Is(err, jwks.ErrUnknownKey) {
			t.Errorf("Key(%q): got %v, want ErrUnknownKey", kid, err)
		}
	}
}

func TestNewStaticErrors(t *testing.T) {
	tests := []struct {
		name   string
		doc    string
		noKeys bool
	}{
		{"empty", ``, false},
		{"not json", `<html>`, false},
		{"array", `[]`, false},
		{"no keys member", `{}`, false},
		{"keys not array", `{"keys":{}}`, false},
		{"trailing data", `{"keys":[]} {}`, false},
		{"empty keys", `{"keys":[]}`, true},
		{"only bad keys", `{"keys":[{"kty":"oct","k":"AAAA"},null,1]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := jwks.NewStatic([]byte(tt.doc))
			if err == nil {
				t.Fatalf("NewStatic: got set of %d keys, want an error", len(s.Keys()))
			}
			if got := errors.Is(err, jwks.ErrNoUsableKeys); got != tt.noKeys {
				t.Errorf("errors.Is(%v, ErrNoUsableKeys): got %v, want %v", err, got, tt.noKeys)
			}
		})
	}
}

// TestKidless: a token without kid is matched only when the set holds
// exactly one key (RFC 8725 §3.10).
func TestKidless(t *testing.T) {
	ctx := context.Background()
	one, err := jwks.NewStatic(setJSON(t, rsaJWK(t, 0, "only")))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := one.Key(ctx, "", ""); err != nil || k.ID != "only" {
		t.Errorf("one key, no kid: got (%v, %v), want key %q", k, err, "only")
	}
	noKid, err := jwks.NewStatic(setJSON(t, rsaJWK(t, 0, "")))
	if err != nil {
		t.Fatal(err)
	}
	if k, err := noKid.Key(ctx, "", ""); err != nil || k.ID != "" {
		t.Errorf("one kid-less key, no kid: got (%v, %v), want the key", k, err)
	}
	if _, err := noKid.Key(ctx, "", "x"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("kid-less key, kid x: got %v, want ErrUnknownKey", err)
	}
	two, err := jwks.NewStatic(setJSON(t, rsaJWK(t, 0, "a"), rsaJWK(t, 1, "b")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := two.Key(ctx, "", ""); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("two keys, no kid: got %v, want ErrUnknownKey", err)
	}
}
