package grpcmw_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/stepupclient"
)

// flowService's FullDuplexCall sends n large messages before it reads
// anything, then drains the client's messages: a client must receive
// while it sends, as grpc-go lets one goroutine send and another receive.
type flowService struct {
	testgrpc.UnimplementedTestServiceServer
	n int
}

func (s flowService) FullDuplexCall(st testgrpc.TestService_FullDuplexCallServer) error {
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
	testgrpc.RegisterTestServiceServer(srv, flowService{n: n})
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
