package grpcmw_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"testing"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/stepupclient"
)

// FuzzUnaryClientStepUp: whatever status, www-authenticate and dpop-nonce
// a server answers, the step-up interceptor neither panics nor calls more
// than its bound, and its errors are the documented ones.
func FuzzUnaryClientStepUp(f *testing.F) {
	f.Add(uint32(codes.Unauthenticated), `Bearer error="insufficient_user_authentication", acr_values="urn:a"`, "")
	f.Add(uint32(codes.PermissionDenied), `Bearer error="insufficient_scope", scope="a"`, "")
	f.Add(uint32(codes.Unauthenticated), `DPoP error="use_dpop_nonce"`, "n1")
	f.Add(uint32(codes.Unauthenticated), `Bearer error="insufficient_claims", claims="e30="`, "")
	f.Add(uint32(codes.Unauthenticated), `Bearer error=`, "")
	_, key, _ := ed25519.GenerateKey(nil)
	f.Fuzz(func(t *testing.T, code uint32, challenge, nonce string) {
		c := codes.Code(code%16 + 1) // never OK: the server refuses
		n := 0
		src, err := stepupclient.New(stepupclient.Config{DPoP: key, MaxRetries: 2, Token: func(context.Context, stepupclient.Login) (*oauth2.Token, error) {
			n++
			return &oauth2.Token{AccessToken: "tok"}, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		invoker := func(_ context.Context, _ string, _, _ any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
			calls++
			md := metadata.MD{}
			md.Append("www-authenticate", challenge)
			md.Append("dpop-nonce", nonce)
			for _, o := range opts {
				if h, ok := o.(grpc.HeaderCallOption); ok {
					*h.HeaderAddr = md
				}
			}
			return status.Error(c, "refused")
		}
		for _, opts := range [][]grpcmw.ClientOption{nil, {grpcmw.WithClientDPoP("https://api.example.com")}} {
			calls = 0
			err := grpcmw.UnaryClientStepUp(src, opts...)(context.Background(), "/p.S/M", nil, nil, nil, invoker)
			if max := 2 * (1 + src.MaxRetries()); calls > max {
				t.Fatalf("%d calls, want at most %d", calls, max)
			}
			if err == nil {
				t.Fatal("no error from a refusing server")
			}
			var ce *claims.Error
			var che *stepupclient.ChallengeError
			var le *stepupclient.LoginError
			if _, ok := status.FromError(err); !ok && !errors.As(err, &ce) && !errors.As(err, &che) && !errors.As(err, &le) {
				t.Fatalf("undocumented error %T %v", err, err)
			}
		}
	})
}
