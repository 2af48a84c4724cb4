package grpcmw_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

// TestTypedNilClaimsErrorToHooks: a Rule.Choose that returns a nil
// *claims.Error as its error (the classic typed-nil mistake,
// "var ce *claims.Error; return req, ce") is answered Internal, but the
// decision hooks receive the typed nil as it is: errors.As(err, &ce)
// succeeds with ce == nil, so the hook every caller writes (this package's
// own decisions hook does exactly that) dereferences nil and panics on
// the call's goroutine; without a recovery interceptor that takes the
// whole gRPC server down. Decide (and Reject) should hand the hooks a
// plain internal error instead.
func TestTypedNilClaimsErrorToHooks(t *testing.T) {
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*",
		Choose: func(context.Context, *claims.Claims, string, any) (claims.Requirement, error) {
			var none *claims.Error
			return claims.Requirement{}, none
		}})
	if err != nil {
		t.Fatal(err)
	}
	var reports, nilErrors atomic.Int32
	s := newInterceptors(t, newVerifier(t, is), m, grpcmw.WithDecisionHook(func(_ context.Context, _ string, err error) {
		reports.Add(1)
		var ce *claims.Error
		if errors.As(err, &ce) && ce == nil {
			nilErrors.Add(1)
		}
	}))
	c := serveRT(t, s, rtService{unary: func(context.Context) error { return nil }})
	ctx := withAuthorization(context.Background(), "Bearer "+is.mint(t, token{}))
	if _, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{}); status.Code(err) != codes.Internal {
		t.Errorf("got %v, want Internal", err)
	}
	if reports.Load() != 1 || nilErrors.Load() != 0 {
		t.Errorf("hooks: %d reports, %d of them a nil *claims.Error; want 1 report whose error is not a nil *claims.Error", reports.Load(), nilErrors.Load())
	}
}
