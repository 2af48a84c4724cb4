package grpcmetrics_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/metrics"
	"github.com/stepupauth/stepup/metrics/grpcmetrics"
)

// TestOptionLabels: the hook labels a call by its governing rule, an
// unlisted method as method="unlisted", code="unlisted".
func TestOptionLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	methods, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/bank.v1.Bank/*"})
	if err != nil {
		t.Fatal(err)
	}
	// Option wraps this hook (metrics_test drives Option through the
	// interceptors); call the hook as the interceptors do.
	hook := m.GRPCHook(func(fm string) (string, bool) {
		r, ok := methods.Lookup(fm)
		return r.Method, ok
	})
	hook(context.Background(), "/bank.v1.Bank/Transfer", claims.InvalidToken(nil))
	hook(context.Background(), "/made.up.Svc/Evil", grpcmw.ErrUnlistedMethod)
	want := `
# HELP stepup_grpc_rejections_total Refused gRPC calls by method rule and error code.
# TYPE stepup_grpc_rejections_total counter
stepup_grpc_rejections_total{code="invalid_token",method="/bank.v1.Bank/*"} 1
stepup_grpc_rejections_total{code="unlisted",method="unlisted"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stepup_grpc_rejections_total"); err != nil {
		t.Error(err)
	}
	if grpcmetrics.Option(m, methods) == nil {
		t.Error("Option returned nil")
	}
	for name, f := range map[string]func(){
		"nil metrics": func() { grpcmetrics.Option(nil, methods) },
		"nil methods": func() { grpcmetrics.Option(m, nil) },
	} {
		func() {
			defer func() {
				if p, _ := recover().(string); !strings.HasPrefix(p, "grpcmetrics: ") {
					t.Errorf("%s: panic %q, want a grpcmetrics message", name, p)
				}
			}()
			f()
		}()
	}
}

// TestDecisionHookCounts: allowed calls are counted by rule beside the
// rejections, so that the step-up rate of a method is a ratio of two
// series; an unlisted method creates no series of its own.
func TestDecisionHookCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	hook := m.GRPCDecisionHook()
	ctx := context.Background()
	for range 3 {
		hook(ctx, "/bank.v1.Bank/Transfer", nil)
	}
	hook(ctx, "/bank.v1.Bank/Transfer", &claims.Error{Code: claims.CodeInsufficientUserAuthentication})
	hook(ctx, "/bank.v1.Bank/*", nil)
	hook(ctx, "", grpcmw.ErrUnlistedMethod)
	want := `
# HELP stepup_grpc_allowed_total Allowed gRPC calls by method rule.
# TYPE stepup_grpc_allowed_total counter
stepup_grpc_allowed_total{method="/bank.v1.Bank/*"} 1
stepup_grpc_allowed_total{method="/bank.v1.Bank/Transfer"} 3
# HELP stepup_grpc_rejections_total Refused gRPC calls by method rule and error code.
# TYPE stepup_grpc_rejections_total counter
stepup_grpc_rejections_total{code="insufficient_user_authentication",method="/bank.v1.Bank/Transfer"} 1
stepup_grpc_rejections_total{code="unlisted",method="unlisted"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stepup_grpc_allowed_total", "stepup_grpc_rejections_total"); err != nil {
		t.Error(err)
	}
}
