package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

// rfc7638Key is the example key of RFC 7638 §3.1, with the members the
// thumbprint must ignore.
const rfc7638Key = `{"kty":"RSA",` +
	`"n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",` +
	`"e":"AQAB","alg":"RS256","kid":"2011-04-29"}`

func TestThumbprintRFC7638(t *testing.T) {
	_, jkt, err := parseJWK([]byte(rfc7638Key), knownAlgs["RS256"])
	if err != nil {
		t.Fatal(err)
	}
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; jkt != want {
		t.Fatalf("got %s, want %s (RFC 7638 §3.1)", jkt, want)
	}
	// The member order and escapes of the input do not matter.
	reordered := `{"e":"\u0041QAB","kid":"x","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","kty":"RSA"}`
	if _, jkt2, err := parseJWK([]byte(reordered), knownAlgs["PS256"]); err != nil || jkt2 != jkt {
		t.Fatalf("reordered: got %s %v, want %s", jkt2, err, jkt)
	}
}

// TestThumbprintRFC9449 checks the jkt of the example key of RFC 9449
// §4.2 against the value §6.1 gives for it.
func TestThumbprintRFC9449(t *testing.T) {
	key := `{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}`
	_, jkt, err := parseJWK([]byte(key), knownAlgs["ES256"])
	if err != nil {
		t.Fatal(err)
	}
	if want := "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"; jkt != want {
		t.Fatalf("got %s, want %s (RFC 9449 §6.1)", jkt, want)
	}
}

// TestThumbprintAgainstJWX compares the thumbprint with jwx's for fresh
// keys of each type.
func TestThumbprintAgainstJWX(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	epub, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, tt := range []struct {
		alg string
		pub crypto.PublicKey
	}{{"RS256", &rk.PublicKey}, {"ES384", &ek.PublicKey}, {"EdDSA", epub}} {
		k, err := jwk.Import(tt.pub)
		if err != nil {
			t.Fatal(err)
		}
		want, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		_, got, err := parseJWK(raw, knownAlgs[tt.alg])
		if err != nil {
			t.Fatalf("%s: %v", tt.alg, err)
		}
		if w := base64.RawURLEncoding.EncodeToString(want); got != w {
			t.Errorf("%s: got %s, want jwx's %s", tt.alg, got, w)
		}
	}
}

// TestATHExample checks ath against the example of RFC 9449 §7.1.
func TestATHExample(t *testing.T) {
	const token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
	if got, want := tokenHash(token), "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
