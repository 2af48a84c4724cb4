package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/dpop"
)

// benchVerify verifies one valid proof of alg b.N times; the replay store
// remembers nothing, so the figure is the cost of the checks.
func benchVerify(b *testing.B, alg string) {
	c := newClock()
	v := newVerifier(b, dpop.Config{Replay: alwaysFresh{}}, c)
	s := newSigner(b, alg)
	proof := s.sign(b, s.header(), validClaims(c.Now()))
	req := request()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, proof, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyES256(b *testing.B) { benchVerify(b, "ES256") }
func BenchmarkVerifyEdDSA(b *testing.B) { benchVerify(b, "EdDSA") }
func BenchmarkVerifyRS256(b *testing.B) { benchVerify(b, "RS256") }

// BenchmarkSignatureES256 is the raw signature check of a proof alone:
// SHA-256 of the signing input and ecdsa.Verify, the key already parsed.
func BenchmarkSignatureES256(b *testing.B) {
	testKeys(b)
	s := newSigner(b, "ES256")
	proof := s.sign(b, s.header(), validClaims(epoch))
	i := strings.LastIndexByte(proof, '.')
	input, sig := []byte(proof[:i]), mustDecode(b, proof[i+1:])
	pub := &ecKey.PublicKey
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256(input)
		r, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, h[:], r, ss) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkSignatureEdDSA is the raw ed25519.Verify of a proof alone.
func BenchmarkSignatureEdDSA(b *testing.B) {
	testKeys(b)
	s := newSigner(b, "EdDSA")
	proof := s.sign(b, s.header(), validClaims(epoch))
	i := strings.LastIndexByte(proof, '.')
	input, sig := []byte(proof[:i]), mustDecode(b, proof[i+1:])
	pub := edKey.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, input, sig) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkMemoryStore is Use of a fresh key, in parallel.
func BenchmarkMemoryStore(b *testing.B) {
	st := dpop.NewMemoryStore(1 << 24)
	exp := time.Now().Add(time.Hour)
	ctx := context.Background()
	keys := make([]string, 1<<20)
	for i := range keys {
		keys[i] = fmt.Sprintf("jkt-of-the-key:jti-%d", i)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := st.Use(ctx, keys[i&(len(keys)-1)], exp); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
