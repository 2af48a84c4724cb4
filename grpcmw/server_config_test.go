package grpcmw_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
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
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

func TestNewErrors(t *testing.T) {
	is := newIssuer(t, "k1")
	v := newVerifier(t, is)
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: methodUnary})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    *verify.Verifier
		m    *grpcmw.Methods
		opts []grpcmw.Option
	}{
		{"nil verifier", nil, m, nil},
		{"nil methods", v, nil, nil},
		{"nil option", v, m, []grpcmw.Option{nil}},
		{"realm with CR LF", v, m, []grpcmw.Option{grpcmw.WithRealm("bank\r\nX-Injected: 1")}},
		{"realm with LF", v, m, []grpcmw.Option{grpcmw.WithRealm("a\nb")}},
		{"realm not ASCII", v, m, []grpcmw.Option{grpcmw.WithRealm("banque-\u00e9")}},
		{"javascript resource metadata", v, m, []grpcmw.Option{grpcmw.WithResourceMetadata("javascript:alert(1)")}},
		{"relative resource metadata", v, m, []grpcmw.Option{grpcmw.WithResourceMetadata("/.well-known/oauth-protected-resource")}},
		{"http resource metadata", v, m, []grpcmw.Option{grpcmw.WithResourceMetadata("http://api.example.com/.well-known/oauth-protected-resource")}},
		{"resource metadata with fragment", v, m, []grpcmw.Option{grpcmw.WithResourceMetadata("https://api.example.com/x#f")}},
		{"nil decision hook", v, m, []grpcmw.Option{grpcmw.WithDecisionHook(nil)}},
		{"nil logger", v, m, []grpcmw.Option{grpcmw.WithLogger(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			si, err := grpcmw.New(tt.v, tt.m, tt.opts...)
			if err == nil || si != nil {
				t.Fatalf("New: got %v, %v; want an error", si, err)
			}
			if !strings.HasPrefix(err.Error(), "grpcmw: ") {
				t.Errorf("error %q lacks the grpcmw: prefix", err)
			}
		})
	}
	si, err := grpcmw.New(v, m, grpcmw.WithRealm(`bank "x"`),
		grpcmw.WithResourceMetadata("http://127.0.0.1:8080/.well-known/oauth-protected-resource"))
	if err != nil || si.Unary() == nil || si.Stream() == nil {
		t.Fatalf("New with valid options: got %v, %v", si, err)
	}
}

// TestNewMethodsCopiesRequirement: changing the caller's slices after
// NewMethods, or a Rule that Lookup returned, changes nothing.
func TestNewMethodsCopiesRequirement(t *testing.T) {
	is := newIssuer(t, "k1")
	v := newVerifier(t, is)
	req := claims.Requirement{Scopes: []string{scopeTransfer}, AnyOf: []claims.Requirement{{ACR: []string{claims.ACRMultiFactor}}}}
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: methodUnary, Requirement: req})
	if err != nil {
		t.Fatal(err)
	}
	req.Scopes[0] = "nothing-needed"
	req.AnyOf[0].ACR[0] = "weak"
	got, _ := m.Lookup(methodUnary)
	got.Requirement.Scopes[0] = "other"
	if again, _ := m.Lookup(methodUnary); again.Requirement.Scopes[0] != scopeTransfer || again.Requirement.AnyOf[0].ACR[0] != claims.ACRMultiFactor {
		t.Errorf("Lookup after changes: got %+v, want the requirement as given", again.Requirement)
	}
	intercept := newInterceptors(t, v, m).Unary()
	weak := is.mint(t, token{acr: "weak", scope: "nothing-needed"})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+weak))
	_, err = intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: methodUnary}, func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) == codes.OK {
		t.Errorf("a token meeting the changed requirement passed; want it refused")
	}
}

// TestPublicStream: a public method needs no token over every stream kind,
// and its handler sees no claims.
func TestPublicStream(t *testing.T) {
	is := newIssuer(t, "k1")
	v := newVerifier(t, is)
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	c := startServer(t, v, m)
	for _, k := range kinds {
		for _, auth := range [][]string{nil, {"Bearer not-a-jwt"}} {
			t.Run(fmt.Sprintf("%s %q", k.name, auth), func(t *testing.T) {
				ctx := withAuthorization(context.Background(), auth...)
				header, _, err := k.call(ctx, testgrpc.NewTestServiceClient(c.raw))
				if err != nil {
					t.Fatalf("got %v, want the public call served", err)
				}
				if got := header.Get("x-sub"); len(got) != 1 || got[0] != "<none>" {
					t.Errorf("x-sub: got %q, want <none> (no claims for a public method)", got)
				}
			})
		}
	}
}

// blockingSource blocks a key lookup until its context ends and returns an
// error wrapping the context's error.
type blockingSource struct{ entered chan struct{} }

func (s *blockingSource) Key(ctx context.Context, _, _ string) (*jwks.Key, error) {
	select {
	case <-s.entered:
	default:
		close(s.entered)
	}
	<-ctx.Done()
	return nil, fmt.Errorf("test: key lookup: %w", ctx.Err())
}

// TestCallContextEnded: a call whose context ends during verification gets
// status.FromContextError's code (Canceled, DeadlineExceeded), no challenge,
// and the hook sees the context's error.
func TestCallContextEnded(t *testing.T) {
	is := newIssuer(t, "k1")
	tests := []struct {
		name     string
		ctx      func() (context.Context, context.CancelFunc)
		cancel   bool
		wantCode codes.Code
		wantErr  error
	}{
		{"canceled", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, true, codes.Canceled, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(context.Background(), 0) }, false, codes.DeadlineExceeded, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &blockingSource{entered: make(chan struct{})}
			v, err := verify.New(src, verify.Config{Issuer: testIssuer, Audience: testAudience, Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			m, err := grpcmw.NewMethods(grpcmw.Rule{Method: methodUnary})
			if err != nil {
				t.Fatal(err)
			}
			var hooked error
			intercept := newInterceptors(t, v, m, grpcmw.WithRealm(testRealm),
				refusals(func(_ context.Context, _ string, err error) { hooked = err })).Unary()
			ctx, cancel := tt.ctx()
			defer cancel()
			if tt.cancel {
				go func() { <-src.entered; cancel() }()
			}
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+is.mint(t, token{})))
			_, err = intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: methodUnary}, func(context.Context, any) (any, error) { return nil, nil })
			st := status.Convert(err)
			if st.Code() != tt.wantCode || len(st.Details()) != 0 || strings.Contains(st.Message(), "Bearer") {
				t.Errorf("got %v %q with %d details; want %v without a challenge", st.Code(), st.Message(), len(st.Details()), tt.wantCode)
			}
			if !errors.Is(hooked, tt.wantErr) {
				t.Errorf("hook: got %v, want an error wrapping %v", hooked, tt.wantErr)
			}
		})
	}
}

// expiryService's bidirectional method echoes one message, then waits for
// its context to end and reports how it ended.
type expiryService struct {
	testgrpc.UnimplementedTestServiceServer
	cause   chan error // context.Cause of the handler's context
	sendErr chan error // a Send after the context ended
}

func (s expiryService) FullDuplexCall(st testgrpc.TestService_FullDuplexCallServer) error {
	if _, err := st.Recv(); err != nil {
		return err
	}
	if err := st.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
		return err
	}
	<-st.Context().Done()
	s.cause <- context.Cause(st.Context())
	s.sendErr <- st.Send(&testgrpc.StreamingOutputCallResponse{})
	return st.Context().Err()
}

func serveExpiry(t *testing.T, v *verify.Verifier, svc expiryService, opts ...grpcmw.Option) *grpc.ClientConn {
	t.Helper()
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: methodDuplex})
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer(grpc.ChainStreamInterceptor(newInterceptors(t, v, m, opts...).Stream()))
	testgrpc.RegisterTestServiceServer(srv, svc)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainStreamInterceptor(grpcmw.StreamClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// TestStreamExpiry: a bidirectional stream authorized by a token that
// expires one second later (by the verifier's clock) runs until then;
// at exp the handler's context is cancelled with ErrStreamExpired, Send
// fails, and the client gets Unauthenticated with an invalid_token
// challenge.
func TestStreamExpiry(t *testing.T) {
	is := newIssuer(t, "k1")
	exp := testNow.Add(time.Hour) // the minted token's exp
	var (
		mu     sync.Mutex
		hooked []error
	)
	svc := expiryService{cause: make(chan error, 1), sendErr: make(chan error, 1)}
	cc := serveExpiry(t, newVerifierAt(t, is, func() time.Time { return exp.Add(-time.Second) }), svc,
		grpcmw.WithRealm(testRealm),
		refusals(func(_ context.Context, _ string, err error) {
			mu.Lock()
			defer mu.Unlock()
			hooked = append(hooked, err)
		}))
	ctx := withAuthorization(context.Background(), "Bearer "+is.mint(t, token{}))
	st, err := testgrpc.NewTestServiceClient(cc).FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&testgrpc.StreamingOutputCallRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatalf("first message before exp: %v", err)
	}
	_, err = st.Recv()
	if got := <-svc.cause; !errors.Is(got, grpcmw.ErrStreamExpired) {
		t.Errorf("handler context cause: got %v, want ErrStreamExpired", got)
	}
	if got := <-svc.sendErr; status.Code(got) != codes.Unauthenticated {
		t.Errorf("Send after exp: got %v, want Unauthenticated", got)
	}
	var ce *claims.Error
	if status.Code(err) != codes.Unauthenticated || !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken {
		t.Fatalf("client: got %v, want Unauthenticated with an invalid_token challenge", err)
	}
	if want := fmt.Sprintf(`Bearer realm=%q, error="invalid_token"`, testRealm); !strings.HasPrefix(status.Convert(errors.Unwrap(ce)).Message(), want) {
		t.Errorf("status message: got %q, want a challenge starting %s", status.Convert(errors.Unwrap(ce)).Message(), want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooked) != 1 || !errors.Is(hooked[0], grpcmw.ErrStreamExpired) {
		t.Errorf("hook: got %v, want one error wrapping ErrStreamExpired", hooked)
	}
}

// TestStreamExpiryOff: with InsecureNoStreamExpiry, a stream whose token
// has expired by the verifier's clock, but is still accepted within its
// leeway, runs; without it the stream ends at once.
func TestStreamExpiryOff(t *testing.T) {
	is := newIssuer(t, "k1")
	// 10 s past the minted token's exp, within the default 30 s leeway
	v := newVerifierAt(t, is, func() time.Time { return testNow.Add(time.Hour + 10*time.Second) })
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		opts []grpcmw.Option
		want codes.Code
	}{
		{"default", nil, codes.Unauthenticated},
		{"off", []grpcmw.Option{grpcmw.InsecureNoStreamExpiry()}, codes.OK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := startServer(t, v, m, tt.opts...)
			ctx := withAuthorization(context.Background(), "Bearer "+is.mint(t, token{}))
			_, _, err := callBidi(ctx, testgrpc.NewTestServiceClient(c.raw))
			if status.Code(err) != tt.want {
				t.Errorf("bidi: got %v, want %v", err, tt.want)
			}
		})
	}
}
