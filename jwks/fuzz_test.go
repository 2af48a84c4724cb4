package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"slices"
	"testing"

	"github.com/stepupauth/stepup/jwks"
)

// FuzzNewStatic: any input either fails or yields a set whose keys are
// public verification keys reachable by their kid.
func FuzzNewStatic(f *testing.F) {
	f.Add([]byte(rfc7517A1))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","key_ops":"verify"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := jwks.NewStatic(doc)
		if err != nil {
			if s != nil {
				t.Fatalf("error %v with a non-nil set", err)
			}
			return
		}
		if len(s.Keys()) == 0 {
			t.Fatal("a set without keys and without error")
		}
		for _, k := range s.Keys() {
			switch k.Public.(type) {
			case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			default:
				t.Fatalf("key %q: public key of type %T", k.ID, k.Public)
			}
			if k.ID == "" {
				continue
			}
			got, err := s.Key(context.Background(), "", k.ID)
			if err != nil || got != k {
				t.Fatalf("Key(%q): got (%v, %v), want the key", k.ID, got, err)
			}
		}
		if _, err := s.Key(context.Background(), "", "\x00not-a-kid"); !errors.Is(err, jwks.ErrUnknownKey) && len(s.Keys()) > 0 {
			if slices.Contains(kids(s), "\x00not-a-kid") {
				return
			}
			t.Fatalf("unknown kid: got %v", err)
		}
	})
}
