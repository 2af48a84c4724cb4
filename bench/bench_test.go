package bench

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// cases builds every measured check for alg. "first sight" checks run with
// the verified-token cache off, so that one token measured in a loop is
// verified in full every time; "cache hit" checks have the cache on and
// see the token once before the loop.
func cases(tb testing.TB, k *Keys, alg string) []struct {
	name  string
	check Check
} {
	tb.Helper()
	must := func(c Check, err error) Check {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	off, err := NewVerifier(k, false)
	if err != nil {
		tb.Fatal(err)
	}
	on, err := NewVerifier(k, true)
	if err != nil {
		tb.Fatal(err)
	}
	return []struct {
		name  string
		check Check
	}{
		{"stepup_first_sight", Stepup(off)},
		{"stepup_cache_hit", Stepup(on)},
		{"http_first_sight", must(HTTP(off))},
		{"http_cache_hit", must(HTTP(on))},
		{"grpc_unary_first_sight", must(GRPCUnary(off))},
		{"grpc_unary_cache_hit", must(GRPCUnary(on))},
		{"peer_auth0", must(Auth0(k, alg))},
		{"peer_golangjwt_keyfunc", must(GolangJWT(k, alg))},
		{"peer_jwx", must(JWX(k))},
	}
}

// BenchmarkStack measures, per algorithm and with the same token and key:
// the floor (raw standard-library signature check), stepup's Verify on
// first sight and on a cache hit, the HTTP middleware and the unary gRPC
// interceptor (first sight and cache hit), and the peers.
func BenchmarkStack(b *testing.B) {
	k, err := LoadKeys()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, alg := range Algs {
		raw, err := k.Mint(alg, "bench-1", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg+"/floor", func(b *testing.B) {
			check, err := Floor(k, alg, raw)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if !check() {
					b.Fatal("signature does not verify")
				}
			}
		})
		for _, c := range cases(b, k, alg) {
			b.Run(alg+"/"+c.name, func(b *testing.B) {
				if err := c.check(ctx, raw); err != nil { // warms the cache
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := c.check(ctx, raw); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestAllAgree makes sure every measured library really verifies: each
// accepts the benchmark token and refuses it with a corrupted signature
// and with another audience.
func TestAllAgree(t *testing.T) {
	k, err := LoadKeys()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, alg := range Algs {
		good, err := k.Mint(alg, "agree", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		sigStart := len(good) - 10
		bad := good[:sigStart] + flip(good[sigStart]) + good[sigStart+1:]
		expired, err := k.Mint(alg, "agree", time.Now().Add(-3*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		floor, err := Floor(k, alg, good)
		if err != nil {
			t.Fatal(err)
		}
		if !floor() {
			t.Errorf("%s floor: got false on the good token", alg)
		}
		for i, c := range cases(t, k, alg) {
			for _, tc := range []struct {
				name, raw string
				ok        bool
			}{{"good", good, true}, {"bad signature", bad, false}, {"expired", expired, false}} {
				err := c.check(ctx, tc.raw)
				if got := err == nil; got != tc.ok {
					t.Errorf("%s %s (%d) %s: got accepted=%v (%v), want %v", alg, c.name, i, tc.name, got, err, tc.ok)
				}
			}
		}
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestMintDistinct: tokens with distinct jti are distinct strings, which
// the first-sight load relies on.
func TestMintDistinct(t *testing.T) {
	k, err := LoadKeys()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	now := time.Now()
	for i := range 3 {
		raw, err := k.Mint("RS256", strconv.Itoa(i), now)
		if err != nil {
			t.Fatal(err)
		}
		if seen[raw] {
			t.Fatalf("got a repeated token for jti %d", i)
		}
		seen[raw] = true
	}
}
