// Package grpcmetrics connects package metrics to the gRPC interceptors of
// package grpcmw. It lives apart so that importing metrics (for HTTP or
// JWKS metrics) does not pull in gRPC: among the library packages only
// grpcmw and this adapter import it.
//
//	m, err := metrics.New(prometheus.DefaultRegisterer)
//	unary := grpcmw.UnaryServerInterceptor(v, methods, grpcmetrics.Option(m, methods))
//
// The counters are stepup_grpc_rejections_total{method,code} and
// stepup_grpc_allowed_total{method} (see package metrics): method is the
// Method of the rule that governs the call, or "unlisted".
package grpcmetrics

import (
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/metrics"
)

// Option returns a grpcmw option (a decision hook,
// metrics.GRPCDecisionHook) that counts refused calls in
// stepup_grpc_rejections_total{method,code} and allowed ones in
// stepup_grpc_allowed_total{method}. methods is the table given to the
// interceptors: method is the Method of the rule that governs the call (a
// full method, or a "/pkg.Service/*" wildcard), or "unlisted" (code
// "unlisted") for a method without a rule, so a client calling made-up
// method names cannot create series. Public methods are not counted. It panics if m or methods is
// nil. The option is safe for concurrent use.
func Option(m *metrics.Metrics, methods *grpcmw.Methods) grpcmw.Option {
	if m == nil {
		panic("grpcmetrics: Option: nil *metrics.Metrics")
	}
	if methods == nil {
		panic("grpcmetrics: Option: nil *grpcmw.Methods")
	}
	return grpcmw.WithDecisionHook(m.GRPCDecisionHook())
}
