package dpop_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
)

func TestNewConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  dpop.Config
	}{
		{"alg none", dpop.Config{Algorithms: []string{"ES256", "none"}}},
		{"alg None", dpop.Config{Algorithms: []string{"None"}}},
		{"alg HS256", dpop.Config{Algorithms: []string{"HS256"}}},
		{"alg unknown", dpop.Config{Algorithms: []string{"ES256K"}}},
		{"negative MaxAge", dpop.Config{MaxAge: -time.Second}},
		{"negative Leeway", dpop.Config{Leeway: -time.Second}},
		{"Leeway with NoLeeway", dpop.Config{Leeway: time.Second, NoLeeway: true}},
	} {
		if _, err := dpop.New(tt.cfg); !errors.Is(err, dpop.ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", tt.name, err)
		}
	}
}

func TestAlgorithms(t *testing.T) {
	v, err := dpop.New(dpop.Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA", "Ed25519"}
	if got := v.Algorithms(); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	v.Algorithms()[0] = "none"
	if got := v.Algorithms(); got[0] != "ES256" {
		t.Fatalf("changing the returned slice changed the Verifier: %v", got)
	}

	// The caller's slice is copied: changing it after New changes nothing.
	algs := []string{"EdDSA", "EdDSA"}
	c := newClock()
	v = newVerifier(t, dpop.Config{Algorithms: algs}, c)
	algs[0] = "ES256"
	if got := v.Algorithms(); !slices.Equal(got, []string{"EdDSA"}) {
		t.Fatalf("got %v, want [EdDSA]", got)
	}
	s := newSigner(t, "ES256")
	_, err = v.Verify(t.Context(), s.sign(t, s.header(), validClaims(c.Now())), request())
	wantRefusal(t, err, claims.CodeInvalidDPoPProof, dpop.ReasonAlgorithm)
}
