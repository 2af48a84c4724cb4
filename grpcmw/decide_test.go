package grpcmw_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

// decisions records what the decision hooks saw, one "rule code" entry per
// report ("ok" for an allowed call).
type decisions struct {
	mu  sync.Mutex
	got []string
}

func (d *decisions) hook() grpcmw.Option {
	return grpcmw.WithDecisionHook(func(_ context.Context, rule string, err error) {
		code := "ok"
		if err != nil {
			code = "refused"
			var ce *claims.Error
			if errors.As(err, &ce) {
				code = string(ce.Code)
			}
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		d.got = append(d.got, rule+" "+code)
	})
}

func (d *decisions) take() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := strings.Join(d.got, "|")
	d.got = nil
	return s
}

// choosingService answers UnaryCall; a response_size of 13 makes the
// handler refuse the call itself with Reject.
type choosingService struct {
	testgrpc.UnimplementedTestServiceServer
	s *grpcmw.Interceptors
}

func (c choosingService) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if req.GetResponseSize() == 13 {
		return nil, c.s.Reject(ctx, &claims.Error{Code: claims.CodeInsufficientScope, Description: "the account is frozen", Scope: []string{"bank:unfreeze"}})
	}
	if _, ok := claims.FromContext(ctx); !ok {
		return nil, status.Error(codes.Internal, "no claims in the handler's context")
	}
	return &testgrpc.SimpleResponse{}, nil
}

func (c choosingService) StreamingInputCall(st testgrpc.TestService_StreamingInputCallServer) error {
	if _, err := st.Recv(); err != nil {
		return err
	}
	return c.s.Reject(st.Context(), claims.InvalidRequest(errors.New("bad message")))
}

// serveChoosing serves choosingService on bufconn behind s.
func serveChoosing(t *testing.T, s *grpcmw.Interceptors) testgrpc.TestServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(s.Unary()), grpc.ChainStreamInterceptor(s.Stream()))
	testgrpc.RegisterTestServiceServer(srv, choosingService{s: s})
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return testgrpc.NewTestServiceClient(cc)
}

var errPolicyStore = errors.New("policy store: secret-detail-42")

// chooseByAmount is a Rule.Choose: response_size is the amount of a
// transfer; above 1,000 a hardware key is needed. Sizes 1 to 4 make the
// chooser fail in each way it can.
func chooseByAmount(ctx context.Context, c *claims.Claims, fullMethod string, req any) (claims.Requirement, error) {
	if got, ok := claims.FromContext(ctx); !ok || got != c {
		return claims.Requirement{}, errors.New("chooser context lacks the claims")
	}
	if fullMethod != methodUnary {
		return claims.Requirement{}, fmt.Errorf("chooser got method %q", fullMethod)
	}
	r, ok := req.(*testgrpc.SimpleRequest)
	if !ok {
		return claims.Requirement{}, fmt.Errorf("chooser got request %T", req)
	}
	switch r.GetResponseSize() {
	case 1:
		return claims.Requirement{}, claims.InvalidRequest(errors.New("amount missing"))
	case 2:
		return claims.Requirement{}, errPolicyStore
	case 3:
		return claims.Requirement{}, fmt.Errorf("policy store: %w", claims.ErrUnavailable)
	case 4:
		return claims.Requirement{MaxAge: -1}, nil // invalid
	}
	if r.GetResponseSize() > 1000 {
		return claims.Requirement{AMRAll: []string{claims.AMRHardwareKey}, AMRACRValues: []string{"urn:example:hwk"}}, nil
	}
	return claims.Requirement{}, nil
}

// TestRuleChoose: the requirement of a unary call depends on its request
// message; every chooser outcome is answered and reported like the
// interceptors' own decisions, once, under the rule.
func TestRuleChoose(t *testing.T) {
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: methodUnary, Choose: chooseByAmount},
		grpcmw.Rule{Method: "/grpc.testing.TestService/*"},
	)
	if err != nil {
		t.Fatal(err)
	}
	var d decisions
	s := newInterceptors(t, newVerifier(t, is), m, d.hook(), grpcmw.WithRealm(testRealm))
	client := serveChoosing(t, s)
	tok := is.mint(t, token{})
	tests := []struct {
		name   string
		amount int32
		tok    string
		code   codes.Code
		header string // www-authenticate, "" for none
		report string
	}{
		{"small transfer", 10, tok, codes.OK, "", methodUnary + " ok"},
		{"large transfer, no hardware key", 5000, tok, codes.Unauthenticated,
			`Bearer realm="bank", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:hwk"`,
			methodUnary + " insufficient_user_authentication"},
		{"no token: the chooser is not asked", 5000, "", codes.Unauthenticated, `Bearer realm="bank"`, methodUnary + " "},
		{"chooser: invalid request", 1, tok, codes.InvalidArgument,
			`Bearer realm="bank", error="invalid_request", error_description="The request is malformed"`, methodUnary + " invalid_request"},
		{"chooser: server fault", 2, tok, codes.Internal, "", methodUnary + " refused"},
		{"chooser: outage", 3, tok, codes.Unavailable, "", methodUnary + " refused"},
		{"chooser: invalid requirement", 4, tok, codes.Internal, "", methodUnary + " refused"},
		{"handler refuses with Reject", 13, tok, codes.PermissionDenied,
			`Bearer realm="bank", error="insufficient_scope", error_description="the account is frozen", scope="bank:unfreeze"`,
			methodUnary + " insufficient_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.tok != "" {
				ctx = withAuthorization(ctx, "Bearer "+tt.tok)
			}
			var header metadata.MD
			_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseSize: tt.amount}, grpc.Header(&header))
			st := status.Convert(err)
			if st.Code() != tt.code {
				t.Fatalf("code: got %v (%q), want %v", st.Code(), st.Message(), tt.code)
			}
			if got := strings.Join(header.Get(grpcmw.WWWAuthenticateKey), ","); got != tt.header {
				t.Errorf("www-authenticate: got %q, want %q", got, tt.header)
			}
			if strings.Contains(st.Message(), "secret-detail") {
				t.Errorf("status message leaks the chooser's error: %q", st.Message())
			}
			if got := d.take(); got != tt.report {
				t.Errorf("decision hooks: got %q, want %q (one report per call)", got, tt.report)
			}
		})
	}
}

// TestRejectInStream: a stream handler that refuses after the first
// message gets its challenge to the client in the trailer (the header is
// sent), and the stream is reported once, as refused.
func TestRejectInStream(t *testing.T) {
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*"})
	if err != nil {
		t.Fatal(err)
	}
	var d decisions
	s := newInterceptors(t, newVerifier(t, is), m, d.hook())
	client := serveChoosing(t, s)
	st, err := client.StreamingInputCall(withAuthorization(context.Background(), "Bearer "+is.mint(t, token{})))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&testgrpc.StreamingInputCallRequest{}); err != nil {
		t.Fatal(err)
	}
	_, err = st.CloseAndRecv()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("stream: got %v, want InvalidArgument", err)
	}
	md := metadata.Join(mustHeader(t, st), st.Trailer())
	if got := md.Get(grpcmw.WWWAuthenticateKey); len(got) != 1 || !strings.Contains(got[0], `error="invalid_request"`) {
		t.Errorf("www-authenticate: got %q, want one invalid_request challenge", got)
	}
	if got, want := d.take(), "/grpc.testing.TestService/* invalid_request"; got != want {
		t.Errorf("decision hooks: got %q, want %q", got, want)
	}
}

func mustHeader(t *testing.T, st grpc.ClientStream) metadata.MD {
	t.Helper()
	h, err := st.Header()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestRejectOutsideInterceptors: Reject works for a context the
// interceptors never saw (rule ""), and a nil error is a server fault,
// never an allowed call.
func TestRejectOutsideInterceptors(t *testing.T) {
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods()
	if err != nil {
		t.Fatal(err)
	}
	var d decisions
	s := newInterceptors(t, newVerifier(t, is), m, d.hook())
	err = s.Reject(context.Background(), claims.MissingToken())
	if st := status.Convert(err); st.Code() != codes.Unauthenticated || st.Message() != "Bearer" {
		t.Errorf("Reject(MissingToken): got %v %q, want Unauthenticated \"Bearer\"", st.Code(), st.Message())
	}
	if status.Code(s.Reject(context.Background(), nil)) != codes.Internal {
		t.Errorf("Reject(nil): want Internal")
	}
	if got, want := d.take(), " | refused"; got != want {
		t.Errorf("decision hooks: got %q, want %q", got, want)
	}
}

// TestChooseRules: NewMethods refuses a Choose beside a Requirement or on
// a public rule, and a public rule with any requirement field, as Guard.Mux
// refuses a public route with one.
func TestChooseRules(t *testing.T) {
	for _, tt := range []struct {
		name string
		rule grpcmw.Rule
		want error
	}{
		{"choose and requirement", grpcmw.Rule{Method: methodUnary, Choose: chooseByAmount, Requirement: claims.Requirement{Scopes: []string{"a"}}}, grpcmw.ErrChooseRequirement},
		{"public with choose", grpcmw.Rule{Method: methodUnary, Public: true, Choose: chooseByAmount}, grpcmw.ErrPublicRequirement},
		{"public with ACRLevels only", grpcmw.Rule{Method: methodUnary, Public: true, Requirement: claims.Requirement{ACRLevels: []string{"a", "b"}}}, grpcmw.ErrPublicRequirement},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := grpcmw.NewMethods(tt.rule); !errors.Is(err, tt.want) {
				t.Errorf("NewMethods: got %v, want %v", err, tt.want)
			}
		})
	}
}
