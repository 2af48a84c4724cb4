package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/examples/internal/app/apptest"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
)

// TestSignalShutdown builds the command, runs it with -dev on 127.0.0.1:0,
// waits until it serves, sends SIGTERM and expects a clean exit (status 0)
// with the shutdown logged, within a time bound.
func TestSignalShutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := apptest.StartCommand(t, ctx, "grpcapi", "",
		"-dev", "-addr", "127.0.0.1:0", "-policy", filepath.Join("..", "policies", "demo.yaml"))
	// The listener is open before the -dev tokens are printed: an answered
	// call (refused: no token) means the server runs, so the signal hits a
	// serving program, not its start-up.
	conn, err := grpc.NewClient(c.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = bankpb.NewBankClient(conn).GetBalance(cctx, &bankpb.GetBalanceRequest{Account: "alice-checking"}, grpc.WaitForReady(true))
	ccancel()
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("GetBalance without a token: %v, want Unauthenticated", err)
	}

	c.Terminate(t)
}
