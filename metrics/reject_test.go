package metrics_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

// TestGRPCRejectOnPublicMethod: a handler of a public method that
// refuses a call with Reject (the method needs no token, but the handler
// decides inside) is counted like httpmw counts a Reject on a public route:
// under its rule and its OAuth error code. The interceptors give a public
// call no *call in its context, so Reject reports the rule "", and
// GRPCDecisionHook counts every rule "" as method="unlisted",
// code="unlisted": an insufficient_scope refusal of a configured method
// shows up as a client probing for unlisted methods.
func TestGRPCRejectOnPublicMethod(t *testing.T) {
	m, reg := newMetrics(t)
	s := newStack(t, m)
	icp := mustInterceptors(t, s.v, grpcMethods(t), grpcmw.WithDecisionHook(m.GRPCDecisionHook()))
	ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{})
	_, err := icp.Unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/grpc.health.v1.Health/Check"},
		func(ctx context.Context, _ any) (any, error) {
			return nil, icp.Reject(ctx, &claims.Error{Code: claims.CodeInsufficientScope, Scope: []string{"health:read"}})
		})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("got %v, want PermissionDenied", err)
	}
	const want = `
# HELP stepup_grpc_rejections_total Refused gRPC calls by method rule and error code.
# TYPE stepup_grpc_rejections_total counter
stepup_grpc_rejections_total{code="insufficient_scope",method="/grpc.health.v1.Health/Check"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stepup_grpc_rejections_total"); err != nil {
		t.Error(err)
	}
}
