package grpcmw_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepupclient"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

func ExampleNewMethods() {
	methods, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: "/grpc.health.v1.Health/*", Public: true},
		grpcmw.Rule{Method: "/bank.v1.Bank/*"}, // any valid token
		grpcmw.Rule{Method: "/bank.v1.Bank/Transfer", Requirement: claims.Requirement{
			ACR:    []string{claims.ACRMultiFactor},
			MaxAge: 5 * time.Minute,
		}},
	)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range []string{
		"/bank.v1.Bank/Transfer",
		"/bank.v1.Bank/Balance",
		"/grpc.health.v1.Health/Check",
		"/bank.v1.Admin/Delete",
	} {
		r, ok := methods.Lookup(m)
		switch {
		case !ok:
			fmt.Printf("%s: denied\n", m)
		case r.Public:
			fmt.Printf("%s: public\n", m)
		default:
			fmt.Printf("%s: rule %s\n", m, r.Method)
		}
	}

	_, err = grpcmw.NewMethods(grpcmw.Rule{Method: "/bank.v1.Bank/Transfer/"})
	fmt.Println(err)
	// Output:
	// /bank.v1.Bank/Transfer: rule /bank.v1.Bank/Transfer
	// /bank.v1.Bank/Balance: rule /bank.v1.Bank/*
	// /grpc.health.v1.Health/Check: public
	// /bank.v1.Admin/Delete: denied
	// grpcmw: rule 0 ("/bank.v1.Bank/Transfer/"): bad method name
}

func ExampleErrorFromStatus() {
	// What a client receives when a login is too old for the method.
	st := status.New(codes.Unauthenticated, "")
	md := metadata.Pairs(grpcmw.WWWAuthenticateKey,
		`Bearer realm="bank", error="insufficient_user_authentication", max_age=300`)

	ce := grpcmw.ErrorFromStatus(st, md)
	fmt.Println(ce.Code, ce.MaxAge)
	// Output: insufficient_user_authentication 5m0s
}

// bankService answers UnaryCall with the verified caller's subject.
type bankService struct {
	testgrpc.UnimplementedTestServiceServer
}

func (bankService) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	c, _ := claims.FromContext(ctx)
	return &testgrpc.SimpleResponse{Username: c.Subject}, nil
}

// StreamingOutputCall sends one message naming the caller's acr.
func (bankService) StreamingOutputCall(_ *testgrpc.StreamingOutputCallRequest, st testgrpc.TestService_StreamingOutputCallServer) error {
	c, _ := claims.FromContext(st.Context())
	return st.Send(&testgrpc.StreamingOutputCallResponse{Payload: &testgrpc.Payload{Body: []byte(c.ACR)}})
}

// exampleBank serves bankService on bufconn for iss's tokens: UnaryCall
// and StreamingOutputCall need a multi-factor login.
func exampleBank(iss *stepuptest.Issuer) (*bufconn.Listener, func()) {
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		log.Fatal(err)
	}
	mfa := claims.Requirement{ACR: []string{claims.ACRMultiFactor}}
	methods, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: "/grpc.testing.TestService/UnaryCall", Requirement: mfa},
		grpcmw.Rule{Method: "/grpc.testing.TestService/StreamingOutputCall", Requirement: mfa},
	)
	if err != nil {
		log.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	interceptors, err := grpcmw.New(v, methods, grpcmw.WithRealm("bank"))
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(interceptors.Unary()), grpc.ChainStreamInterceptor(interceptors.Stream()))
	testgrpc.RegisterTestServiceServer(srv, bankService{})
	go func() { _ = srv.Serve(lis) }()
	return lis, srv.Stop
}

// exampleSource logs in at iss as each Login asks, printing the refusals
// it follows.
func exampleSource(iss *stepuptest.Issuer) *stepupclient.Source {
	src, err := stepupclient.New(stepupclient.Config{Token: func(ctx context.Context, l stepupclient.Login) (*oauth2.Token, error) {
		if l.Refusal != nil {
			fmt.Println("stepping up:", l.Refusal.Code, l.ACRValues)
		}
		tok, err := iss.Login(ctx, stepuptest.LoginRequest{ACRValues: l.ACRValues, MaxAge: l.MaxAge, Scopes: l.Scopes})
		return &oauth2.Token{AccessToken: tok}, err
	}})
	if err != nil {
		log.Fatal(err)
	}
	return src
}

// exampleStepUpConn serves exampleBank for iss and dials it with the
// client interceptor opt.
func exampleStepUpConn(iss *stepuptest.Issuer, opt grpc.DialOption) (*grpc.ClientConn, func()) {
	lis, stop := exampleBank(iss)
	conn, err := grpc.NewClient("passthrough:///bank",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()), opt)
	if err != nil {
		log.Fatal(err)
	}
	return conn, func() { _ = conn.Close(); stop() }
}

// UnaryClientStepUp sends the Source's token and follows the refusal by
// itself: the application makes one call and gets the answer.
func ExampleUnaryClientStepUp() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	conn, stop := exampleStepUpConn(iss, grpc.WithChainUnaryInterceptor(grpcmw.UnaryClientStepUp(exampleSource(iss))))
	defer stop()
	resp, err := testgrpc.NewTestServiceClient(conn).UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	fmt.Println(resp.GetUsername(), status.Code(err))
	// Output:
	// stepping up: insufficient_user_authentication [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
	// alice OK
}

// StreamClientStepUp opens a server stream again after a refusal: the
// request message was sent and the sending closed, nothing received.
func ExampleStreamClientStepUp() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	conn, stop := exampleStepUpConn(iss, grpc.WithChainStreamInterceptor(grpcmw.StreamClientStepUp(exampleSource(iss))))
	defer stop()
	st, err := testgrpc.NewTestServiceClient(conn).StreamingOutputCall(context.Background(), &testgrpc.StreamingOutputCallRequest{})
	if err != nil {
		log.Fatal(err)
	}
	msg, err := st.Recv()
	fmt.Println(string(msg.GetPayload().GetBody()), status.Code(err))
	// Output:
	// stepping up: insufficient_user_authentication [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
	// http://schemas.openid.net/pape/policies/2007/06/multi-factor OK
}

// Example_stepUp runs the step-up round trip over gRPC: a password login is
// refused with a challenge, the client reads the typed error, logs in again
// with the acr_values it asks for, and the retry succeeds.
func Example_stepUp() {
	ctx := context.Background()
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()

	lis, stop := exampleBank(iss)
	defer stop()

	// Client: the interceptor turns challenges into *claims.Error.
	conn, err := grpc.NewClient("passthrough:///bank",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(grpcmw.UnaryClientInterceptor()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	bank := testgrpc.NewTestServiceClient(conn)
	call := func(token string) (*testgrpc.SimpleResponse, error) {
		ctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		return bank.UnaryCall(ctx, &testgrpc.SimpleRequest{})
	}

	token, err := iss.Login(ctx, stepuptest.LoginRequest{}) // password only
	if err != nil {
		log.Fatal(err)
	}
	_, err = call(token)
	var ce *claims.Error
	if errors.As(err, &ce) && ce.Code == claims.CodeInsufficientUserAuthentication {
		fmt.Println(status.Code(err), ce.Code, ce.ACRValues)
		token, err = iss.Login(ctx, stepuptest.LoginRequest{ACRValues: ce.ACRValues, MaxAge: ce.MaxAge})
		if err != nil {
			log.Fatal(err)
		}
	}
	resp, err := call(token)
	fmt.Println(resp.GetUsername(), status.Code(err))
	// Output:
	// Unauthenticated insufficient_user_authentication [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
	// alice OK
}

// A rule's Choose picks the requirement from the request message: a
// transfer above 1,000 needs a multi-factor login, a smaller one any valid
// token. The interceptor answers and reports the chosen requirement's
// refusal like any other.
func ExampleRule_choose() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		log.Fatal(err)
	}
	methods, err := grpcmw.NewMethods(grpcmw.Rule{
		Method: "/grpc.testing.TestService/UnaryCall",
		Choose: func(_ context.Context, _ *claims.Claims, _ string, req any) (claims.Requirement, error) {
			r, ok := req.(*testgrpc.SimpleRequest)
			if !ok {
				return claims.Requirement{}, claims.InvalidRequest(fmt.Errorf("unexpected request %T", req))
			}
			if r.GetResponseSize() > 1000 { // the amount, in this example
				return claims.Requirement{ACR: []string{claims.ACRMultiFactor}}, nil
			}
			return claims.Requirement{}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	interceptors, err := grpcmw.New(v, methods)
	if err != nil {
		log.Fatal(err)
	}
	unary := interceptors.Unary()
	token, err := iss.Login(context.Background(), stepuptest.LoginRequest{}) // password only
	if err != nil {
		log.Fatal(err)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+token))
	info := &grpc.UnaryServerInfo{FullMethod: "/grpc.testing.TestService/UnaryCall"}
	handler := func(context.Context, any) (any, error) { return &testgrpc.SimpleResponse{}, nil }
	for _, amount := range []int32{50, 5000} {
		_, err := unary(ctx, &testgrpc.SimpleRequest{ResponseSize: amount}, info, handler)
		fmt.Println(amount, status.Code(err))
	}
	// Output:
	// 50 OK
	// 5000 Unauthenticated
}
