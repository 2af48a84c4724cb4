package bench

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDefaultCacheBounds: DefaultTokenCacheEntries and
// DefaultTokenCacheBytes say what verify's defaults are (they are
// unexported there, so they are read from its source).
func TestDefaultCacheBounds(t *testing.T) {
	root, err := FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "verify", "cache.go"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"defaultTokenCacheSize": DefaultTokenCacheEntries, "defaultTokenCacheBytes": DefaultTokenCacheBytes} {
		m := regexp.MustCompile(`(?m)^\s*` + name + `\s*=\s*(.+)$`).FindSubmatch(src)
		if m == nil {
			t.Fatalf("verify/cache.go has no %s", name)
		}
		if got := evalConst(t, strings.TrimSpace(string(m[1]))); got != want {
			t.Errorf("verify's %s is %d, bench says %d", name, got, want)
		}
	}
}

// evalConst evaluates the integer constants verify writes: a literal with
// underscores, or a literal shifted left by one.
func evalConst(t *testing.T, expr string) int {
	t.Helper()
	lit := func(s string) int {
		n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 0, 64)
		if err != nil {
			t.Fatalf("constant %q: %v", expr, err)
		}
		return int(n)
	}
	if a, b, ok := strings.Cut(expr, "<<"); ok {
		return lit(a) << lit(b)
	}
	return lit(expr)
}

func TestParseCacheLookups(t *testing.T) {
	text := "# HELP stepup_token_cache_lookups_total Lookups.\n# TYPE stepup_token_cache_lookups_total counter\n" +
		"stepup_token_cache_lookups_total{result=\"hit\"} 1234\nstepup_token_cache_lookups_total{result=\"miss\"} 5.6e+06\ngo_goroutines 7\n"
	h, m, err := parseCacheLookups(text)
	if err != nil || h != 1234 || m != 5_600_000 {
		t.Fatalf("parseCacheLookups: %d, %d, %v", h, m, err)
	}
	if _, _, err := parseCacheLookups("go_goroutines 7\n"); err == nil {
		t.Error("no samples: want an error")
	}
	if _, _, err := parseCacheLookups("stepup_token_cache_lookups_total{result=\"hit\"} many\n"); err == nil {
		t.Error("a non-number: want an error")
	}
}
