// Command load is the end-to-end loopback load test: it starts the
// examples/httpapi-shaped server of package bench on 127.0.0.1 and measures
// the throughput of the public route, of the protected route with one
// reused token (cache hits), and of the protected route with a distinct
// token per request (first sight). It prints one "load ..." line per
// scenario for cmd/report.
//
//	go run ./cmd/load -duration 5s -workers 8
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
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
		alg      = fs.String("alg", "RS256", "signing algorithm of the tokens")
		rounds   = fs.Int("rounds", 3, "rounds of the scenarios, interleaved; the report takes the median")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	k, err := bench.LoadKeys()
	if err != nil {
		return err
	}
	now := time.Now()
	tokens := make([]string, *distinct)
	var (
		wg   sync.WaitGroup
		errM sync.Mutex
		merr error
	)
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < len(tokens); i += 2 {
				t, err := k.Mint(*alg, "load-"+strconv.Itoa(i), now)
				if err != nil {
					errM.Lock()
					merr = err
					errM.Unlock()
					return
				}
				tokens[i] = t
			}
		})
	}
	wg.Wait()
	if merr != nil {
		return merr
	}
	reused, err := k.Mint(*alg, "load-reused", now)
	if err != nil {
		return err
	}

	srv, err := bench.StartServer(k)
	if err != nil {
		return err
	}
	defer srv.Close()

	none := func(int) string { return "" }
	one := func(int) string { return reused }
	// Warm up connections, the cache and the CPU frequency.
	if _, err := bench.Load(ctx, "warmup", srv.URL+"/profile", *workers, 2000, *d, one); err != nil {
		return err
	}
	if _, err := bench.Load(ctx, "warmup", srv.URL+"/public", *workers, 2000, *d, none); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "load_config alg=%s workers=%d duration=%s max=%d distinct=%d rounds=%d\n", *alg, *workers, *d, *max, *distinct, *rounds)
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
			r, err := bench.Load(ctx, sc.name, srv.URL+sc.path, *workers, sc.max, *d, sc.token)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, r)
		}
	}
	return nil
}
