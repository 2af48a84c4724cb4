package connectstepup_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/connectstepup"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// The procedures of the test service.
const (
	procOpen     = "/test.v1.Test/Open"     // public
	procRead     = "/test.v1.Test/Read"     // any valid token
	procTransfer = "/test.v1.Test/Transfer" // acr mfa
	procAdmin    = "/test.v1.Test/Admin"    // scope admin
	procSecret   = "/test.v1.Test/Secret"   // served, but no rule
	procWatch    = "/test.v1.Test/Watch"    // server stream, acr mfa
	procWait     = "/test.v1.Test/Wait"     // server stream until its context ends, any token
	procChoose   = "/test.v1.Test/Choose"   // acr mfa when the request is "big"
)

const testRealm = "test"

var (
	reqMFA   = claims.Requirement{ACR: []string{"mfa"}}
	reqAdmin = claims.Requirement{Scopes: []string{"admin"}}
)

// decision is one call of the decision hook.
type decision struct {
	rule string
	err  error
}

// env is a Connect server behind the interceptor, its issuer and verifier.
type env struct {
	iss *stepuptest.Issuer
	v   *verify.Verifier
	srv *httptest.Server

	mu        sync.Mutex
	decisions []decision
}

// newIssuer starts a test issuer, closed with the test, and a verifier of
// its tokens.
func newIssuer(t *testing.T) (*stepuptest.Issuer, *verify.Verifier) {
	t.Helper()
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		t.Fatal(err)
	}
	return iss, v
}

// newEnv starts the test service behind an interceptor with the realm
// testRealm, a recording decision hook and opts.
func newEnv(t *testing.T, opts ...connectstepup.Option) *env {
	t.Helper()
	iss, v := newIssuer(t)
	m := testMethods(t)
	e := &env{iss: iss, v: v}
	hook := connectstepup.WithDecisionHook(func(_ context.Context, rule string, err error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.decisions = append(e.decisions, decision{rule, err})
	})
	guard, err := connectstepup.New(v, m, append([]connectstepup.Option{connectstepup.WithRealm(testRealm), hook}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	opt := connect.WithInterceptors(guard)
	mux := http.NewServeMux()
	for _, p := range []string{procOpen, procRead, procTransfer, procAdmin, procSecret, procChoose} {
		mux.Handle(p, connect.NewUnaryHandler(p, unary, opt))
	}
	mux.Handle(procWatch, connect.NewServerStreamHandler(procWatch, watch, opt))
	mux.Handle(procWait, connect.NewServerStreamHandler(procWait, wait, opt))
	e.srv = httptest.NewUnstartedServer(mux)
	e.srv.EnableHTTP2 = true
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

// testMethods is the method table of the test service.
func testMethods(t *testing.T) *grpcmw.Methods {
	t.Helper()
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: procOpen, Public: true},
		grpcmw.Rule{Method: procRead},
		grpcmw.Rule{Method: procTransfer, Requirement: reqMFA},
		grpcmw.Rule{Method: procAdmin, Requirement: reqAdmin},
		grpcmw.Rule{Method: procWatch, Requirement: reqMFA},
		grpcmw.Rule{Method: procWait},
		grpcmw.Rule{Method: procChoose, Choose: chooseBig},
	)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// who describes the claims in ctx, or "anonymous".
func who(ctx context.Context) string {
	c, ok := claims.FromContext(ctx)
	if !ok {
		return "anonymous"
	}
	return fmt.Sprintf("sub=%s acr=%s", c.Subject, c.ACR)
}

func unary(ctx context.Context, req *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
	return connect.NewResponse(wrapperspb.String(req.Msg.GetValue() + " " + who(ctx))), nil
}

// watch sends two messages, each with the caller's claims.
func watch(ctx context.Context, req *connect.Request[wrapperspb.StringValue], stream *connect.ServerStream[wrapperspb.StringValue]) error {
	for i := range 2 {
		if err := stream.Send(wrapperspb.String(fmt.Sprintf("%s %d %s", req.Msg.GetValue(), i, who(ctx)))); err != nil {
			return err
		}
	}
	return nil
}

// wait sends one message, then once its context ends tries another and
// returns what Send said.
func wait(ctx context.Context, _ *connect.Request[wrapperspb.StringValue], stream *connect.ServerStream[wrapperspb.StringValue]) error {
	if err := stream.Send(wrapperspb.String("first")); err != nil {
		return err
	}
	<-ctx.Done()
	return stream.Send(wrapperspb.String("after the end"))
}

// chooseBig demands acr mfa of a "big" request message.
func chooseBig(_ context.Context, _ *claims.Claims, _ string, req any) (claims.Requirement, error) {
	msg, ok := req.(*wrapperspb.StringValue)
	if !ok {
		return claims.Requirement{}, fmt.Errorf("request message is %T", req)
	}
	if msg.GetValue() == "big" {
		return reqMFA, nil
	}
	return claims.Requirement{}, nil
}

// mint returns a token of the issuer, failing the test on error.
func (e *env) mint(t *testing.T, tok stepuptest.Token) string {
	t.Helper()
	raw, err := e.iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// takeDecisions returns and clears the decisions reported so far.
func (e *env) takeDecisions() []decision {
	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.decisions
	e.decisions = nil
	return d
}

// httpChallenge is the WWW-Authenticate that httpmw answers for the token
// raw ("" for none) against req, with the same verifier and realm: the
// header every transport must send.
func (e *env) httpChallenge(t *testing.T, req claims.Requirement, raw string) string {
	t.Helper()
	g, err := httpmw.New(e.v, httpmw.WithRealm(testRealm))
	if err != nil {
		t.Fatal(err)
	}
	h := g.Require(req, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if raw != "" {
		r.Header.Set("Authorization", "Bearer "+raw)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	got := w.Header().Get("WWW-Authenticate")
	if got == "" {
		t.Fatalf("httpmw answered %d without a challenge", w.Code)
	}
	return got
}

// protocols are the client protocols every test runs with.
var protocols = []struct {
	name string
	opts []connect.ClientOption
}{
	{"connect", nil},
	{"grpc", []connect.ClientOption{connect.WithGRPC()}},
	{"grpcweb", []connect.ClientOption{connect.WithGRPCWeb()}},
}

// client returns a client of procedure over the protocol opts.
func (e *env) client(procedure string, opts []connect.ClientOption) *connect.Client[wrapperspb.StringValue, wrapperspb.StringValue] {
	return connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](e.srv.Client(), e.srv.URL+procedure, opts...)
}

// request returns a request with the bearer token raw ("" for none).
func request(msg, raw string) *connect.Request[wrapperspb.StringValue] {
	req := connect.NewRequest(wrapperspb.String(msg))
	if raw != "" {
		req.Header().Set("Authorization", "Bearer "+raw)
	}
	return req
}
