package grpcmw_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

// BenchmarkUnaryInterceptor measures the server interceptor's decision on a
// call whose token was seen before (warm key set, verified-token cache as
// the verifier configures it by default), without the transport.
func BenchmarkUnaryInterceptor(b *testing.B) {
	is := newIssuer(b, "k1")
	v := newVerifier(b, is)
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: methodUnary, Requirement: transfer})
	if err != nil {
		b.Fatal(err)
	}
	intercept := newInterceptors(b, v, m).Unary()
	tok := is.mint(b, token{acr: claims.ACRMultiFactor, authTime: testNow.Add(-time.Minute), scope: scopeTransfer})
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	info := &grpc.UnaryServerInfo{FullMethod: methodUnary}
	handler := func(ctx context.Context, req any) (any, error) {
		if _, ok := claims.FromContext(ctx); !ok {
			b.Fatal("no claims in the handler's context")
		}
		return req, nil
	}
	if _, err := intercept(ctx, nil, info, handler); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := intercept(ctx, nil, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUnaryInterceptorDenied measures a refusal with a challenge
// (no token): rendering the challenge, the status and its details.
func BenchmarkUnaryInterceptorDenied(b *testing.B) {
	is := newIssuer(b, "k1")
	v := newVerifier(b, is)
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: methodUnary, Requirement: transfer})
	if err != nil {
		b.Fatal(err)
	}
	intercept := newInterceptors(b, v, m, grpcmw.WithRealm(testRealm)).Unary()
	ctx := metadata.NewIncomingContext(context.Background(), metadata.MD{})
	info := &grpc.UnaryServerInfo{FullMethod: methodUnary}
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := intercept(ctx, nil, info, handler); err == nil {
			b.Fatal("no error, want Unauthenticated")
		}
	}
}
