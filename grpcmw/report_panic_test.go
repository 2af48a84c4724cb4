package grpcmw_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/grpcmw"
)

// TestHandlerPanicReported: an allowed call whose handler panics
// (recovered by an outer recovery interceptor) is reported once, as httpmw
// reports an allowed request whose handler panics ("It reports even when
// next panics"). Unary and Stream call s.done after the handler without a
// defer, so the call is never reported: it vanishes from the hooks,
// stepup_grpc_allowed_total and the logs, and the transports disagree.
func TestHandlerPanicReported(t *testing.T) {
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*"})
	if err != nil {
		t.Fatal(err)
	}
	var d decisions
	s := newInterceptors(t, newVerifier(t, is), m, d.hook())
	c := serveRT(t, s, rtService{
		unary: func(context.Context) error { panic("handler bug") },
		bidi:  func(testgrpc.TestService_FullDuplexCallServer) error { panic("handler bug") },
	})
	ctx := withAuthorization(context.Background(), "Bearer "+is.mint(t, token{}))

	_, err = c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	if status.Code(err) != codes.Internal {
		t.Fatalf("unary: got %v, want the recovery interceptor's Internal", err)
	}
	if got, want := d.take(), "/grpc.testing.TestService/* ok"; got != want {
		t.Errorf("unary reports: got %q, want %q", got, want)
	}

	st, err := c.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Internal {
		t.Fatalf("stream: got %v, want Internal", err)
	}
	if got, want := d.take(), "/grpc.testing.TestService/* ok"; got != want {
		t.Errorf("stream reports: got %q, want %q", got, want)
	}
}
