package claims_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// TestRequirementBinding: a Requirement's Binding refuses tokens without
// the sender constraint it demands, with invalid_token and a challenge in
// the scheme that would satisfy it, before any other condition.
func TestRequirementBinding(t *testing.T) {
	parse := func(t *testing.T, cnf string) *claims.Claims {
		t.Helper()
		payload := `{"iss":"https://issuer.test/","sub":"alice","acr":"pwd"`
		if cnf != "" {
			payload += `,"cnf":` + cnf
		}
		c, err := claims.Parse([]byte(payload+"}"), claims.Names{})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const (
		jkt = `{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`
		x5t = `{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}`
	)
	now := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		name    string
		binding claims.Binding
		cnf     string
		scheme  string // "" when met
		desc    string
	}{
		{"none, bearer", claims.BindingNone, "", "", ""},
		{"none, bound", claims.BindingNone, jkt, "", ""},
		{"dpop, bearer", claims.BindingDPoP, "", "DPoP", "A DPoP-bound access token is required"},
		{"dpop, certificate-bound", claims.BindingDPoP, x5t, "DPoP", "A DPoP-bound access token is required"},
		{"dpop, dpop-bound", claims.BindingDPoP, jkt, "", ""},
		{"mtls, bearer", claims.BindingMTLS, "", "Bearer", "A certificate-bound access token is required"},
		{"mtls, dpop-bound", claims.BindingMTLS, jkt, "Bearer", "A certificate-bound access token is required"},
		{"mtls, certificate-bound", claims.BindingMTLS, x5t, "", ""},
		{"any, bearer", claims.BindingAny, "", "DPoP", "A sender-constrained access token is required"},
		{"any, dpop-bound", claims.BindingAny, jkt, "", ""},
		{"any, certificate-bound", claims.BindingAny, x5t, "", ""},
		{"any, unreadable cnf", claims.BindingAny, `{"jkt":5}`, "DPoP", "A sender-constrained access token is required"},
		{"dpop, another confirmation method", claims.BindingDPoP, `{"jwk":{"kty":"EC"}}`, "DPoP", "A DPoP-bound access token is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The acr condition fails too: the binding is reported alone.
			req := claims.Requirement{Binding: tt.binding, ACR: []string{"mfa"}}
			e := req.Evaluate(parse(t, tt.cnf), now, 0)
			if tt.scheme == "" {
				if e == nil || e.Code != claims.CodeInsufficientUserAuthentication {
					t.Fatalf("Evaluate: got %v, want the acr shortfall only", e)
				}
				return
			}
			if e == nil || e.Code != claims.CodeInvalidToken || e.Description != tt.desc || len(e.ACRValues) != 0 {
				t.Fatalf("Evaluate: got %+v, want invalid_token %q without acr_values", e, tt.desc)
			}
			if got := e.Challenge().Scheme; got != tt.scheme {
				t.Errorf("challenge scheme: got %q, want %q", got, tt.scheme)
			}
			var ue *claims.UnmetError
			if !errors.As(e, &ue) {
				t.Errorf("Err: got %v, want an *UnmetError", e.Err)
			}
		})
	}
}

func TestRequirementBindingValidate(t *testing.T) {
	var re *claims.RequirementError
	if err := (claims.Requirement{Binding: claims.BindingAny + 1}).Validate(); !errors.As(err, &re) || re.Field != "Binding" {
		t.Errorf("Binding out of range: got %v, want a Binding RequirementError", err)
	}
	inBranch := claims.Requirement{AnyOf: []claims.Requirement{{Binding: claims.BindingDPoP}}}
	if err := inBranch.Validate(); !errors.As(err, &re) || re.Field != "AnyOf[0].Binding" {
		t.Errorf("Binding in AnyOf: got %v, want an AnyOf[0].Binding RequirementError", err)
	}
	if err := (claims.Requirement{Binding: claims.BindingMTLS}).Validate(); err != nil {
		t.Errorf("Binding on top: %v", err)
	}
}

// TestDPoPChallenge renders the challenges of RFC 9449 §7.1 byte for byte.
func TestDPoPChallenge(t *testing.T) {
	e := &claims.Error{Scheme: "DPoP", Code: claims.CodeInvalidToken, Description: "Invalid DPoP key binding",
		Extra: []claims.Param{{Name: "algs", Value: "ES256"}}}
	if got, want := e.Challenge().String(), `DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256"`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := (claims.Challenge{Scheme: "DPoP", Extra: []claims.Param{{Name: "algs", Value: "ES256 PS256"}}}).String(), `DPoP algs="ES256 PS256"`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
