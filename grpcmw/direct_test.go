package grpcmw_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

// TestUnaryDirect calls the interceptor without a transport, as a unit test
// of an application would: the answer is complete in the status alone.
func TestUnaryDirect(t *testing.T) {
	is := newIssuer(t, "k1")
	v := newVerifier(t, is)
	custom := claims.Requirement{Check: func(*claims.Claims) *claims.Error {
		return &claims.Error{Code: "insufficient_funds", Description: "Funds are missing"}
	}}
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: methodUnary, Requirement: transfer},
		grpcmw.Rule{Method: methodCacheable, Requirement: custom},
	)
	if err != nil {
		t.Fatal(err)
	}
	intercept := newInterceptors(t, v, m).Unary()
	tok := is.mint(t, token{acr: claims.ACRMultiFactor, scope: scopeTransfer})
	tests := []struct {
		name    string
		method  string
		auth    []string
		code    codes.Code
		message string
		details int
	}{
		{"no token", methodUnary, nil, codes.Unauthenticated, "Bearer", 0},
		{"other scheme is no token", methodUnary, []string{"Basic dXNlcjpwYXNz"}, codes.Unauthenticated, "Bearer", 0},
		{"bearer without token", methodUnary, []string{"Bearer "}, codes.InvalidArgument, "", 1},
		{"bearer with two tokens", methodUnary, []string{"Bearer a b"}, codes.InvalidArgument, "", 1},
		{"two authorization values", methodUnary, []string{"Bearer a", "Basic b"}, codes.InvalidArgument, "", 1},
		{"not a JWT", methodUnary, []string{"Bearer abc"}, codes.Unauthenticated, "", 1},
		// claims turns a code it does not know into a step-up.
		{"code of a custom check", methodCacheable, []string{"Bearer " + tok}, codes.Unauthenticated, `Bearer error="insufficient_user_authentication", error_description="Funds are missing"`, 1},
		{"unlisted", methodEmpty, []string{"Bearer " + tok}, codes.PermissionDenied, "grpcmw: method not allowed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.MD{}
			for _, a := range tt.auth {
				md.Append("authorization", a)
			}
			ctx := metadata.NewIncomingContext(context.Background(), md)
			called := false
			_, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method}, func(context.Context, any) (any, error) {
				called = true
				return nil, nil
			})
			if called {
				t.Fatal("handler called, want the call refused")
			}
			st := status.Convert(err)
			if st.Code() != tt.code || len(st.Details()) != tt.details {
				t.Errorf("got %v with %d details (%q), want %v with %d", st.Code(), len(st.Details()), st.Message(), tt.code, tt.details)
			}
			if tt.message != "" && st.Message() != tt.message {
				t.Errorf("message = %q, want %q", st.Message(), tt.message)
			}
			ce := grpcmw.ErrorFromStatus(st, nil)
			if tt.details == 1 && ce == nil {
				t.Errorf("ErrorFromStatus from details alone = nil, want a *claims.Error")
			}
		})
	}
}
