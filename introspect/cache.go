package introspect

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
	"unsafe"

	"github.com/stepupauth/stepup/claims"
)

// key is the SHA-256 of a token: the cache and the in-flight calls are keyed
// by it, so that the token itself is never kept.
type key [sha256.Size]byte

func hashToken(token string) key {
	// sha256 only reads its input: hashing the string's bytes in place
	// saves the copy a conversion to []byte would make.
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// entry is one cached answer: an active token's claims (shared, read-only)
// or the refusal of a token.
type entry struct {
	claims  *claims.Claims // nil for a refusal
	refusal *Error         // nil for an active token
	// expires: the entry answers for the token before this instant.
	expires time.Time
	// stale: an active entry may still answer, before this instant,
	// while the endpoint is unavailable. Equal to expires without
	// StaleTTL and for refusals.
	stale time.Time
	cost  int // approximate bytes held, see entryCost
}

// entryCost approximates the memory an entry holds: for an active token
// its claims, which hold one copy of the answer (Raw's values and the
// strings decoded from them) plus the map and the slices, counted as twice
// the answer's members plus a fixed part; a refusal is small.
func entryCost(e *entry) int {
	const fixed = 512
	if e.claims == nil {
		return fixed / 4
	}
	n := fixed
	for name, v := range e.claims.All() {
		n += 2 * (len(name) + len(v))
	}
	return n
}

// maxShards is the number of independently locked parts of the cache, a
// power of two; small caches use fewer, so that each holds an entry.
const maxShards = 32

// evictScan bounds how many entries an insert into a full shard looks at
// for the best one to evict.
const evictScan = 8

// cache maps token hashes to answers, bounded in entries. Safe for
// concurrent use.
type cache struct {
	mask   uint64
	shards []shard
}

type shard struct {
	mu       sync.RWMutex
	m        map[key]*entry
	max      int
	maxBytes int
	bytes    int
	_        [48]byte // neighbouring shards' locks on other cache lines
}

// newCache returns a cache of at most size entries and about maxBytes
// bytes; both are positive.
func newCache(size, maxBytes int) *cache {
	n := 1
	for n < maxShards && n*2 <= size {
		n *= 2
	}
	c := &cache{mask: uint64(n - 1), shards: make([]shard, n)}
	for i := range c.shards {
		s := &c.shards[i]
		s.max = size / n
		if i < size%n {
			s.max++
		}
		s.maxBytes = maxBytes / n
		s.m = make(map[key]*entry)
	}
	return c
}

func (c *cache) shard(k key) *shard {
	return &c.shards[binary.LittleEndian.Uint64(k[:8])&c.mask]
}

// get returns the entry of k, or nil.
func (c *cache) get(k key) *entry {
	s := c.shard(k)
	s.mu.RLock()
	e := s.m[k]
	s.mu.RUnlock()
	return e
}

// put stores e under k, evicting entries first while the shard is full in
// entries or bytes. An entry larger than its shard's byte bound is not
// stored.
func (c *cache) put(k key, e *entry, now time.Time) {
	e.cost = entryCost(e)
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.cost > s.maxBytes {
		return
	}
	if old, ok := s.m[k]; ok {
		s.bytes -= old.cost
		delete(s.m, k)
	}
	for len(s.m) > 0 && (len(s.m) >= s.max || s.bytes+e.cost > s.maxBytes) {
		s.evictOne(now)
	}
	s.m[k] = e
	s.bytes += e.cost
}

// evictOne removes, among the first evictScan entries Go's randomised map
// iteration meets, an outdated one (that can no longer answer, not even
// stale) if any, else a refusal, else the first met. The caller holds
// s.mu.
func (s *shard) evictOne(now time.Time) {
	var (
		victim  key
		rank    = -1 // 0 any, 1 refusal, 2 outdated
		scanned int
	)
	for k, e := range s.m {
		r := 0
		switch {
		case !now.Before(e.stale):
			r = 2
		case e.claims == nil:
			r = 1
		}
		if r > rank {
			victim, rank = k, r
		}
		if scanned++; r == 2 || scanned >= evictScan {
			break
		}
	}
	if rank >= 0 {
		s.bytes -= s.m[victim].cost
		delete(s.m, victim)
	}
}

// len returns the number of entries.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
