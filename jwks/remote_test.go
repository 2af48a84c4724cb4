package jwks_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/testclock"
	"github.com/stepupauth/stepup/jwks"
)

// Test timings: short fetch timeout, fake clock for everything else.
const (
	testTimeout   = 2 * time.Second
	testCooldown  = 30 * time.Second
	testMinRefr   = time.Minute
	testMaxRefr   = 5 * time.Minute
	testStaleness = 10 * time.Minute
)

type harness struct {
	srv     *jwksServer
	clock   *fakeClock
	remote  *jwks.Remote
	fetched chan error // one value per finished fetch
	stale   atomic.Int64
	changes chan [2][]string
}

func newHarness(t *testing.T, body []byte, opts ...jwks.Option) *harness {
	t.Helper()
	h := &harness{
		srv:     newJWKSServer(t, body),
		clock:   newClock(),
		fetched: make(chan error, 100),
		changes: make(chan [2][]string, 100),
	}
	obs := jwks.Observer{
		FetchDone:   func(_ string, _ time.Duration, err error) { h.fetched <- err },
		Stale:       func(string, time.Duration) { h.stale.Add(1) },
		KeysChanged: func(_ string, added, removed []string) { h.changes <- [2][]string{added, removed} },
	}
	all := append([]jwks.Option{
		testclock.JWKS(h.clock.Now).(jwks.Option),
		jwks.WithTimeout(testTimeout),
		jwks.WithRefreshBounds(testMinRefr, testMaxRefr),
		jwks.WithCooldown(testCooldown),
		jwks.WithStaleness(testStaleness),
		jwks.WithObserver(obs),
	}, opts...)
	r, err := jwks.NewRemote(h.srv.url(), all...)
	if err != nil {
		t.Fatalf("NewRemote: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	h.remote = r
	return h
}

// warm performs the first fetch and drains its event.
func (h *harness) warm(t *testing.T) {
	t.Helper()
	if err := h.remote.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	h.waitFetch(t)
	for len(h.changes) > 0 {
		<-h.changes
	}
}

// waitFetch waits for the next fetch to finish (its observer event).
func (h *harness) waitFetch(t *testing.T) error {
	t.Helper()
	select {
	case err := <-h.fetched:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no fetch finished within 10s")
		return nil
	}
}

func (h *harness) key(t *testing.T, kid string) *jwks.Key {
	t.Helper()
	k, err := h.remote.Key(context.Background(), "iss", kid)
	if err != nil {
		t.Fatalf("Key(%q): %v", kid, err)
	}
	return k
}

func TestRemoteLazyFirstFetch(t *testing.T) {
	h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")))
	if got := h.srv.fetches.Load(); got != 0 {
		t.Fatalf("fetches after NewRemote: got %d, want 0", got)
	}
	if h.remote.Set() != nil {
		t.Errorf("Set before first fetch: got non-nil, want nil")
	}
	k := h.key(t, "k1")
	if got := h.srv.fetches.Load(); got != 1 {
		t.Errorf("fetches after first Key: got %d, want 1", got)
	}
	if again := h.key(t, "k1"); again != k {
		t.Errorf("second lookup: got another *Key, want the same pointer")
	}
	if got := kids(h.remote.Set()); !slices.Equal(got, []string{"k1"}) {
		t.Errorf("kids(Set()): got %v, want [k1]", got)
	}
}

// TestRemoteRotation: the issuer rotates to a new kid; 64 concurrent
// lookups of the new kid cause exactly one fetch and all succeed.
func TestRemoteRotation(t *testing.T) {
	h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")))
	h.warm(t)
	old := h.key(t, "k1")

	release := make(chan struct{})
	h.srv.setBody(setJSON(t, rsaJWK(t, 0, "k1"), rsaJWK(t, 1, "k2")))
	h.srv.set(func(s *jwksServer) {
		s.handler = func(w http.ResponseWriter, r *http.Request) {
			<-release // hold the fetch so that every lookup joins it
			s.mu.Lock()
			body := s.body
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}
	})
	h.clock.Advance(testCooldown)

	const n = 64
	var (
		wg      sync.WaitGroup
		started sync.WaitGroup
		errs    = make(chan error, n)
		keys    = make(chan *jwks.Key, n)
	)
	started.Add(n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			k, err := h.remote.Key(context.Background(), "iss", "k2")
			if err != nil {
				errs <- err
				return
			}
			keys <- k
		}()
	}
	started.Wait()
	close(release)
	wg.Wait()
	close(errs)
	close(keys)
	for err := range errs {
		t.Errorf("Key(k2): %v", err)
	}
	var first *jwks.Key
	for k := range keys {
		if first == nil {
			first = k
		}
		if k != first || k.ID != "k2" {
			t.Errorf("Key(k2): got %p %q, want one shared key k2", k, k.ID)
		}
	}
	if got := h.srv.fetches.Load(); got != 2 {
		t.Errorf("fetches: got %d, want 2 (warm-up + one shared refresh)", got)
	}
	if k := h.key(t, "k1"); k != old {
		t.Errorf("k1 after refresh: got a new *Key, want the same pointer")
	}
	h.waitFetch(t)
	if ch := <-h.changes; !slices.Equal(ch[0], []string{"k2"}) || len(ch[1]) != 0 {
		t.Errorf("KeysChanged: got added %v removed %v, want added [k2]", ch[0], ch[1])
	}
}

// TestRemoteRevocation: the issuer removes a key; after the next refresh
// (ahead of expiry, started by a lookup that does not wait) it is gone.
func TestRemoteRevocation(t *testing.T) {
	h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1"), rsaJWK(t, 1, "k2")))
	h.warm(t)
	k1 := h.key(t, "k1")
	h.key(t, "k2")

	release := make(chan struct{})
	h.srv.set(func(s *jwksServer) {
		s.body = setJSON(t, rsaJWK(t, 0, "k1"))
		s.handler = func(w http.ResponseWriter, r *http.Request) {
			<-release
			w.Header().Set("Content-Type", "application/json")
			w.Write(setJSON(t, rsaJWK(t, 0, "k1")))
		}
	})
	h.clock.Advance(testMaxRefr + time.Second)

	// The refresh is due: this lookup starts it and is answered from the
	// current set while the server still holds the fetch.
	if k := h.key(t, "k2"); k.ID != "k2" {
		t.Fatalf("Key(k2) during refresh: got %q", k.ID)
	}
	close(release)
	if err := h.waitFetch(t); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := h.remote.Key(context.Background(), "iss", "k2"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("Key(k2) after revocation: got %v, want ErrUnknownKey", err)
	}
	if k := h.key(t, "k1"); k != k1 {
		t.Errorf("k1 after refresh: got a new *Key, want the same pointer")
	}
	if ch := <-h.changes; len(ch[0]) != 0 || !slices.Equal(ch[1], []string{"k2"}) {
		t.Errorf("KeysChanged: got added %v removed %v, want removed [k2]", ch[0], ch[1])
	}
	// Warm-up, the refresh, and one fetch for the revoked kid: the first
	// unknown kid may always look once (then it is negative-cached).
	if got := h.srv.fetches.Load(); got != 3 {
		t.Errorf("fetches: got %d, want 3", got)
	}
	if _, err := h.remote.Key(context.Background(), "iss", "k2"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("Key(k2) again: got %v, want ErrUnknownKey", err)
	}
	if got := h.srv.fetches.Load(); got != 3 {
		t.Errorf("fetches after a second Key(k2): got %d, want 3 (negative cache)", got)
	}
}

// TestRemoteNewKeyRightAfterRefresh: the issuer starts signing with a key it
// published just after our last fetch. The cooldown counts only fetches
// started by unknown kids, so the first token with the new kid fetches at
// once instead of failing for a whole cooldown.
func TestRemoteNewKeyRightAfterRefresh(t *testing.T) {
	h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")))
	h.warm(t)
	h.srv.setBody(setJSON(t, rsaJWK(t, 0, "k1"), rsaJWK(t, 1, "k2")))
	if k := h.key(t, "k2"); k.ID != "k2" {
		t.Fatalf("Key(k2) right after the warm-up fetch: got %q", k.ID)
	}
	if got := h.srv.fetches.Load(); got != 2 {
		t.Errorf("fetches: got %d, want 2", got)
	}
	// A made-up kid now falls in the cooldown of the k2 fetch: no fetch.
	if _, err := h.remote.Key(context.Background(), "iss", "k3"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("Key(k3): got %v, want ErrUnknownKey", err)
	}
	if got := h.srv.fetches.Load(); got != 2 {
		t.Errorf("fetches after Key(k3) in the cooldown: got %d, want 2", got)
	}
}

// TestRemoteChangedMaterial: a kid whose material changes gets a new *Key.
func TestRemoteChangedMaterial(t *testing.T) {
	h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")))
	h.warm(t)
	before := h.key(t, "k1")
	h.srv.setBody(setJSON(t, rsaJWK(t, 1, "k1")))
	if err := h.remote.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := h.key(t, "k1")
	if after == before || after.Public.(*rsa.PublicKey).Equal(before.Public) {
		t.Fatalf("k1 with new material: got the old *Key, want a new one")
	}
	h.waitFetch(t)
	if ch := <-h.changes; !slices.Equal(ch[0], []string{"k1"}) || !slices.Equal(ch[1], []string{"k1"}) {
		t.Errorf("KeysChanged: got added %v removed %v, want k1 in both", ch[0], ch[1])
	}
}

// TestRemoteUnknownKidFlood: 10,000 lookups of random kids within one
// cooldown cause at most one fetch, and none waits longer than the fetch
// timeout: the server never answers the refresh (it holds it until the
// test ends), so every lookup returning proves that waits are bounded by
// the timeout, not by the server.
func TestRemoteUnknownKidFlood(t *testing.T) {
	const fetchTimeout = 300 * time.Millisecond
	h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")), jwks.WithTimeout(fetchTimeout))
	h.warm(t)
	hold := make(chan struct{})
	defer close(hold)
	h.srv.set(func(s *jwksServer) {
		s.handler = func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
	})
	h.clock.Advance(testCooldown)

	const (
		workers = 50
		each    = 200
		// A lookup waits for at most one fetch, bounded by its timeout.
		// The slack is generous so that a loaded 2-core machine under
		// -race does not fail the test; a lookup blocked on a second
		// fetch, or on nothing, would still exceed it.
		maxWait = fetchTimeout + 2*time.Second
	)
	var (
		wg          sync.WaitGroup
		unavailable atomic.Int64
		other       atomic.Int64
		mu          sync.Mutex
		slowest     time.Duration
		slowKid     string
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				kid := fmt.Sprintf("rnd-%016x", rand.Uint64())
				start := time.Now()
				_, err := h.remote.Key(context.Background(), "iss", kid)
				took := time.Since(start)
				mu.Lock()
				if took > slowest {
					slowest, slowKid = took, kid
				}
				mu.Unlock()
				// The one fetch hangs until its timeout: the lookups
				// that joined it and those failing fast in the cooldown
				// after it are all unavailable, never unknown.
				if errors.Is(err, claims.ErrUnavailable) && !errors.Is(err, jwks.ErrUnknownKey) {
					unavailable.Add(1)
				} else {
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if slowest > maxWait {
		t.Errorf("slowest lookup (%s) took %v, want at most the fetch timeout plus slack, %v", slowKid, slowest, maxWait)
	}
	if got := unavailable.Load(); got != workers*each {
		t.Errorf("unavailable results: got %d (other %d), want %d", got, other.Load(), workers*each)
	}
	if got := h.srv.fetches.Load(); got > 2 {
		t.Errorf("fetches: got %d, want at most 2 (warm-up + one refresh)", got)
	}
	if err := h.waitFetch(t); err == nil {
		t.Errorf("held refresh: got success, want a timeout error")
	}
	// The good key is still served.
	h.key(t, "k1")
}

// TestRemoteNegativeCache: a kid that stayed unknown after a refresh does
// not cause another fetch after the cooldown, until the set is refreshed
// anyway; the cache is bounded.
func TestRemoteNegativeCache(t *testing.T) {
	h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")), jwks.WithNegativeCacheSize(1))
	h.warm(t)
	ctx := context.Background()
	// miss looks kid up and checks the fetch count. Observers run before
	// a waiting lookup resumes (Observer), so every fetch the lookup
	// waited for has already queued its FetchDone event: consume exactly
	// those, leaving h.fetched empty and in step with the server's count.
	var seen int64 = 1 // the warm-up fetch, consumed by warm
	miss := func(kid string, wantFetches int64) {
		t.Helper()
		if _, err := h.remote.Key(ctx, "iss", kid); !errors.Is(err, jwks.ErrUnknownKey) {
			t.Fatalf("Key(%q): got %v, want ErrUnknownKey", kid, err)
		}
		if got := h.srv.fetches.Load(); got != wantFetches {
			t.Fatalf("after Key(%q): got %d fetches, want %d", kid, got, wantFetches)
		}
		for ; seen < wantFetches; seen++ {
			select {
			case err := <-h.fetched:
				if err != nil {
					t.Fatalf("fetch %d: %v", seen+1, err)
				}
			default:
				t.Fatalf("after Key(%q): fetch %d has no FetchDone event yet", kid, seen+1)
			}
		}
		if n := len(h.fetched); n != 0 {
			t.Fatalf("after Key(%q): %d unexpected FetchDone events", kid, n)
		}
	}
	miss("ghost", 2) // the first unknown kid fetches once: still unknown -> negative cache
	miss("ghost", 2) // negative cache: no fetch
	h.clock.Advance(testCooldown)
	miss("ghost", 2) // negative cache, even after the cooldown: no fetch
	miss("ghost2", 3)
	h.clock.Advance(testCooldown)
	miss("ghost2", 3) // cached
	miss("ghost", 4)  // evicted by ghost2 (size 1): fetches again

	// The issuer publishes "ghost". Until the next successful fetch the
	// negative entry holds; the periodic refresh clears it.
	h.srv.setBody(setJSON(t, rsaJWK(t, 0, "k1"), rsaJWK(t, 1, "ghost")))
	h.clock.Advance(testCooldown)
	miss("ghost", 4)
	// Past the refresh time of every fetch so far (jitter only shortens
	// it): the next lookup starts the periodic refresh in the background.
	h.clock.Advance(testMaxRefr)
	h.key(t, "k1")
	if err := h.waitFetch(t); err != nil {
		t.Fatal(err)
	}
	if got := h.srv.fetches.Load(); got != 5 {
		t.Fatalf("fetches after the periodic refresh: got %d, want 5", got)
	}
	if k := h.key(t, "ghost"); k.ID != "ghost" {
		t.Errorf("Key(ghost) after publication: got %q", k.ID)
	}
}

// TestRemoteOutage: with a warm cache and the issuer down, keys are served
// until the staleness bound, then lookups report unavailable; service
// recovers when the issuer returns.
func TestRemoteOutage(t *testing.T) {
	for _, mode := range []string{"500", "down"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")))
			h.warm(t)
			k1 := h.key(t, "k1")
			ctx := context.Background()
			var down atomic.Bool
			down.Store(true)
			h.srv.set(func(s *jwksServer) {
				s.handler = func(w http.ResponseWriter, r *http.Request) {
					if down.Load() {
						if mode == "down" {
							// Drop the connection without an answer.
							conn, _, _ := w.(http.Hijacker).Hijack()
							conn.Close()
							return
						}
						http.Error(w, "boom", http.StatusInternalServerError)
						return
					}
					w.Header().Set("Content-Type", "application/json")
					w.Write(setJSON(t, rsaJWK(t, 0, "k1")))
				}
			})

			// Past the refresh time, within staleness: served, refresh fails.
			h.clock.Advance(testMaxRefr + time.Second)
			if k := h.key(t, "k1"); k != k1 {
				t.Fatalf("k1 during outage: got another key")
			}
			if err := h.waitFetch(t); err == nil {
				t.Fatalf("refresh during outage: got success")
			}
			h.clock.Advance(testStaleness - testMaxRefr - 2*time.Second) // just inside the bound
			if k := h.key(t, "k1"); k != k1 {
				t.Fatalf("k1 just inside staleness: got another key")
			}
			h.waitFetch(t)

			// Past the bound, within the cooldown of the last attempt:
			// unavailable at once, no fetch; never "unknown key".
			fetches := h.srv.fetches.Load()
			h.clock.Advance(2 * time.Second)
			_, err := h.remote.Key(ctx, "iss", "k1")
			if !errors.Is(err, claims.ErrUnavailable) || errors.Is(err, jwks.ErrUnknownKey) {
				t.Fatalf("past staleness: got %v, want claims.ErrUnavailable", err)
			}
			var ue *jwks.UnavailableError
			if !errors.As(err, &ue) || ue.LastSuccess.IsZero() || ue.Err == nil {
				t.Errorf("past staleness: got %#v, want *UnavailableError with LastSuccess and cause", err)
			}
			if got := h.srv.fetches.Load(); got != fetches {
				t.Errorf("fetches within cooldown: got %d, want %d", got, fetches)
			}
			// After the cooldown a lookup tries one fetch, which fails.
			h.clock.Advance(testCooldown)
			if _, err := h.remote.Key(ctx, "iss", "k1"); !errors.Is(err, claims.ErrUnavailable) {
				t.Errorf("after cooldown: got %v, want claims.ErrUnavailable", err)
			}
			h.waitFetch(t)
			if got := h.srv.fetches.Load(); got != fetches+1 {
				t.Errorf("fetches after cooldown: got %d, want %d", got, fetches+1)
			}
			if got := h.stale.Load(); got != 1 {
				t.Errorf("Stale events: got %d, want 1", got)
			}

			// The issuer returns.
			down.Store(false)
			h.clock.Advance(testCooldown)
			if k := h.key(t, "k1"); k != k1 {
				t.Errorf("k1 after recovery: got another *Key, want the same pointer")
			}
		})
	}
}

// TestRemoteFetchFaults: every fetch fault gives a clear error and keeps
// the good keys.
func TestRemoteFetchFaults(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(setJSON(t, rsaJWK(t, 2, "evil")))
	}))
	defer other.Close()
	good := setJSON(t, rsaJWK(t, 0, "k1"))
	oversized := append([]byte(`{"keys":[],"pad":"`), strings.Repeat("a", 1<<20)...)
	oversized = append(oversized, `"}`...)

	reply := func(ctype string, status int, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ctype != "" {
				w.Header().Set("Content-Type", ctype)
			}
			w.WriteHeader(status)
			w.Write(body)
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string // substring of the error
		status  int
	}{
		// Only "slow" needs a short fetch timeout; the others get a long
		// one, so that a loaded machine (1 MiB bodies under -race) cannot
		// turn their error into a timeout.
		{"500", reply("application/json", 500, good), "unexpected status 500", 500},
		{"404", reply("application/json", 404, nil), "unexpected status 404", 404},
		{"204", reply("application/json", 204, nil), "unexpected status 204", 204},
		{"slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, "context deadline exceeded", 0},
		{"garbage json", reply("application/json", 200, []byte(`{"keys":[`)), "malformed key set", 0},
		{"not a set", reply("application/json", 200, []byte(`{"kty":"RSA"}`)), "no keys member", 0},
		{"oversized", reply("application/json", 200, oversized), "body larger than 1 MiB", 0},
		{"text/plain", reply("text/plain", 200, good), "unacceptable content type", 0},
		{"html", reply("text/html; charset=utf-8", 200, []byte("<html><body>login</body></html>")), "unacceptable content type", 0},
		{"no content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			w.Write(good)
		}, "unacceptable content type", 0},
		{"redirect to other host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/jwks", http.StatusFound)
		}, "redirect to another host refused", 0},
		{"only bad keys", reply("application/json", 200, []byte(`{"keys":[{"kty":"oct","k":"AAAA","kid":"k1"}]}`)), "no usable keys", 0},
		{"empty set", reply("application/json", 200, []byte(`{"keys":[]}`)), "no usable keys", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := time.Minute
			if tt.name == "slow" {
				timeout = 200 * time.Millisecond
			}
			h := newHarness(t, good, jwks.WithTimeout(timeout))
			h.warm(t)
			k1 := h.key(t, "k1")
			h.srv.set(func(s *jwksServer) { s.handler = tt.handler })

			err := h.remote.Refresh(context.Background())
			var fe *jwks.FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("Refresh: got %v, want *FetchError", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "jwks: ") {
				t.Errorf("Refresh: got %q, want it to contain %q", err, tt.want)
			}
			if fe.StatusCode != tt.status || fe.URL != h.srv.url() {
				t.Errorf("FetchError: got status %d url %q, want %d %q", fe.StatusCode, fe.URL, tt.status, h.srv.url())
			}
			if got := h.waitFetch(t); got == nil {
				t.Errorf("FetchDone: got nil error")
			}
			if k := h.key(t, "k1"); k != k1 {
				t.Errorf("k1 after failed fetch: got another key, want the good one")
			}
			// A kid only the faulty answer could hold: its fetch fails
			// the same way, so it is unavailable, never served.
			if k, err := h.remote.Key(context.Background(), "iss", "evil"); k != nil || !errors.Is(err, claims.ErrUnavailable) {
				t.Errorf("Key(evil): got %v, %v; want no key and claims.ErrUnavailable", k, err)
			}
		})
	}
}

func TestRemoteSameHostRedirect(t *testing.T) {
	h := newHarness(t, nil)
	good := setJSON(t, rsaJWK(t, 0, "k1"))
	h.srv.set(func(s *jwksServer) {
		s.handler = func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/moved" {
				http.Redirect(w, r, "/moved", http.StatusMovedPermanently)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Write(good)
		}
	})
	h.key(t, "k1")
}

// TestRemoteCacheControl: the refresh is due after max-age, clamped to the
// bounds, less up to 10% jitter; never before.
func TestRemoteCacheControl(t *testing.T) {
	tests := []struct {
		name   string
		header string
		due    time.Duration // the refresh interval before jitter
	}{
		{"max-age inside bounds", "public, max-age=120", 120 * time.Second},
		{"max-age below min", "max-age=5", testMinRefr},
		{"max-age above max", "max-age=86400", testMaxRefr},
		{"age subtracted", "max-age=200", 200 * time.Second},
		{"no-store", "no-store", testMinRefr},
		{"none", "", testMaxRefr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")))
			h.srv.set(func(s *jwksServer) { s.cache = tt.header })
			h.warm(t)
			// Earliest possible refresh: due - 10%. Just before it, a
			// lookup must not fetch.
			h.clock.Advance(tt.due - tt.due/10 - time.Second)
			h.key(t, "k1")
			if got := h.srv.fetches.Load(); got != 1 {
				t.Fatalf("before refresh time: got %d fetches, want 1", got)
			}
			h.clock.Advance(tt.due/10 + time.Second)
			h.key(t, "k1")
			h.waitFetch(t)
			if got := h.srv.fetches.Load(); got != 2 {
				t.Errorf("at refresh time: got %d fetches, want 2", got)
			}
		})
	}
}

func TestNewRemoteURL(t *testing.T) {
	tests := []struct {
		url  string
		opts []jwks.Option
		ok   bool
	}{
		{"https://idp.example.com/jwks", nil, true},
		{"http://127.0.0.1:8080/jwks", nil, true},
		{"http://127.4.5.6/jwks", nil, true},
		{"http://[::1]:9000/jwks", nil, true},
		// Names are not trusted for plain http (RFC 8252 §8.3): only
		// loopback IP literals are.
		{"http://localhost/jwks", nil, false},
		{"http://LOCALHOST:1/jwks", nil, false},
		{"http://localhost./jwks", nil, false},
		{"https://localhost/jwks", nil, true},
		{"http://localhost/jwks", []jwks.Option{jwks.InsecureAllowHTTP()}, true},
		{"http://idp.example.com/jwks", nil, false},
		{"http://10.0.0.1/jwks", nil, false},
		{"http://127.0.0.1.example.com/jwks", nil, false},
		{"http://idp.example.com/jwks", []jwks.Option{jwks.InsecureAllowHTTP()}, true},
		{"ftp://idp.example.com/jwks", nil, false},
		{"https:///jwks", nil, false},
		{"idp.example.com/jwks", nil, false},
		{"https://idp.example.com/%zz", nil, false},
		{"", nil, false},
	}
	for _, tt := range tests {
		r, err := jwks.NewRemote(tt.url, tt.opts...)
		if (err == nil) != tt.ok {
			t.Errorf("NewRemote(%q): got err %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err == nil {
			r.Close()
		} else if !strings.HasPrefix(err.Error(), "jwks: ") {
			t.Errorf("NewRemote(%q): error %q lacks the package prefix", tt.url, err)
		}
	}
}

func TestNewRemoteOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  jwks.Option
		want string // the error's text
	}{
		{"negative timeout", jwks.WithTimeout(-time.Second),
			"jwks: WithTimeout is negative; pass a positive duration, or leave the option out for the default of 10s"},
		{"min above max", jwks.WithRefreshBounds(time.Hour, time.Minute),
			"jwks: WithRefreshBounds: min 1h0m0s is above max 1m0s; pass min <= max (a zero bound is the default: 5m0s min, 1h0m0s max)"},
		{"zero min above max", jwks.WithRefreshBounds(0, time.Minute),
			"jwks: WithRefreshBounds: min 5m0s is above max 1m0s; pass min <= max (a zero bound is the default: 5m0s min, 1h0m0s max)"},
		{"negative min", jwks.WithRefreshBounds(-1, time.Minute),
			"jwks: WithRefreshBounds has a negative bound; pass positive durations, or zero for the defaults of 5m0s and 1h0m0s"},
		{"negative cooldown", jwks.WithCooldown(-1),
			"jwks: WithCooldown is negative; pass a positive duration, or leave the option out for the default of 30s"},
		{"negative staleness", jwks.WithStaleness(-1),
			"jwks: WithStaleness is negative; pass a positive duration, or leave the option out for the default of 24h0m0s"},
		{"staleness below max refresh", jwks.WithStaleness(time.Minute),
			"jwks: WithStaleness 1m0s is below the maximum refresh interval 1h0m0s; pass at least that to WithStaleness, or a smaller max to WithRefreshBounds"},
		{"negative cache size", jwks.WithNegativeCacheSize(-1),
			"jwks: WithNegativeCacheSize is negative; pass a positive size, or leave the option out for the default of 1024"},
		{"nil clock", testclock.JWKS(nil).(jwks.Option), "jwks: clock must not be nil"},
		{"nil option", nil, "jwks: nil option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jwks.NewRemote("https://idp.example.com/jwks", jwks.WithTimeout(time.Second), tt.opt)
			if err == nil || err.Error() != tt.want {
				t.Errorf("NewRemote: got %v, want %q", err, tt.want)
			}
			// Discover checks its options before any request.
			_, err = jwks.Discover(context.Background(), "https://idp.example.com/", tt.opt)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Discover: got %v, want %q", err, tt.want)
			}
		})
	}
	// Zero means the default: the cooldown cannot be switched off.
	r, err := jwks.NewRemote("https://idp.example.com/jwks", jwks.WithTimeout(0), jwks.WithCooldown(0),
		jwks.WithRefreshBounds(0, 0), jwks.WithStaleness(0), jwks.WithNegativeCacheSize(0))
	if err != nil {
		t.Fatalf("zero options: %v", err)
	}
	r.Close()
}

// TestRemoteClose: Close cancels a fetch in flight, waits for it, leaves no
// goroutine behind, and later lookups report ErrClosed as unavailable.
func TestRemoteClose(t *testing.T) {
	testKeys(t)
	hold := make(chan struct{})
	srv := newJWKSServer(t, setJSON(t, rsaJWK(t, 0, "k1")))
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	base := runtime.NumGoroutine()

	r, err := jwks.NewRemote(srv.url(), jwks.WithHTTPClient(&http.Client{Transport: transport}), jwks.WithTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Key(context.Background(), "", "k1"); err != nil {
		t.Fatal(err)
	}
	srv.set(func(s *jwksServer) {
		s.handler = func(w http.ResponseWriter, req *http.Request) {
			select {
			case <-hold:
			case <-req.Context().Done():
			}
		}
	})
	refreshed := make(chan error, 1)
	go func() { refreshed <- r.Refresh(context.Background()) }()
	for srv.fetches.Load() < 2 {
		runtime.Gosched()
	}
	closed := make(chan struct{})
	go func() { r.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while a fetch (timeout 1m) was in flight")
	}
	if err := <-refreshed; err == nil {
		t.Errorf("Refresh cut by Close: got nil error")
	}
	close(hold)
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, err = r.Key(context.Background(), "", "k1")
	if !errors.Is(err, jwks.ErrClosed) || !errors.Is(err, claims.ErrUnavailable) {
		t.Errorf("Key after Close: got %v, want ErrClosed and claims.ErrUnavailable", err)
	}
	if err := r.Refresh(context.Background()); !errors.Is(err, jwks.ErrClosed) {
		t.Errorf("Refresh after Close: got %v, want ErrClosed", err)
	}

	// Goroutines: poll (the server side finishes asynchronously).
	deadline := time.Now().Add(10 * time.Second)
	for {
		transport.CloseIdleConnections()
		n := runtime.NumGoroutine()
		if n <= base {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: got %d, want at most %d\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRemoteWaitHonoursContext: a lookup waiting for a fetch returns when
// its own context ends; the shared fetch goes on for the others.
func TestRemoteWaitHonoursContext(t *testing.T) {
	h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")))
	hold := make(chan struct{})
	h.srv.set(func(s *jwksServer) {
		s.handler = func(w http.ResponseWriter, r *http.Request) {
			<-hold
			w.Header().Set("Content-Type", "application/json")
			w.Write(setJSON(t, rsaJWK(t, 0, "k1")))
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.remote.Key(ctx, "", "k1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Key with cancelled ctx: got %v, want context.Canceled", err)
	}
	close(hold)
	h.key(t, "k1")
	if got := h.srv.fetches.Load(); got != 1 {
		t.Errorf("fetches: got %d, want 1 shared fetch", got)
	}
}

// TestRemoteMissDuringOutage: a kid whose refresh failed is reported as
// unavailable (an outage is never the client's fault), also during the
// cooldown that follows; it is not negative-cached, and once the issuer
// answers again it is found. A kid still unknown after a successful
// refresh is ErrUnknownKey.
func TestRemoteMissDuringOutage(t *testing.T) {
	h := newHarness(t, setJSON(t, rsaJWK(t, 0, "k1")))
	h.warm(t)
	h.srv.set(func(s *jwksServer) { s.status = http.StatusBadGateway })
	h.clock.Advance(testCooldown)
	unavailable := func(step string) {
		t.Helper()
		_, err := h.remote.Key(context.Background(), "iss", "k2")
		var ue *jwks.UnavailableError
		var fe *jwks.FetchError
		if !errors.Is(err, claims.ErrUnavailable) || errors.Is(err, jwks.ErrUnknownKey) || !errors.As(err, &ue) || !errors.As(err, &fe) {
			t.Fatalf("%s: Key(k2) with the issuer failing: got %v, want an *UnavailableError with the *FetchError, not ErrUnknownKey", step, err)
		}
		if ue.LastSuccess.IsZero() {
			t.Errorf("%s: LastSuccess is zero, want the warm-up time", step)
		}
	}
	unavailable("fetch for the kid fails")
	unavailable("cooldown after the failed fetch") // no new fetch
	if got := h.srv.fetches.Load(); got != 2 {
		t.Errorf("fetches within the cooldown: got %d, want 2", got)
	}
	// The good key is still served meanwhile.
	h.key(t, "k1")

	h.srv.set(func(s *jwksServer) {
		s.status = http.StatusOK
		s.body = setJSON(t, rsaJWK(t, 0, "k1"), rsaJWK(t, 1, "k2"))
	})
	h.clock.Advance(testCooldown)
	h.key(t, "k2")
	if got := h.srv.fetches.Load(); got != 3 {
		t.Errorf("fetches: got %d, want 3", got)
	}
	// Unknown after a successful refresh: invalid, not unavailable; the
	// same during the cooldown that follows a successful fetch.
	h.clock.Advance(testCooldown)
	for _, kid := range []string{"k3", "k4"} {
		_, err := h.remote.Key(context.Background(), "iss", kid)
		if !errors.Is(err, jwks.ErrUnknownKey) || errors.Is(err, claims.ErrUnavailable) {
			t.Errorf("Key(%s) after a successful refresh: got %v, want ErrUnknownKey only", kid, err)
		}
	}
	if got := h.srv.fetches.Load(); got != 4 {
		t.Errorf("fetches: got %d, want 4", got)
	}
}

// TestErrorStrings: error text is API; check a few.
func TestErrorStrings(t *testing.T) {
	fe := &jwks.FetchError{URL: "https://idp/jwks", StatusCode: 500, Err: errors.New("jwks: unexpected status 500")}
	if got, want := fe.Error(), "jwks: fetch https://idp/jwks: unexpected status 500"; got != want {
		t.Errorf("FetchError: got %q, want %q", got, want)
	}
	ue := &jwks.UnavailableError{URL: "https://idp/jwks", Err: fe}
	if got, want := ue.Error(), "jwks: keys from https://idp/jwks unavailable (never fetched): fetch https://idp/jwks: unexpected status 500"; got != want {
		t.Errorf("UnavailableError: got %q, want %q", got, want)
	}
	// A FetchError built without a cause (the type is exported) must not
	// panic.
	nilCause := &jwks.FetchError{URL: "https://idp/jwks"}
	if got, want := nilCause.Error(), "jwks: fetch https://idp/jwks failed"; got != want {
		t.Errorf("FetchError without Err: got %q, want %q", got, want)
	}
	if got, want := (&jwks.UnavailableError{URL: "u", Err: nilCause}).Error(), "jwks: keys from u unavailable (never fetched): fetch https://idp/jwks failed"; got != want {
		t.Errorf("UnavailableError over it: got %q, want %q", got, want)
	}
	ke := &jwks.KeyError{KID: "a", Reason: "use is not sig"}
	if got, want := ke.Error(), `jwks: key "a" rejected: use is not sig`; got != want {
		t.Errorf("KeyError: got %q, want %q", got, want)
	}
	_, err := jwks.NewStatic([]byte(`{"keys":[]}`))
	if got, want := err.Error(), "jwks: no usable keys in set (0 rejected)"; got != want {
		t.Errorf("empty set: got %q, want %q", got, want)
	}
}
