package main

import (
	"bytes"
	"context"
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
	args := []string{"-duration", "2s", "-workers", "2", "-max", "50", "-distinct", "20", "-rounds", "1", "-algs", "EdDSA", "-floor-n", "10"}
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
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("got output\n%s\nwant a line starting %q", out.String(), want)
		}
	}
}
