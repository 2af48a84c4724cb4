// Command load is the end-to-end loopback load test of issue 8: it builds
// the real examples/httpapi from the repository, runs it with -dev (its
// in-process issuer) and the demo policy on 127.0.0.1, and measures with a
// Go keep-alive client the throughput of the public route, of the protected
// route with one reused token (cache hits) and of the protected route with
// a distinct token per request (first sight; the tokens come from logins
// at the dev issuer's token endpoint, which the program prints). It prints
// one "load ..." line per scenario for cmd/report.
//
//	go run ./cmd/load -duration 5s -workers 8
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stepupauth/stepup/bench"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var (
		d        = fs.Duration("duration", 5*time.Second, "time bound of each scenario")
		workers  = fs.Int("workers", 8, "concurrent keep-alive connections")
		max      = fs.Int("max", 200_000, "request bound of the public and reused-token scenarios")
		distinct = fs.Int("distinct", 3000, "distinct tokens (request bound of the first-sight scenario)")
		root     = fs.String("root", "", "the stepup repository (default: found above the working directory)")
		rounds   = fs.Int("rounds", 3, "rounds of the scenarios, interleaved; the report takes the median")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		r, err := bench.FindRoot(".")
		if err != nil {
			return err
		}
		*root = r
	}
	api, err := bench.StartHTTPAPI(ctx, *root)
	if err != nil {
		return err
	}
	defer api.Close()
	tokens, err := api.Logins(ctx, *distinct, 2)
	if err != nil {
		return err
	}
	reused := api.Token
	alg := "?"
	if hdr, _, ok := strings.Cut(reused, "."); ok {
		var h struct {
			Alg string `json:"alg"`
		}
		if b, err := base64.RawURLEncoding.DecodeString(hdr); err == nil && json.Unmarshal(b, &h) == nil {
			alg = h.Alg
		}
	}

	none := func(int) string { return "" }
	one := func(int) string { return reused }
	// Warm up connections, the cache and the CPU frequency.
	if _, err := bench.Load(ctx, "warmup", api.URL+"/profile", *workers, 2000, *d, one); err != nil {
		return err
	}
	if _, err := bench.Load(ctx, "warmup", api.URL+"/public", *workers, 2000, *d, none); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "load_config target=examples/httpapi(-dev,demo.yaml) alg=%s workers=%d duration=%s max=%d distinct=%d rounds=%d\n", alg, *workers, *d, *max, *distinct, *rounds)
	// public_token_header is a diagnostic: the public route with the same
	// Authorization header sent (and ignored), the transport cost of an
	// 800-byte header without any verification.
	for round := range *rounds {
		for _, sc := range []struct {
			name, path string
			max        int
			token      func(int) string
		}{
			{"public", "/public", *max, none},
			{"protected_reused_token", "/profile", *max, one},
			{"public_token_header", "/public", *max, one},
			{"protected_distinct_tokens", "/profile", *distinct, func(i int) string { return tokens[i] }},
		} {
			if sc.name == "protected_distinct_tokens" && round > 0 {
				continue // the tokens are no longer first seen
			}
			r, err := bench.Load(ctx, sc.name, api.URL+sc.path, *workers, sc.max, *d, sc.token)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, r)
		}
	}
	return nil
}
