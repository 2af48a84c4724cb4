package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSignalShutdown builds the command, runs it with -dev on 127.0.0.1:0,
// waits until it serves, sends SIGTERM and expects a clean exit (status 0)
// with the shutdown logged, within a time bound.
func TestSignalShutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "httpapi")
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

	// The ready line: "httpapi: serving FILE on http://ADDR (...)".
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "httpapi: serving "); ok {
				if _, after, ok := strings.Cut(rest, " on http://"); ok {
					a, _, _ := strings.Cut(after, " ")
					addr <- a
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-ctx.Done():
		t.Fatalf("no ready line; stderr:\n%s", stderr.String())
	}
	// The listener is open before the -dev tokens are printed: a public
	// request answered means the server runs, so the signal hits a serving
	// program, not its start-up.
	res, err := http.Get(base + "/public")
	if err != nil {
		t.Fatalf("GET /public: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /public: %s", res.Status)
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
	if _, err := http.Get(base + "/public"); err == nil {
		t.Errorf("GET /public after the shutdown succeeded, want the port closed")
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
