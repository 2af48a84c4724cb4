package claims_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// TestEvaluateCheckCodes: a Check result reaches WWW-Authenticate, so an
// empty or unregistered code becomes insufficient_user_authentication;
// registered codes and Entra ID's insufficient_claims pass unchanged.
func TestEvaluateCheckCodes(t *testing.T) {
	cause := errors.New("limit exceeded")
	const stepUp = "Stronger authentication is required"
	tests := []struct {
		name  string
		check *claims.Error
		want  want
		same  bool // the Check's *Error is returned as is
	}{
		{"empty code", &claims.Error{}, want{code: userAuth, desc: stepUp, cause: `unregistered error code ""`}, false},
		{"empty code, valid description kept", &claims.Error{Description: "Transfers need a fresh login", Err: cause},
			want{code: userAuth, desc: "Transfers need a fresh login", cause: "limit exceeded"}, false},
		{"home-made code", &claims.Error{Code: "access_denied", Description: "No", ACRValues: []string{"urn:x"}},
			want{code: userAuth, desc: "No", acr: []string{"urn:x"}, cause: `"access_denied"`}, false},
		{"description with a quote replaced", &claims.Error{Code: "x", Description: `say "hi"`}, want{code: userAuth, desc: stepUp}, false},
		{"description with a newline replaced", &claims.Error{Code: "x", Description: "a\nb"}, want{code: userAuth, desc: stepUp}, false},
		{"registered step-up", &claims.Error{Code: userAuth, Description: "x"}, want{code: userAuth, desc: "x"}, true},
		{"registered scope", &claims.Error{Code: claims.CodeInsufficientScope, Scope: []string{"pay"}}, want{code: claims.CodeInsufficientScope, scope: []string{"pay"}}, true},
		{"registered invalid_token", claims.InvalidToken(cause), want{code: claims.CodeInvalidToken}, true},
		{"entra insufficient_claims", &claims.Error{Code: claims.CodeInsufficientClaims, Description: "y"}, want{code: claims.CodeInsufficientClaims, desc: "y"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := claims.Requirement{Check: func(*claims.Claims) *claims.Error { return tt.check }}
			got := req.Evaluate(&claims.Claims{}, now, leeway)
			checkError(t, got, &tt.want)
			if (got == tt.check) != tt.same {
				t.Errorf("got the Check's own *Error %v, want same=%v", got == tt.check, tt.same)
			}
			if got.Code == "" || got.Challenge().Error == "" {
				t.Errorf("challenge %q has no error code", got.Challenge())
			}
		})
	}
	// The Check's value is not modified.
	e := &claims.Error{Code: "x"}
	claims.Requirement{Check: func(*claims.Claims) *claims.Error { return e }}.Evaluate(&claims.Claims{}, now, leeway)
	if e.Code != "x" {
		t.Errorf("Check's *Error modified: code %q", e.Code)
	}
}

// TestMaxAgeBounds: Validate caps MaxAge at MaxMaxAge, and Evaluate does
// not overflow MaxAge plus leeway even for an unvalidated huge MaxAge.
func TestMaxAgeBounds(t *testing.T) {
	for _, tt := range []struct {
		maxAge time.Duration
		ok     bool
	}{
		{time.Minute, true},
		{claims.MaxMaxAge, true},
		{claims.MaxMaxAge + time.Second, false},
		{math.MaxInt64, false},
	} {
		err := claims.Requirement{MaxAge: tt.maxAge}.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(MaxAge %v): got %v, want ok=%v", tt.maxAge, err, tt.ok)
		}
	}
	fresh := &claims.Claims{AuthTime: now.Add(-time.Hour)}
	for _, d := range []time.Duration{math.MaxInt64, math.MaxInt64 - leeway + 1, claims.MaxMaxAge} {
		if got := (claims.Requirement{MaxAge: d}).Evaluate(fresh, now, leeway); got != nil {
			t.Errorf("Evaluate(MaxAge %v, leeway %v) of an hour-old login: got %v, want nil (no overflow)", d, leeway, got)
		}
		if got := (claims.Requirement{MaxAge: d}).Evaluate(fresh, now, math.MaxInt64); got != nil {
			t.Errorf("Evaluate(MaxAge %v, huge leeway): got %v, want nil", d, got)
		}
	}
}
