package policy_test

// These examples show the few lines that turn a policy into httpmw routes
// and grpcmw methods. They live in the external test package: policy
// itself imports neither middleware, so a program that only loads policies
// never links gRPC.

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"

	"google.golang.org/grpc"
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

// examplePolicy is a policy for the test issuer iss: a public route, a
// route for any valid token and a step-up route that is also an RPC.
func examplePolicy(iss *stepuptest.Issuer) string {
	return fmt.Sprintf(`
issuer: %s
audience: %s
rules:
  - http: "GET /public"
    public: true
  - http: "GET /profile"
    grpc: /grpc.testing.TestService/EmptyCall
  - http: "POST /transfer"
    grpc: /grpc.testing.TestService/UnaryCall
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
    max_age: 5m
`, iss.Issuer(), iss.Audience())
}

// exampleSetup starts a test issuer and loads examplePolicy with a
// verifier for it.
func exampleSetup() (*stepuptest.Issuer, *policy.Policy, *verify.Verifier) {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	p, err := policy.Parse([]byte(examplePolicy(iss)))
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwks.NewStatic(iss.JWKS()) // jwks.Discover(ctx, p.Issuer) in production
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.New(keys, p.VerifyConfig())
	if err != nil {
		log.Fatal(err)
	}
	return iss, p, v
}

// HTTPRules feed httpmw's route table: one httpmw.Route per rule, with the
// handler the program chooses for it.
func ExamplePolicy_HTTPRules() {
	iss, p, v := exampleSetup()
	defer iss.Close()

	guard, err := httpmw.New(v, httpmw.WithRealm("bank"))
	if err != nil {
		log.Fatal(err)
	}
	var routes []httpmw.Route
	for _, r := range p.HTTPRules() {
		routes = append(routes, httpmw.Route{
			Pattern:     r.HTTP,
			Public:      r.Public,
			Requirement: r.Requirement,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				c, _ := claims.FromContext(req.Context())
				if c == nil {
					fmt.Fprintf(w, "%s: public", r.HTTP)
					return
				}
				fmt.Fprintf(w, "%s: %s", r.HTTP, c.Subject)
			}),
		})
	}
	mux, err := guard.Mux(routes)
	if err != nil {
		log.Fatal(err)
	}

	password, err := iss.Login(context.Background(), stepuptest.LoginRequest{})
	if err != nil {
		log.Fatal(err)
	}
	for _, target := range []string{"GET /public", "GET /profile", "POST /transfer"} {
		var method, path string
		fmt.Sscan(target, &method, &path)
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+password)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		body, _ := io.ReadAll(w.Result().Body)
		if w.Code == http.StatusOK {
			fmt.Println(w.Code, string(body))
		} else {
			fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// 200 GET /public: public
	// 200 GET /profile: alice
	// 401 Bearer realm="bank", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"
}

// GRPCRules feed grpcmw's method table, which both interceptors enforce.
func ExamplePolicy_GRPCRules() {
	iss, p, v := exampleSetup()
	defer iss.Close()

	var rules []grpcmw.Rule
	for _, r := range p.GRPCRules() {
		rules = append(rules, grpcmw.Rule{Method: r.GRPC, Public: r.Public, Requirement: r.Requirement})
	}
	methods, err := grpcmw.NewMethods(rules...)
	if err != nil {
		log.Fatal(err)
	}
	interceptors, err := grpcmw.New(v, methods, grpcmw.WithRealm("bank"))
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(interceptors.Unary()),
		grpc.ChainStreamInterceptor(interceptors.Stream()))
	testgrpc.RegisterTestServiceServer(srv, testService{})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient("passthrough:///bank",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	client := testgrpc.NewTestServiceClient(conn)

	password, err := iss.Login(context.Background(), stepuptest.LoginRequest{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+password)
	_, err = client.EmptyCall(ctx, &testgrpc.Empty{})
	fmt.Println("EmptyCall:", status.Code(err))
	var header, trailer metadata.MD
	_, err = client.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.Header(&header), grpc.Trailer(&trailer))
	fmt.Println("UnaryCall:", status.Code(err))
	fmt.Println(metadata.Join(header, trailer).Get(grpcmw.WWWAuthenticateKey))
	// The policy names no streaming method: denied.
	stream, err := client.FullDuplexCall(ctx)
	if err == nil {
		_, err = stream.Recv()
	}
	fmt.Println("FullDuplexCall:", status.Code(err))
	// Output:
	// EmptyCall: OK
	// UnaryCall: Unauthenticated
	// [Bearer realm="bank", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"]
	// FullDuplexCall: PermissionDenied
}

// testService answers EmptyCall and UnaryCall; the other methods are
// unimplemented.
type testService struct {
	testgrpc.UnimplementedTestServiceServer
}

func (testService) EmptyCall(context.Context, *testgrpc.Empty) (*testgrpc.Empty, error) {
	return &testgrpc.Empty{}, nil
}

func (testService) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	c, _ := claims.FromContext(ctx)
	return &testgrpc.SimpleResponse{Username: c.Subject}, nil
}
