package verify

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

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

// tokenCache maps the exact bytes of tokens that verified to what
// verification produced. Only the clock-independent part of verification is
// cached: a hit still checks exp, nbf and iat, and that the key that
// verified the signature is still in the issuer's set. It is bounded both
// in entries and in bytes (entryCost); a full shard evicts an expired entry
// when it meets one, otherwise one chosen by Go's randomised map iteration.
//
// A token is admitted on its second successful verification, not its
// first: each shard has a doorkeeper, a fixed array of fingerprints (the
// token's 64-bit hash) of tokens verified once. A first sight only writes
// the fingerprint into its slot, which costs no allocation, no lock and
// evicts nothing; a verification whose fingerprint is already there
// inserts the token. A flood of tokens seen once thus leaves the entries
// in place, while a token a client reuses is a hit from its third request.
// A fingerprint collision can only admit a token early: the map is keyed
// by the exact token. Safe for concurrent use.
type tokenCache struct {
	seed   maphash.Seed
	mask   uint64
	shards []cacheShard
	// testHash, when set, replaces maphash (a test forcing collisions).
	testHash func(string) uint64
}

type cacheShard struct {
	mu       sync.RWMutex
	m        map[string]*cacheEntry
	maxLen   int
	maxBytes int
	bytes    int
	// door is the doorkeeper: slot h>>32&doorMask holds h|1 for the last
	// token of hash h verified there once; zero is empty. Read and
	// written without s.mu; two tokens racing for one slot can lose a
	// record, which costs the loser one more full verification.
	door     []atomic.Uint64
	doorMask uint64
	_        [40]byte // 128 bytes: neighbouring shards' locks on other cache lines
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

// Doorkeeper sizing: doorPerEntry fingerprints per entry the cache can
// hold (by count, or by bytes at minEntryBytes each, whichever is fewer),
// rounded up to a power of two per shard within [minDoor, maxDoor]. It
// remembers a token seen once until about that many other first sights
// have passed through its shard.
const (
	doorPerEntry  = 2
	minEntryBytes = 1024
	minDoor       = 64
	maxDoor       = 1 << 16
)

// newTokenCache returns a cache of at most size entries and maxBytes bytes,
// its doorkeepers included. size must be positive.
func newTokenCache(size, maxBytes int) *tokenCache {
	n := 1
	for n < maxCacheShards && n*2 <= size {
		n *= 2
	}
	c := &tokenCache{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]cacheShard, n)}
	fit := min(size, maxBytes/minEntryBytes)
	door := minDoor
	for door < maxDoor && door*n < doorPerEntry*fit {
		door *= 2
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.maxLen = size / n
		if i < size%n {
			s.maxLen++
		}
		s.door = make([]atomic.Uint64, door)
		s.doorMask = uint64(door - 1)
		s.maxBytes = max(0, maxBytes/n-door*8)
		s.m = make(map[string]*cacheEntry)
	}
	return c
}

func (c *tokenCache) hash(raw string) uint64 {
	if c.testHash != nil {
		return c.testHash(raw)
	}
	return maphash.String(c.seed, raw)
}

func (c *tokenCache) shard(raw string) *cacheShard {
	return &c.shards[c.hash(raw)&c.mask]
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
	if cur, ok := s.m[raw]; ok && cur == e {
		delete(s.m, raw)
		s.bytes -= e.cost
	}
	s.mu.Unlock()
}

// add records that raw verified (to c, with key, whose kid is kid; the
// entry is useless from expiry on) and caches it if the doorkeeper admits
// it: on the token's second verification, see tokenCache. It returns
// whether it stored an entry.
func (c *tokenCache) add(raw string, cl *claims.Claims, key *jwks.Key, kid string, expiry, now time.Time) bool {
	h := c.hash(raw)
	s := &c.shards[h&c.mask]
	slot, fp := &s.door[h>>32&s.doorMask], h|1
	if slot.Load() != fp {
		slot.Store(fp)
		return false
	}
	cost := entryCost(raw, cl)
	if cost > s.maxBytes {
		return false
	}
	// The key is a copy, so that the entry keeps len(raw) bytes alive and
	// not whatever larger buffer raw may be part of.
	c.put(strings.Clone(raw), &cacheEntry{claims: cl, key: key, kid: kid, expiry: expiry, cost: cost}, now)
	return true
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

// entryOverhead is the memory of an entry that does not grow with the
// token: the cacheEntry, the Claims struct, the entry's slot in the shard's
// map (key string and pointer, at the map's 7/8 load) and some slack for
// small strings claims.Parse unescapes into allocations of their own.
const entryOverhead = int(unsafe.Sizeof(cacheEntry{})+unsafe.Sizeof(claims.Claims{})) + (16+8)*8/7 + 128

// entryCost is the memory an entry of raw, verified into c, keeps alive:
// the token (the map key, a copy), the one allocation claims.Parse keeps
// (the payload copy that the claims' values and string fields point into,
// followed by its member index of claimIndexEntry bytes a claim), the
// string slices, and entryOverhead. Allocations are rounded as the runtime
// rounds them.
func entryCost(raw string, c *claims.Claims) int {
	payload := 0
	if d1, d2 := strings.IndexByte(raw, '.'), strings.LastIndexByte(raw, '.'); d1 >= 0 && d2 > d1 {
		payload = b64.DecodedLen(d2 - d1 - 1)
	}
	n := allocSize(len(raw)) + entryOverhead
	if c == nil {
		return n + allocSize(payload)
	}
	const sliceElem = int(unsafe.Sizeof(""))
	n += allocSize(payload + claimIndexEntry*c.Len())
	// Audience, AMR, ACRS and Scopes share one backing array (Scopes has
	// its own when the scope string is not ASCII); Malformed is small.
	n += allocSize(sliceElem * (len(c.Audience) + len(c.AMR) + len(c.ACRS) + len(c.Scopes)))
	return n + sliceElem*len(c.Malformed)
}

// claimIndexEntry is the bytes claims.Parse keeps per claim beside the
// payload copy (claims' indexEntry; TestTokenCacheHeapClaimHeavy holds the count to the heap).
const claimIndexEntry = 16

// allocSize approximates the bytes the runtime gives an allocation of n:
// whole 8 KiB pages above 32 KiB; below, a size class at most 1/8 larger,
// counted here as n plus 1/16 (the average).
func allocSize(n int) int {
	if n > 32<<10 {
		return (n + 8191) &^ 8191
	}
	return n + n/16
}
