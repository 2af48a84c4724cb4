package verify

import (
	"context"
	"crypto/rsa"
	"math"
	"math/big"
	"testing"

	"github.com/stepupauth/stepup/jwks"
)

// fakeModulus is an odd number of exactly bits bits. It is no product of
// two primes, which does not matter for a bounds check, and it spares the
// test generating 8192- and 16384-bit keys.
func fakeModulus(bits int) *big.Int {
	n := new(big.Int).SetBit(new(big.Int), bits-1, 1)
	return n.SetBit(n, 0, 1)
}

// TestCheckKeyRSABounds: keys from a custom Source get the jwks bounds, a
// modulus of 2048 to 8192 bits and e = 65537, for RS* and PS* alike.
func TestCheckKeyRSABounds(t *testing.T) {
	real2048 := &testKeys().rsa.PublicKey
	tests := []struct {
		name string
		pub  *rsa.PublicKey
		ok   bool
	}{
		{"2048 bits e 65537", real2048, true},
		{"8192 bits e 65537", &rsa.PublicKey{N: fakeModulus(8192), E: 65537}, true},
		{"1024 bits", &rsa.PublicKey{N: fakeModulus(1024), E: 65537}, false},
		{"2047 bits", &rsa.PublicKey{N: fakeModulus(2047), E: 65537}, false},
		{"8193 bits", &rsa.PublicKey{N: fakeModulus(8193), E: 65537}, false},
		{"16384 bits", &rsa.PublicKey{N: fakeModulus(16384), E: 65537}, false},
		{"e 3", &rsa.PublicKey{N: real2048.N, E: 3}, false},
		{"e 65539", &rsa.PublicKey{N: real2048.N, E: 65539}, false},
		{"e 2^17+1", &rsa.PublicKey{N: real2048.N, E: 1<<17 + 1}, false},
		{"e 2^31-1", &rsa.PublicKey{N: real2048.N, E: math.MaxInt32}, false},
		{"16384 bits e 2^31-1", &rsa.PublicKey{N: fakeModulus(16384), E: math.MaxInt32}, false},
	}
	for _, tt := range tests {
		for _, alg := range []string{"RS256", "PS512"} {
			t.Run(tt.name+"/"+alg, func(t *testing.T) {
				key := &jwks.Key{ID: "rsa", KeyType: "RSA", Public: tt.pub}
				rej := checkKey(joseAlgs[alg], key)
				if tt.ok {
					if rej != nil {
						t.Errorf("got rejection %v, want the key accepted", rej.reason)
					}
					return
				}
				if rej == nil || rej.reason != ReasonKeyMismatch {
					t.Errorf("got %v, want %s", rej, ReasonKeyMismatch)
				}
			})
		}
	}
}

// TestVerifyRSAKeyTooLarge: a token naming a kid for which a custom Source
// returns a 16384-bit key, or a key with a huge exponent, is refused as a
// key mismatch before any signature arithmetic.
func TestVerifyRSAKeyTooLarge(t *testing.T) {
	for name, pub := range map[string]*rsa.PublicKey{
		"16384 bits": {N: fakeModulus(16384), E: 65537},
		"e 2^31-1":   {N: testKeys().rsa.N, E: math.MaxInt32},
	} {
		t.Run(name, func(t *testing.T) {
			src := newTestSource()
			src.keys[testIssuer]["rsa"] = &jwks.Key{ID: "rsa", KeyType: "RSA", Public: pub}
			v := newTestVerifier(t, src, nil)
			_, err := v.Verify(context.Background(), mint("RS256", nil))
			if got := rejectionOf(t, err); got != ReasonKeyMismatch {
				t.Errorf("got reason %q (%v), want %q", got, err, ReasonKeyMismatch)
			}
		})
	}
}
