package claims_test

import (
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// The PAPE policy URIs are compared byte for byte with what a provider
// sends, so a typo in a constant is an endless step-up loop.
func TestPAPEConstants(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{claims.ACRMultiFactor, "http://schemas.openid.net/pape/policies/2007/06/multi-factor"},
		{claims.ACRPhishingResistant, "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	req := claims.Requirement{ACR: []string{claims.ACRPhishingResistant}}
	if err := req.Validate(); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	if e := req.Evaluate(&claims.Claims{ACR: claims.ACRPhishingResistant}, now, 0); e != nil {
		t.Errorf("phishing-resistant acr refused: %v", e)
	}
	e := req.Evaluate(&claims.Claims{ACR: claims.ACRMultiFactor}, now, 0)
	if e == nil || len(e.ACRValues) != 1 || e.ACRValues[0] != claims.ACRPhishingResistant {
		t.Errorf("multi-factor acr: got %v, want a challenge for %q", e, claims.ACRPhishingResistant)
	}
}
