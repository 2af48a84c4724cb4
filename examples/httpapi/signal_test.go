package main

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stepupauth/stepup/examples/internal/app/apptest"
)

// TestSignalShutdown builds the command, runs it with -dev on 127.0.0.1:0,
// waits until it serves, sends SIGTERM and expects a clean exit (status 0)
// with the shutdown logged, within a time bound.
func TestSignalShutdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := apptest.StartCommand(t, ctx, "httpapi", "http://",
		"-dev", "-addr", "127.0.0.1:0", "-policy", filepath.Join("..", "policies", "demo.yaml"))
	base := "http://" + c.Addr
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

	c.Terminate(t)
	if _, err := http.Get(base + "/public"); err == nil {
		t.Errorf("GET /public after the shutdown succeeded, want the port closed")
	}
}
