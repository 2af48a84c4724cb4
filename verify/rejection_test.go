package verify

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The worst shapes of a token that must be refused: whatever its payload
// holds, a forged token may cost no more than 1.5x a valid token of the
// same algorithm (BenchmarkRejected), and the allocations per refusal do
// not grow with the payload (TestRejectedAllocs).

// rejectedShape builds a token of about size bytes (at most size) that
// verification must refuse with reason.
type rejectedShape struct {
	name   string
	reason Reason
	build  func(alg string, size int) string
}

// garbageSig replaces the signature of raw with bytes of the same length
// that verify under no key.
func garbageSig(raw string) string {
	i := strings.LastIndexByte(raw, '.')
	sig := sigOf(raw)
	for k := range sig {
		sig[k] = byte(k*7 + 1)
	}
	return raw[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// fit returns build(n) for the largest n whose token is at most size
// bytes long.
func fit(size int, build func(n int) string) string {
	lo, hi := 0, size
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if len(build(mid)) <= size {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return build(lo)
}

// forgedFill forges header.payload (a garbage signature), where the payload is
// the claim set of mod with a member spliced in at its start: open, unit
// repeated as often as fits in size bytes of token, close.
func forgedFill(alg, header string, mod func(map[string]any), open, unit, close string, size int) string {
	base := mustJSON(claimSet(mod))
	return fit(size, func(n int) string {
		payload := "{" + open + strings.Repeat(unit, n) + close + "," + base[1:]
		return garbageSig(sign(alg, privFor(alg), header, payload))
	})
}

func unknownIssuer(c map[string]any) { c["iss"] = "https://unconfigured.example/" }

var rejectedShapes = []rejectedShape{
	{"huge array, bad signature", ReasonSignature, func(alg string, size int) string {
		return forgedFill(alg, stdHeader(alg), nil, `"x":["a"`, `,"a"`, `]`, size)
	}},
	{"escapes, bad signature", ReasonSignature, func(alg string, size int) string {
		return forgedFill(alg, stdHeader(alg), nil, `"x":"`, `\u00e9\ud83d\ude00\n`, `"`, size)
	}},
	{"invalid UTF-8 amr, unknown issuer", ReasonClaims, func(alg string, size int) string {
		return forgedFill(alg, stdHeader(alg), unknownIssuer, `"y":["`+"\xff"+`"`, `,"`+"\xfe\xff"+`"`, `]`, size)
	}},
	{"deep nesting, bad signature", ReasonSignature, func(alg string, size int) string {
		base := mustJSON(claimSet(nil))
		return fit(size, func(n int) string {
			payload := `{"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + "," + base[1:]
			return garbageSig(sign(alg, privFor(alg), stdHeader(alg), payload))
		})
	}},
	{"many members, bad signature", ReasonSignature, func(alg string, size int) string {
		return forgedFill(alg, stdHeader(alg), nil, `"x0":0`, `,"x":0`, ``, size)
	}},
	{"unknown issuer", ReasonIssuer, func(alg string, size int) string {
		return forgedFill(alg, stdHeader(alg), unknownIssuer, `"x":["a"`, `,"a"`, `]`, size)
	}},
	{"unknown kid", ReasonUnknownKey, func(alg string, size int) string {
		return forgedFill(alg, `{"alg":"`+alg+`","typ":"at+jwt","kid":"unknown"}`, nil, `"x":["a"`, `,"a"`, `]`, size)
	}},
	{"bad signature, plain claims", ReasonSignature, func(alg string, size int) string {
		return forgedFill(alg, stdHeader(alg), nil, `"scope":"s`, ` s`, `"`, size)
	}},
}

// rejectionVerifier is the verifier of these tests: cache off, so that a
// valid token pays first sight every time.
func rejectionVerifier(t testing.TB) *Verifier {
	return newTestVerifier(t, newTestSource(), func(c *Config) {
		c.TokenCacheSize = -1
		c.Now = func() time.Time { return testNow }
	})
}

// TestRejectedShapes: each shape, at the largest size allowed, is refused
// for the expected reason.
func TestRejectedShapes(t *testing.T) {
	v := rejectionVerifier(t)
	for _, alg := range benchAlgs {
		for _, s := range rejectedShapes {
			raw := s.build(alg, DefaultMaxTokenSize)
			if len(raw) > DefaultMaxTokenSize || len(raw) < DefaultMaxTokenSize-64 {
				t.Fatalf("%s %s: token of %d bytes, want about %d", alg, s.name, len(raw), DefaultMaxTokenSize)
			}
			if got := rejectionOf(t, verifyErr(v, raw)); got != s.reason {
				t.Errorf("%s %s: got %q, want %q", alg, s.name, got, s.reason)
			}
		}
	}
}

// maxRejectedAllocs bounds the allocations of one refusal, whatever the
// payload: the decoded token, the issuer, the kid, the error, and most of
// all the signature check itself (crypto/ecdsa's P-256 verification makes
// about 20).
const maxRejectedAllocs = 40

// TestRejectedAllocs: the allocations of a refusal do not depend on the
// size of the payload.
func TestRejectedAllocs(t *testing.T) {
	v := rejectionVerifier(t)
	ctx := context.Background()
	for _, alg := range benchAlgs {
		for _, s := range rejectedShapes {
			var counts []float64
			for _, size := range []int{1 << 10, DefaultMaxTokenSize} {
				raw := s.build(alg, size)
				counts = append(counts, testing.AllocsPerRun(20, func() {
					if _, err := v.Verify(ctx, raw); err == nil {
						t.Fatal("verified")
					}
				}))
			}
			if counts[0] != counts[1] || counts[1] > maxRejectedAllocs {
				t.Errorf("%s %s: allocations at 1 KiB and 8 KiB: %v, want equal and at most %d", alg, s.name, counts, maxRejectedAllocs)
			}
		}
	}
}

// BenchmarkRejected measures each worst shape at the size cap against a
// valid typical token of the same algorithm, both first sight (cache off),
// in one run, and fails when a refusal costs more than 1.5x the valid
// token. The "x-valid" metric is that ratio.
func BenchmarkRejected(b *testing.B) {
	const limit = 1.5
	ctx := context.Background()
	for _, alg := range benchAlgs {
		v := rejectionVerifier(b)
		valid := mint(alg, nil)
		base := testing.Benchmark(func(b *testing.B) {
			for b.Loop() {
				if _, err := v.Verify(ctx, valid); err != nil {
					b.Fatal(err)
				}
			}
		})
		validNs := float64(base.NsPerOp())
		b.Run(fmt.Sprintf("%s/valid", alg), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, valid); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, s := range rejectedShapes {
			raw := s.build(alg, DefaultMaxTokenSize)
			b.Run(alg+"/"+s.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(ctx, raw); err == nil {
						b.Fatal("verified")
					}
				}
				ratio := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / validNs
				b.ReportMetric(ratio, "x-valid")
				if ratio > limit {
					b.Errorf("%s %s: %.2fx the valid token's cost, want at most %.1fx", alg, s.name, ratio, limit)
				}
			})
		}
	}
}
