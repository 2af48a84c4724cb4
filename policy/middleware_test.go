package policy_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// TestMiddlewareFromFileAndCode sends the same requests through an httpmw
// route table and a grpcmw method table built from a policy file and
// through the same tables written in code, and checks that both answer
// with the same status and the exact same WWW-Authenticate (HTTP), code
// and www-authenticate metadata (gRPC).
func TestMiddlewareFromFileAndCode(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	iss, err := stepuptest.NewIssuer(stepuptest.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	doc := `
issuer: ` + iss.Issuer() + `
audience: ` + iss.Audience() + `
resource_metadata: https://api.example.com/.well-known/oauth-protected-resource
acr_levels: [urn:example:loa:1, urn:example:loa:2]
rules:
  - http: "GET /public"
    grpc: /grpc.testing.TestService/EmptyCall
    public: true
  - http: "GET /profile"
    grpc: /grpc.testing.TestService/UnaryCall
  - http: "POST /transfer"
    grpc: /grpc.testing.TestService/StreamingOutputCall
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
    max_age: 5m
  - http: "GET /reports"
    grpc: /grpc.testing.TestService/StreamingInputCall
    acr_min: urn:example:loa:2
    scopes: [reports]
  - http: "GET /admin/"
    grpc: /grpc.testing.TestService/FullDuplexCall
    amr_all: [hwk]
    acr_values: [urn:example:loa:2]
    scopes: [admin]
`
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.VerifyConfig()
	cfg.Now = func() time.Time { return now }
	v, err := verify.New(keys, cfg)
	if err != nil {
		t.Fatal(err)
	}

	// The same tables by hand.
	levels := []string{"urn:example:loa:1", "urn:example:loa:2"}
	transfer := claims.Requirement{ACR: []string{claims.ACRMultiFactor}, MaxAge: 5 * time.Minute}
	reports := claims.Requirement{ACRMin: "urn:example:loa:2", ACRLevels: levels, Scopes: []string{"reports"}}
	admin := claims.Requirement{AMRAll: []string{"hwk"}, AMRACRValues: []string{"urn:example:loa:2"}, Scopes: []string{"admin"}}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	codeRoutes := []httpmw.Route{
		{Pattern: "GET /public", Public: true, Handler: ok},
		{Pattern: "GET /profile", Handler: ok},
		{Pattern: "POST /transfer", Requirement: transfer, Handler: ok},
		{Pattern: "GET /reports", Requirement: reports, Handler: ok},
		{Pattern: "GET /admin/", Requirement: admin, Handler: ok},
	}
	codeRules := []grpcmw.Rule{
		{Method: "/grpc.testing.TestService/EmptyCall", Public: true},
		{Method: "/grpc.testing.TestService/UnaryCall"},
		{Method: "/grpc.testing.TestService/StreamingOutputCall", Requirement: transfer},
		{Method: "/grpc.testing.TestService/StreamingInputCall", Requirement: reports},
		{Method: "/grpc.testing.TestService/FullDuplexCall", Requirement: admin},
	}

	// From the file, as ExamplePolicy_HTTPRules and ExamplePolicy_GRPCRules
	// do it.
	var fileRoutes []httpmw.Route
	for _, r := range p.HTTPRules() {
		fileRoutes = append(fileRoutes, httpmw.Route{Pattern: r.HTTP, Public: r.Public, Requirement: r.Requirement, Handler: ok})
	}
	var fileRules []grpcmw.Rule
	for _, r := range p.GRPCRules() {
		fileRules = append(fileRules, grpcmw.Rule{Method: r.GRPC, Public: r.Public, Requirement: r.Requirement})
	}

	guard, err := httpmw.New(v, httpmw.WithRealm("bank"), httpmw.WithResourceMetadata(p.ResourceMetadata))
	if err != nil {
		t.Fatal(err)
	}
	fileMux, err := guard.Mux(fileRoutes)
	if err != nil {
		t.Fatal(err)
	}
	codeMux, err := guard.Mux(codeRoutes)
	if err != nil {
		t.Fatal(err)
	}
	fileConn := startGRPC(t, v, fileRules, p.ResourceMetadata)
	codeConn := startGRPC(t, v, codeRules, p.ResourceMetadata)

	mint := func(tok stepuptest.Token) string {
		t.Helper()
		raw, err := iss.Mint(tok)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	fresh := now.Add(-time.Minute)
	tokens := map[string]string{
		"none":        "",
		"garbage":     "not.a.token",
		"password":    mint(stepuptest.Token{ACR: "urn:example:loa:1", AMR: []string{"pwd"}, AuthTime: fresh}),
		"mfa":         mint(stepuptest.Token{ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "otp"}, AuthTime: fresh}),
		"stale mfa":   mint(stepuptest.Token{ACR: claims.ACRMultiFactor, AuthTime: now.Add(-time.Hour)}),
		"loa2":        mint(stepuptest.Token{ACR: "urn:example:loa:2", AuthTime: fresh, Scopes: []string{"reports"}}),
		"loa2 no scp": mint(stepuptest.Token{ACR: "urn:example:loa:2", AuthTime: fresh}),
		"hwk admin":   mint(stepuptest.Token{AMR: []string{"hwk"}, Scopes: []string{"admin"}}),
		"hwk":         mint(stepuptest.Token{AMR: []string{"hwk"}}),
	}
	targets := []struct{ method, path, rpc string }{
		{"GET", "/public", "EmptyCall"},
		{"GET", "/profile", "UnaryCall"},
		{"POST", "/transfer", "StreamingOutputCall"},
		{"GET", "/reports", "StreamingInputCall"},
		{"GET", "/admin/users", "FullDuplexCall"},
		{"GET", "/unlisted", "UnimplementedCall"},
	}
	challenged := 0
	for name, tok := range tokens {
		for _, tg := range targets {
			// HTTP
			fs, fc := serve(fileMux, tg.method, tg.path, tok)
			cs, cc := serve(codeMux, tg.method, tg.path, tok)
			if fs != cs || fc != cc {
				t.Errorf("%s %s with %s: file gives %d %q, code gives %d %q", tg.method, tg.path, name, fs, fc, cs, cc)
			}
			if fc != "" {
				challenged++
			}
			// gRPC
			fcode, fmd := invoke(t, fileConn, tg.rpc, tok)
			ccode, cmd := invoke(t, codeConn, tg.rpc, tok)
			if fcode != ccode || fmd != cmd {
				t.Errorf("%s with %s: file gives %v %q, code gives %v %q", tg.rpc, name, fcode, fmd, ccode, cmd)
			}
		}
	}
	// The comparison is only worth something if the tables refused with
	// challenges: check that a few representative answers are what they
	// should be.
	if challenged < 10 {
		t.Errorf("only %d challenged answers, want the table to exercise the challenges", challenged)
	}
	for _, c := range []struct {
		tok, method, path string
		status            int
		challenge         string
	}{
		{"password", "POST", "/transfer", 401, `Bearer realm="bank", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`},
		{"stale mfa", "POST", "/transfer", 401, `Bearer realm="bank", error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=300, resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`},
		{"loa2 no scp", "GET", "/reports", 403, `Bearer realm="bank", error="insufficient_scope", error_description="The access token does not grant the required scope", scope="reports", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`},
		{"mfa", "POST", "/transfer", 200, ""},
	} {
		if s, ch := serve(fileMux, c.method, c.path, tokens[c.tok]); s != c.status || ch != c.challenge {
			t.Errorf("%s %s with %s: got %d %q, want %d %q", c.method, c.path, c.tok, s, ch, c.status, c.challenge)
		}
	}
	if code, md := invoke(t, fileConn, "StreamingOutputCall", tokens["password"]); code != codes.Unauthenticated ||
		md != `Bearer realm="bank", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"` {
		t.Errorf("StreamingOutputCall with password: got %v %q", code, md)
	}
}

// serve sends one request to h and returns its status and WWW-Authenticate.
func serve(h http.Handler, method, path, token string) (int, string) {
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Header().Get("WWW-Authenticate")
}

// startGRPC serves the test service behind the interceptors with the
// method table of rules, on bufconn, and returns a client connection.
func startGRPC(t *testing.T, v *verify.Verifier, rules []grpcmw.Rule, resourceMetadata string) *grpc.ClientConn {
	t.Helper()
	methods, err := grpcmw.NewMethods(rules...)
	if err != nil {
		t.Fatal(err)
	}
	opts := []grpcmw.Option{grpcmw.WithRealm("bank"), grpcmw.WithResourceMetadata(resourceMetadata)}
	interceptors, err := grpcmw.New(v, methods, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(interceptors.Unary()),
		grpc.ChainStreamInterceptor(interceptors.Stream()))
	testgrpc.RegisterTestServiceServer(srv, testService{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bank",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// invoke calls one method of the test service (unary or streaming) with
// token and returns the status code and the www-authenticate metadata.
func invoke(t *testing.T, conn *grpc.ClientConn, rpc, token string) (codes.Code, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	c := testgrpc.NewTestServiceClient(conn)
	var header, trailer metadata.MD
	var err error
	switch rpc {
	case "EmptyCall":
		_, err = c.EmptyCall(ctx, &testgrpc.Empty{}, grpc.Header(&header), grpc.Trailer(&trailer))
	case "UnaryCall":
		_, err = c.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.Header(&header), grpc.Trailer(&trailer))
	case "UnimplementedCall":
		_, err = c.UnimplementedCall(ctx, &testgrpc.Empty{}, grpc.Header(&header), grpc.Trailer(&trailer))
	case "StreamingOutputCall":
		var s grpc.ServerStreamingClient[testgrpc.StreamingOutputCallResponse]
		if s, err = c.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{}, grpc.Header(&header), grpc.Trailer(&trailer)); err == nil {
			_, err = s.Recv()
		}
	case "StreamingInputCall":
		var s grpc.ClientStreamingClient[testgrpc.StreamingInputCallRequest, testgrpc.StreamingInputCallResponse]
		if s, err = c.StreamingInputCall(ctx, grpc.Header(&header), grpc.Trailer(&trailer)); err == nil {
			_, err = s.CloseAndRecv()
		}
	case "FullDuplexCall":
		var s grpc.BidiStreamingClient[testgrpc.StreamingOutputCallRequest, testgrpc.StreamingOutputCallResponse]
		if s, err = c.FullDuplexCall(ctx, grpc.Header(&header), grpc.Trailer(&trailer)); err == nil {
			_ = s.CloseSend()
			_, err = s.Recv()
		}
	default:
		t.Fatalf("unknown rpc %s", rpc)
	}
	// The challenge travels in the header or the trailer: read both.
	if h := metadata.Join(header, trailer).Get(grpcmw.WWWAuthenticateKey); len(h) > 0 {
		return status.Code(err), h[0]
	}
	return status.Code(err), ""
}
