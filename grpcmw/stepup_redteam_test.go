package grpcmw_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
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
	"github.com/stepupauth/stepup/stepupclient"
)

// flowService's FullDuplexCall sends n large messages before it reads
// anything, then drains the client's messages: a client must receive
// while it sends, as grpc-go lets one goroutine send and another receive.
type flowService struct {
	testgrpc.UnimplementedTestServiceServer
	n     int
	calls atomic.Int64
}

func (s *flowService) FullDuplexCall(st testgrpc.TestService_FullDuplexCallServer) error {
	big := &testgrpc.StreamingOutputCallResponse{Payload: &testgrpc.Payload{Body: make([]byte, 32<<10)}}
	for range s.n {
		if err := st.Send(big); err != nil {
			return err
		}
	}
	for {
		if _, err := st.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// TestClientStepUpStreamFlowControl: a StreamClientStepUp stream whose
// SendMsg is blocked by flow control (the server is not reading) still
// delivers messages to a concurrent RecvMsg; otherwise the client cannot
// drain the server, which cannot start reading, and both wait forever.
func TestClientStepUpStreamFlowControl(t *testing.T) {
	const n = 64 // 2 MiB each way, far beyond the 64 KiB windows
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.InitialWindowSize(1<<16), grpc.InitialConnWindowSize(1<<16))
	testgrpc.RegisterTestServiceServer(srv, &flowService{n: n})
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	src, err := stepupclient.New(stepupclient.Config{Token: func(context.Context, stepupclient.Login) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "t0k3n"}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(1<<16), grpc.WithInitialConnWindowSize(1<<16),
		grpc.WithChainStreamInterceptor(grpcmw.StreamClientStepUp(src)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := testgrpc.NewTestServiceClient(cc).FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		req := &testgrpc.StreamingOutputCallRequest{Payload: &testgrpc.Payload{Body: make([]byte, 32<<10)}}
		for range n {
			if err := st.Send(req); err != nil {
				sent <- err
				return
			}
		}
		sent <- st.CloseSend()
	}()
	got := 0
	for {
		_, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Recv after %d messages: %v (deadlocked until the deadline?)", got, err)
		}
		got++
	}
	if err := <-sent; err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got != n {
		t.Errorf("received %d messages, want %d", got, n)
	}
}

// StreamingOutputCall sends one message, then refuses the stream with a
// step-up challenge, as a server checking late would.
func (s *flowService) StreamingOutputCall(_ *testgrpc.StreamingOutputCallRequest, st testgrpc.TestService_StreamingOutputCallServer) error {
	s.calls.Add(1)
	if err := st.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
		return err
	}
	st.SetTrailer(metadata.Pairs(grpcmw.WWWAuthenticateKey, `Bearer error="insufficient_user_authentication", acr_values="urn:x:loa:2"`))
	return status.Error(codes.Unauthenticated, "step up")
}

// TestClientStepUpStreamDelivered: a stream that delivered a message
// before its refusal is not opened again (the application has the
// message; a new stream would repeat it): the refusal is returned, typed,
// and no login is made.
func TestClientStepUpStreamDelivered(t *testing.T) {
	svc := &flowService{}
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	testgrpc.RegisterTestServiceServer(srv, svc)
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	var logins atomic.Int64
	src, err := stepupclient.New(stepupclient.Config{Token: func(context.Context, stepupclient.Login) (*oauth2.Token, error) {
		logins.Add(1)
		return &oauth2.Token{AccessToken: "t0k3n"}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainStreamInterceptor(grpcmw.StreamClientStepUp(src)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	st, err := testgrpc.NewTestServiceClient(cc).StreamingOutputCall(context.Background(), &testgrpc.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatalf("first Recv: %v", err)
	}
	_, err = st.Recv()
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientUserAuthentication {
		t.Fatalf("second Recv: %v, want the refusal as a *claims.Error", err)
	}
	if n := svc.calls.Load(); n != 1 {
		t.Errorf("server saw %d calls, want 1: no replay after a delivered message", n)
	}
	if n := logins.Load(); n != 1 {
		t.Errorf("%d logins, want 1 (the first token only)", n)
	}
}
