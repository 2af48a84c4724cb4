package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/testclock"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
)

// sharedClock is one settable clock for the issuer, the key source and
// the verifier.
type sharedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *sharedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sharedClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Key source timings of the end-to-end tests. The refresh interval equals
// the staleness bound, so no refresh starts in the background on its own:
// every fetch in these tests is one the test triggers and waits for.
const (
	e2eRefresh  = 10 * time.Minute
	e2eCooldown = 30 * time.Second
)

// e2e is a stepuptest issuer on 127.0.0.1, a jwks.Discover source and a
// verifier, all on one fake clock.
type e2e struct {
	clock *sharedClock
	iss   *stepuptest.Issuer
	keys  *jwks.Remote
	v     *Verifier
}

func newE2E(t *testing.T, opts ...jwks.Option) *e2e {
	t.Helper()
	e := &e2e{clock: &sharedClock{now: testNow}}
	iss, err := stepuptest.NewIssuer(
		stepuptest.WithClock(e.clock.Now),
		stepuptest.WithAudience(testAudience),
		stepuptest.WithAlgorithms("ES256"),
		stepuptest.WithTokenTTL(time.Hour),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	e.iss = iss
	keys, err := jwks.Discover(context.Background(), iss.Issuer(), append([]jwks.Option{
		testclock.JWKS(e.clock.Now).(jwks.Option),
		jwks.WithTimeout(30 * time.Second),
		jwks.WithRefreshBounds(e2eRefresh, e2eRefresh),
		jwks.WithStaleness(e2eRefresh),
		jwks.WithCooldown(e2eCooldown),
	}, opts...)...)
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	t.Cleanup(func() { keys.Close() })
	e.keys = keys
	e.v, err = New(keys, Config{Issuer: iss.Issuer(), Audience: testAudience, Now: e.clock.Now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func (e *e2e) mint(t testing.TB, tok stepuptest.Token) string {
	t.Helper()
	raw, err := e.iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func (e *e2e) rotate(t testing.TB) string {
	t.Helper()
	kid, err := e.iss.Rotate("")
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

// TestRemoteRotation: 64 concurrent verifications of tokens signed with a
// key the issuer just rotated in cause exactly one JWKS fetch, and all
// pass.
func TestRemoteRotation(t *testing.T) {
	e := newE2E(t)
	before := e.iss.Requests().JWKS
	newKid := e.rotate(t)
	const n = 64
	toks := make([]string, n)
	for i := range toks {
		toks[i] = e.mint(t, stepuptest.Token{Subject: fmt.Sprintf("user-%d", i)})
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = e.v.Verify(context.Background(), toks[i])
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("token %d (kid %s): %v", i, newKid, err)
		}
	}
	if got := e.iss.Requests().JWKS - before; got != 1 {
		t.Errorf("JWKS fetches for the new kid: got %d, want exactly 1", got)
	}
}

// TestRemoteRevocation: once the issuer drops a key, the next refresh
// makes its tokens fail, including one the verified-token cache holds.
func TestRemoteRevocation(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	old := e.iss.KeyID("")
	tok := e.mint(t, stepuptest.Token{})
	for range 2 { // the second answer comes from the cache
		if _, err := e.v.Verify(ctx, tok); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
	}
	if n := e.v.cache.len(); n != 1 {
		t.Fatalf("cache entries: got %d, want 1", n)
	}
	e.rotate(t)
	if err := e.iss.RemoveKey(old); err != nil {
		t.Fatal(err)
	}
	// Until the next refresh the old set is served.
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("before the refresh: %v", err)
	}
	e.clock.Advance(time.Minute)
	if err := e.keys.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	_, err := e.v.Verify(ctx, tok)
	if got := rejectionOf(t, err); got != ReasonUnknownKey {
		t.Errorf("revoked key, cached token: got reason %q (%v), want %q", got, err, ReasonUnknownKey)
	}
	// A fresh token with the revoked key fails too; the new key works.
	_, err = e.v.Verify(ctx, e.mint(t, stepuptest.Token{KeyID: old, Subject: "other"}))
	if got := rejectionOf(t, err); got != ReasonUnknownKey {
		t.Errorf("revoked key, fresh token: got reason %q, want %q", got, ReasonUnknownKey)
	}
	if _, err := e.v.Verify(ctx, e.mint(t, stepuptest.Token{})); err != nil {
		t.Errorf("new key: %v", err)
	}
}

// TestRemoteUnknownKidFlood: 10,000 tokens naming made-up kids within one
// cooldown cause at most one JWKS fetch, and each is invalid_token with
// reason unknown_key (the issuer is healthy).
func TestRemoteUnknownKidFlood(t *testing.T) {
	e := newE2E(t)
	parts := strings.Split(e.mint(t, stepuptest.Token{}), ".")
	before := e.iss.Requests().JWKS
	const (
		workers = 8
		each    = 1250
	)
	var (
		wg    sync.WaitGroup
		wrong atomic.Int64
		first atomic.Value
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// The header names a kid the issuer never had; the
				// signature does not matter, the lookup fails first.
				hdr := enc(fmt.Sprintf(`{"alg":"ES256","typ":"at+jwt","kid":"flood-%d-%d"}`, w, i))
				_, err := e.v.Verify(context.Background(), hdr+"."+parts[1]+"."+parts[2])
				var te *TokenError
				var ce *claims.Error
				if !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken || !errors.As(err, &te) || te.Reason != ReasonUnknownKey {
					wrong.Add(1)
					first.CompareAndSwap(nil, fmt.Sprint(err))
				}
			}
		}()
	}
	wg.Wait()
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d lookups were not invalid_token/unknown_key; first: %v", n, first.Load())
	}
	if got := e.iss.Requests().JWKS - before; got > 1 {
		t.Errorf("JWKS fetches during the flood: got %d, want at most 1", got)
	}
}

// TestRemoteOutage: with a warm cache and the issuer down, valid tokens
// pass until the staleness bound, a token with a kid the source has not
// seen is unavailable (never invalid_token); past the bound every lookup
// is unavailable; when the issuer returns, service recovers.
func TestRemoteOutage(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	tok := e.mint(t, stepuptest.Token{})
	if _, err := e.v.Verify(ctx, tok); err != nil {
		t.Fatalf("warm: %v", err)
	}
	if err := e.iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.Fault500, Discovery: stepuptest.Fault500}); err != nil {
		t.Fatal(err)
	}
	unavailable := func(step string, raw string) {
		t.Helper()
		_, err := e.v.Verify(ctx, raw)
		var ce *claims.Error
		if !errors.Is(err, claims.ErrUnavailable) || errors.As(err, &ce) {
			t.Errorf("%s: got %v, want an error wrapping claims.ErrUnavailable and no *claims.Error", step, err)
		}
	}

	e.clock.Advance(e2eRefresh / 2)
	if err := e.keys.Refresh(ctx); err == nil {
		t.Fatal("Refresh with the issuer down: got nil error")
	}
	fresh := e.mint(t, stepuptest.Token{Subject: "fresh"})
	for _, raw := range []string{tok, fresh} {
		if _, err := e.v.Verify(ctx, raw); err != nil {
			t.Errorf("within the staleness bound: %v", err)
		}
	}
	// A token signed with a key rotated in during the outage: the fetch
	// for its kid fails, so it is unavailable, not invalid.
	e.rotate(t)
	newKey := e.mint(t, stepuptest.Token{Subject: "new-key"})
	unavailable("new kid during the outage", newKey)
	unavailable("new kid in the cooldown after the failed fetch", newKey)

	e.clock.Advance(e2eRefresh/2 + time.Second) // past the bound
	unavailable("cached token past the staleness bound", tok)
	unavailable("fresh token past the staleness bound", e.mint(t, stepuptest.Token{Subject: "late", KeyID: e.keysKID(t, tok)}))

	if err := e.iss.SetFaults(stepuptest.Faults{}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(e2eCooldown)
	for _, raw := range []string{tok, newKey} {
		if _, err := e.v.Verify(ctx, raw); err != nil {
			t.Errorf("after recovery: %v", err)
		}
	}
}

// keysKID returns the kid in raw's header.
func (e *e2e) keysKID(t *testing.T, raw string) string {
	t.Helper()
	_, kid, rej := parseCompact(raw, &e.v.pol, nil)
	if rej != nil {
		t.Fatalf("parseCompact: %v", rej.err)
	}
	return kid
}
