package verify

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"sync"
	"testing"

	"github.com/stepupauth/stepup/jwks"
)

// len returns the number of prepared keys held.
func (c *rsaKeyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.keys)
}

// secondRSAKey is another 2048-bit key, for rotation in place.
var secondRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// TestRSAKeyCacheUse: RS256, RS384 and RS512 tokens verified with the same
// key prepare it once; PS256 and the other families prepare nothing.
func TestRSAKeyCacheUse(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), func(c *Config) { c.NoTokenCache = true })
	ctx := context.Background()
	for _, alg := range []string{"PS256", "ES256", "EdDSA"} {
		if _, err := v.Verify(ctx, mint(alg, nil)); err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
	}
	if n := v.rsaKeys.len(); n != 0 {
		t.Fatalf("got %d prepared keys after PS256/ES256/EdDSA, want 0", n)
	}
	for range 3 {
		for _, alg := range []string{"RS256", "RS384", "RS512"} {
			if _, err := v.Verify(ctx, mint(alg, nil)); err != nil {
				t.Fatalf("%s: %v", alg, err)
			}
		}
	}
	if n := v.rsaKeys.len(); n != 1 {
		t.Fatalf("got %d prepared keys, want 1", n)
	}
	// A bad signature with the prepared key is still a signature failure.
	raw := mint("RS256", nil)
	bad := raw[:len(raw)-2] + otherChar(raw[len(raw)-2]) + raw[len(raw)-1:]
	if r := rejectionOf(t, verifyErr(v, bad)); r != ReasonSignature {
		t.Fatalf("got reason %v, want %v", r, ReasonSignature)
	}
}

// TestRSAKeyCacheChangedInPlace: a Source that changes its key in place,
// keeping the pointer, gets the new key checked, never the prepared old one.
func TestRSAKeyCacheChangedInPlace(t *testing.T) {
	old, next := testKeys().rsa, secondRSAKey()
	pub := &rsa.PublicKey{N: new(big.Int).Set(old.N), E: old.E}
	src := &mapSource{keys: map[string]map[string]*jwks.Key{testIssuer: {
		"rsa": {ID: "rsa", KeyType: "RSA", Public: pub},
	}}}
	v := newTestVerifier(t, src, func(c *Config) { c.NoTokenCache = true })
	ctx := context.Background()
	byOld := mint("RS256", nil)
	byNext := sign("RS256", next, stdHeader("RS256"), mustJSON(claimSet(nil)))
	if _, err := v.Verify(ctx, byOld); err != nil {
		t.Fatalf("old key, before the change: %v", err)
	}
	if err := verifyErr(v, byNext); err == nil {
		t.Fatal("new key's token accepted before the change")
	}

	src.mu.Lock()
	pub.N.Set(next.N) // in place: same *rsa.PublicKey, same *big.Int
	src.mu.Unlock()
	if r := rejectionOf(t, verifyErr(v, byOld)); r != ReasonSignature {
		t.Fatalf("old key's token after the change: got reason %v, want %v", r, ReasonSignature)
	}
	if _, err := v.Verify(ctx, byNext); err != nil {
		t.Fatalf("new key's token after the change: %v", err)
	}
}

// TestRSAKeyCacheBound: a Source returning a new *rsa.PublicKey on every
// call never grows the cache past maxPreparedKeys, and concurrent use is
// safe (run with -race).
func TestRSAKeyCacheBound(t *testing.T) {
	base := &testKeys().rsa.PublicKey
	var c rsaKeyCache
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxPreparedKeys {
				pub := base
				if i%2 == 0 || g == 0 { // fresh pointers, and one shared
					pub = &rsa.PublicKey{N: base.N, E: base.E}
				}
				p, err := c.get(pub)
				if err != nil || !p.Matches(pub) {
					t.Errorf("get: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := c.len(); n < 1 || n > maxPreparedKeys {
		t.Fatalf("got %d prepared keys, want 1 to %d", n, maxPreparedKeys)
	}
}

// TestRSAKeyCacheEvenModulus: checkKey admits an even modulus of the right
// size (a custom Source can return one); the signature check refuses it
// without a panic, as crypto/rsa does, and nothing is kept.
func TestRSAKeyCacheEvenModulus(t *testing.T) {
	n := new(big.Int).Set(testKeys().rsa.N)
	n.SetBit(n, 0, 0)
	src := &mapSource{keys: map[string]map[string]*jwks.Key{testIssuer: {
		"rsa": {ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{N: n, E: 65537}},
	}}}
	v := newTestVerifier(t, src, func(c *Config) { c.NoTokenCache = true })
	if r := rejectionOf(t, verifyErr(v, mint("RS256", nil))); r != ReasonSignature {
		t.Fatalf("got reason %v, want %v", r, ReasonSignature)
	}
	if k := v.rsaKeys.len(); k != 0 {
		t.Fatalf("got %d prepared keys, want 0", k)
	}
}
