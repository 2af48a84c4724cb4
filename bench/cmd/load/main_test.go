package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/bench"
)

// TestMain serves the floor server when run as it: StartFloorServer
// starts the running program, this test binary here, again.
func TestMain(m *testing.M) {
	if os.Getenv(bench.FloorServerEnv) != "" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestRunSmall builds and runs examples/httpapi, runs every scenario against
// it with tiny bounds and checks the output lines cmd/report reads.
func TestRunSmall(t *testing.T) {
	var out bytes.Buffer
	args := []string{"-duration", "2s", "-workers", "2", "-max", "50", "-distinct", "20", "-fill", "100", "-rounds", "1", "-algs", "EdDSA", "-floor-n", "10"}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"load public alg=EdDSA requests=50 errors=0",
		"load protected_reused_token alg=EdDSA requests=50 errors=0",
		"load public_token_header alg=EdDSA requests=50 errors=0",
		"load protected_distinct_tokens alg=EdDSA requests=20 errors=0",
		"load floor_public_token_header alg=EdDSA requests=50 errors=0",
		"load floor_distinct_tokens alg=EdDSA requests=20 errors=0",
		"floor alg=EdDSA when=before n=10 cpu_us_per_op=",
		"floor alg=EdDSA when=after n=10 cpu_us_per_op=",
		"memory alg=EdDSA phase=baseline rss_kb=",
		"memory alg=EdDSA phase=filled rss_kb=",
		"memory alg=EdDSA phase=protected_distinct_tokens rss_kb=",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("got output\n%s\nwant a line starting %q", out.String(), want)
		}
	}
	// The 100 fill tokens (a chunk of 64 and a short one of 36) were
	// admitted, so the third pass hits; a doorkeeper slot shared by two of
	// them can keep a pair out.
	var hits, misses int
	for line := range strings.Lines(out.String()) {
		if rest, ok := strings.CutPrefix(line, "cache_fill alg=EdDSA tokens=100 "); ok {
			if _, err := fmt.Sscanf(rest, "hits=%d misses=%d", &hits, &misses); err != nil {
				t.Fatalf("cache_fill line %q: %v", line, err)
			}
		}
	}
	if hits+misses != 100 || hits < 96 {
		t.Errorf("cache_fill: %d hits and %d misses of 100 tokens, want all counted and at least 96 hits", hits, misses)
	}
}
