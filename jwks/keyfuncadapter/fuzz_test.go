package keyfuncadapter_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/MicahParks/keyfunc/v3"

	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/jwks/keyfuncadapter"
)

// FuzzFromKeyfunc: whatever JWK Set keyfunc accepts, every lookup either
// fails with ErrUnknownKey or returns a public verification key of a
// consistent type, and the same *jwks.Key on a second lookup.
func FuzzFromKeyfunc(f *testing.F) {
	for _, s := range []string{
		`{"keys":[{"kty":"RSA","kid":"r","alg":"RS256","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"o","alg":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		`{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"bad","x":"AA","y":"AA"}]}`,
		`{"keys":[]}`,
		`not json`,
	} {
		f.Add([]byte(s), "r")
	}
	f.Fuzz(func(t *testing.T, doc []byte, kid string) {
		k, err := keyfunc.NewJWKSetJSON(doc)
		if err != nil {
			return
		}
		src := keyfuncadapter.FromKeyfunc(k)
		ctx := context.Background()
		all, err := k.Storage().KeyReadAll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kids := []string{kid, ""}
		for _, j := range all {
			kids = append(kids, j.Marshal().KID)
		}
		for _, id := range kids {
			key, err := src.Key(ctx, "", id)
			if err != nil {
				if !errors.Is(err, jwks.ErrUnknownKey) {
					t.Fatalf("Key(%q): got %v, want ErrUnknownKey", id, err)
				}
				continue
			}
			switch pub := key.Public.(type) {
			case *rsa.PublicKey:
				if key.KeyType != "RSA" || pub.N == nil || pub.N.BitLen() < 2048 {
					t.Fatalf("Key(%q): bad RSA key %+v", id, key)
				}
			case *ecdsa.PublicKey:
				if _, err := pub.ECDH(); key.KeyType != "EC" || err != nil {
					t.Fatalf("Key(%q): bad EC key %+v", id, key)
				}
			case ed25519.PublicKey:
				if key.KeyType != "OKP" || len(pub) != ed25519.PublicKeySize {
					t.Fatalf("Key(%q): bad OKP key %+v", id, key)
				}
			default:
				t.Fatalf("Key(%q): public key of type %T", id, key.Public)
			}
			if again, err := src.Key(ctx, "", id); err != nil || again != key {
				t.Fatalf("Key(%q) again: got %p, %v; want the same *Key %p", id, again, err, key)
			}
		}
	})
}
