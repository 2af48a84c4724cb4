package jwks

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Remote is a key set fetched from a JWKS URL, cached and refreshed. It is
// safe for concurrent use. Close it when done.
//
// Refresh mechanics, all driven from the lookup path (Remote runs no
// long-lived goroutine; each fetch runs in a goroutine owned by the Remote
// and bounded by the fetch timeout, and Close waits for it):
//
//   - NewRemote does not fetch. The first lookup fetches (waiting at most
//     the fetch timeout); call Refresh to warm the cache or to fail fast at
//     start-up. Discover returns a warm Remote.
//   - After a successful fetch the next refresh is due after the response's
//     Cache-Control max-age clamped to the refresh bounds, minus up to 10%
//     jitter. The first lookup after that starts a refresh in the
//     background and is served from the current set without waiting.
//   - A refresh replaces the whole set: a key removed at the issuer is no
//     longer returned. A key left unchanged keeps its *Key pointer.
//   - An unknown kid joins the in-flight fetch, or starts one unless
//     another unknown kid started one less than the cooldown ago; during
//     the cooldown misses fail fast with ErrUnknownKey, or with an
//     *UnavailableError when the last fetch attempt failed. A kid still
//     unknown because its fetch failed is also an *UnavailableError: an
//     outage is never reported as an unknown key. Only fetches started
//     by unknown kids count: a key the issuer starts signing with just after
//     the start-up fetch or a scheduled refresh is found at once, while a
//     flood of made-up kids still causes at most one fetch per cooldown. Kids still unknown after a successful
//     refresh go to a bounded negative cache and fail fast until the next
//     successful fetch. An empty kid never triggers a fetch.
//   - A failed fetch keeps the last good set, which is served until the
//     staleness bound; after it, lookups try one fetch per cooldown and
//     otherwise return an *UnavailableError (matching claims.ErrUnavailable).
type Remote struct {
	url     string
	issuer  string // set by Discover; "" serves any issuer
	o       options
	fetcher *fetcher

	snap atomic.Pointer[snapshot]

	mu            sync.Mutex
	inflight      *fetchCall
	started       uint64     // fetches started so far; the seq of the last one
	finished      *fetchCall // the last fetch that finished, nil before
	lastAttempt   time.Time  // clock time the last fetch started
	lastMiss      time.Time  // clock time the last fetch for an unknown kid started
	lastErr       error
	staleReported bool
	closed        bool
	closedFlag    atomic.Bool // mirrors closed for the lock-free path
	neg           *negCache

	done chan struct{} // closed by Close
	wg   sync.WaitGroup
}

// snapshot is an immutable view of the last good set.
type snapshot struct {
	set       *Set
	fetched   time.Time // clock time of the last successful fetch
	refreshAt time.Time
	gen       uint64
}

// fetchCall is one in-flight fetch shared by every waiter.
type fetchCall struct {
	seq  uint64 // 1 for the first fetch of the Remote, then counting up
	done chan struct{}
	err  error // set before done is closed
}

// NewRemote returns a Remote for the JWKS at jwksURL, which must be https
// (http only for loopback IP literals such as 127.0.0.1 and ::1, or with
// InsecureAllowHTTP; not the name localhost, see RFC 8252 §8.3), and
// whose host must be in the WithJWKSHosts list when that option is used
// (else the error wraps ErrHostNotAllowed). It does not fetch: see Remote
// for when fetches happen. To fail fast at start-up, as Discover does,
// call Refresh right after it:
//
//	keys, err := jwks.NewRemote(jwksURL)
//	if err != nil { ... }
//	if err := keys.Refresh(ctx); err != nil { keys.Close(); ... } // unreachable, not a JWKS, no usable key
func NewRemote(jwksURL string, opts ...Option) (*Remote, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	return newRemote(jwksURL, "", o)
}

func newRemote(jwksURL, issuer string, o options) (*Remote, error) {
	if _, err := o.jwksURL(jwksURL); err != nil {
		return nil, err
	}
	return &Remote{
		url:     jwksURL,
		issuer:  issuer,
		o:       o,
		fetcher: newFetcher(&o),
		neg:     newNegCache(o.negativeLen),
		done:    make(chan struct{}),
	}, nil
}

// URL returns the JWKS URL.
func (r *Remote) URL() string { return r.url }

// Issuers returns the one issuer a Remote made by Discover serves, or nil
// for a Remote made by NewRemote (which serves any issuer). It implements
// IssuerSource.
func (r *Remote) Issuers() []string {
	if r.issuer == "" {
		return nil
	}
	return []string{r.issuer}
}

// Set returns the current key set, or nil before the first successful
// fetch. It does not fetch.
func (r *Remote) Set() *Set {
	if s := r.snap.Load(); s != nil {
		return s.set
	}
	return nil
}

// Key implements Source. For a Remote made by Discover, an issuer other
// than the discovered one gets ErrUnknownIssuer (without fetching); a
// Remote made by NewRemote ignores issuer. See Remote for refresh rules.
func (r *Remote) Key(ctx context.Context, issuer, kid string) (*Key, error) {
	if r.issuer != "" && issuer != r.issuer {
		return nil, ErrUnknownIssuer
	}
	if r.closedFlag.Load() {
		return nil, r.unavailable(r.snap.Load(), ErrClosed)
	}
	now := r.o.now()
	s := r.snap.Load()
	if s != nil && !r.stale(s, now) {
		if !now.Before(s.refreshAt) {
			r.refreshAhead(now)
		}
		if k := s.set.lookup(kid); k != nil {
			return k, nil
		}
		return r.miss(ctx, kid, s, now)
	}
	return r.recover(ctx, kid, now)
}

func (r *Remote) stale(s *snapshot, now time.Time) bool {
	return now.Sub(s.fetched) > r.o.staleness
}

// refreshAhead starts a background fetch when none is in flight and the
// last attempt is older than the cooldown (the retry interval after a
// failure). It never waits.
func (r *Remote) refreshAhead(now time.Time) {
	r.mu.Lock()
	if r.inflight == nil && !r.closed && now.Sub(r.lastAttempt) >= r.o.cooldown {
		r.startLocked(now)
	}
	r.mu.Unlock()
}

// miss handles an unknown kid while the set is fresh enough to serve.
func (r *Remote) miss(ctx context.Context, kid string, s *snapshot, now time.Time) (*Key, error) {
	if kid == "" {
		return nil, ErrUnknownKey
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, &UnavailableError{URL: r.url, LastSuccess: s.fetched, Err: ErrClosed}
	}
	if cur := r.snap.Load(); cur != s {
		// A fetch finished since the caller looked: the kid may be in
		// the new set, and the cooldown must not hide it.
		s = cur
		if k := s.set.lookup(kid); k != nil {
			r.mu.Unlock()
			return k, nil
		}
	}
	if r.neg.contains(kid, s.gen) {
		r.mu.Unlock()
		return nil, ErrUnknownKey
	}
	c := r.inflight
	if c == nil {
		if now.Sub(r.lastMiss) < r.o.cooldown {
			lastErr := r.lastErr
			r.mu.Unlock()
			if lastErr != nil {
				// The last fetch failed: the kid may well be a key the
				// issuer just started using. An outage is never the
				// client's fault, so this is unavailable, not unknown.
				return nil, r.unavailable(s, lastErr)
			}
			return nil, ErrUnknownKey
		}
		c = r.startLocked(now)
		r.lastMiss = now
	}
	r.mu.Unlock()

	if err := r.wait(ctx, c); err != nil {
		return nil, err
	}
	s = r.snap.Load()
	if k := s.set.lookup(kid); k != nil {
		return k, nil
	}
	if c.err != nil {
		// The refresh failed: the kid may exist at the issuer, so it is
		// not negative-cached (it is retried after the cooldown) and the
		// answer is unavailable, not unknown: a valid token signed with
		// a new key must not be refused as invalid during an outage.
		return nil, r.unavailable(s, c.err)
	}
	r.mu.Lock()
	r.neg.add(kid, s.gen)
	r.mu.Unlock()
	return nil, ErrUnknownKey
}

// recover handles a lookup without a set fresh enough to serve: it joins
// or starts a fetch (at most one per cooldown) and waits for it.
func (r *Remote) recover(ctx context.Context, kid string, now time.Time) (*Key, error) {
	r.mu.Lock()
	s := r.snap.Load()
	if r.closed {
		r.mu.Unlock()
		return nil, r.unavailable(s, ErrClosed)
	}
	if s != nil && !r.stale(s, now) { // another lookup just fetched
		r.mu.Unlock()
		if k := s.set.lookup(kid); k != nil {
			return k, nil
		}
		return r.miss(ctx, kid, s, now)
	}
	var report bool
	if s != nil && !r.staleReported {
		r.staleReported, report = true, true
	}
	c := r.inflight
	if c == nil && now.Sub(r.lastAttempt) >= r.o.cooldown {
		c = r.startLocked(now)
	}
	lastErr := r.lastErr
	r.mu.Unlock()
	if report && r.o.observer.Stale != nil {
		r.o.observer.Stale(r.url, now.Sub(s.fetched))
	}

	if c == nil { // cooling down after a failure: fail fast
		return nil, r.unavailable(s, lastErr)
	}
	if err := r.wait(ctx, c); err != nil {
		return nil, err
	}
	s = r.snap.Load()
	if s == nil || r.stale(s, r.o.now()) {
		return nil, r.unavailable(s, c.err)
	}
	if k := s.set.lookup(kid); k != nil {
		return k, nil
	}
	if kid != "" {
		r.mu.Lock()
		r.neg.add(kid, s.gen)
		r.mu.Unlock()
	}
	return nil, ErrUnknownKey
}

func (r *Remote) unavailable(s *snapshot, err error) error {
	e := &UnavailableError{URL: r.url, Err: err}
	if s != nil {
		e.LastSuccess = s.fetched
	}
	return e
}

// wait blocks until c is done or ctx ends. c ends within the fetch timeout.
func (r *Remote) wait(ctx context.Context, c *fetchCall) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Refresh fetches the set now, ignoring the cooldown, and returns the
// fetch error. The fetch it reports on started after Refresh was called,
// so it sees what the issuer published before the call: a fetch already in
// flight is waited for, then the next one is started, or joined when
// another caller started it in the meantime. A failed Refresh keeps the
// last good set.
func (r *Remote) Refresh(ctx context.Context) error {
	r.mu.Lock()
	after := r.started // a fetch with a greater seq started after this call
	for {
		if r.closed {
			r.mu.Unlock()
			return ErrClosed
		}
		c := r.inflight
		switch {
		case r.finished != nil && r.finished.seq > after:
			// Another caller's fetch started after this call and has
			// finished (waiting on it below lets its observers finish).
			c = r.finished
		case c == nil:
			c = r.startLocked(r.o.now())
		}
		r.mu.Unlock()
		if err := r.wait(ctx, c); err != nil {
			return err
		}
		if c.seq > after {
			return c.err
		}
		r.mu.Lock()
	}
}

// Close stops any fetch in flight and waits for its goroutine. Later
// lookups return an *UnavailableError wrapping ErrClosed. Close is
// idempotent and always returns nil.
func (r *Remote) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.closedFlag.Store(true)
	close(r.done)
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

// startLocked starts a fetch; r.mu must be held and r not closed.
func (r *Remote) startLocked(now time.Time) *fetchCall {
	r.started++
	c := &fetchCall{seq: r.started, done: make(chan struct{})}
	r.inflight = c
	r.lastAttempt = now
	r.wg.Add(2)
	ctx, cancel := context.WithTimeout(context.Background(), r.o.timeout)
	go func() { // cancel the fetch on Close
		defer r.wg.Done()
		select {
		case <-r.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	go func() {
		defer r.wg.Done()
		defer cancel()
		r.run(ctx, c)
	}()
	return c
}

// run performs one fetch and publishes its result.
func (r *Remote) run(ctx context.Context, c *fetchCall) {
	start := time.Now()
	prev := r.snap.Load()
	var prevSet *Set
	if prev != nil {
		prevSet = prev.set
	}
	set, lifetime, err := r.fetchSet(ctx, prevSet)
	took := time.Since(start)
	now := r.o.now()

	r.mu.Lock()
	if err == nil {
		var gen uint64 = 1
		if prev != nil {
			gen = prev.gen + 1
		}
		r.snap.Store(&snapshot{set: set, fetched: now, refreshAt: now.Add(r.interval(lifetime)), gen: gen})
		r.staleReported = false
	}
	r.lastErr = err
	r.inflight = nil
	r.finished = c
	c.err = err
	r.mu.Unlock()
	// The observers run before the waiting lookups (and Refresh) resume, so
	// a caller of Refresh sees their effects; they must be quick.
	defer close(c.done)

	obs := r.o.observer
	if set != nil && obs.KeyRejected != nil {
		for _, ke := range set.rejected {
			obs.KeyRejected(r.url, ke.KID, ke.Reason)
		}
	}
	if err == nil && obs.KeysChanged != nil {
		if added, removed := diff(prevSet, set); len(added)+len(removed) > 0 {
			obs.KeysChanged(r.url, added, removed)
		}
	}
	if obs.FetchDone != nil {
		obs.FetchDone(r.url, took, err)
	}
}

// fetchSet fetches and parses the JWKS. lifetime < 0 means no max-age.
func (r *Remote) fetchSet(ctx context.Context, prev *Set) (*Set, time.Duration, error) {
	body, h, err := r.fetcher.get(ctx, r.url, jwksTypes)
	if err != nil {
		return nil, 0, err
	}
	set, err := parseSet(body, prev)
	if err != nil {
		return set, 0, &FetchError{URL: r.url, Err: err}
	}
	lifetime, ok := maxAge(h)
	if !ok {
		lifetime = -1
	}
	return set, lifetime, nil
}

// interval clamps lifetime to the refresh bounds (max when lifetime < 0)
// and subtracts up to jitterPercent of it, so that many instances do not
// refresh in step.
func (r *Remote) interval(lifetime time.Duration) time.Duration {
	d := lifetime
	if d < 0 {
		d = r.o.maxRefresh
	}
	d = min(max(d, r.o.minRefresh), r.o.maxRefresh)
	if span := int64(d) * r.o.jitterPercent / 100; span > 0 {
		d -= time.Duration(rand.Int64N(span + 1))
	}
	return d
}

// diff lists the kids added to and removed from a set, by pointer.
func diff(old, cur *Set) (added, removed []string) {
	had := make(map[*Key]bool)
	if old != nil {
		for _, k := range old.keys {
			had[k] = true
		}
	}
	for _, k := range cur.keys {
		if had[k] {
			delete(had, k)
			continue
		}
		added = append(added, k.ID)
	}
	if old != nil {
		for _, k := range old.keys {
			if had[k] {
				removed = append(removed, k.ID)
			}
		}
	}
	return added, removed
}
