package verify

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The worst shapes of a token that must be refused: whatever its payload
// holds, a forged token may cost no more than 1.5x a valid token of the
// same algorithm (BenchmarkRejected), and the allocations per refusal do
// not grow with the payload (TestRejectedAllocs).

// rejectedShape is a token that verification must refuse with reason:
// the claim set of mod with member(n) spliced in at its start, under a
// header with kid, n as large as fits the size, and a garbage signature.
// Its valid twin has the same member under the standard header and claims,
// properly signed: the valid token of the same size.
type rejectedShape struct {
	name   string
	reason Reason
	kid    string // "" for the algorithm's own
	mod    func(map[string]any)
	member func(n int) string
	twin   func(n int) string // the valid twin's member, when member cannot be valid
}

// build returns the shape's token of at most size bytes, forged or its
// valid twin.
func (s rejectedShape) build(alg string, size int, forged bool) string {
	header, mod := stdHeader(alg), func(map[string]any) {}
	if forged {
		if s.kid != "" {
			header = `{"alg":"` + alg + `","typ":"at+jwt","kid":"` + s.kid + `"}`
		}
		if s.mod != nil {
			mod = s.mod
		}
	}
	member := s.member
	if !forged && s.twin != nil {
		member = s.twin
	}
	base := mustJSON(claimSet(mod))
	return fit(size, func(n int) string {
		raw := sign(alg, privFor(alg), header, "{"+member(n)+","+base[1:])
		if forged {
			raw = garbageSig(raw)
		}
		return raw
	})
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

func unknownIssuer(c map[string]any) { c["iss"] = "https://unconfigured.example/" }

func repeated(open, unit, close string) func(int) string {
	return func(n int) string { return open + strings.Repeat(unit, n) + close }
}

var rejectedShapes = []rejectedShape{
	{name: "huge array, bad signature", reason: ReasonSignature, member: repeated(`"x":["a"`, `,"a"`, `]`)},
	{name: "escapes, bad signature", reason: ReasonSignature, member: repeated(`"x":"`, `\u00e9\ud83d\ude00\n`, `"`)},
	{name: "invalid UTF-8 amr, unknown issuer", reason: ReasonClaims, mod: unknownIssuer,
		member: repeated(`"y":["`+"\xff"+`"`, `,"`+"\xfe\xff"+`"`, `]`), twin: repeated(`"y":["a"`, `,"aa"`, `]`)},
	{name: "deep nesting, bad signature", reason: ReasonSignature, member: func(n int) string {
		return `"x":` + strings.Repeat("[", n) + strings.Repeat("]", n)
	}},
	{name: "many members, bad signature", reason: ReasonSignature, member: func(n int) string {
		var sb strings.Builder
		sb.WriteString(`"m":0`)
		for k := range n {
			sb.WriteString(`,"` + strconv.Itoa(k) + `":0`)
		}
		return sb.String()
	}},
	{name: "long member names, bad signature", reason: ReasonSignature, member: func(n int) string {
		var sb strings.Builder
		sb.WriteString(`"m":0`)
		for k := range n {
			sb.WriteString(`,"` + strings.Repeat("n", 40) + strconv.Itoa(k) + `":0`)
		}
		return sb.String()
	}},
	{name: "unknown issuer", reason: ReasonIssuer, mod: unknownIssuer, member: repeated(`"x":["a"`, `,"a"`, `]`)},
	{name: "unknown kid", reason: ReasonUnknownKey, kid: "unknown", member: repeated(`"x":["a"`, `,"a"`, `]`)},
	{name: "bad signature, plain claims", reason: ReasonSignature, member: repeated(`"x":"s`, ` s`, `"`)},
}

// rejectionVerifier is the verifier of these tests: cache off, so that a
// valid token pays first sight every time.
func rejectionVerifier(t testing.TB) *Verifier {
	return newTestVerifier(t, newTestSource(), func(c *Config) {
		c.NoTokenCache = true
		c.Now = func() time.Time { return testNow }
	})
}

// TestRejectedShapes: each shape, at the largest size allowed, is refused
// for the expected reason.
func TestRejectedShapes(t *testing.T) {
	v := rejectionVerifier(t)
	for _, alg := range benchAlgs {
		for _, s := range rejectedShapes {
			raw := s.build(alg, defaultMaxTokenSize, true)
			if len(raw) > defaultMaxTokenSize || len(raw) < defaultMaxTokenSize-64 {
				t.Fatalf("%s %s: token of %d bytes, want about %d", alg, s.name, len(raw), defaultMaxTokenSize)
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
// size of the payload. Both sizes are past the stack scratch of the
// decoded parts (scratchSize), below which a token saves one allocation.
func TestRejectedAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	v := rejectionVerifier(t)
	ctx := context.Background()
	for _, alg := range benchAlgs {
		for _, s := range rejectedShapes {
			var counts []float64
			for _, size := range []int{4 << 10, defaultMaxTokenSize} {
				raw := s.build(alg, size, true)
				counts = append(counts, testing.AllocsPerRun(20, func() {
					if _, err := v.Verify(ctx, raw); err == nil {
						t.Fatal("verified")
					}
				}))
			}
			if counts[0] != counts[1] || counts[1] > maxRejectedAllocs {
				t.Errorf("%s %s: allocations at 4 KiB and 8 KiB: %v, want equal and at most %d", alg, s.name, counts, maxRejectedAllocs)
			}
		}
	}
}

// BenchmarkRejected measures each worst shape at the size cap, first
// sight (cache off), against two valid tokens of the same algorithm in the
// same run: a typical one ("valid", the x-typical metric) and the shape's
// valid twin of the same size (the x-same-size metric). It fails when a
// refusal costs more than 1.5x its same-size valid twin. Refusals that
// stop before the signature cost a fraction of either.
func BenchmarkRejected(b *testing.B) {
	const limit = 1.5
	ctx := context.Background()
	nsPerOp := func(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }
	loop := func(b *testing.B, v *Verifier, raw string, valid bool) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, raw); (err == nil) != valid {
				b.Fatalf("valid %v: %v", valid, err)
			}
		}
	}
	for _, alg := range benchAlgs {
		v := rejectionVerifier(b)
		var typical float64 // per op, from the last (longest) run
		b.Run(alg+"/valid", func(b *testing.B) {
			loop(b, v, mint(alg, nil), true)
			typical = nsPerOp(b)
		})
		if typical == 0 {
			b.Fatal("the valid token was not measured (run the whole benchmark, not one shape)")
		}
		for _, s := range rejectedShapes {
			var twin float64
			b.Run(alg+"/"+s.name+"/valid-twin", func(b *testing.B) {
				loop(b, v, s.build(alg, defaultMaxTokenSize, false), true)
				twin = nsPerOp(b)
			})
			raw := s.build(alg, defaultMaxTokenSize, true)
			b.Run(alg+"/"+s.name, func(b *testing.B) {
				loop(b, v, raw, false)
				ns := nsPerOp(b)
				b.ReportMetric(ns/typical, "x-typical")
				if twin > 0 {
					b.ReportMetric(ns/twin, "x-same-size")
					if ns/twin > limit {
						b.Errorf("%s %s: %.2fx its valid twin of the same size, want at most %.1fx", alg, s.name, ns/twin, limit)
					}
				}
			})
		}
	}
}
