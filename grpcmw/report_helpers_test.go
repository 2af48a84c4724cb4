package grpcmw_test

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stepupauth/stepup/grpcmw"
)

// rtService runs the handler functions a red-team test gives it.
type rtService struct {
	testgrpc.UnimplementedTestServiceServer
	unary func(ctx context.Context) error
	bidi  func(st testgrpc.TestService_FullDuplexCallServer) error
}

func (s rtService) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if err := s.unary(ctx); err != nil {
		return nil, err
	}
	return &testgrpc.SimpleResponse{}, nil
}

func (s rtService) FullDuplexCall(st testgrpc.TestService_FullDuplexCallServer) error {
	return s.bidi(st)
}

// recoverUnary and recoverStream stand for a recovery interceptor (such as
// grpc-ecosystem's recovery), chained outermost as is usual.
func recoverUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Error(codes.Internal, "panic")
		}
	}()
	return h(ctx, req)
}

func recoverStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = status.Error(codes.Internal, "panic")
		}
	}()
	return h(srv, ss)
}

// serveRT serves svc on bufconn behind a recovery interceptor and s.
func serveRT(t *testing.T, s *grpcmw.Interceptors, svc rtService) testgrpc.TestServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(recoverUnary, s.Unary()),
		grpc.ChainStreamInterceptor(recoverStream, s.Stream()))
	testgrpc.RegisterTestServiceServer(srv, svc)
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
