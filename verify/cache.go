package verify

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
)

// Defaults of the verified-token cache.
const (
	// defaultTokenCacheSize is the number of verified tokens kept when
	// Config.TokenCacheSize is zero.
	defaultTokenCacheSize = 10_000
	// defaultTokenCacheBytes is the approximate memory bound of the cache
	// when Config.TokenCacheBytes is zero.
	defaultTokenCacheBytes = 32 << 20
)

// maxCacheShards is the number of independently locked parts of the cache.
// A power of two; small caches use fewer so that every shard holds at
// least one entry.
const maxCacheShards = 32

// entryOverhead approximates the memory of an entry beyond the bytes
// counted from the token: the entry, the Claims struct, the Raw map's
// buckets and the decoded slices.
const entryOverhead = 1024

// tokenCache maps the exact bytes of tokens that verified to what
// verification produced. Only the clock-independent part of verification is
// cached: a hit still checks exp, nbf and iat, and that the key that
// verified the signature is still in the issuer's set. It is bounded both
// in entries and in approximate bytes; a full shard evicts an expired entry
// when it meets one, otherwise one chosen by Go's randomised map iteration.
// Safe for concurrent use.
type tokenCache struct {
	seed   maphash.Seed
	mask   uint64
	shards []cacheShard
}

type cacheShard struct {
	mu       sync.RWMutex
	m        map[string]*cacheEntry
	maxLen   int
	maxBytes int
	bytes    int
	_        [40]byte // keep neighbouring shards' locks off one cache line
}

// cacheEntry is a verified token: its claims (shared, read-only), the key
// that verified it and where that key came from.
type cacheEntry struct {
	claims *claims.Claims
	key    *jwks.Key
	kid    string
	expiry time.Time // exp + leeway: the entry is useless from then on
	cost   int
}

// newTokenCache returns a cache of at most size entries and about maxBytes
// bytes. size must be positive.
func newTokenCache(size, maxBytes int) *tokenCache {
	n := 1
	for n < maxCacheShards && n*2 <= size {
		n *= 2
	}
	c := &tokenCache{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]cacheShard, n)}
	for i := range c.shards {
		s := &c.shards[i]
		s.maxLen = size / n
		if i < size%n {
			s.maxLen++
		}
		s.maxBytes = maxBytes / n
		s.m = make(map[string]*cacheEntry)
	}
	return c
}

func (c *tokenCache) shard(raw string) *cacheShard {
	return &c.shards[maphash.String(c.seed, raw)&c.mask]
}

// get returns the entry for raw, or nil.
func (c *tokenCache) get(raw string) *cacheEntry {
	s := c.shard(raw)
	s.mu.RLock()
	e := s.m[raw]
	s.mu.RUnlock()
	return e
}

// remove drops raw's entry if it is still e (another goroutine may have
// replaced it meanwhile).
func (c *tokenCache) remove(raw string, e *cacheEntry) {
	s := c.shard(raw)
	s.mu.Lock()
	if cur := s.m[raw]; cur == e {
		delete(s.m, raw)
		s.bytes -= e.cost
	}
	s.mu.Unlock()
}

// evictScan bounds how many entries an insert into a full shard looks at
// for an expired one before evicting whichever it saw first.
const evictScan = 8

// put stores e under raw, evicting entries while the shard is over its
// bounds. An entry larger than a whole shard's byte budget is not stored.
func (c *tokenCache) put(raw string, e *cacheEntry, now time.Time) {
	s := c.shard(raw)
	if e.cost > s.maxBytes {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[raw]; ok {
		delete(s.m, raw)
		s.bytes -= old.cost
	}
	for len(s.m) > 0 && (len(s.m) >= s.maxLen || s.bytes+e.cost > s.maxBytes) {
		s.evictOne(now)
	}
	s.m[raw] = e
	s.bytes += e.cost
}

// evictOne removes one entry: the first expired one among the first
// evictScan met in Go's randomised iteration order, else the first met.
// The caller holds s.mu.
func (s *cacheShard) evictOne(now time.Time) {
	var (
		victim string
		ve     *cacheEntry
		seen   int
	)
	for k, e := range s.m {
		if ve == nil {
			victim, ve = k, e
		}
		if !now.Before(e.expiry) {
			victim, ve = k, e
			break
		}
		if seen++; seen >= evictScan {
			break
		}
	}
	delete(s.m, victim)
	s.bytes -= ve.cost
}

// len returns the number of entries.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}

// size returns the bytes accounted to the entries.
func (c *tokenCache) size() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += s.bytes
		s.mu.RUnlock()
	}
	return n
}

// entryCost approximates the memory an entry keeps alive: the token string
// (the map key), the buffer verification decoded it into (a copy of the
// token and its decoded parts, which the claims' raw values point into) and
// a fixed overhead.
func entryCost(raw string) int {
	return 2*len(raw) + len(raw)*3/4 + entryOverhead
}
