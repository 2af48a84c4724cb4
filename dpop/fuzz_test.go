package dpop_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
)

// alwaysFresh is a ReplayStore that remembers nothing, so that the fuzzer
// can present one proof many times.
type alwaysFresh struct{}

func (alwaysFresh) Use(context.Context, string, time.Time) (bool, error) { return true, nil }

// FuzzVerify mutates proofs: Verify never panics, refuses with an *Error
// or accepts, and accepts only proofs signed by a test key (fixed keys, the
// same in every fuzzing worker; the clock is fixed too, so seeds stay
// valid).
func FuzzVerify(f *testing.F) {
	c := newClock()
	v := newVerifier(f, dpop.Config{Replay: alwaysFresh{}}, c)
	keys := map[string]bool{}
	for _, alg := range []string{"ES256", "EdDSA"} {
		s := fixedSigner(f, alg)
		proof := s.sign(f, s.header(), validClaims(c.Now()))
		p, err := v.Verify(context.Background(), proof, request())
		if err != nil {
			f.Fatalf("seed %s: %v", alg, err)
		}
		keys[p.JKT] = true
		f.Add(proof)
		// Seeds that reach the later checks.
		hdr := s.header()
		hdr["jwk"].(map[string]any)["d"] = "AAAA"
		f.Add(s.sign(f, hdr, validClaims(c.Now())))
		cl := validClaims(c.Now())
		cl["htu"] = "HTTPS://API.example.com:443/./resource"
		f.Add(s.sign(f, s.header(), cl))
	}
	f.Add("")
	f.Add("a.b.c")
	f.Add(strings.Repeat("A", dpop.MaxProofSize+1))
	f.Fuzz(func(t *testing.T, proof string) {
		p, err := v.Verify(context.Background(), proof, request())
		if err != nil {
			var e *dpop.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *dpop.Error", err)
			}
			if e.Code != claims.CodeInvalidDPoPProof || e.Reason == "" {
				t.Fatalf("got %s/%s, want invalid_dpop_proof and a reason", e.Code, e.Reason)
			}
			return
		}
		if !keys[p.JKT] {
			t.Fatalf("accepted a proof with key %s, signed by no test key", p.JKT)
		}
	})
}
