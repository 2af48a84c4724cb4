package decide

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stepupauth/stepup/claims"
)

// TestOutcomeAndCode pins the class and the code label of every kind of
// refusal: the label set is fixed, whatever the error, and every transport
// reads it from here.
func TestOutcomeAndCode(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		ended bool // the request context had ended
		kind  Kind
		code  string
	}{
		{"no token", claims.MissingToken(), false, Challenge, CodeNone},
		{"invalid request", claims.InvalidRequest(errors.New("two headers")), false, Challenge, "invalid_request"},
		{"invalid token", claims.InvalidToken(errors.New("bad signature")), false, Challenge, "invalid_token"},
		{"step-up", &claims.Error{Code: claims.CodeInsufficientUserAuthentication}, false, Challenge, "insufficient_user_authentication"},
		{"scope", &claims.Error{Code: claims.CodeInsufficientScope}, false, Challenge, "insufficient_scope"},
		{"entra claims challenge", &claims.Error{Code: claims.CodeInsufficientClaims}, false, Challenge, "insufficient_claims"},
		{"wrapped scope", fmt.Errorf("handler: %w", &claims.Error{Code: claims.CodeInsufficientScope}), false, Challenge, "insufficient_scope"},
		{"custom check code", &claims.Error{Code: "tenant_suspended"}, false, Challenge, CodeOther},
		{"outage", fmt.Errorf("jwks: %w", claims.ErrUnavailable), false, Unavailable, CodeUnavailable},
		{"outage as a claims error", fmt.Errorf("%w: %w", claims.ErrUnavailable, claims.InvalidToken(nil)), false, Unavailable, CodeUnavailable},
		// A context of the server's own that ended (a chooser's lookup
		// timed out) is an outage, not the client leaving.
		{"server's own context", fmt.Errorf("policy store: %w", context.DeadlineExceeded), false, Unavailable, CodeUnavailable},
		{"chooser failure", errors.New("database down"), false, Internal, CodeInternal},
		{"nil claims error", (*claims.Error)(nil), false, Internal, CodeInternal},
		// The verifier wraps the request context's error, with or without
		// claims.ErrUnavailable: Canceled only if that context ended.
		{"request ended during key lookup", fmt.Errorf("verify: key lookup: %w: %w", claims.ErrUnavailable, context.Canceled), true, Canceled, CodeCanceled},
		{"request deadline during key lookup", fmt.Errorf("verify: key lookup: %w", context.DeadlineExceeded), true, Canceled, CodeCanceled},
		{"fetch timeout, request alive", fmt.Errorf("jwks: %w: %w", claims.ErrUnavailable, context.DeadlineExceeded), false, Unavailable, CodeUnavailable},
		{"a token error while the request ended", claims.InvalidToken(errors.New("bad signature")), true, Challenge, "invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.ended {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			k, ce := Outcome(ctx, tt.err)
			if k != tt.kind {
				t.Fatalf("Outcome(%v): got kind %d, want %d", tt.err, k, tt.kind)
			}
			if (ce != nil) != (k == Challenge) {
				t.Errorf("Outcome(%v): got *claims.Error %v with kind %d", tt.err, ce, k)
			}
			if got := Code(k, ce); got != tt.code {
				t.Errorf("Code: got %q, want %q", got, tt.code)
			}
		})
	}
}

// TestDecidePanicsFailClosed: a chooser or a Requirement.Check that panics
// is an Internal refusal, not a crash; a chooser's nil *claims.Error is
// Internal too, and no hook can find a nil *claims.Error in it.
func TestDecidePanicsFailClosed(t *testing.T) {
	for name, err := range map[string]error{
		"nil claims error":      Normalize((*claims.Error)(nil)),
		"wrapped nil claims":    Normalize(fmt.Errorf("chooser: %w", (*claims.Error)(nil))),
		"non-nil claims passes": Normalize(claims.MissingToken()),
	} {
		t.Run(name, func(t *testing.T) {
			var ce *claims.Error
			if errors.As(err, &ce) && ce == nil {
				t.Errorf("Normalize left a nil *claims.Error: %v", err)
			}
		})
	}
	// Decide recovers: a nil verifier makes v.Authorize panic.
	c, err := Decide(context.Background(), nil, "token", nil, Sender{}, claims.Requirement{}, nil)
	if c != nil || !errors.Is(err, errPanic) {
		t.Fatalf("Decide with a panicking path: got %v, %v; want an errPanic error", c, err)
	}
	if k, _ := Outcome(context.Background(), err); k != Internal {
		t.Errorf("a panic classifies as %d, want Internal", k)
	}
}
