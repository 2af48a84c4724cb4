// Command soak runs bench.Soak, the soak with faults of issue 15: in this
// process, a stepuptest issuer, a jwks.Discover key source with short
// refresh bounds, staleness and fetch timeout, a verifier and an httpmw
// guard on an httptest server, and clients sending valid tokens (distinct
// and reused, with the new kid after the key rotation) while the issuer's
// JWKS endpoint answers 500s, hangs past the fetch timeout, rotates its key,
// comes back, then fails for longer than the staleness bound and comes
// back again. It prints the "soak" lines cmd/report reads and exits
// non-zero when a rule is broken: a valid request failed within the
// staleness bound, got anything but 503 past it (401 and 500 never), or a
// goroutine outlived Close.
//
//	go run ./cmd/soak -duration 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/stepupauth/stepup/bench"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	var cfg bench.SoakConfig
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "length of the soak, at least 2s; the phases scale with it")
	fs.IntVar(&cfg.Workers, "workers", 4, "concurrent keep-alive clients")
	fs.IntVar(&cfg.Rate, "rate", 800, "requests per second, all clients together")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res, err := bench.Soak(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res)
	return res.OK()
}
