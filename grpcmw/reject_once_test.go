package grpcmw_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

// TestRejectOfRejectStatus: Reject's own result given to Reject
// again (a helper that refuses with Reject, and a caller that passes every
// error through Reject) keeps the answer and reports the call once.
//
// Reject treats the status error it returned itself as "any other error":
// the client gets Internal instead of PermissionDenied (a 403 turns into a
// 500), and the call is reported twice (insufficient_scope, then an
// internal refusal).
func TestRejectOfRejectStatus(t *testing.T) {
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*"})
	if err != nil {
		t.Fatal(err)
	}
	var d decisions
	s := newInterceptors(t, newVerifier(t, is), m, d.hook())
	authorizeTransfer := func(ctx context.Context) error {
		return s.Reject(ctx, &claims.Error{Code: claims.CodeInsufficientScope, Scope: []string{"bank:transfer"}})
	}
	c := serveRT(t, s, rtService{unary: func(ctx context.Context) error {
		if err := authorizeTransfer(ctx); err != nil {
			return s.Reject(ctx, err)
		}
		return nil
	}})
	ctx := withAuthorization(context.Background(), "Bearer "+is.mint(t, token{}))
	_, err = c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("got %v, want PermissionDenied", err)
	}
	if got, want := d.take(), "/grpc.testing.TestService/* insufficient_scope"; got != want {
		t.Errorf("reports: got %q, want %q", got, want)
	}
}

// TestStreamExpiryAfterReject: a stream whose handler refuses it
// with Reject once its context ends at the token's exp is reported once.
// expiringStream reports the expiry although Reject has already reported
// the call: two refusals for one stream.
func TestStreamExpiryAfterReject(t *testing.T) {
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*"})
	if err != nil {
		t.Fatal(err)
	}
	// The token expires at testNow+1h; the verifier's clock says it has
	// 300ms left.
	v := newVerifierAt(t, is, func() time.Time { return testNow.Add(time.Hour - 300*time.Millisecond) })
	var d decisions
	s := newInterceptors(t, v, m, d.hook())
	c := serveRT(t, s, rtService{bidi: func(st testgrpc.TestService_FullDuplexCallServer) error {
		<-st.Context().Done()
		return s.Reject(st.Context(), claims.InvalidToken(context.Cause(st.Context())))
	}})
	ctx := withAuthorization(context.Background(), "Bearer "+is.mint(t, token{}))
	st, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("got %v, want Unauthenticated", err)
	}
	if got, want := d.take(), "/grpc.testing.TestService/* invalid_token"; got != want {
		t.Errorf("reports: got %q, want %q", got, want)
	}
}
