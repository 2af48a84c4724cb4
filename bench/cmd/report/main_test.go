package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// synthetic returns bench output with every needed benchmark, count runs
// each, where every figure is base scaled per case.
func synthetic(count int, skip string) string {
	var b strings.Builder
	b.WriteString("goos: linux\ncpu: Test CPU\n")
	ns := map[string]float64{"floor": 30000, "stepup_first_sight": 33000, "stepup_cache_hit": 150,
		"http_first_sight": 34000, "http_cache_hit": 1300, "grpc_unary_first_sight": 34000, "grpc_unary_cache_hit": 1400,
		"peer_auth0": 60000, "peer_golangjwt_keyfunc": 40000, "peer_jwx": 90000}
	for range count {
		for _, alg := range algs {
			for _, c := range caseOrder {
				if alg+"/"+c == skip {
					continue
				}
				fmt.Fprintf(&b, "BenchmarkStack/%s/%s-2  \t 1000\t %.1f ns/op\t 100 B/op\t 41 allocs/op\n", alg, c, ns[c])
			}
		}
	}
	b.WriteString("PASS\nok  \tgithub.com/stepupauth/stepup/bench\t1.0s\n")
	return b.String()
}

func TestReport(t *testing.T) {
	dir := t.TempDir()
	benchFile, loadFile, out := filepath.Join(dir, "b.txt"), filepath.Join(dir, "l.txt"), filepath.Join(dir, "B.md")
	if err := os.WriteFile(benchFile, []byte(synthetic(3, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	load := "load_config alg=RS256\nload public requests=100 errors=0 seconds=1.000 rps=1000.0 p50_us=1 p99_us=2\n" +
		"load protected_reused_token requests=90 errors=0 seconds=1.000 rps=900.0 p50_us=1 p99_us=2\n" +
		"load protected_distinct_tokens requests=50 errors=0 seconds=1.000 rps=500.0 p50_us=1 p99_us=2\n"
	if err := os.WriteFile(loadFile, []byte(load), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-bench", benchFile, "-load", loadFile, "-out", out, "-count", "3"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| first sight ≤ 1.2× floor | 1.10×: met |",
		"| HTTP middleware first sight ≤ 40 allocs/op | 41: **NOT met** |",
		"| cache hit ≥ 15× faster than floor | 200×: met |",
		"90% (900 vs 1000 req/s): met",
		"| RS256 | stepup_cache_hit | 150 ns | 150 ns | 0.01 | 100 | 41 |",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

func TestReportParseErrors(t *testing.T) {
	dir := t.TempDir()
	for name, input := range map[string]string{
		"missing benchmark": synthetic(1, "ES256/peer_jwx"),
		"garbled line":      synthetic(1, "") + "BenchmarkStack/RS256/floor-2 1000 fast ns/op\n",
		"failed run":        synthetic(1, "") + "--- FAIL: BenchmarkStack\n",
		"empty":             "",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "b.txt")
			if err := os.WriteFile(p, []byte(input), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := run([]string{"-bench", p, "-out", filepath.Join(dir, "B.md")}); err == nil {
				t.Error("got nil error, want a parse failure")
			}
		})
	}
}
