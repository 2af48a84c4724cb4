package jwks_test

import (
	"context"
	"math"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/stepupauth/stepup/jwks"
)

// rsaBoundsJWK is an RSA JWK with a modulus of exactly bits bits and
// exponent e. The modulus is an odd number, no product of two primes: the
// bounds do not look further, and the test need not generate 8192- and
// 16384-bit keys.
func rsaBoundsJWK(kid string, bits int, e *big.Int) map[string]any {
	n := new(big.Int).SetBit(new(big.Int), bits-1, 1)
	n.SetBit(n, 0, 1)
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "n": b64(n.Bytes()), "e": b64(e.Bytes())}
}

// rsaBoundsSet is a key set with an RSA key on either side of each bound
// (see the package doc), and the reasons the bad ones are rejected for.
func rsaBoundsSet(t *testing.T) (doc []byte, kept []string, rejected map[string]string) {
	t.Helper()
	f4, e3, e65539, e31 := big.NewInt(65537), big.NewInt(3), big.NewInt(65539), big.NewInt(math.MaxInt32)
	e64 := new(big.Int).SetBit(big.NewInt(1), 64, 1) // 2^64+1: 9 bytes
	doc = setJSON(t,
		rsaBoundsJWK("1024", 1024, f4),
		rsaBoundsJWK("2047", 2047, f4),
		rsaBoundsJWK("2048", 2048, f4),
		rsaBoundsJWK("8192", 8192, f4),
		rsaBoundsJWK("8193", 8193, f4),
		rsaBoundsJWK("16384", 16384, f4),
		rsaBoundsJWK("e3", 2048, e3),
		rsaBoundsJWK("e65539", 2048, e65539),
		rsaBoundsJWK("e2^31-1", 2048, e31),
		rsaBoundsJWK("16384 e2^31-1", 16384, e31),
		rsaBoundsJWK("e2^64+1", 2048, e64), // does not fit an int: malformed
	)
	kept = []string{"2048", "8192"}
	rejected = map[string]string{
		"1024":          "rsa key shorter than 2048 bits",
		"2047":          "rsa key shorter than 2048 bits",
		"8193":          "rsa key longer than 8192 bits",
		"16384":         "rsa key longer than 8192 bits",
		"e3":            "rsa public exponent not 65537",
		"e65539":        "rsa public exponent not 65537",
		"e2^31-1":       "rsa public exponent not 65537",
		"16384 e2^31-1": "rsa key longer than 8192 bits",
		"e2^64+1":       "malformed key material",
	}
	return doc, kept, rejected
}

// TestRSABoundsStatic: NewStatic keeps the RSA keys of 2048 to 8192 bits
// with e = 65537 and lists every other one with its reason.
func TestRSABoundsStatic(t *testing.T) {
	doc, kept, rejected := rsaBoundsSet(t)
	set, err := jwks.NewStatic(doc)
	if err != nil {
		t.Fatalf("NewStatic: %v", err)
	}
	if got := kids(set); !slices.Equal(got, kept) {
		t.Errorf("usable kids: got %q, want %q", got, kept)
	}
	got := map[string]string{}
	for _, ke := range set.Rejected() {
		got[ke.KID] = ke.Reason
	}
	for kid, want := range rejected {
		if got[kid] != want {
			t.Errorf("kid %q: got reason %q, want %q", kid, got[kid], want)
		}
	}
	if len(got) != len(rejected) {
		t.Errorf("rejected: got %v, want exactly %v", got, rejected)
	}
	for kid := range rejected {
		if _, err := set.Key(context.Background(), "", kid); err == nil {
			t.Errorf("Key(%q): got a key, want none", kid)
		}
	}
}

// TestRSABoundsRemote: a fetched set reports the out-of-bounds keys to
// Observer.KeyRejected, like other unusable keys, and serves the others.
func TestRSABoundsRemote(t *testing.T) {
	doc, kept, rejected := rsaBoundsSet(t)
	srv := newJWKSServer(t, doc)
	got := map[string]string{}
	r, err := jwks.NewRemote(srv.url(), jwks.WithObserver(jwks.Observer{
		// Called before Refresh returns: no lock needed to read got after.
		KeyRejected: func(_, kid, reason string) { got[kid] = reason },
	}), jwks.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if ids := kids(r.Set()); !slices.Equal(ids, kept) {
		t.Errorf("usable kids: got %q, want %q", ids, kept)
	}
	if len(got) != len(rejected) {
		t.Errorf("KeyRejected: got %v, want exactly %v", got, rejected)
	}
	for kid, want := range rejected {
		if got[kid] != want {
			t.Errorf("KeyRejected(%q): got %q, want %q", kid, got[kid], want)
		}
	}
}
