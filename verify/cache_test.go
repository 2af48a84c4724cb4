package verify

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
)

// testClock is a settable clock, safe for concurrent use.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.set(t)
	return c
}

func (c *testClock) now() time.Time  { return time.Unix(0, c.ns.Load()) }
func (c *testClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// cacheCounter counts Observer.TokenCache calls.
type cacheCounter struct{ hits, misses atomic.Int64 }

func (c *cacheCounter) observe(hit bool) {
	if hit {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
}

func (c *cacheCounter) String() string {
	return fmt.Sprintf("%d hits, %d misses", c.hits.Load(), c.misses.Load())
}

// setKey replaces (or, with a nil key, removes) kid in testIssuer's set.
func (s *mapSource) setKey(kid string, k *jwks.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := make(map[string]*jwks.Key, len(s.keys[testIssuer]))
	for id, old := range s.keys[testIssuer] {
		set[id] = old
	}
	if k == nil {
		delete(set, kid)
	} else {
		set[kid] = k
	}
	s.keys[testIssuer] = set
}

func (s *mapSource) key(kid string) *jwks.Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[testIssuer][kid]
}

func (s *mapSource) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// cachedVerifier returns a verifier with the cache on, a settable clock
// and a cache counter.
func cachedVerifier(t *testing.T, src jwks.Source, mod func(*Config)) (*Verifier, *testClock, *cacheCounter) {
	t.Helper()
	clk := newTestClock(testNow)
	cnt := &cacheCounter{}
	v := newTestVerifier(t, src, func(c *Config) {
		c.Now = clk.now
		c.Observer.TokenCache = cnt.observe
		if mod != nil {
			mod(c)
		}
	})
	return v, clk, cnt
}

// warm verifies raw twice, so that the cache admits it (see tokenCache):
// its next Verify is a hit.
func warm(t *testing.T, v *Verifier, raw string) {
	t.Helper()
	for i := range 2 {
		if err := verifyErr(v, raw); err != nil {
			t.Fatalf("Verify #%d: %v", i+1, err)
		}
	}
}

func TestTokenCacheHit(t *testing.T) {
	for _, alg := range benchAlgs {
		t.Run(alg, func(t *testing.T) {
			src := newTestSource()
			v, _, cnt := cachedVerifier(t, src, nil)
			raw := mint(alg, nil)
			if _, err := v.Verify(context.Background(), raw); err != nil {
				t.Fatalf("first Verify: %v", err)
			}
			second, err := v.Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("second Verify: %v", err)
			}
			third, err := v.Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("third Verify: %v", err)
			}
			if second != third {
				t.Errorf("got new claims on the third Verify, want the *Claims cached by the second")
			}
			if cnt.hits.Load() != 1 || cnt.misses.Load() != 2 {
				t.Errorf("got %v, want 1 hit, 2 misses", cnt)
			}
			if got, want := src.lookups(), 3; got != want {
				t.Errorf("got %d key lookups, want %d (the hit re-checks the key)", got, want)
			}
			// A token differing in one byte of its signature is not the
			// cached one.
			forged := raw[:len(raw)-2] + otherChar(raw[len(raw)-2]) + raw[len(raw)-1:]
			if got := rejectionOf(t, verifyErr(v, forged)); got != ReasonSignature && got != ReasonMalformed {
				t.Errorf("forged: got %q, want %q", got, ReasonSignature)
			}
		})
	}
}

func otherChar(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func verifyErr(v *Verifier, raw string) error {
	_, err := v.Verify(context.Background(), raw)
	return err
}

func TestTokenCacheTimeOnHit(t *testing.T) {
	exp := testNow.Add(5 * time.Minute)
	for _, tc := range []struct {
		name  string
		at    time.Time
		want  Reason
		kept  bool // the entry stays
		valid bool
	}{
		{"within exp", exp.Add(-time.Second), ReasonNone, true, true},
		{"within leeway", exp.Add(defaultLeeway - time.Second), ReasonNone, true, true},
		{"past exp and leeway", exp.Add(defaultLeeway), ReasonExpired, false, false},
		{"long past exp", exp.Add(24 * time.Hour), ReasonExpired, false, false},
		// The clock stepped back: nbf (one minute before testNow) and iat
		// are in the future again.
		{"nbf in the future", testNow.Add(-time.Hour), ReasonNotYetValid, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, clk, cnt := cachedVerifier(t, newTestSource(), nil)
			raw := mint("ES256", func(m map[string]any) { m["nbf"] = testNow.Add(-time.Minute).Unix() })
			warm(t, v, raw)
			clk.set(tc.at)
			err := verifyErr(v, raw)
			if tc.valid {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				if cnt.hits.Load() != 1 {
					t.Errorf("got %v, want a hit", cnt)
				}
			} else if got := rejectionOf(t, err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
			if got := v.cache.len(); (got == 1) != tc.kept {
				t.Errorf("got %d entries, want kept=%v", got, tc.kept)
			}
		})
	}
}

func TestTokenCacheKeyLeavesSet(t *testing.T) {
	m := testKeys()
	for _, tc := range []struct {
		name   string
		change func(s *mapSource)
		want   Reason // ReasonNone: valid again, from a full verification
	}{
		{"kid removed", func(s *mapSource) { s.setKey("p256", nil) }, ReasonUnknownKey},
		{"kid now names another key", func(s *mapSource) {
			s.setKey("p256", &jwks.Key{ID: "p256", Algorithm: "ES256", KeyType: "EC", Public: &m.attacker.PublicKey})
		}, ReasonSignature},
		{"same material, new *Key", func(s *mapSource) {
			s.setKey("p256", &jwks.Key{ID: "p256", Algorithm: "ES256", KeyType: "EC", Public: &m.p256.PublicKey})
		}, ReasonNone},
		{"source outage", func(s *mapSource) { s.setErr(fmt.Errorf("jwks: down: %w", claims.ErrUnavailable)) }, ReasonUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newTestSource()
			v, _, cnt := cachedVerifier(t, src, nil)
			raw := mint("ES256", nil)
			warm(t, v, raw)
			tc.change(src)
			before := src.lookups()
			err := verifyErr(v, raw)
			switch tc.want {
			case ReasonNone:
				if err != nil {
					t.Fatalf("got %v, want valid after a full verification", err)
				}
				// The hit's check and the full verification's lookup.
				if got := src.lookups() - before; got != 2 {
					t.Errorf("got %d lookups, want 2", got)
				}
				if e := v.cache.get(raw); e == nil || e.key != src.key("p256") {
					t.Errorf("got entry %+v, want one holding the new key", e)
				}
			case ReasonUnavailable:
				if !errors.Is(err, claims.ErrUnavailable) {
					t.Fatalf("got %v, want claims.ErrUnavailable", err)
				}
			default:
				if got := rejectionOf(t, err); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
				if got := v.cache.len(); got != 0 {
					t.Errorf("got %d entries, want the entry dropped", got)
				}
			}
			if cnt.hits.Load() != 0 {
				t.Errorf("got %v, want no hit once the key changed", cnt)
			}
		})
	}
}

func TestTokenCacheStoresOnlySuccess(t *testing.T) {
	m := testKeys()
	for _, tc := range []struct {
		name string
		raw  string
		src  func(*mapSource)
	}{
		{"bad signature", sign("ES256", m.attacker, stdHeader("ES256"), mustJSON(claimSet(nil))), nil},
		{"expired", mint("ES256", func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }), nil},
		{"not yet valid", mint("ES256", func(c map[string]any) { c["nbf"] = testNow.Add(time.Hour).Unix() }), nil},
		{"wrong audience", mint("ES256", func(c map[string]any) { c["aud"] = "https://other.example.com" }), nil},
		{"missing claim", mint("ES256", func(c map[string]any) { delete(c, "jti") }), nil},
		{"unknown key", mint("ES256", nil), func(s *mapSource) { s.setKey("p256", nil) }},
		{"outage", mint("ES256", nil), func(s *mapSource) { s.setErr(claims.ErrUnavailable) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newTestSource()
			if tc.src != nil {
				tc.src(src)
			}
			v, _, cnt := cachedVerifier(t, src, nil)
			for i := range 2 {
				if err := verifyErr(v, tc.raw); err == nil {
					t.Fatalf("Verify #%d: got nil error, want a rejection", i+1)
				}
			}
			if got := v.cache.len(); got != 0 {
				t.Errorf("got %d cache entries, want 0", got)
			}
			if cnt.hits.Load() != 0 {
				t.Errorf("got %v, want no hit", cnt)
			}
		})
	}
}

// TestTokenCacheRequirementOnHit: the cache covers verification only; a
// token short of a requirement is challenged on every request.
func TestTokenCacheRequirementOnHit(t *testing.T) {
	v, _, cnt := cachedVerifier(t, newTestSource(), nil)
	raw := mint("EdDSA", nil) // acr urn:example:loa:2, auth_time two minutes ago
	for _, tc := range []struct {
		name string
		req  claims.Requirement
		want claims.Code
	}{
		{"acr", claims.Requirement{ACR: []string{"urn:example:loa:3"}}, claims.CodeInsufficientUserAuthentication},
		{"max_age", claims.Requirement{MaxAge: time.Minute}, claims.CodeInsufficientUserAuthentication},
		{"scope", claims.Requirement{Scopes: []string{"admin"}}, claims.CodeInsufficientScope},
		{"met", claims.Requirement{ACR: []string{"urn:example:loa:2"}, Scopes: []string{"read"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range 2 {
				c, err := v.Authorize(context.Background(), raw, tc.req)
				if c == nil {
					t.Fatalf("Authorize #%d: got nil claims (err %v)", i+1, err)
				}
				if tc.want == "" {
					if err != nil {
						t.Fatalf("Authorize #%d: got %v, want nil", i+1, err)
					}
					continue
				}
				var ce *claims.Error
				if !errors.As(err, &ce) || ce.Code != tc.want {
					t.Fatalf("Authorize #%d: got %v, want code %q", i+1, err, tc.want)
				}
			}
		})
	}
	if got := cnt.misses.Load(); got != 2 {
		t.Errorf("got %v, want exactly two misses (the second admits the token, every later call hits)", cnt)
	}
}

func TestTokenCacheDisabled(t *testing.T) {
	src := newTestSource()
	v, _, cnt := cachedVerifier(t, src, func(c *Config) { c.NoTokenCache = true })
	if v.cache != nil {
		t.Fatal("got a cache, want none with NoTokenCache")
	}
	raw := mint("EdDSA", nil)
	a, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("got the same *Claims twice, want a fresh verification")
	}
	if cnt.hits.Load()+cnt.misses.Load() != 0 {
		t.Errorf("got %v, want no cache observations", cnt)
	}
}

func TestTokenCacheConfig(t *testing.T) {
	for _, tc := range []struct {
		name       string
		size, byts int
		off        bool
		wantErr    string // the error's text after "verify: invalid config: "
		wantLen    int    // capacity in entries; 0 when disabled
	}{
		{"defaults", 0, 0, false, "", defaultTokenCacheSize},
		{"one entry", 1, 0, false, "", 1},
		{"odd size", 33, 0, false, "", 33},
		{"disabled", 0, 0, true, "", 0},
		{"negative size", -1, 0, false, "TokenCacheSize is negative; set NoTokenCache to turn the token cache off", 0},
		{"negative bytes", 0, -1, false, "TokenCacheBytes is negative; leave it zero for the default of 33554432 bytes, or set NoTokenCache to turn the token cache off", 0},
		{"disabled with a size", 10, 0, true, "TokenCacheSize or TokenCacheBytes set with NoTokenCache; set one of them", 0},
		{"disabled with bytes", 0, 1 << 20, true, "TokenCacheSize or TokenCacheBytes set with NoTokenCache; set one of them", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(newTestSource(), Config{Issuer: testIssuer, Audience: testAudience,
				TokenCacheSize: tc.size, TokenCacheBytes: tc.byts, NoTokenCache: tc.off})
			if tc.wantErr != "" {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("got %v, want ErrConfig", err)
				}
				if got, want := err.Error(), "verify: invalid config: "+tc.wantErr; got != want {
					t.Errorf("got %q, want %q", got, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			if v.cache != nil {
				for i := range v.cache.shards {
					got += v.cache.shards[i].maxLen
				}
			}
			if got != tc.wantLen {
				t.Errorf("got capacity %d, want %d", got, tc.wantLen)
			}
		})
	}
}

// syntheticEntry is a cache entry with no token behind it, for the bound
// tests: they fill the cache through its internal API rather than signing
// a million tokens.
func syntheticEntry(raw string, exp time.Time) *cacheEntry {
	return &cacheEntry{claims: &claims.Claims{Issuer: testIssuer, Expiry: exp}, kid: "k", expiry: exp, cost: entryCost(raw, nil)}
}

// boundTestTokens is how many distinct tokens TestTokenCacheBoundedEntries
// inserts: the million of issue 8, with and without the race detector (CI
// runs -race only).
const boundTestTokens = 1_000_000

// TestTokenCacheBoundedEntries inserts boundTestTokens distinct tokens and
// checks that the entry count and the byte count never exceed their bounds.
func TestTokenCacheBoundedEntries(t *testing.T) {
	const size = 10_000
	c := newTokenCache(size, defaultTokenCacheBytes)
	exp := testNow.Add(time.Hour)
	prefix := mint("ES256", nil) // a realistic length
	for i := range boundTestTokens {
		raw := prefix + strconv.Itoa(i)
		c.put(raw, syntheticEntry(raw, exp), testNow)
		if i%size == 0 {
			if n := c.len(); n > size {
				t.Fatalf("after %d inserts: got %d entries, want at most %d", i+1, n, size)
			}
		}
	}
	if n := c.len(); n != size {
		t.Errorf("got %d entries at the end, want %d (full)", n, size)
	}
	if b := c.size(); b > defaultTokenCacheBytes {
		t.Errorf("got %d bytes, want at most %d", b, defaultTokenCacheBytes)
	}
}

func TestTokenCacheBoundedBytes(t *testing.T) {
	const maxBytes = 1 << 20
	c := newTokenCache(defaultTokenCacheSize, maxBytes)
	exp := testNow.Add(time.Hour)
	long := string(make([]byte, 4000))
	for i := range 10_000 {
		raw := long + strconv.Itoa(i)
		c.put(raw, syntheticEntry(raw, exp), testNow)
		if b := c.size(); b > maxBytes {
			t.Fatalf("after %d inserts: got %d bytes, want at most %d", i+1, b, maxBytes)
		}
	}
	if n, max := c.len(), maxBytes/entryCost(long, nil); n == 0 || n > max {
		t.Errorf("got %d entries, want between 1 and %d", n, max)
	}
	// Larger than a shard's share: verified, never cached.
	huge := string(make([]byte, maxBytes/maxCacheShards))
	c.put(huge, syntheticEntry(huge, exp), testNow)
	if c.get(huge) != nil {
		t.Error("got an entry for a token larger than a shard's budget")
	}
}

// TestTokenCacheEvictsExpiredFirst: a full shard gives up an expired entry
// before a live one when it meets one.
func TestTokenCacheEvictsExpiredFirst(t *testing.T) {
	c := newTokenCache(2, defaultTokenCacheBytes) // two shards of one
	c = &tokenCache{seed: c.seed, mask: 0, shards: c.shards[:1]}
	c.shards[0].maxLen = 2
	c.put("live", syntheticEntry("live", testNow.Add(time.Hour)), testNow)
	c.put("dead", syntheticEntry("dead", testNow.Add(-time.Hour)), testNow)
	c.put("new", syntheticEntry("new", testNow.Add(time.Hour)), testNow)
	if c.get("live") == nil || c.get("new") == nil || c.get("dead") != nil {
		t.Errorf("got live=%v new=%v dead=%v, want the expired entry evicted",
			c.get("live") != nil, c.get("new") != nil, c.get("dead") != nil)
	}
}

// TestTokenCacheConcurrent hammers one small cache from several goroutines
// with repeated and distinct tokens while the key set changes; run it with
// -race. Every answer must be right for the state at the time.
func TestTokenCacheConcurrent(t *testing.T) {
	src := newTestSource()
	v, _, cnt := cachedVerifier(t, src, func(c *Config) { c.TokenCacheSize = 4 })
	var tokens []string
	for i := range 8 {
		tokens = append(tokens, mint("EdDSA", func(m map[string]any) { m["jti"] = "t" + strconv.Itoa(i) }))
	}
	// Warm-up, before any goroutine or key change: the third sight of a
	// token is a hit. The concurrent phase below only checks answers,
	// since which lookups hit depends on the schedule.
	for range 3 {
		if _, err := v.Verify(context.Background(), tokens[0]); err != nil {
			t.Fatal(err)
		}
	}
	if h, m := cnt.hits.Load(), cnt.misses.Load(); h != 1 || m != 2 {
		t.Fatalf("warm-up: got %v, want 1 hit, 2 misses", cnt)
	}
	ed := src.key("ed")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				raw := tokens[(g+i)%len(tokens)]
				c, err := v.Verify(context.Background(), raw)
				switch {
				case err == nil && c.Subject != "user-1":
					errs <- fmt.Errorf("got subject %q", c.Subject)
				case err != nil && !errors.Is(err, jwks.ErrUnknownKey):
					errs <- err
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			if i%2 == 0 {
				src.setKey("ed", nil)
			} else {
				src.setKey("ed", ed)
			}
		}
		src.setKey("ed", ed)
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := v.cache.len(); n > 4 {
		t.Errorf("got %d entries, want at most 4", n)
	}
}

// TestTokenCacheHeapBounded fills a small cache through Verify with real
// tokens carrying many claims, far more than it can hold, and checks the
// heap the cache keeps alive after a collection: the cache's own
// accounting (TestTokenCacheBoundedBytes) is only worth something if the
// memory it approximates stays near it. Each token is minted, verified
// twice (so that the cache admits it) and dropped, so what survives the
// collection is the cache.
func TestTokenCacheHeapBounded(t *testing.T) {
	const (
		cacheBytes = 2 << 20
		tokens     = heapTestTokens
		// margin covers what is not the cache's entries (the verifier,
		// the shards' maps at their peak size, the runtime's own
		// bookkeeping) and the approximation of entryCost.
		margin = 1 << 20
	)
	src := newTestSource()
	v, _, cnt := cachedVerifier(t, src, func(c *Config) {
		c.TokenCacheSize = 1_000_000 // the byte bound decides
		c.TokenCacheBytes = cacheBytes
	})
	// About 40 claims: strings, arrays, a nested object; about 2.5 KB of
	// token, as a token with groups and profile claims would be.
	extra := func(i int) func(map[string]any) {
		return func(m map[string]any) {
			m["jti"] = "heap-" + strconv.Itoa(i)
			m["amr"] = []string{"pwd", "otp", "mfa"}
			m["acr"] = claims.ACRMultiFactor
			m["auth_time"] = testNow.Add(-time.Minute).Unix()
			m["scope"] = "openid profile email accounts:read accounts:write transfers:create"
			groups := make([]string, 12)
			for g := range groups {
				groups[g] = "group-" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
			}
			m["groups"] = groups
			for c := range 28 {
				m["custom_"+strconv.Itoa(c)] = "value-" + strconv.Itoa(c) + "-" + strconv.Itoa(i)
			}
			m["address"] = map[string]any{"street_address": "1 Main St", "locality": "Springfield", "country": "US"}
		}
	}
	ctx := context.Background()
	verifyOne := func(i int) int {
		raw := mint("EdDSA", extra(i))
		for range 2 {
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Fatalf("token %d: %v", i, err)
			}
		}
		return len(raw)
	}
	verifyOne(-1) // warm up: code paths, pools, the shards' first entries
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	size := 0
	for i := range tokens {
		size = verifyOne(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)

	if got := cnt.misses.Load(); got < 2*tokens {
		t.Fatalf("got %d cache misses, want %d: every token is new, then admitted", got, 2*tokens)
	}
	if n, most := v.cache.len(), cacheBytes/entryCost(strings.Repeat("x", size), nil); n == 0 || n > most {
		t.Errorf("got %d entries, want between 1 and %d (%d-byte tokens)", n, most, size)
	}
	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d tokens of %d bytes: %d entries, heap growth %d bytes (cache bound %d)", tokens, size, v.cache.len(), growth, cacheBytes)
	if growth > cacheBytes+margin {
		t.Errorf("heap grew by %d bytes after %d tokens, want at most %d (TokenCacheBytes %d + margin %d)",
			growth, tokens, cacheBytes+margin, cacheBytes, margin)
	}
}

// TestTokenCacheAdmission: a token verified once is not cached, the second
// verification caches it and the third request is a hit.
func TestTokenCacheAdmission(t *testing.T) {
	v, _, cnt := cachedVerifier(t, newTestSource(), nil)
	raw := mint("EdDSA", nil)
	if err := verifyErr(v, raw); err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	if n := v.cache.len(); n != 0 || v.cache.get(raw) != nil {
		t.Fatalf("after one Verify: got %d entries, want none (a first sight is not admitted)", n)
	}
	if err := verifyErr(v, raw); err != nil {
		t.Fatalf("second Verify: %v", err)
	}
	if v.cache.get(raw) == nil {
		t.Fatal("after two Verify calls: got no entry, want the token admitted")
	}
	if h, m := cnt.hits.Load(), cnt.misses.Load(); h != 0 || m != 2 {
		t.Errorf("after two Verify calls: got %v, want 0 hits, 2 misses", cnt)
	}
	if err := verifyErr(v, raw); err != nil {
		t.Fatalf("third Verify: %v", err)
	}
	if h, m := cnt.hits.Load(), cnt.misses.Load(); h != 1 || m != 2 {
		t.Errorf("after three Verify calls: got %v, want 1 hit, 2 misses", cnt)
	}
}

// TestTokenCacheOneShotFlood: far more distinct tokens than the cache
// holds, each seen once, insert nothing and evict nothing: the tokens that
// were hot before the flood still hit after it.
func TestTokenCacheOneShotFlood(t *testing.T) {
	// 256 entries in 32 shards of 8: the 8 hot tokens fit whatever shards
	// they hash to (with 64 entries, shards of 2, three hot tokens in one
	// shard would evict one of them before the flood).
	const (
		size  = 256
		hot   = 8
		flood = 20 * size
	)
	v, _, cnt := cachedVerifier(t, newTestSource(), func(c *Config) { c.TokenCacheSize = size })
	var hotTokens []string
	for i := range hot {
		raw := mint("EdDSA", func(m map[string]any) { m["jti"] = "hot-" + strconv.Itoa(i) })
		warm(t, v, raw)
		hotTokens = append(hotTokens, raw)
	}
	if n := v.cache.len(); n != hot {
		t.Fatalf("before the flood: got %d entries, want %d", n, hot)
	}
	for i := range flood {
		raw := mint("EdDSA", func(m map[string]any) { m["jti"] = "once-" + strconv.Itoa(i) })
		if err := verifyErr(v, raw); err != nil {
			t.Fatalf("one-shot token %d: %v", i, err)
		}
	}
	if n := v.cache.len(); n != hot {
		t.Errorf("after %d one-shot tokens: got %d entries, want %d (none admitted)", flood, n, hot)
	}
	before := cnt.hits.Load()
	for i, raw := range hotTokens {
		if err := verifyErr(v, raw); err != nil {
			t.Fatalf("hot token %d: %v", i, err)
		}
	}
	if got := cnt.hits.Load() - before; got != hot {
		t.Errorf("after the flood: got %d hits on the %d hot tokens, want %d", got, hot, hot)
	}
}

// TestTokenCacheFingerprintCollision makes every token's hash equal, so
// that every doorkeeper fingerprint collides: a token may then be admitted
// on its first sight, but a lookup still answers only for the exact token.
func TestTokenCacheFingerprintCollision(t *testing.T) {
	m := testKeys()
	v, _, cnt := cachedVerifier(t, newTestSource(), nil)
	v.cache.testHash = func(string) uint64 { return 0x5eed }
	a := mint("EdDSA", func(c map[string]any) { c["sub"] = "user-a" })
	b := mint("EdDSA", func(c map[string]any) { c["sub"] = "user-b" })
	warm(t, v, a)
	// b collides with a: admitted on its first verification.
	if err := verifyErr(v, b); err != nil {
		t.Fatalf("b: %v", err)
	}
	if v.cache.get(b) == nil {
		t.Fatal("got no entry for b, want it admitted early by the colliding fingerprint")
	}
	before := cnt.hits.Load()
	for _, tc := range []struct{ raw, sub string }{{a, "user-a"}, {b, "user-b"}, {a, "user-a"}} {
		c, err := v.Verify(context.Background(), tc.raw)
		if err != nil {
			t.Fatalf("Verify(%s's token): %v", tc.sub, err)
		}
		if c.Subject != tc.sub {
			t.Errorf("got subject %q, want %q", c.Subject, tc.sub)
		}
	}
	if got := cnt.hits.Load() - before; got != 3 {
		t.Errorf("got %d hits, want 3", got)
	}
	// Tokens with the same hash that are not a cached token get no hit,
	// however often they are presented.
	i := strings.LastIndexByte(a, '.')
	j := strings.LastIndexByte(b, '.')
	forged := []string{
		a[:i] + b[j:], // a's claims under b's signature
		sign("ES256", m.attacker, stdHeader("ES256"), mustJSON(claimSet(func(c map[string]any) { c["sub"] = "user-a" }))),
	}
	before = cnt.hits.Load()
	for k, raw := range forged {
		for range 3 {
			if got := rejectionOf(t, verifyErr(v, raw)); got != ReasonSignature {
				t.Errorf("forged token %d: got %q, want %q", k, got, ReasonSignature)
			}
		}
	}
	if got := cnt.hits.Load() - before; got != 0 {
		t.Errorf("got %d hits for forged tokens, want 0", got)
	}
}

// TestTokenCacheHeapClaimHeavy fills the cache, at its default byte bound,
// with claim-heavy tokens (about 30 KB: two thousand scopes, two hundred
// claims) and checks that the heap it keeps alive after a collection is
// what it accounts for: within 1.25x of TokenCacheBytes, and within 15% of
// the bytes it counts (an underestimate breaks the bound, an overestimate
// holds fewer tokens than it could). Each token is minted, verified twice
// (admitted) and dropped.
func TestTokenCacheHeapClaimHeavy(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes what the heap holds")
	}
	const (
		bound  = defaultTokenCacheBytes
		scopes = 2000
		extra  = 200
	)
	src := newTestSource()
	v, _, _ := cachedVerifier(t, src, func(c *Config) { c.MaxTokenSize = 64 << 10 })
	var scope strings.Builder
	for i := range scopes {
		if i > 0 {
			scope.WriteByte(' ')
		}
		scope.WriteString("api:s" + strconv.Itoa(i))
	}
	heavy := func(i int) string {
		return mint("EdDSA", func(m map[string]any) {
			m["jti"] = "heavy-" + strconv.Itoa(i)
			m["scope"] = scope.String()
			for c := range extra {
				m["claim_"+strconv.Itoa(c)] = "value-" + strconv.Itoa(c) + "-" + strconv.Itoa(i)
			}
		})
	}
	ctx := context.Background()
	verifyTwice := func(raw string) {
		for range 2 {
			if _, err := v.Verify(ctx, raw); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		}
	}
	verifyTwice(mint("EdDSA", nil)) // warm up: code paths, the shards' first entries
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	size := len(heavy(0))
	// More than enough tokens to fill the bound one and a half times
	// over: the cost without claims is well below an entry's.
	n := 3 * bound / (2 * entryCost(heavy(0), nil))
	for i := range n {
		verifyTwice(heavy(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)

	growth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	counted := v.cache.size()
	t.Logf("%d tokens of %d bytes: %d entries, %d bytes counted, heap growth %d bytes (bound %d): %.2fx the bound, %.2fx the count",
		n, size, v.cache.len(), counted, growth, bound, float64(growth)/bound, float64(growth)/float64(counted))
	if counted < bound*4/5 {
		t.Errorf("got %d bytes counted, want the cache filled to near its bound %d", counted, bound)
	}
	if limit := int64(bound) * 5 / 4; growth > limit {
		t.Errorf("heap grew by %d bytes, want at most %d (1.25x TokenCacheBytes %d)", growth, limit, bound)
	}
	if lo, hi := int64(counted)*85/100, int64(counted)*115/100; growth < lo || growth > hi {
		t.Errorf("heap grew by %d bytes, want %d to %d (0.85x to 1.15x the %d bytes counted)", growth, lo, hi, counted)
	}
}
