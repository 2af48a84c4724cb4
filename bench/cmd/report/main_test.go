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
	if err := os.WriteFile(loadFile, []byte(syntheticLoad), 0o644); err != nil {
		t.Fatal(err)
	}
	soakFile := filepath.Join(dir, "s.txt")
	if err := os.WriteFile(soakFile, []byte(syntheticSoak), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-bench", benchFile, "-load", loadFile, "-soak", soakFile, "-out", out, "-count", "3"}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// 33000/30000: above RS256's 0.8, within the others' 1.1.
		"| first sight ≤ 0.8× floor (RS256), ≤ 1.1× floor (ES256, EdDSA) | 1.100×: **NOT met** | 1.100×: met | 1.100×: met |",
		"| first sight ≥ 1.3× faster than every peer | fastest peer (golangjwt_keyfunc) 1.21× ours: **NOT met** |",
		"| cache hit ≤ 200 ns, 0 allocs | 150 ns, 41 allocs: **NOT met** |",
		"| load: cache full before the first-sight flood (it evicted fill tokens) | 9990 of 14000 fill tokens still cached: met | not run | 14000 of 14000 fill tokens still cached: **NOT met** |",
		// RS256: 20000 kB + 40 MiB = 60960 kB allowed; EdDSA 70000 kB > 61000.
		"| load: peak RSS during the flood ≤ baseline + cache bytes + 25% | 58.6 MiB (allowed 59.5): met | not run | 68.4 MiB (allowed 59.6): **NOT met** |",
		"| RS256 | 14000 | 9990 | 19.5 MiB | 48.8 MiB | 50.8 MiB | 58.6 MiB | 59.5 MiB | met |",
		"| HTTP middleware first sight ≤ 40 allocs/op | 41: **NOT met** |",
		"| cache hit ≥ 15× faster than floor | 200×: met |",
		"| load: protected route, reused token ≥ 90% of public route's req/s | 90% (900 vs 1000 req/s): met | not run | 85% (850 vs 1000 req/s): **NOT met** |",
		// RS256: (50-20)/25 = 1.2; EdDSA: (60-20)/40 = 1.0, the lower floor taken.
		"| load: server's extra CPU per first-sight request ≤ 1.15× floor | 1.20×: **NOT met** | not run | 1.00×: met |",
		// 2 ticks of 10 ms over 100 requests: ± 200 µs; 1000 requests: ± 20.
		"| RS256 | 15.0 µs ± 200.0 | 20.0 µs ± 20.0 | 22.0 µs ± 20.0 | 50.0 µs ± 20.0 | 2.0 µs | 30.0 µs | 25.0 / 26.0 µs | 1.20×: **NOT met** |",
		"| EdDSA | protected_distinct_tokens | 400 | 1 | 40% |",
		// RS256: (50-20)/(43-18) = 1.2; EdDSA has no floor server lines.
		"| load, same: against the floor server's extra CPU (the raw check in a server under the same load; not the issue's floor) | 1.20×: **NOT met** | not run | not measured: **NOT met** |",
		"| RS256 | 18.0 µs ± 20.0 | 43.0 µs ± 20.0 | 25.0 µs | 30.0 µs | 1.20×: **NOT met** |",
		"| valid requests failed within the staleness bound: 0 | 0 of 2000 requests | met |",
		"| past the bound, 503 only (never 401 or 500) | 279 requests past it, 0 answered neither 200 nor 503; all answers 200:1749,503:251 | met |",
		"| goroutines back to the start after Close | 2 at the start, 19 at the end, 2 after Close | met |",
		"| jwks_hang | 200:140 |",
		"| RS256 | stepup_cache_hit | 150 ns | 150 ns | 0.01 | 100 | 41 |",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

const syntheticLoad = "load_config algs=RS256,EdDSA clk_tck=100 floor_n=10 cache_entries=10000 cache_bytes=33554432\n" +
	"memory alg=RS256 phase=baseline rss_kb=20000 peak_kb=21000\n" +
	"cache_fill alg=RS256 tokens=14000 hits=9990 misses=4010\n" +
	"memory alg=RS256 phase=filled rss_kb=50000 peak_kb=52000\n" +
	"floor alg=RS256 when=before n=10 cpu_us_per_op=25.0\n" +
	"load public alg=RS256 requests=100 errors=0 seconds=1.000 rps=1000.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=15.0\n" +
	"load protected_reused_token alg=RS256 requests=1000 errors=0 seconds=1.000 rps=900.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=22.0\n" +
	"load public_token_header alg=RS256 requests=1000 errors=0 seconds=1.000 rps=950.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=20.0\n" +
	"load protected_distinct_tokens alg=RS256 requests=1000 errors=0 seconds=1.000 rps=500.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=50.0\n" +
	"memory alg=RS256 phase=protected_distinct_tokens rss_kb=59000 peak_kb=60000\n" +
	"floor alg=RS256 when=after n=10 cpu_us_per_op=26.0\n" +
	"load floor_public_token_header alg=RS256 requests=1000 errors=0 seconds=1.000 rps=950.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=18.0\n" +
	"load floor_distinct_tokens alg=RS256 requests=1000 errors=0 seconds=1.000 rps=600.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=43.0\n" +
	"memory alg=EdDSA phase=baseline rss_kb=20100 peak_kb=21000\n" +
	"cache_fill alg=EdDSA tokens=14000 hits=14000 misses=0\n" +
	"memory alg=EdDSA phase=filled rss_kb=50000 peak_kb=52000\n" +
	"floor alg=EdDSA when=before n=10 cpu_us_per_op=45.0\n" +
	"load public alg=EdDSA requests=1000 errors=0 seconds=1.000 rps=1000.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=15.0\n" +
	"load protected_reused_token alg=EdDSA requests=1000 errors=0 seconds=1.000 rps=850.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=22.0\n" +
	"load public_token_header alg=EdDSA requests=1000 errors=0 seconds=1.000 rps=950.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=20.0\n" +
	"load protected_distinct_tokens alg=EdDSA requests=1000 errors=0 seconds=1.000 rps=400.0 p50_us=1 p99_us=2 server_cpu_ms=2 server_cpu_us_per_req=60.0\n" +
	"memory alg=EdDSA phase=protected_distinct_tokens rss_kb=61000 peak_kb=70000\n" +
	"floor alg=EdDSA when=after n=10 cpu_us_per_op=40.0\n"

const syntheticSoak = "soak seconds=5.0 staleness_ms=1250 refresh_ms=200 timeout_ms=100 requests=2000 transport_errors=0 statuses=200:1749,503:251 " +
	"failed_within_staleness=0 past_staleness=279 past_staleness_not_200_or_503=0 stale_events=1 jwks_fetches=57 goroutines_start=2 " +
	"goroutines_end=19 goroutines_after_close=2 rss_start_kb=15168 rss_end_kb=23720\n" +
	"soak_phase steady statuses=200:200\nsoak_phase jwks_hang statuses=200:140\n"

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

func TestReportLoadAndSoakParseErrors(t *testing.T) {
	dir := t.TempDir()
	benchFile := filepath.Join(dir, "b.txt")
	if err := os.WriteFile(benchFile, []byte(synthetic(1, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct{ flag, input string }{
		"load without a floor":       {"-load", strings.ReplaceAll(syntheticLoad, "floor alg=EdDSA", "# floor alg=EdDSA")},
		"load missing a scenario":    {"-load", strings.ReplaceAll(syntheticLoad, "load public_token_header alg=RS256", "# ")},
		"load with errors":           {"-load", strings.Replace(syntheticLoad, "errors=0", "errors=3", 1)},
		"load without server CPU":    {"-load", strings.Replace(syntheticLoad, " server_cpu_us_per_req=15.0", "", 1)},
		"load, half a floor server":  {"-load", strings.ReplaceAll(syntheticLoad, "load floor_distinct_tokens", "# ")},
		"load empty":                 {"-load", ""},
		"load, fill not adding up":   {"-load", strings.Replace(syntheticLoad, "misses=4010", "misses=4011", 1)},
		"load, a memory phase gone":  {"-load", strings.Replace(syntheticLoad, "memory alg=EdDSA phase=filled", "# ", 1)},
		"load, memory no cache size": {"-load", strings.Replace(syntheticLoad, " cache_bytes=33554432", "", 1)},
		"load, garbled memory":       {"-load", syntheticLoad + "memory alg=EdDSA phase=x rss_kb=lots peak_kb=1\n"},
		"soak missing a field":       {"-soak", strings.Replace(syntheticSoak, " jwks_fetches=57", "", 1)},
		"soak without phases":        {"-soak", strings.Split(syntheticSoak, "soak_phase")[0]},
		"soak garbled phase":         {"-soak", syntheticSoak + "soak_phase broken\n"},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, "in.txt")
			if err := os.WriteFile(p, []byte(tc.input), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := run([]string{"-bench", benchFile, tc.flag, p, "-out", filepath.Join(dir, "B.md")}); err == nil {
				t.Error("got nil error, want a parse failure")
			}
		})
	}
}

// TestReportCPUResolution: cmd/load's cpu_resolution_ns, not the clock
// tick, sets the ± of the CPU figures, and nanosecond readings are said to
// come from schedstat.
func TestReportCPUResolution(t *testing.T) {
	for _, tc := range []struct {
		res, want string
	}{
		// 2 × 1 ms over 100 requests: ± 20 µs (the tick would give 200).
		{"1000000", "| RS256 | 15.0 µs ± 20.0 | 20.0 µs ± 2.0 |"},
		{"1", "/proc/PID/task/*/schedstat"},
	} {
		dir := t.TempDir()
		benchFile, loadFile, out := filepath.Join(dir, "b.txt"), filepath.Join(dir, "l.txt"), filepath.Join(dir, "B.md")
		load := strings.Replace(syntheticLoad, "clk_tck=100", "clk_tck=100 cpu_resolution_ns="+tc.res, 1)
		if err := os.WriteFile(benchFile, []byte(synthetic(3, "")), 0o644); err != nil {
			t.Fatal(err)
		}
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
		if !strings.Contains(string(got), tc.want) {
			t.Errorf("cpu_resolution_ns=%s: report lacks %q", tc.res, tc.want)
		}
	}
}
