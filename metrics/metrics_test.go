package metrics_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/metrics"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

func newMetrics(t *testing.T, opts ...metrics.Option) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

func TestNew(t *testing.T) {
	if m, err := metrics.New(nil); err == nil || m != nil {
		t.Errorf("New(nil): got %v, %v; want an error", m, err)
	}
	if m, err := metrics.New(prometheus.NewRegistry(), nil); err == nil || m != nil {
		t.Errorf("New(reg, nil option): got %v, %v; want an error", m, err)
	}

	_, reg := newMetrics(t)
	before := series(t, reg)
	m, err := metrics.New(reg)
	if err == nil || m != nil {
		t.Fatalf("second New on one registry: got %v, %v; want an error", m, err)
	}
	if !strings.HasPrefix(err.Error(), "metrics: ") {
		t.Errorf("error %q lacks the metrics: prefix", err)
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("error %v: want a prometheus.AlreadyRegisteredError in its chain", err)
	}
	if after := series(t, reg); len(after) != len(before) {
		t.Errorf("a failed New changed the registry: %d series before, %d after", len(before), len(after))
	}

	// A failed New unregisters what it registered: a registry holding one
	// conflicting collector stays usable and keeps only that collector.
	reg2 := prometheus.NewRegistry()
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "stepup_grpc_rejections_total", Help: "conflict"})
	reg2.MustRegister(other)
	if _, err := metrics.New(reg2); err == nil {
		t.Fatal("New with a conflicting collector: got nil error")
	}
	if n, err := testutil.GatherAndCount(reg2); err != nil || n != 1 {
		t.Errorf("series after a failed New: got %d (%v), want 1", n, err)
	}

	// The fixed series are pre-declared at zero.
	_, reg3 := newMetrics(t)
	for _, r := range verify.Reasons() {
		outcome := "invalid"
		switch r {
		case verify.ReasonNone:
			outcome = "valid"
		case verify.ReasonUnavailable:
			outcome = "unavailable"
		case verify.ReasonCanceled:
			outcome = "canceled"
		}
		if got := value(t, reg3, "stepup_token_verifications_total", "outcome", outcome, "reason", string(r)); got != 0 {
			t.Errorf("reason %s: got %v, want 0", r, got)
		}
	}
}

// TestJWKS scripts a fetch, a rotation, a removal, a bad key, each kind of
// fetch failure, an outage past the staleness bound and the recovery.
func TestJWKS(t *testing.T) {
	m, reg := newMetrics(t)
	iss := newIssuer(t)
	r := newRemote(t, m, iss, "idp")
	fetches := func(result string) float64 {
		return value(t, reg, "stepup_jwks_fetches_total", "issuer", "idp", "result", result)
	}
	gauge := func(name string) float64 { return value(t, reg, name, "issuer", "idp") }

	if got := gauge("stepup_jwks_last_success_timestamp_seconds"); got != 0 {
		t.Errorf("last success before any fetch: got %v, want 0", got)
	}
	// A fetch.
	before := float64(time.Now().UnixNano()) / 1e9
	if err := r.refresh(t); err != nil {
		t.Fatal(err)
	}
	after := float64(time.Now().UnixNano()) / 1e9
	if got := gauge("stepup_jwks_last_success_timestamp_seconds"); got < before || got > after {
		t.Errorf("last success: got %v, want in [%v, %v]", got, before, after)
	}
	check := func(step string, want map[string]float64) {
		t.Helper()
		for name, w := range want {
			var got float64
			if res, ok := strings.CutPrefix(name, "fetches:"); ok {
				got = fetches(res)
			} else {
				got = gauge(name)
			}
			if got != w {
				t.Errorf("%s: %s: got %v, want %v", step, name, got, w)
			}
		}
	}
	check("first fetch", map[string]float64{
		"fetches:ok": 1, "stepup_jwks_keys": 1, "stepup_jwks_serving_stale": 0, "stepup_jwks_unavailable": 0,
	})

	// A graceful rotation: the new key joins the old one.
	old := iss.KeyID("")
	if _, err := iss.Rotate(""); err != nil {
		t.Fatal(err)
	}
	if err := r.refresh(t); err != nil {
		t.Fatal(err)
	}
	check("rotation", map[string]float64{"fetches:ok": 2, "stepup_jwks_keys": 2})
	if err := iss.RemoveKey(old); err != nil {
		t.Fatal(err)
	}
	if err := r.refresh(t); err != nil {
		t.Fatal(err)
	}
	check("old key removed", map[string]float64{"fetches:ok": 3, "stepup_jwks_keys": 1})

	// A bad key is skipped and counted on every fetch that holds it.
	if err := iss.AddRawKey([]byte(`{"kty":"oct","kid":"sym","k":"c2VjcmV0"}`)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.refresh(t); err != nil {
			t.Fatal(err)
		}
	}
	if got := gauge("stepup_jwks_keys_rejected_total"); got != 2 {
		t.Errorf("keys rejected: got %v, want 2", got)
	}
	check("bad key", map[string]float64{"fetches:ok": 5, "stepup_jwks_keys": 1})

	// Failures, each with its result; the last good set is served stale.
	for _, tt := range []struct {
		fault  stepuptest.Fault
		result string
	}{
		{stepuptest.Fault500, "http_status"},
		{stepuptest.FaultGarbage, "invalid_response"},
		{stepuptest.FaultHTML, "invalid_response"},
		{stepuptest.FaultOversized, "invalid_response"},
		{stepuptest.FaultDown, "network"},
	} {
		if err := iss.SetFaults(stepuptest.Faults{JWKS: tt.fault}); err != nil {
			t.Fatal(err)
		}
		prev := fetches(tt.result)
		if err := r.refresh(t); err == nil {
			t.Fatalf("fault %v: Refresh succeeded", tt.fault)
		}
		if got := fetches(tt.result); got != prev+1 {
			t.Errorf("fault %v: fetches{result=%q}: got %v, want %v", tt.fault, tt.result, got, prev+1)
		}
		check("fault "+tt.fault.String(), map[string]float64{"stepup_jwks_serving_stale": 1, "stepup_jwks_unavailable": 0, "stepup_jwks_keys": 1})
	}

	// An outage past the staleness bound: keys become unavailable.
	if err := iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.Fault500}); err != nil {
		t.Fatal(err)
	}
	r.clock.advance(staleness + time.Second)
	_, err := r.Key(context.Background(), "", iss.KeyID(""))
	r.wait(t)
	if !errors.Is(err, claims.ErrUnavailable) {
		t.Fatalf("Key during the outage: got %v, want claims.ErrUnavailable", err)
	}
	check("outage", map[string]float64{"stepup_jwks_serving_stale": 0, "stepup_jwks_unavailable": 1})

	// Recovery.
	if err := iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.FaultNone}); err != nil {
		t.Fatal(err)
	}
	r.clock.advance(cooldown)
	if _, err := r.Key(context.Background(), "", iss.KeyID("")); err != nil {
		t.Fatalf("Key after recovery: %v", err)
	}
	r.wait(t)
	check("recovery", map[string]float64{
		"fetches:ok": 6, "stepup_jwks_serving_stale": 0, "stepup_jwks_unavailable": 0, "stepup_jwks_keys": 1,
	})

	const want = `
# HELP stepup_jwks_fetches_total JWKS fetch attempts by issuer and result.
# TYPE stepup_jwks_fetches_total counter
stepup_jwks_fetches_total{issuer="idp",result="error"} 0
stepup_jwks_fetches_total{issuer="idp",result="http_status"} 2
stepup_jwks_fetches_total{issuer="idp",result="invalid_response"} 3
stepup_jwks_fetches_total{issuer="idp",result="network"} 1
stepup_jwks_fetches_total{issuer="idp",result="ok"} 6
stepup_jwks_fetches_total{issuer="idp",result="timeout"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stepup_jwks_fetches_total"); err != nil {
		t.Error(err)
	}
	if got := value(t, reg, "stepup_jwks_fetch_duration_seconds", "issuer", "idp"); got != 12 {
		t.Errorf("fetch duration samples: got %v, want 12", got)
	}
}

// stack is an HTTP API on a Remote key set with every hook of m installed.
type stack struct {
	iss    *stepuptest.Issuer
	remote *remote
	v      *verify.Verifier
	guard  *httpmw.Guard
	mux    *http.ServeMux
}

func newStack(t *testing.T, m *metrics.Metrics, opts ...httpmw.Option) *stack {
	t.Helper()
	s := &stack{iss: newIssuer(t)}
	s.remote = newRemote(t, m, s.iss, "idp")
	if err := s.remote.refresh(t); err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(s.remote, verify.Config{Issuer: s.iss.Issuer(), Audience: s.iss.Audience(), Observer: m.VerifyObserver()})
	if err != nil {
		t.Fatal(err)
	}
	s.v = v
	s.guard, err = httpmw.New(v, append([]httpmw.Option{httpmw.WithDecisionHook(m.HTTPDecisionHook())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	s.mux, err = s.guard.Mux([]httpmw.Route{
		{Pattern: "GET /public", Public: true, Handler: ok},
		{Pattern: "GET /profile", Handler: ok},
		{Pattern: "POST /transfer", Requirement: stepUp, Handler: ok},
		{Pattern: "GET /admin/", Requirement: admin, Handler: ok},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *stack) mint(t *testing.T, tok stepuptest.Token) string {
	t.Helper()
	raw, err := s.iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// outage makes the key set unavailable: the JWKS fails and the last good
// set is past the staleness bound.
func (s *stack) outage(t *testing.T) {
	t.Helper()
	if err := s.iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.Fault500}); err != nil {
		t.Fatal(err)
	}
	s.remote.clock.advance(staleness + time.Second)
}

// TestHTTP sends each kind of refusal and checks the counters.
func TestHTTP(t *testing.T) {
	m, reg := newMetrics(t)
	s := newStack(t, m)
	valid := s.mint(t, stepuptest.Token{})
	expired := s.mint(t, stepuptest.Token{IssuedAt: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-30 * time.Minute)})
	wrongAud := s.mint(t, stepuptest.Token{Audience: []string{"https://other.example.com"}})

	tests := []struct {
		name   string
		h      http.Handler
		method string
		target string
		auth   []string
		status int
	}{
		{"public", s.mux, "GET", "/public", nil, 200},
		{"no token", s.mux, "GET", "/profile", nil, 401},
		{"two headers", s.mux, "GET", "/profile", []string{"Bearer " + valid, "Bearer " + valid}, 400},
		{"expired", s.mux, "GET", "/profile", []string{"Bearer " + expired}, 401},
		{"wrong audience", s.mux, "GET", "/profile", []string{"Bearer " + wrongAud}, 401},
		{"valid", s.mux, "GET", "/profile", []string{"Bearer " + valid}, 200},
		{"valid again (cache)", s.mux, "GET", "/profile", []string{"Bearer " + valid}, 200},
		{"step-up", s.mux, "POST", "/transfer", []string{"Bearer " + valid}, 401},
		{"scope", s.mux, "GET", "/admin/users/42", []string{"Bearer " + valid}, 403},
		{"no mux", s.guard.Require(claims.Requirement{}, ok), "GET", "/raw/path/42", nil, 401},
	}
	for _, tt := range tests {
		if got := serve(tt.h, tt.method, tt.target, tt.auth...); got != tt.status {
			t.Errorf("%s: status got %d, want %d", tt.name, got, tt.status)
		}
	}
	s.outage(t)
	if got := serve(s.mux, "GET", "/profile", "Bearer "+s.mint(t, stepuptest.Token{Subject: "bob"})); got != 503 {
		t.Errorf("outage: status got %d, want 503", got)
	}
	s.remote.wait(t)

	const want = `
# HELP stepup_http_rejections_total Refused HTTP requests by route pattern and error code.
# TYPE stepup_http_rejections_total counter
stepup_http_rejections_total{code="insufficient_scope",route="GET /admin/"} 1
stepup_http_rejections_total{code="insufficient_user_authentication",route="POST /transfer"} 1
stepup_http_rejections_total{code="invalid_request",route="GET /profile"} 1
stepup_http_rejections_total{code="invalid_token",route="GET /profile"} 2
stepup_http_rejections_total{code="none",route="GET /profile"} 1
stepup_http_rejections_total{code="none",route="unmatched"} 1
stepup_http_rejections_total{code="unavailable",route="GET /profile"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stepup_http_rejections_total"); err != nil {
		t.Error(err)
	}
	for _, tt := range []struct {
		outcome, reason string
		want            float64
	}{
		{"valid", "none", 4}, // valid, valid again, step-up, scope
		{"invalid", "expired", 1},
		{"invalid", "audience", 1},
		{"unavailable", "unavailable", 1},
		{"invalid", "signature", 0},
	} {
		if got := value(t, reg, "stepup_token_verifications_total", "outcome", tt.outcome, "reason", tt.reason); got != tt.want {
			t.Errorf("verifications{%s,%s}: got %v, want %v", tt.outcome, tt.reason, got, tt.want)
		}
	}
	for outcome, want := range map[string]float64{"valid": 4, "invalid": 2, "unavailable": 1} {
		if got := value(t, reg, "stepup_token_verification_duration_seconds", "outcome", outcome); got != want {
			t.Errorf("latency samples{%s}: got %v, want %v", outcome, got, want)
		}
	}
	if got := value(t, reg, "stepup_token_cache_lookups_total", "result", "hit"); got < 1 {
		t.Errorf("token cache hits: got %v, want at least 1 (the same token sent again)", got)
	}
	if got := value(t, reg, "stepup_token_cache_lookups_total", "result", "miss"); got < 1 {
		t.Errorf("token cache misses: got %v, want at least 1", got)
	}
	if got := value(t, reg, "stepup_jwks_unavailable", "issuer", "idp"); got != 1 {
		t.Errorf("jwks unavailable: got %v, want 1", got)
	}
}

// grpcMethods is the method table of the gRPC tests.
func grpcMethods(t *testing.T) *grpcmw.Methods {
	t.Helper()
	methods, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: "/bank.v1.Bank/Balance"},
		grpcmw.Rule{Method: "/bank.v1.Bank/Transfer", Requirement: stepUp},
		grpcmw.Rule{Method: "/bank.v1.Admin/*", Requirement: admin},
		grpcmw.Rule{Method: "/grpc.health.v1.Health/Check", Public: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	return methods
}

// call runs one unary call through the interceptor, without a transport.
func call(intercept grpc.UnaryServerInterceptor, method string, auth ...string) codes.Code {
	md := metadata.MD{}
	for _, a := range auth {
		md.Append("authorization", a)
	}
	ctx := metadata.NewIncomingContext(context.Background(), md)
	_, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) {
		return "ok", nil
	})
	return status.Code(err)
}

// TestGRPC sends each kind of refusal through the unary and the stream
// interceptor and checks the counters.
func TestGRPC(t *testing.T) {
	m, reg := newMetrics(t)
	s := newStack(t, m)
	methods := grpcMethods(t)
	unary := mustInterceptors(t, s.v, methods, grpcmw.WithDecisionHook(m.GRPCDecisionHook())).Unary()
	valid := s.mint(t, stepuptest.Token{})
	expired := s.mint(t, stepuptest.Token{IssuedAt: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-30 * time.Minute)})

	tests := []struct {
		name   string
		method string
		auth   []string
		code   codes.Code
	}{
		{"public", "/grpc.health.v1.Health/Check", nil, codes.OK},
		{"no token", "/bank.v1.Bank/Balance", nil, codes.Unauthenticated},
		{"two values", "/bank.v1.Bank/Balance", []string{"Bearer " + valid, "Bearer " + valid}, codes.InvalidArgument},
		{"expired", "/bank.v1.Bank/Balance", []string{"Bearer " + expired}, codes.Unauthenticated},
		{"valid", "/bank.v1.Bank/Balance", []string{"Bearer " + valid}, codes.OK},
		{"step-up", "/bank.v1.Bank/Transfer", []string{"Bearer " + valid}, codes.Unauthenticated},
		{"scope via wildcard", "/bank.v1.Admin/DeleteUser", []string{"Bearer " + valid}, codes.PermissionDenied},
		{"another method of the wildcard", "/bank.v1.Admin/Whatever123", []string{"Bearer " + valid}, codes.PermissionDenied},
		{"unlisted", "/bank.v1.Bank/Secret", []string{"Bearer " + valid}, codes.PermissionDenied},
		{"unlisted service", "/evil.Service/x", nil, codes.PermissionDenied},
	}
	for _, tt := range tests {
		if got := call(unary, tt.method, tt.auth...); got != tt.code {
			t.Errorf("%s: code got %v, want %v", tt.name, got, tt.code)
		}
	}

	// The stream interceptor shares the hooks.
	stream := mustInterceptors(t, s.v, methods, grpcmw.WithDecisionHook(m.GRPCDecisionHook())).Stream()
	ss := &fakeStream{ctx: metadata.NewIncomingContext(context.Background(), metadata.MD{})}
	err := stream(nil, ss, &grpc.StreamServerInfo{FullMethod: "/bank.v1.Bank/Balance"}, func(any, grpc.ServerStream) error { return nil })
	if got := status.Code(err); got != codes.Unauthenticated {
		t.Errorf("stream without token: code got %v, want Unauthenticated", got)
	}

	s.outage(t)
	if got := call(unary, "/bank.v1.Bank/Balance", "Bearer "+s.mint(t, stepuptest.Token{Subject: "bob"})); got != codes.Unavailable {
		t.Errorf("outage: code got %v, want Unavailable", got)
	}
	s.remote.wait(t)

	const want = `
# HELP stepup_grpc_rejections_total Refused gRPC calls by method rule and error code.
# TYPE stepup_grpc_rejections_total counter
stepup_grpc_rejections_total{code="insufficient_scope",method="/bank.v1.Admin/*"} 2
stepup_grpc_rejections_total{code="insufficient_user_authentication",method="/bank.v1.Bank/Transfer"} 1
stepup_grpc_rejections_total{code="invalid_request",method="/bank.v1.Bank/Balance"} 1
stepup_grpc_rejections_total{code="invalid_token",method="/bank.v1.Bank/Balance"} 1
stepup_grpc_rejections_total{code="none",method="/bank.v1.Bank/Balance"} 2
stepup_grpc_rejections_total{code="unavailable",method="/bank.v1.Bank/Balance"} 1
stepup_grpc_rejections_total{code="unlisted",method="unlisted"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stepup_grpc_rejections_total"); err != nil {
		t.Error(err)
	}
}

// fakeStream is a grpc.ServerStream with only a context.
type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (f *fakeStream) Context() context.Context     { return f.ctx }
func (f *fakeStream) SetHeader(metadata.MD) error  { return nil }
func (f *fakeStream) SendHeader(metadata.MD) error { return nil }
func (f *fakeStream) SetTrailer(metadata.MD)       {}
func (f *fakeStream) SendMsg(any) error            { return nil }
func (f *fakeStream) RecvMsg(any) error            { return nil }
