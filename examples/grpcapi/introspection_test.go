package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app/apptest"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/grpcmw"
)

// TestDevIntrospection runs -dev on the introspection policy: the printed
// opaque token passes GetBalance, Transfer and a server stream through the
// dev introspection endpoint; an unknown opaque token is Unauthenticated
// with the invalid_token challenge in the www-authenticate metadata.
func TestDevIntrospection(t *testing.T) {
	s := startServer(t, "-dev", "-policy", filepath.Join("..", "policies", "introspection.yaml"))
	out := s.stdout.String()
	opaque := apptest.Exports(out)["OPAQUE_TOKEN"]
	if opaque == "" || strings.Count(opaque, ".") == 2 {
		t.Fatalf("OPAQUE_TOKEN %q is missing or a JWT; output:\n%s", opaque, out)
	}
	const invalidToken = `Bearer realm="stepup-example", error="invalid_token", error_description="The access token is invalid", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`
	transfer := &bankpb.TransferRequest{From: "alice-checking", To: "bob-checking", Cents: 1}
	tests := []struct {
		name   string
		token  string
		code   codes.Code
		header string
	}{
		{"opaque token", opaque, codes.OK, ""},
		{"unknown opaque token", "mB80Ux0yHX17jTaxFhryM7o3og8TojktkEro26mFDMc", codes.Unauthenticated, invalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tt.token)
			var header metadata.MD
			r, err := s.bank.Transfer(ctx, transfer, grpc.Header(&header))
			got := strings.Join(header.Get(grpcmw.WWWAuthenticateKey), "|")
			if status.Code(err) != tt.code || got != tt.header {
				t.Errorf("Transfer: got %v %q (%v)\nwant %v %q", status.Code(err), got, err, tt.code, tt.header)
			}
			if err == nil && r.GetAcr() != claims.ACRMultiFactor {
				t.Errorf("Transfer receipt acr %q, want %q", r.GetAcr(), claims.ACRMultiFactor)
			}
			header = nil
			b, err := s.bank.GetBalance(ctx, &bankpb.GetBalanceRequest{Account: "alice-checking"}, grpc.Header(&header))
			got = strings.Join(header.Get(grpcmw.WWWAuthenticateKey), "|")
			if status.Code(err) != tt.code || got != tt.header {
				t.Errorf("GetBalance: got %v %q (%v)\nwant %v %q", status.Code(err), got, err, tt.code, tt.header)
			}
			if err == nil && b.GetCaller() != "alice" {
				t.Errorf("GetBalance caller %q, want alice", b.GetCaller())
			}
			stream, err := s.bank.WatchTransactions(ctx, &bankpb.WatchTransactionsRequest{Account: "alice-checking", Limit: 1})
			if err == nil {
				_, err = stream.Recv()
			}
			if status.Code(err) != tt.code {
				t.Errorf("WatchTransactions: %v, want %v", err, tt.code)
			}
		})
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run after cancel: %v, want nil", err)
	}
}
