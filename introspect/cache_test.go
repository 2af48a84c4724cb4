package introspect_test

import (
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
)

func TestCacheHit(t *testing.T) {
	s := newServer(t, answer(`{"active":true,"sub":"alice"}`))
	c := mustNew(t, config(s, newClock()))
	a, err := c.Introspect(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Introspect(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("a hit returned other claims than the first call")
	}
	if n := s.requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	if _, err := c.Introspect(ctx, token+"x"); err != nil {
		t.Fatal(err)
	}
	if n := s.requests(); n != 2 {
		t.Errorf("another token: %d requests, want 2", n)
	}
}

// requestsAfter steps the clock and reports how many requests the server has
// seen after one more Introspect.
func requestsAfter(t *testing.T, c *introspect.Client, s *server, clk *clock, d time.Duration) int {
	t.Helper()
	clk.Add(d)
	c.Introspect(ctx, token)
	return s.requests()
}

func TestCacheEntryBounds(t *testing.T) {
	t.Run("exp", func(t *testing.T) {
		clk := newClock()
		exp := strconv.FormatInt(t0.Add(time.Minute).Unix(), 10)
		s := newServer(t, answer(`{"active":true,"exp":`+exp+`}`))
		c := mustNew(t, config(s, clk)) // CacheTTL 5 minutes
		if n := requestsAfter(t, c, s, clk, 0); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
		if n := requestsAfter(t, c, s, clk, 59*time.Second); n != 1 {
			t.Errorf("before exp: %d requests, want 1 (a hit)", n)
		}
		if n := requestsAfter(t, c, s, clk, time.Second); n != 2 {
			t.Errorf("at exp: %d requests, want 2 (exp ends the entry)", n)
		}
	})
	t.Run("CacheTTL", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, answer(`{"active":true}`))
		cfg := config(s, clk)
		cfg.CacheTTL = time.Minute
		c := mustNew(t, cfg)
		requestsAfter(t, c, s, clk, 0)
		if n := requestsAfter(t, c, s, clk, 59*time.Second); n != 1 {
			t.Errorf("within CacheTTL: %d requests, want 1", n)
		}
		if n := requestsAfter(t, c, s, clk, time.Second); n != 2 {
			t.Errorf("after CacheTTL: %d requests, want 2", n)
		}
	})
}

func TestInactiveCached(t *testing.T) {
	clk := newClock()
	s := newServer(t, answer(`{"active":false}`))
	c := mustNew(t, config(s, clk)) // InactiveTTL 10s
	for i, d := range []time.Duration{0, 9 * time.Second} {
		clk.Add(d)
		_, err := c.Introspect(ctx, token)
		if got := reason(t, err); got != introspect.ReasonInactive {
			t.Fatalf("call %d: reason %q", i, got)
		}
	}
	if n := s.requests(); n != 1 {
		t.Errorf("within InactiveTTL: %d requests, want 1", n)
	}
	// A cached refusal is a fresh *claims.Error each time.
	_, e1 := c.Introspect(ctx, token)
	_, e2 := c.Introspect(ctx, token)
	var c1, c2 *claims.Error
	if errors.As(e1, &c1) && errors.As(e2, &c2) && c1 == c2 {
		t.Error("two refusals share one *claims.Error")
	}
	if n := requestsAfter(t, c, s, clk, time.Second); n != 2 {
		t.Errorf("after InactiveTTL: %d requests, want 2", n)
	}
}

// A token not yet valid may be valid a moment later: it is asked again.
func TestNotYetValidNotCached(t *testing.T) {
	clk := newClock()
	nbf := strconv.FormatInt(t0.Add(time.Minute).Unix(), 10)
	s := newServer(t, answer(`{"active":true,"nbf":`+nbf+`}`))
	c := mustNew(t, config(s, clk))
	c.Introspect(ctx, token)
	if n := requestsAfter(t, c, s, clk, 31*time.Second); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
	if _, err := c.Introspect(ctx, token); err != nil {
		t.Errorf("within leeway of nbf: %v", err)
	}
}

func TestSingleflight(t *testing.T) {
	const callers = 64
	release := make(chan struct{})
	s := newServer(t, hold(release, `{"active":true,"sub":"alice"}`))
	c := mustNew(t, config(s, newClock()))
	var wg sync.WaitGroup
	got := make([]*claims.Claims, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = c.Introspect(ctx, token) })
	}
	waitFor(t, func() bool { return introspect.Waiters(c, token) == callers })
	close(release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != got[0] || got[0].Subject != "alice" {
			t.Fatalf("caller %d: %v, %v", i, got[i], errs[i])
		}
	}
	if n := s.requests(); n != 1 {
		t.Errorf("%d concurrent first sights made %d requests, want 1", callers, n)
	}
}

func TestStale(t *testing.T) {
	down := status(503, ``)
	t.Run("served during an outage", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, answer(`{"active":true,"sub":"alice"}`))
		cfg := config(s, clk)
		cfg.CacheTTL, cfg.StaleTTL = time.Minute, time.Minute
		c := mustNew(t, cfg)
		if _, err := c.Introspect(ctx, token); err != nil {
			t.Fatal(err)
		}
		s.set(down)
		clk.Add(61 * time.Second)
		if cl, err := c.Introspect(ctx, token); err != nil || cl.Subject != "alice" {
			t.Fatalf("within StaleTTL: %v, %v; want the stale claims", cl, err)
		}
		if n := s.requests(); n != 2 {
			t.Errorf("%d requests, want 2 (an expired entry is asked again first)", n)
		}
		clk.Add(60 * time.Second)
		_, err := c.Introspect(ctx, token)
		wantUnavailable(t, err)
	})
	t.Run("never past exp", func(t *testing.T) {
		clk := newClock()
		exp := strconv.FormatInt(t0.Add(90*time.Second).Unix(), 10)
		s := newServer(t, answer(`{"active":true,"exp":`+exp+`}`))
		cfg := config(s, clk)
		cfg.CacheTTL, cfg.StaleTTL = time.Minute, time.Hour
		c := mustNew(t, cfg)
		c.Introspect(ctx, token)
		s.set(down)
		clk.Add(89 * time.Second)
		if _, err := c.Introspect(ctx, token); err != nil {
			t.Fatalf("before exp: %v", err)
		}
		clk.Add(time.Second)
		_, err := c.Introspect(ctx, token)
		wantUnavailable(t, err)
	})
	t.Run("off by default", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, answer(`{"active":true}`))
		cfg := config(s, clk)
		cfg.CacheTTL = time.Minute
		c := mustNew(t, cfg)
		c.Introspect(ctx, token)
		s.set(down)
		clk.Add(61 * time.Second)
		_, err := c.Introspect(ctx, token)
		wantUnavailable(t, err)
	})
	t.Run("a refusal is not served stale", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, answer(`{"active":false}`))
		cfg := config(s, clk)
		cfg.StaleTTL = time.Hour
		c := mustNew(t, cfg)
		c.Introspect(ctx, token)
		s.set(down)
		clk.Add(11 * time.Second)
		_, err := c.Introspect(ctx, token)
		wantUnavailable(t, err)
	})
}

func TestNoCache(t *testing.T) {
	s := newServer(t, answer(`{"active":true}`))
	cfg := config(s, newClock())
	cfg.NoCache = true
	c := mustNew(t, cfg)
	for range 3 {
		if _, err := c.Introspect(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.requests(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if n := introspect.CacheLen(c); n != -1 {
		t.Errorf("CacheLen %d, want -1 (no cache)", n)
	}
}

func TestCacheSize(t *testing.T) {
	s := newServer(t, answer(`{"active":true}`))
	cfg := config(s, newClock())
	cfg.CacheSize = 8
	c := mustNew(t, cfg)
	for i := range 100 {
		if _, err := c.Introspect(ctx, "t"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := introspect.CacheLen(c); n > 8 || n == 0 {
		t.Errorf("CacheLen %d, want 1 to 8", n)
	}
}
