package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/claims"
)

var benchAlgs = []string{"RS256", "ES256", "EdDSA"}

// BenchmarkVerify is first-sight verification of a typical access token:
// everything Verify does, with the in-memory key source and the
// verified-token cache off. Compare each sub-benchmark with the same one of
// BenchmarkRawSignature (target: at most 1.2x; see Speed in the package documentation).
func BenchmarkVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			v := newTestVerifier(b, newTestSource(), func(c *Config) { c.NoTokenCache = true })
			raw := mint(alg, nil)
			ctx := context.Background()
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawSignature is the bare standard-library signature check of the
// same token: hash the signing input and verify, with the signature decoded
// (and, for ES256, converted from r||s to ASN.1) outside the loop.
func BenchmarkRawSignature(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			raw := mint(alg, nil)
			i := strings.LastIndexByte(raw, '.')
			input := []byte(raw[:i])
			sig := sigOf(raw)
			m := testKeys()
			var check func() bool
			switch alg {
			case "RS256":
				check = func() bool {
					d := sha256.Sum256(input)
					return rsa.VerifyPKCS1v15(&m.rsa.PublicKey, crypto.SHA256, d[:], sig) == nil
				}
			case "ES256":
				der := asn1Sig(sig)
				check = func() bool {
					d := sha256.Sum256(input)
					return ecdsa.VerifyASN1(&m.p256.PublicKey, d[:], der)
				}
			case "EdDSA":
				pub := m.ed.Public().(ed25519.PublicKey)
				check = func() bool { return ed25519.Verify(pub, input, sig) }
			}
			if !check() {
				b.Fatal("signature does not verify")
			}
			b.ReportAllocs()
			for b.Loop() {
				if !check() {
					b.Fatal("signature does not verify")
				}
			}
		})
	}
}

// asn1Sig converts a JWS r||s ECDSA signature to ASN.1 DER.
func asn1Sig(sig []byte) []byte {
	der, err := asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sig[:len(sig)/2]),
		new(big.Int).SetBytes(sig[len(sig)/2:]),
	})
	if err != nil {
		panic(err)
	}
	return der
}

// BenchmarkReject is the cost of refusing garbage: the checks before the
// signature must stay cheap.
func BenchmarkReject(b *testing.B) {
	v := newTestVerifier(b, newTestSource(), nil)
	ctx := context.Background()
	es := mint("ES256", nil)
	for _, tc := range []struct{ name, raw string }{
		{"too_large", strings.Repeat("A", 1<<20)},
		{"malformed", es[:len(es)/2] + "!"},
		{"alg_none", enc(`{"alg":"none","typ":"at+jwt"}`) + "." + enc(`{}`) + "."},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tc.raw); err == nil {
					b.Fatal("accepted")
				}
			}
		})
	}
}

// BenchmarkVerifyParts splits the non-signature cost of Verify: the compact
// JWS parsing and header rules of this package, and claims.Parse of the
// payload.
func BenchmarkVerifyParts(b *testing.B) {
	v := newTestVerifier(b, newTestSource(), nil)
	raw := mint("EdDSA", nil)
	b.Run("jws_header", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, rej := parseCompact(raw, &v.pol, nil); rej != nil {
				b.Fatal(rej.err)
			}
		}
	})
	b.Run("claims_parse", func(b *testing.B) {
		tok, _, rej := parseCompact(raw, &v.pol, nil)
		if rej != nil {
			b.Fatal(rej.err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := claims.Parse(tok.payload, v.names); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyAdmission is a token's second verification with the
// cache on: a miss, the full verification and the insert the doorkeeper
// admits. Each iteration then removes the entry again (the fingerprint
// stays), so the figure slightly overstates the cost.
func BenchmarkVerifyAdmission(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			v := newTestVerifier(b, newTestSource(), nil)
			raw := mint(alg, nil)
			ctx := context.Background()
			if _, err := v.Verify(ctx, raw); err != nil { // the first sight
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
				v.cache.remove(raw, v.cache.get(raw))
			}
		})
	}
}

// oneShotTokens is how many distinct tokens BenchmarkVerifyOneShot signs
// up front; a run longer than that starts over with a fresh verifier.
const oneShotTokens = 1 << 14

// BenchmarkVerifyOneShot is a flood of tokens each seen once (EdDSA), with
// the cache off and on: with it on, each costs a miss and a doorkeeper
// write on top of the full verification, and inserts nothing (compare the
// two; target: no extra allocation, a few percent at most).
func BenchmarkVerifyOneShot(b *testing.B) {
	tokens := make([]string, oneShotTokens)
	for i := range tokens {
		tokens[i] = mint("EdDSA", func(m map[string]any) { m["jti"] = "once-" + strconv.Itoa(i) })
	}
	for _, tc := range []struct {
		name string
		size int
	}{{"cache_off", -1}, {"cache_on", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			newV := func() *Verifier {
				return newTestVerifier(b, newTestSource(), func(c *Config) { c.TokenCacheSize = tc.size })
			}
			v := newV()
			ctx := context.Background()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i == len(tokens) {
					b.StopTimer()
					v, i = newV(), 0
					b.StartTimer()
				}
				if _, err := v.Verify(ctx, tokens[i]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			if v.cache != nil && v.cache.len() != 0 {
				b.Fatalf("got %d cache entries after one-shot tokens, want 0", v.cache.len())
			}
		})
	}
}

// BenchmarkVerifyCacheHit is a token seen twice before (so cached): a
// cache lookup, the key identity check against the source and the time
// checks (targets: at most 200 ns, 0 allocs; at least 15x faster than
// BenchmarkRawSignature).
func BenchmarkVerifyCacheHit(b *testing.B) {
	for _, alg := range benchAlgs {
		b.Run(alg, func(b *testing.B) {
			v := newTestVerifier(b, newTestSource(), nil)
			raw := mint(alg, nil)
			ctx := context.Background()
			for range 2 {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
			if v.cache.get(raw) == nil {
				b.Fatal("token not cached after two verifications")
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyCacheHitParallel is cache hits from every P on a few hot
// tokens, for lock contention.
func BenchmarkVerifyCacheHitParallel(b *testing.B) {
	v := newTestVerifier(b, newTestSource(), nil)
	var tokens []string
	for i := range 16 {
		tokens = append(tokens, mint("EdDSA", func(m map[string]any) { m["jti"] = fmt.Sprint(i) }))
	}
	ctx := context.Background()
	for range 2 {
		for _, raw := range tokens {
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(ctx, tokens[i%len(tokens)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
