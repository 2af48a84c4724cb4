package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/examples/internal/bankpb"
)

// TestSignalShutdown builds the command, runs it with -dev on 127.0.0.1:0,
// waits until it serves, sends SIGTERM and expects a clean exit (status 0)
// with the shutdown logged, within a time bound.
func TestSignalShutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "grpcapi")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "-dev", "-addr", "127.0.0.1:0", "-policy", filepath.Join("..", "policies", "demo.yaml"))
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // no-op once it exited

	// The ready line: "grpcapi: serving FILE on ADDR (...)".
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "grpcapi: serving "); ok {
				if _, after, ok := strings.Cut(rest, " on "); ok {
					a, _, _ := strings.Cut(after, " ")
					addr <- a
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var target string
	select {
	case target = <-addr:
	case <-ctx.Done():
		t.Fatalf("no ready line; stderr:\n%s", stderr.String())
	}
	// The listener is open before the -dev tokens are printed: an answered
	// call (refused: no token) means the server runs, so the signal hits a
	// serving program, not its start-up.
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
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

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "msg=stopped") {
		t.Errorf("stderr lacks the shutdown line (msg=stopped):\n%s", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
