// Command report turns the output of the bench module's benchmarks (go test
// -bench, several -count runs) and of cmd/load into BENCHMARKS.md: machine,
// Go version, a table of median ns/op, B/op and allocs/op, and the speed
// targets (README, "Speed") as ratios, each marked met or NOT met.
//
//	report -bench bench.txt -load load.txt -out ../BENCHMARKS.md -load-avg "0.50 0.60 0.70"
//
// It exits non-zero when an input cannot be parsed or a benchmark the
// targets need is missing; unmet targets are reported, not failed.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// result is the medians of one benchmark over its runs.
type result struct {
	ns, bytes, allocs float64
	minNs             float64 // the fastest run: the least disturbed by other load
	runs              int
}

var algs = []string{"RS256", "ES256", "EdDSA"}

var caseOrder = []string{
	"floor", "stepup_first_sight", "stepup_cache_hit", "http_first_sight", "http_cache_hit",
	"grpc_unary_first_sight", "grpc_unary_cache_hit", "peer_auth0", "peer_golangjwt_keyfunc", "peer_jwx",
}

var peers = []string{"peer_auth0", "peer_golangjwt_keyfunc", "peer_jwx"}

func run(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	var (
		benchPath = fs.String("bench", "", "go test -bench output (required)")
		loadPath  = fs.String("load", "", "cmd/load output (optional)")
		outPath   = fs.String("out", "BENCHMARKS.md", "file to write")
		loadAvg   = fs.String("load-avg", "", "load average before and after the run, for the record")
		count     = fs.Int("count", 0, "the -count of the run, for the record")
		goVersion = fs.String("go", "", "go version, for the record")
		notesPath = fs.String("notes", "", "markdown appended as it is (measurements made by hand, such as bench/notes.md)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *benchPath == "" {
		return errors.New("-bench is required")
	}
	f, err := os.Open(*benchPath)
	if err != nil {
		return err
	}
	defer f.Close()
	res, cpu, err := parseBench(f)
	if err != nil {
		return err
	}
	for _, alg := range algs {
		for _, c := range caseOrder {
			if _, ok := res[alg+"/"+c]; !ok {
				return fmt.Errorf("benchmark Stack/%s/%s missing from %s", alg, c, *benchPath)
			}
		}
	}
	var loads map[string][]float64
	var loadCfg string
	if *loadPath != "" {
		lf, err := os.Open(*loadPath)
		if err != nil {
			return err
		}
		defer lf.Close()
		if loads, loadCfg, err = parseLoad(lf); err != nil {
			return err
		}
	}
	var b strings.Builder
	write(&b, res, cpu, loads, loadCfg, *loadAvg, *count, *goVersion)
	if *notesPath != "" {
		notes, err := os.ReadFile(*notesPath)
		if err != nil {
			return err
		}
		b.WriteString("\n")
		b.Write(notes)
	}
	return os.WriteFile(*outPath, []byte(b.String()), 0o644)
}

var benchLine = regexp.MustCompile(`^BenchmarkStack/([A-Za-z0-9]+)/([a-z0-9_]+)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

// parseBench reads go test -bench -benchmem output; it fails on a
// BenchmarkStack line it cannot read and on a FAIL.
func parseBench(r io.Reader) (map[string]*result, string, error) {
	samples := map[string][][3]float64{}
	cpu := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "cpu: "):
			cpu = strings.TrimSpace(strings.TrimPrefix(line, "cpu: "))
		case strings.HasPrefix(line, "--- FAIL"), strings.HasPrefix(line, "FAIL"):
			return nil, "", fmt.Errorf("benchmark run failed: %s", line)
		case strings.HasPrefix(line, "BenchmarkStack/"):
			m := benchLine.FindStringSubmatch(line)
			if m == nil {
				return nil, "", fmt.Errorf("cannot parse %q", line)
			}
			var v [3]float64
			for i := range 3 {
				x, err := strconv.ParseFloat(m[3+i], 64)
				if err != nil {
					return nil, "", fmt.Errorf("cannot parse %q: %w", line, err)
				}
				v[i] = x
			}
			key := m[1] + "/" + m[2]
			samples[key] = append(samples[key], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	if len(samples) == 0 {
		return nil, "", errors.New("no BenchmarkStack results")
	}
	res := map[string]*result{}
	for k, s := range samples {
		col := func(i int) float64 {
			xs := make([]float64, len(s))
			for j := range s {
				xs[j] = s[j][i]
			}
			return median(xs)
		}
		minNs := s[0][0]
		for _, v := range s {
			minNs = min(minNs, v[0])
		}
		res[k] = &result{ns: col(0), bytes: col(1), allocs: col(2), minNs: minNs, runs: len(s)}
	}
	return res, cpu, nil
}

var loadLine = regexp.MustCompile(`^load ([a-z_]+) requests=(\d+) errors=(\d+) seconds=([\d.]+) rps=([\d.]+)`)

// parseLoad reads cmd/load output: rps per scenario (one per round).
func parseLoad(r io.Reader) (map[string][]float64, string, error) {
	out := map[string][]float64{}
	cfg := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "load_config "):
			cfg = strings.TrimPrefix(line, "load_config ")
		case strings.HasPrefix(line, "load "):
			m := loadLine.FindStringSubmatch(line)
			if m == nil {
				return nil, "", fmt.Errorf("cannot parse %q", line)
			}
			if m[3] != "0" {
				return nil, "", fmt.Errorf("load scenario %s had errors: %q", m[1], line)
			}
			rps, err := strconv.ParseFloat(m[5], 64)
			if err != nil {
				return nil, "", err
			}
			out[m[1]] = append(out[m[1]], rps)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	for _, s := range []string{"public", "protected_reused_token", "protected_distinct_tokens"} {
		if len(out[s]) == 0 {
			return nil, "", fmt.Errorf("load scenario %s missing", s)
		}
	}
	return out, cfg, nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "**NOT met**"
}

func fmtNs(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}

func write(b *strings.Builder, res map[string]*result, cpu string, loads map[string][]float64, loadCfg, loadAvg string, count int, goVersion string) {
	get := func(alg, c string) *result { return res[alg+"/"+c] }
	model, cores := cpuInfo()
	if model == "" {
		model = cpu
	}
	fmt.Fprintf(b, "# Benchmarks\n\n")
	fmt.Fprintf(b, "Generated by `scripts/bench.sh` (the `bench/` module, its own go.mod so the peers stay out of ours) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(b, "- Machine: %s, %d cores (go test reports cpu: %s)\n", model, cores, cpu)
	if goVersion != "" {
		fmt.Fprintf(b, "- Go: %s\n", goVersion)
	}
	if count > 0 {
		fmt.Fprintf(b, "- Runs: `go test -run '^$' -bench . -benchmem -count %d`; figures are medians of the %d runs\n", count, count)
	}
	if loadAvg != "" {
		fmt.Fprintf(b, "- Load average (1, 5, 15 min) %s. The box is shared with other builds, so expect noise of 10-20%% on any single figure.\n", loadAvg)
	}
	b.WriteString("\nSame token (a typical RFC 9068 access token: iss, aud, sub, client_id, iat, nbf, exp, jti, scope, acr, amr, auth_time) and same keys for every library. " +
		"The floor is the bare standard-library check: hash the signing input, verify (signature already decoded, ES256 already ASN.1). " +
		"First sight runs with the verified-token cache off; cache hit with it on, the token seen once before the loop. " +
		"HTTP is an httpmw guard around a handler, one request (built once) into an httptest.ResponseRecorder; gRPC is the grpcmw unary interceptor called directly with incoming metadata. " +
		"Peers: auth0/go-jwt-middleware v2 validator.ValidateToken (key function returning the key from memory), golang-jwt v5 Parser with keyfunc v3.9.0 over the JWKS, jwx v3 jwt.Parse with a jwk.Set.\n\n")

	// Targets.
	b.WriteString("## Targets\n\nTimes in the targets are the fastest of the runs of each benchmark (best of N: on a shared machine the slowest runs measure the neighbours, not the code); the table below also gives medians.\n\n| target | RS256 | ES256 | EdDSA |\n|---|---|---|---|\n")
	row := func(name string, f func(alg string) (string, bool)) {
		fmt.Fprintf(b, "| %s |", name)
		for _, alg := range algs {
			s, ok := f(alg)
			fmt.Fprintf(b, " %s: %s |", s, mark(ok))
		}
		b.WriteString("\n")
	}
	row("first sight ≤ 1.2× floor", func(alg string) (string, bool) {
		r := get(alg, "stepup_first_sight").minNs / get(alg, "floor").minNs
		return fmt.Sprintf("%.2f×", r), r <= 1.2
	})
	row("first sight faster than every peer", func(alg string) (string, bool) {
		ours := get(alg, "stepup_first_sight").minNs
		best, bestName := 0.0, ""
		for _, p := range peers {
			if ns := get(alg, p).minNs; best == 0 || ns < best {
				best, bestName = ns, strings.TrimPrefix(p, "peer_")
			}
		}
		return fmt.Sprintf("fastest peer (%s) %.2f× ours", bestName, best/ours), ours < best
	})
	row("cache hit ≤ 2 µs", func(alg string) (string, bool) {
		ns := get(alg, "stepup_cache_hit").minNs
		return fmtNs(ns), ns <= 2000
	})
	row("cache hit ≥ 15× faster than floor", func(alg string) (string, bool) {
		r := get(alg, "floor").minNs / get(alg, "stepup_cache_hit").minNs
		return fmt.Sprintf("%.0f×", r), r >= 15
	})
	row("cache hit ≤ 5 allocs", func(alg string) (string, bool) {
		a := get(alg, "stepup_cache_hit").allocs
		return fmt.Sprintf("%.0f", a), a <= 5
	})
	row("HTTP middleware first sight ≤ 40 allocs/op", func(alg string) (string, bool) {
		a := get(alg, "http_first_sight").allocs
		return fmt.Sprintf("%.0f", a), a <= 40
	})
	if loads != nil {
		pub, prot := median(loads["public"]), median(loads["protected_reused_token"])
		r := prot / pub
		fmt.Fprintf(b, "| load: protected route, reused token ≥ 80%% of public route | %.0f%% (%.0f vs %.0f req/s): %s | | |\n", 100*r, prot, pub, mark(r >= 0.8))
	}

	// Table.
	b.WriteString("\n## Results\n\n| alg | benchmark | median time/op | best time/op | best × best floor | B/op | allocs/op |\n|---|---|---:|---:|---:|---:|---:|\n")
	for _, alg := range algs {
		floor := get(alg, "floor").minNs
		for _, c := range caseOrder {
			r := get(alg, c)
			fmt.Fprintf(b, "| %s | %s | %s | %s | %.2f | %.0f | %.0f |\n", alg, c, fmtNs(r.ns), fmtNs(r.minNs), r.minNs/floor, r.bytes, r.allocs)
		}
	}

	if loads != nil {
		b.WriteString("\n## Loopback load test\n\n")
		b.WriteString("`bench/cmd/load`: the real examples/httpapi, built from the repository and run with `-dev` and " +
			"examples/policies/demo.yaml on 127.0.0.1 (its whole stack: policy routes, httpmw guard with the metrics hooks and " +
			"error log, verifier with the default cache, JSON caller response); the reused token is the PASSWORD_TOKEN it prints, " +
			"the distinct tokens come from logins at its dev issuer's token endpoint. A Go keep-alive client runs on the same " +
			"2-core machine (client and server share the CPU). Config: " + loadCfg + ".\n\n")
		b.WriteString("| scenario | req/s (median of rounds) | rounds | vs public |\n|---|---:|---:|---:|\n")
		pub := median(loads["public"])
		for _, s := range []string{"public", "protected_reused_token", "public_token_header", "protected_distinct_tokens"} {
			if len(loads[s]) == 0 {
				continue
			}
			m := median(loads[s])
			fmt.Fprintf(b, "| %s | %.0f | %d | %.0f%% |\n", s, m, len(loads[s]), 100*m/pub)
		}
		b.WriteString("\npublic_token_header is a diagnostic: the public route with the same Authorization header sent and ignored, " +
			"so the gap between it and public is the cost of carrying an ~800-byte header (client and server), not verification.\n")
	}
}

// cpuInfo reads the CPU model and the number of logical CPUs from
// /proc/cpuinfo.
func cpuInfo() (string, int) {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "", 0
	}
	model, n := "", 0
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			if model == "" {
				model = strings.TrimSpace(v)
			}
		case "processor":
			n++
		}
	}
	return model, n
}
