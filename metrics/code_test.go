package metrics

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

// TestCodeOf pins the code label of every kind of rejection: the label set
// is fixed, whatever the error.
func TestCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no token", claims.MissingToken(), CodeNone},
		{"invalid request", claims.InvalidRequest(errors.New("two headers")), "invalid_request"},
		{"invalid token", claims.InvalidToken(errors.New("bad signature")), "invalid_token"},
		{"step-up", &claims.Error{Code: claims.CodeInsufficientUserAuthentication}, "insufficient_user_authentication"},
		{"scope", &claims.Error{Code: claims.CodeInsufficientScope}, "insufficient_scope"},
		{"entra claims challenge", &claims.Error{Code: claims.CodeInsufficientClaims}, "insufficient_claims"},
		{"wrapped step-up", fmt.Errorf("handler: %w", &claims.Error{Code: claims.CodeInsufficientScope}), "insufficient_scope"},
		{"custom check code", &claims.Error{Code: "tenant_suspended"}, CodeOther},
		{"outage", fmt.Errorf("jwks: %w", claims.ErrUnavailable), CodeUnavailable},
		{"unlisted method", grpcmw.ErrUnlistedMethod, CodeUnlisted},
		{"caller gone", context.Canceled, CodeCanceled},
		{"chooser failure", errors.New("database down"), CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := codeOf(tt.err); got != tt.want {
				t.Errorf("codeOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
