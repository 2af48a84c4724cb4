// Command demo walks through step-up authentication end to end, on loopback
// only, and exits 0 only when every step behaved as expected:
//
//	go run ./examples/demo
//
// It starts three servers on 127.0.0.1: an OpenID provider (package
// stepuptest, whose token endpoint logs in at a password, a multi-factor and
// a phishing-resistant hardware-key level), an HTTP API (package httpmw) and
// the example banking gRPC API (package grpcmw). Both APIs get their keys by
// OpenID Connect discovery (jwks.Discover), verify tokens with one
// verify.Verifier and enforce the requirements of
// examples/policies/demo.yaml, written here in Go (tables.go):
//
//	GET /profile,  Bank/GetBalance, Bank/WatchTransactions   any valid token
//	POST /transfer, Bank/Transfer     multi-factor acr, login at most 5 minutes old
//	GET /admin/,   Admin/*            hardware key (amr hwk) and scope admin
//	Bank/UploadTransfers, Bank/TransferSession               not listed: denied
//
// Then a client plays the story, printing each request, the answer and the
// challenge, and checking each against what RFC 6750, RFC 9470 and RFC 9728
// say it must be: no token, 401 and a challenge without error code; the
// RFC 9728 metadata names the issuer; a password login reads the profile; a
// transfer is refused with insufficient_user_authentication and acr_values;
// the client parses the challenge (claims.ParseChallenges), logs in again at
// the issuer with those acr_values and succeeds; a multi-factor login from a
// session older than max_age gets a max_age challenge, and logging in again
// with that max_age makes the issuer authenticate afresh; the admin area
// answers 403 insufficient_scope until the scope is granted. The same story
// follows over gRPC, where the client interceptors turn refusals into typed
// *claims.Error values whose ACRValues, MaxAge and Scope drive the new
// login, with unary and streaming calls. Last, a client built on package
// stepupclient does the same without a line of challenge handling: one
// Source for both APIs, its http.RoundTripper and the grpcmw step-up
// interceptors read each refusal, call the application's TokenFunc with the
// acr_values and scope it asks for and retry once; the token a gRPC step-up
// got then serves the HTTP API too.
//
// The demo takes no flags. On a mismatch it prints what differed and exits 1.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err := run(ctx, os.Stdout)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo: FAILED:", err)
		os.Exit(1)
	}
}

// run plays the whole story, writing it to out, and reports the first step
// that did not behave.
func run(ctx context.Context, out io.Writer) error {
	return play(ctx, out, nil)
}
