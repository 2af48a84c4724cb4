// Command load is the end-to-end loopback load test of issues 8 and 15: it
// builds the real examples/httpapi from the repository, runs it with -dev
// (its in-process issuer) and the demo policy on 127.0.0.1, once per
// algorithm (the demo policy with "algorithms: [ALG]" added, so the dev
// issuer signs with ALG), and measures with a Go keep-alive client the
// throughput and the server's CPU time per request of the public route, of
// the protected route with one reused token (cache hits), of the public
// route carrying that token's Authorization header (the header baseline)
// and of the protected route with a distinct token per request (first
// sight). The distinct tokens are real tokens of the server's issuer,
// from logins at its dev issuer's token endpoint; those logins run inside
// the server process too, so they are all made before any measuring, and
// the measured windows hold API requests only.
//
// The server's CPU time is read from /proc/PID/stat (utime+stime) before
// and after each scenario. Around each algorithm's run the floor, the raw
// signature check of that algorithm (bench.Floor), is timed in this
// process in thread CPU time, to compare with.
//
// Then the same client measures the floor server (bench.ServeFloor), this
// program started again as a minimal net/http server whose protected
// route only runs the raw signature check on distinct tokens: the floor
// as a server under the same load pays it (scenarios
// floor_public_token_header and floor_distinct_tokens).
//
// It prints one "load ..." line per scenario and round and "floor ..."
// lines for cmd/report.
//
//	go run ./cmd/load -duration 5s -workers 8
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stepupauth/stepup/bench"
)

func main() {
	if os.Getenv(bench.FloorServerEnv) != "" {
		// This program started again as the floor server (runFloor).
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		err := bench.ServeFloorFromEnv(ctx, os.Stdout)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "load: floor server:", err)
			os.Exit(1)
		}
		return
	}
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
		distinct = fs.Int("distinct", 10000, "distinct tokens minted before measuring (request bound of the first-sight scenario)")
		fill     = fs.Int("fill", 14000, "tokens sent twice before measuring, so that the cache admits them and is full (it holds 10,000 by default); 0 for none")
		root     = fs.String("root", "", "the stepup repository (default: found above the working directory)")
		rounds   = fs.Int("rounds", 3, "rounds of the scenarios, interleaved; the report takes the median")
		algList  = fs.String("algs", strings.Join(bench.Algs, ","), "comma-separated algorithms the dev issuer signs with, one server each")
		floorN   = fs.Int("floor-n", 3000, "signature checks of each floor timing")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	algs := strings.Split(*algList, ",")
	for _, alg := range algs {
		if !slices.Contains(bench.Algs, alg) {
			return fmt.Errorf("-algs: %q is not one of %s", alg, strings.Join(bench.Algs, ", "))
		}
	}
	if *root == "" {
		r, err := bench.FindRoot(".")
		if err != nil {
			return err
		}
		*root = r
	}
	dir, err := os.MkdirTemp("", "bench-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := bench.BuildHTTPAPI(ctx, *root, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "load_config target=examples/httpapi(-dev,demo.yaml) algs=%s workers=%d duration=%s max=%d distinct=%d fill=%d rounds=%d clk_tck=%d cpu_resolution_ns=%d floor_n=%d cache_entries=%d cache_bytes=%d\n",
		strings.Join(algs, ","), *workers, *d, *max, *distinct, *fill, *rounds, bench.ClockTicks(), bench.CPUResolution().Nanoseconds(), *floorN, bench.DefaultTokenCacheEntries, bench.DefaultTokenCacheBytes)
	for _, alg := range algs {
		if err := runAlg(ctx, stdout, *root, bin, alg, *d, *workers, *max, *distinct, *fill, *rounds, *floorN); err != nil {
			return fmt.Errorf("%s: %w", alg, err)
		}
		if err := runFloor(ctx, stdout, alg, *d, *workers, *max, *distinct, *rounds); err != nil {
			return fmt.Errorf("%s floor server: %w", alg, err)
		}
	}
	return nil
}

// runAlg starts the server for alg, mints the distinct and fill tokens,
// fills its token cache, times the floor, runs the rounds and times the
// floor again. It prints "memory" lines: the server's resident set before
// the fill (its baseline), after it, and its peak during the first-sight
// flood.
func runAlg(ctx context.Context, stdout io.Writer, root, bin, alg string, d time.Duration, workers, max, distinct, fill, rounds, floorN int) (err error) {
	api, err := bench.StartHTTPAPI(ctx, root, bin, alg)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, api.Close()) }()
	// Every first-sight token is minted here, before any measuring.
	minted, err := api.Logins(ctx, distinct+fill, 2)
	if err != nil {
		return err
	}
	tokens, fillTokens := minted[:distinct], minted[distinct:]
	reused := api.Token
	none := func(int) string { return "" }
	one := func(int) string { return reused }
	// Warm up connections, the cache and the CPU frequency.
	if _, err := bench.Load(ctx, "warmup", api.URL+"/profile", workers, 2000, d, one); err != nil {
		return err
	}
	if _, err := bench.Load(ctx, "warmup", api.URL+"/public", workers, 2000, d, none); err != nil {
		return err
	}
	if err := memory(stdout, alg, "baseline", api); err != nil {
		return err
	}
	if err := api.ResetPeakRSS(); err != nil {
		return err
	}
	if err := fillCache(ctx, stdout, alg, api, workers, fillTokens); err != nil {
		return err
	}
	if err := memory(stdout, alg, "filled", api); err != nil {
		return err
	}
	floor := func(when string) error {
		per, err := bench.FloorCPU(alg, floorN)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "floor alg=%s when=%s n=%d cpu_us_per_op=%.2f\n", alg, when, floorN, float64(per.Nanoseconds())/1e3)
		return nil
	}
	if err := floor("before"); err != nil {
		return err
	}
	// public_token_header is the header baseline: the public route with
	// the same Authorization header sent (and ignored), the transport cost
	// of an 800-byte header without any verification.
	if err := measure(ctx, stdout, alg, api.URL, api.CPU, api, rounds, workers, d, []scenario{
		{"public", "/public", max, none, false},
		{"protected_reused_token", "/profile", max, one, false},
		{"public_token_header", "/public", max, one, false},
		{"protected_distinct_tokens", "/profile", len(tokens), func(i int) string { return tokens[i] }, true},
	}); err != nil {
		return err
	}
	return floor("after")
}

// runFloor measures the floor server (bench.ServeFloor) of alg as runAlg
// measures examples/httpapi: the same client, workers and bounds, its
// public route carrying a token's Authorization header (its header
// baseline) and its floor route with a distinct token per request. The
// difference of the two is the raw signature check's cost inside a server
// under this load, the reference for the example's first-sight extra.
func runFloor(ctx context.Context, stdout io.Writer, alg string, d time.Duration, workers, max, distinct, rounds int) (err error) {
	k, err := bench.LoadKeys()
	if err != nil {
		return err
	}
	now := time.Now()
	tokens := make([]string, distinct)
	for i := range tokens {
		if tokens[i], err = k.Mint(alg, "floor-"+strconv.Itoa(i), now); err != nil {
			return err
		}
	}
	fs, err := bench.StartFloorServer(ctx, alg, k.Public(alg))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, fs.Close()) }()
	one := func(int) string { return tokens[0] }
	if _, err := bench.Load(ctx, "warmup", fs.URL+"/profile", workers, 2000, d, one); err != nil {
		return err
	}
	return measure(ctx, stdout, alg, fs.URL, fs.CPU, nil, rounds, workers, d, []scenario{
		{"floor_public_token_header", "/public", max, one, false},
		{"floor_distinct_tokens", "/profile", len(tokens), func(i int) string { return tokens[i] }, true},
	})
}

// scenario is one measured load: the path, the request bound and the
// token of request i. once: run in the first round only, its tokens being
// first seen only then.
type scenario struct {
	name, path string
	max        int
	token      func(int) string
	once       bool
}

// measure runs the rounds of scenarios against the server at url, reading
// its CPU time around each, and prints one "load ..." line per scenario
// and round. With mem, the peak resident set of each once scenario (the
// first-sight flood) is reset before it and printed after it as a
// "memory" line.
func measure(ctx context.Context, stdout io.Writer, alg, url string, cpu func() (time.Duration, error), mem *bench.HTTPAPI, rounds, workers int, d time.Duration, scenarios []scenario) error {
	for round := range rounds {
		for _, sc := range scenarios {
			if sc.once && round > 0 {
				continue
			}
			if sc.once && mem != nil {
				if err := mem.ResetPeakRSS(); err != nil {
					return err
				}
			}
			cpu0, err := cpu()
			if err != nil {
				return err
			}
			r, err := bench.Load(ctx, sc.name, url+sc.path, workers, sc.max, d, sc.token)
			if err != nil {
				return err
			}
			cpu1, err := cpu()
			if err != nil {
				return err
			}
			r.Alg, r.ServerCPU = alg, cpu1-cpu0
			fmt.Fprintln(stdout, r)
			if sc.once && mem != nil {
				if err := memory(stdout, alg, sc.name, mem); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fillCache sends every fill token twice, so that the verified-token cache
// admits it on its second sight, in chunks: a chunk's tokens once, then
// the same again, so that the two requests of a token are never
// concurrent and its fingerprint is still in the doorkeeper the second
// time. Then it sends each fill token a third time and counts the cache
// hits in the server's /metrics: the tokens the cache still holds, fewer
// than were sent when it is full (it has evicted). It prints a
// "cache_fill" line.
func fillCache(ctx context.Context, stdout io.Writer, alg string, api *bench.HTTPAPI, workers int, fill []string) error {
	if len(fill) == 0 {
		return nil
	}
	// 64 tokens a chunk: with 8 workers their two requests are far
	// apart, and two of them rarely share a doorkeeper slot (which would
	// keep both out of the cache until a third sight).
	const chunk = 64
	token := func(i int) string {
		base := i / (2 * chunk) * chunk
		n := min(chunk, len(fill)-base)
		return fill[base+i%(2*chunk)%n]
	}
	// The last chunk may be short: its 2n requests are the tail of the
	// index range, so the bound is exactly twice the tokens.
	if _, err := bench.Load(ctx, "cache_fill", api.URL+"/profile", workers, 2*len(fill), 10*time.Minute, token); err != nil {
		return err
	}
	h0, m0, err := api.CacheLookups(ctx)
	if err != nil {
		return err
	}
	if _, err := bench.Load(ctx, "cache_fill_check", api.URL+"/profile", workers, len(fill), 10*time.Minute, func(i int) string { return fill[i] }); err != nil {
		return err
	}
	h1, m1, err := api.CacheLookups(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cache_fill alg=%s tokens=%d hits=%d misses=%d\n", alg, len(fill), h1-h0, m1-m0)
	return nil
}

// memory prints the server's resident set and its peak since the last
// reset as a "memory" line for phase.
func memory(stdout io.Writer, alg, phase string, api *bench.HTTPAPI) error {
	m, err := api.Memory()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "memory alg=%s phase=%s rss_kb=%d peak_kb=%d\n", alg, phase, m.RSS>>10, m.Peak>>10)
	return nil
}
