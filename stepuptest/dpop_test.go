package stepuptest_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/stepuptest"
)

// TestDPoPKeyProof: every algorithm's proofs pass the dpop package's
// verifier, name the key's thumbprint, and are accepted once.
func TestDPoPKeyProof(t *testing.T) {
	for _, alg := range []string{"", "ES256", "ES384", "ES512", "RS256", "PS384", "EdDSA"} {
		t.Run("alg="+alg, func(t *testing.T) {
			k, err := stepuptest.NewDPoPKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			want := alg
			if want == "" {
				want = "ES256"
			}
			if k.Algorithm() != want {
				t.Errorf("Algorithm() = %q, want %q", k.Algorithm(), want)
			}
			v, err := dpop.New(dpop.Config{Now: fixedClock})
			if err != nil {
				t.Fatal(err)
			}
			proof, err := k.Proof(stepuptest.DPoPProof{Method: "POST", URL: "https://api.example.com/transfer", AccessToken: "tok", IssuedAt: t0})
			if err != nil {
				t.Fatal(err)
			}
			req := dpop.Request{Method: "POST", URL: "https://api.example.com/transfer", AccessToken: "tok"}
			p, err := v.Verify(context.Background(), proof, req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.JKT != k.JKT() || !p.IssuedAt.Equal(t0) {
				t.Errorf("proof jkt %q iat %v, want %q and %v", p.JKT, p.IssuedAt, k.JKT(), t0)
			}
			var perr *dpop.Error
			if _, err := v.Verify(context.Background(), proof, req); !errors.As(err, &perr) || perr.Reason != dpop.ReasonReplay {
				t.Errorf("second Verify: %v, want reason %q", err, dpop.ReasonReplay)
			}
		})
	}
}

// TestDPoPProofClaims: the claims are the ones DPoPProof describes, ath and
// nonce only when set, and the header carries the public key only.
func TestDPoPProofClaims(t *testing.T) {
	k, err := stepuptest.NewDPoPKey("EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	decode := func(s string) map[string]any {
		t.Helper()
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	bare, err := k.Proof(stepuptest.DPoPProof{Method: "GET", URL: "https://a/x", IssuedAt: t0, JTI: "id-1"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(bare, ".")
	hdr, cl := decode(parts[0]), decode(parts[1])
	if hdr["typ"] != "dpop+jwt" || hdr["alg"] != "EdDSA" {
		t.Errorf("header %v, want typ dpop+jwt alg EdDSA", hdr)
	}
	if j, _ := hdr["jwk"].(map[string]any); j["kty"] != "OKP" || j["d"] != nil {
		t.Errorf("header jwk %v, want the public OKP key", hdr["jwk"])
	}
	want := map[string]any{"jti": "id-1", "htm": "GET", "htu": "https://a/x", "iat": float64(t0.Unix())}
	if len(cl) != len(want) {
		t.Errorf("claims %v, want %v", cl, want)
	}
	for name, v := range want {
		if cl[name] != v {
			t.Errorf("claim %s = %v, want %v", name, cl[name], v)
		}
	}
	withNonce, err := k.Proof(stepuptest.DPoPProof{Method: "GET", URL: "https://a/x", AccessToken: "tok", Nonce: "n-1"})
	if err != nil {
		t.Fatal(err)
	}
	cl = decode(strings.Split(withNonce, ".")[1])
	// base64url(SHA-256("tok")), RFC 9449 §4.2.
	if cl["nonce"] != "n-1" || cl["ath"] != "GnZ0607njffhrEOak8P6jjyUV4TU3sn9jjARc4svHWI" {
		t.Errorf("nonce %v ath %v", cl["nonce"], cl["ath"])
	}
	if jti, _ := cl["jti"].(string); len(jti) != 22 {
		t.Errorf("default jti %q, want 16 random bytes in base64url", jti)
	}
}

func TestDPoPKeyPrivateJWK(t *testing.T) {
	k, err := stepuptest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.ParseKey(k.PrivateJWK())
	if err != nil {
		t.Fatal(err)
	}
	if !key.Has("d") {
		t.Error("PrivateJWK has no private member d")
	}
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if tp, err := pub.Thumbprint(crypto.SHA256); err != nil || base64.RawURLEncoding.EncodeToString(tp) != k.JKT() {
		t.Errorf("thumbprint of PrivateJWK %v, want JKT %q", err, k.JKT())
	}
	b := k.PrivateJWK()
	b[0] = 'x'
	if k.PrivateJWK()[0] != '{' {
		t.Error("PrivateJWK shares its bytes")
	}
}

func TestNewDPoPKeyRefuses(t *testing.T) {
	for _, alg := range []string{"HS256", "none", "ES256K"} {
		if _, err := stepuptest.NewDPoPKey(alg); !errors.Is(err, stepuptest.ErrUnsupportedAlgorithm) {
			t.Errorf("NewDPoPKey(%q) = %v, want ErrUnsupportedAlgorithm", alg, err)
		}
	}
}
