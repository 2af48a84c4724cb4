package grpcmw_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
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

	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLoggerWildcardMethodName: under a "/pkg.Svc/*" rule, a server with a
// grpc.UnknownServiceHandler lets the client call any method name it
// likes. WithLogger logs the rule's pattern for such calls, allowed or
// refused, never the name the client sent.
func TestLoggerWildcardMethodName(t *testing.T) {
	const (
		pattern = "/pkg.Svc/*"
		chosen  = "attacker-chosen-\u2603-name"
		method  = "/pkg.Svc/" + chosen
	)
	is := newIssuer(t, "k1")
	v := newVerifier(t, is)
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: pattern})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	l := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := []grpcmw.Option{grpcmw.WithLogger(l)}

	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(newInterceptors(t, v, m, opts...).Unary()),
		grpc.ChainStreamInterceptor(newInterceptors(t, v, m, opts...).Stream()),
		grpc.UnknownServiceHandler(func(_ any, st grpc.ServerStream) error {
			var in testgrpc.Empty
			if err := st.RecvMsg(&in); err != nil {
				return err
			}
			return st.SendMsg(&testgrpc.Empty{})
		}),
	)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	defer func() {
		srv.Stop()
		<-served
	}()
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	ctx := context.Background()
	tok := is.mint(t, token{})
	// Allowed: a valid token under the wildcard.
	if err := cc.Invoke(withAuthorization(ctx, "Bearer "+tok), method, &testgrpc.Empty{}, &testgrpc.Empty{}); err != nil {
		t.Fatalf("call with a token: %v", err)
	}
	// Refused: no token.
	err = cc.Invoke(ctx, method, &testgrpc.Empty{}, &testgrpc.Empty{})
	if got := status.Code(err); got != codes.Unauthenticated {
		t.Fatalf("call without a token: got %v, want Unauthenticated", err)
	}

	out := logs.String()
	for _, leak := range []string{chosen, "attacker-chosen", "\u2603", `\u2603`, "\\xe2\\x98\\x83"} {
		if strings.Contains(out, leak) {
			t.Errorf("logs contain the client's method name (%q):\n%s", leak, out)
		}
	}
	for _, want := range []string{
		`msg="grpcmw: call allowed" rule=` + pattern + ` grpc_code=OK`,
		`msg="grpcmw: call refused" rule=` + pattern + ` grpc_code=Unauthenticated`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

// TestLoggerReceived: a token refused for its iss is logged with the iss
// it carried and the configured one; the call's status, details and
// metadata carry neither.
func TestLoggerReceived(t *testing.T) {
	const method = "/pkg.Svc/Get"
	is := newIssuer(t, "k1")
	set, err := jwks.NewStatic(is.jwks)
	if err != nil {
		t.Fatal(err)
	}
	const want = "https://configured.test/"
	v, err := verify.New(set, verify.Config{Issuer: want, Audience: testAudience, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	l := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.ChainStreamInterceptor(newInterceptors(t, v, m, grpcmw.WithLogger(l)).Stream()),
		grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error { return nil }),
	)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	defer func() {
		srv.Stop()
		<-served
	}()
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	var header, trailer metadata.MD
	err = cc.Invoke(withAuthorization(context.Background(), "Bearer "+is.mint(t, token{})), method,
		&testgrpc.Empty{}, &testgrpc.Empty{}, grpc.Header(&header), grpc.Trailer(&trailer))
	st := status.Convert(err)
	if st.Code() != codes.Unauthenticated {
		t.Fatalf("got %v, want Unauthenticated", err)
	}
	out := logs.String()
	if !strings.Contains(out, `received="\"`+testIssuer+`\""`) || !strings.Contains(out, `configured issuers: \"`+want+`\"`) {
		t.Errorf("logs lack the received iss and the configured one:\n%s", out)
	}
	answer := fmt.Sprint(st.Message(), st.Details(), header, trailer)
	if strings.Contains(answer, testIssuer) || strings.Contains(answer, "configured") {
		t.Errorf("answer holds the received value or the hint: %s", answer)
	}
}
