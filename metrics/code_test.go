package metrics

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/verify"
)

// TestCodeOf pins the code label of every kind of rejection: the label set
// is fixed, whatever the error.
func TestCodeOf(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		want  string
		ended bool // the request context had ended
	}{
		{"no token", claims.MissingToken(), CodeNone, false},
		{"invalid request", claims.InvalidRequest(errors.New("two headers")), "invalid_request", false},
		{"invalid token", claims.InvalidToken(errors.New("bad signature")), "invalid_token", false},
		{"step-up", &claims.Error{Code: claims.CodeInsufficientUserAuthentication}, "insufficient_user_authentication", false},
		{"scope", &claims.Error{Code: claims.CodeInsufficientScope}, "insufficient_scope", false},
		{"entra claims challenge", &claims.Error{Code: claims.CodeInsufficientClaims}, "insufficient_claims", false},
		{"wrapped step-up", fmt.Errorf("handler: %w", &claims.Error{Code: claims.CodeInsufficientScope}), "insufficient_scope", false},
		{"custom check code", &claims.Error{Code: "tenant_suspended"}, CodeOther, false},
		{"outage", fmt.Errorf("jwks: %w", claims.ErrUnavailable), CodeUnavailable, false},
		{"caller gone", context.Canceled, CodeCanceled, false},
		{"chooser failure", errors.New("database down"), CodeInternal, false},
		// The verifier wraps the request context's error, with or without
		// claims.ErrUnavailable: "canceled" only if that context ended.
		{"request ended during key lookup", fmt.Errorf("verify: key lookup: %w: %w", claims.ErrUnavailable, context.Canceled), CodeCanceled, true},
		{"request deadline during key lookup", fmt.Errorf("verify: key lookup: %w", context.DeadlineExceeded), CodeCanceled, true},
		{"fetch timeout, request alive", fmt.Errorf("jwks: %w: %w", claims.ErrUnavailable, context.DeadlineExceeded), CodeUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(tt.ended, tt.err); got != tt.want {
				t.Errorf("codeOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestOutcomeOf: every reason verify can report lands on its outcome, so the
// pre-declared series and the observed ones agree.
func TestOutcomeOf(t *testing.T) {
	for _, r := range verify.Reasons() {
		want := "invalid"
		switch r {
		case verify.ReasonNone:
			want = "valid"
		case verify.ReasonUnavailable:
			want = "unavailable"
		case verify.ReasonCanceled:
			want = "canceled"
		}
		if got := outcomeOf(r); got != want {
			t.Errorf("outcomeOf(%q) = %q, want %q", r, got, want)
		}
	}
}
