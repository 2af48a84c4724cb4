//lint:file-ignore SA1019 the tests build ecdsa keys from raw coordinates on purpose: a custom Source can, and the verifier must refuse the broken ones.

// Tests of the key binding (RFC 8725 §3.1): the key a Source returns must
// fit the token's alg, whatever the Source.

package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"testing"

	"github.com/stepupauth/stepup/jwks"
)

// TestVerifyInvalidKeyMaterial: a custom Source can return any *jwks.Key;
// broken material is refused, never a panic in crypto. Material the
// verifier can see is broken is a key mismatch; an EC point off the curve
// is refused by crypto/ecdsa itself while verifying, a bad signature.
func TestVerifyInvalidKeyMaterial(t *testing.T) {
	m := testKeys()
	// The coordinates are deprecated for use, but a custom Source can
	// still build such keys: that is what is tested here.
	b, err := m.p256.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	px, py := new(big.Int).SetBytes(b[1:33]), new(big.Int).SetBytes(b[33:])
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: px, Y: new(big.Int).Add(py, big.NewInt(1))}
	tests := []struct {
		name   string
		alg    string
		key    *jwks.Key
		reason Reason // ReasonKeyMismatch when empty
	}{
		{"ecdsa nil X and Y", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: &ecdsa.PublicKey{Curve: elliptic.P256()}}, ""},
		{"ecdsa nil Y", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: &ecdsa.PublicKey{Curve: elliptic.P256(), X: px}}, ""},
		{"ecdsa point off the curve", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: offCurve}, ReasonSignature},
		{"ecdsa point at zero", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int), Y: new(big.Int)}}, ReasonSignature},
		{"nil *ecdsa.PublicKey", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: (*ecdsa.PublicKey)(nil)}, ""},
		{"nil Public", "ES256", &jwks.Key{ID: "p256", KeyType: "EC"}, ""},
		{"rsa nil N", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{E: 65537}}, ""},
		{"rsa E 1", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{N: m.rsa.N, E: 1}}, ""},
		{"rsa E even", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{N: m.rsa.N, E: 65536}}, ""},
		{"rsa E 0", "PS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{N: m.rsa.N}}, ""},
		{"rsa negative N", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{N: new(big.Int).Neg(m.rsa.N), E: 65537}}, ""},
		{"nil *rsa.PublicKey", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: (*rsa.PublicKey)(nil)}, ""},
		{"ed25519 short", "EdDSA", &jwks.Key{ID: "ed", KeyType: "OKP", Public: ed25519.PublicKey(make([]byte, 31))}, ""},
		{"ed25519 long", "Ed25519", &jwks.Key{ID: "ed", KeyType: "OKP", Public: ed25519.PublicKey(make([]byte, 64))}, ""},
		{"ed25519 nil", "EdDSA", &jwks.Key{ID: "ed", KeyType: "OKP", Public: ed25519.PublicKey(nil)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newTestSource()
			src.keys[testIssuer][kidFor[tt.alg]] = tt.key
			v := newTestVerifier(t, src, nil)
			_, err := v.Verify(context.Background(), mint(tt.alg, nil))
			want := tt.reason
			if want == "" {
				want = ReasonKeyMismatch
			}
			if got := rejectionOf(t, err); got != want {
				t.Errorf("got reason %q (%v), want %q", got, err, want)
			}
		})
	}
}

// TestEd25519AlgNames: RFC 9864 names EdDSA on Ed25519 "Ed25519" and
// deprecates "EdDSA". Tokens saying either verify with an OKP Ed25519 key
// whose JWK alg says either or nothing, by default; the allowlist still
// decides which names are accepted.
func TestEd25519AlgNames(t *testing.T) {
	m := testKeys()
	pub := m.ed.Public().(ed25519.PublicKey)
	x := base64.RawURLEncoding.EncodeToString(pub)
	for _, jwkAlg := range []string{"EdDSA", "Ed25519", ""} {
		member := ""
		if jwkAlg != "" {
			member = `,"alg":"` + jwkAlg + `"`
		}
		// Through jwks.NewStatic, as an issuer's JWKS would say it.
		set, err := jwks.NewStatic([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"` + x + `"` + member + `}]}`))
		if err != nil {
			t.Fatalf("NewStatic (alg %q): %v", jwkAlg, err)
		}
		for _, tokAlg := range []string{"EdDSA", "Ed25519"} {
			v := newTestVerifier(t, set, nil)
			raw := sign(tokAlg, m.ed, `{"alg":"`+tokAlg+`","typ":"at+jwt","kid":"ed"}`, mustJSON(claimSet(nil)))
			if _, err := v.Verify(context.Background(), raw); err != nil {
				t.Errorf("token alg %s, JWK alg %q: %v", tokAlg, jwkAlg, err)
			}
		}
	}
	ed := sign("Ed25519", m.ed, `{"alg":"Ed25519","typ":"at+jwt","kid":"ed"}`, mustJSON(claimSet(nil)))
	only := newTestVerifier(t, newTestSource(), func(c *Config) { c.Algorithms = []string{"EdDSA"} })
	if got := rejectionOf(t, verifyErr(only, ed)); got != ReasonAlgorithm {
		t.Errorf("Ed25519 token, allowlist EdDSA only: got %q, want %q", got, ReasonAlgorithm)
	}
	// Ed25519 on keys of other types or JWK algs: no.
	src := newTestSource()
	src.keys[testIssuer]["ed"] = &jwks.Key{ID: "ed", Algorithm: "ES256", KeyType: "OKP", Public: pub}
	if got := rejectionOf(t, verifyErr(newTestVerifier(t, src, nil), ed)); got != ReasonKeyMismatch {
		t.Errorf("Ed25519 token, JWK alg ES256: got %q, want %q", got, ReasonKeyMismatch)
	}
	onEC := sign("Ed25519", m.ed, `{"alg":"Ed25519","typ":"at+jwt","kid":"p256"}`, mustJSON(claimSet(nil)))
	if got := rejectionOf(t, verifyErr(newTestVerifier(t, newTestSource(), nil), onEC)); got != ReasonKeyMismatch {
		t.Errorf("Ed25519 token on a P-256 key: got %q, want %q", got, ReasonKeyMismatch)
	}
}
