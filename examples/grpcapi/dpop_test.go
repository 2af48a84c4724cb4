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

	"github.com/stepupauth/stepup/examples/internal/app/apptest"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/grpcmw"
)

// dpopChallenge is the challenge of the dpop.yaml policy's refusals, as
// the www-authenticate metadata carries it.
func dpopChallenge(code, description string) string {
	return `DPoP realm="stepup-example", error="` + code + `", error_description="` + description +
		`", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource", algs="ES256 EdDSA"`
}

// TestDevDPoP runs -dev on the dpop policy: the printed DPoP-bound token
// and proof pass Transfer (htm POST, htu public_url plus the full method),
// once; the token as Bearer and a bearer token are refused with the DPoP
// challenges in the www-authenticate metadata; the printed key signs more
// proofs, for streams too.
func TestDevDPoP(t *testing.T) {
	s := startServer(t, "-dev", "-policy", filepath.Join("..", "policies", "dpop.yaml"))
	out := s.stdout.String()
	ex := apptest.Exports(out)
	for _, name := range []string{"DPOP_KEY", "DPOP_TOKEN", "DPOP_PROOF_TRANSFER", "MFA_TOKEN"} {
		if ex[name] == "" {
			t.Fatalf("no %s in the output:\n%s", name, out)
		}
	}
	for _, want := range []string{
		"# proof for POST https://api.example.com/bank.v1.Bank/Transfer\n",
		`grpcurl -plaintext -H "authorization: DPoP $DPOP_TOKEN" -H "dpop: $DPOP_PROOF_TRANSFER" -d '{"from":"alice-checking","to":"bob-checking","cents":1500}' ` + s.addr + ` bank.v1.Bank/Transfer`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	tok := ex["DPOP_TOKEN"]
	const transferURL = "https://api.example.com" + bankpb.Bank_Transfer_FullMethodName
	bank := bankpb.NewBankClient(s.conn)
	req := &bankpb.TransferRequest{From: "alice-checking", To: "bob-checking", Cents: 1}
	tests := []struct {
		name   string
		auth   string
		proofs []string
		code   codes.Code
		header string
	}{
		{"bound token and the printed proof", "DPoP " + tok, []string{ex["DPOP_PROOF_TRANSFER"]}, codes.OK, ""},
		{"the printed proof again", "DPoP " + tok, []string{ex["DPOP_PROOF_TRANSFER"]}, codes.Unauthenticated,
			dpopChallenge("invalid_dpop_proof", "The DPoP proof is invalid")},
		{"bound token as Bearer", "Bearer " + tok, nil, codes.Unauthenticated,
			dpopChallenge("invalid_token", "The access token is invalid")},
		{"bearer token where DPoP is required", "Bearer " + ex["MFA_TOKEN"], nil, codes.Unauthenticated,
			dpopChallenge("invalid_token", "A DPoP-bound access token is required")},
		{"a new proof signed with DPOP_KEY", "DPoP " + tok, []string{apptest.Proof(t, ex["DPOP_KEY"], "POST", transferURL, tok)}, codes.OK, ""},
		{"a proof for GET", "DPoP " + tok, []string{apptest.Proof(t, ex["DPOP_KEY"], "GET", transferURL, tok)}, codes.Unauthenticated,
			dpopChallenge("invalid_dpop_proof", "The DPoP proof is invalid")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.Pairs("authorization", tt.auth)
			for _, p := range tt.proofs {
				md.Append("dpop", p)
			}
			var header metadata.MD
			_, err := bank.Transfer(metadata.NewOutgoingContext(context.Background(), md), req, grpc.Header(&header))
			got := strings.Join(header.Get(grpcmw.WWWAuthenticateKey), "|")
			if status.Code(err) != tt.code || got != tt.header {
				t.Errorf("got %v %q (%v)\nwant %v %q", status.Code(err), got, err, tt.code, tt.header)
			}
		})
	}

	// A stream's proof names its full method and is checked when it opens.
	watch := "https://api.example.com" + bankpb.Bank_WatchTransactions_FullMethodName
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "DPoP "+tok,
		"dpop", apptest.Proof(t, ex["DPOP_KEY"], "POST", watch, tok))
	stream, err := bank.WatchTransactions(ctx, &bankpb.WatchTransactionsRequest{Account: "alice-checking", Limit: 1})
	if err == nil {
		_, err = stream.Recv()
	}
	if err != nil {
		t.Errorf("WatchTransactions with a proof: %v", err)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run after cancel: %v, want nil", err)
	}
}
