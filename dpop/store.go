package dpop

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// ReplayStore remembers the jti of proofs until they can no longer be
// accepted (RFC 9449 §11.1). Implementations must be safe for concurrent
// use, and Use must be atomic: of two concurrent calls with the same key,
// at most one reports fresh.
type ReplayStore interface {
	// Use records key as used until exp and reports whether it was fresh,
	// i.e. not recorded before and unexpired. An error means the store
	// cannot answer (an outage): the request is refused as unavailable, never accepted.
	Use(ctx context.Context, key string, exp time.Time) (fresh bool, err error)
}

// memShards is the number of independently locked parts of a MemoryStore.
const memShards = 64

// MemoryStore is a ReplayStore in memory, for a single instance (a fleet
// needs a shared store, or a proof refused by one instance is accepted by
// the next). It holds at most a fixed number of entries, spread over
// independently locked shards by a keyed hash (so a client cannot aim its
// jti values at one shard). Keys are kept as a 128-bit keyed hash, never
// as given: an entry costs the same whatever the jti (RFC 9449 §11.1
// suggests storing "only a hash" against memory exhaustion). A collision of
// two keys would refuse a fresh proof, never accept a replayed one.
//
// When a shard is full of unexpired entries, Use refuses: it returns an
// error wrapping claims.ErrUnavailable ("replay store full") rather than
// forget a jti that could still be replayed. Size it for the peak rate of
// proofs times the window in which one is accepted:
//
//	maxEntries ≥ proofs per second × (MaxAge + Leeway) in seconds × 1.25
//
// (the margin covers an uneven spread over the shards): 1000 proofs per
// second with the defaults (65 s) want about 81,250 entries, a few
// megabytes.
//
// A MemoryStore runs on the clock of the Verifier it is configured in
// (Config.Now); until then, time.Now. It is safe for concurrent use.
type MemoryStore struct {
	seed1, seed2 maphash.Seed
	perShard     int
	shards       [memShards]memShard
	now          atomic.Pointer[func() time.Time]
}

type memKey [2]uint64

type memShard struct {
	mu      sync.Mutex
	entries map[memKey]int64 // expiry, Unix nanoseconds
	// minExp is a lower bound of the earliest expiry in entries: before
	// it, a full shard has nothing to sweep.
	minExp int64
}

// NewMemoryStore returns an empty MemoryStore holding at most maxEntries
// entries (at least memShards, one a shard). See MemoryStore for sizing.
func NewMemoryStore(maxEntries int) *MemoryStore {
	per := max((maxEntries+memShards-1)/memShards, 1)
	s := &MemoryStore{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), perShard: per}
	for i := range s.shards {
		s.shards[i].entries = make(map[memKey]int64)
	}
	return s
}

// errFull is the error of a full MemoryStore.
var errFull = fmt.Errorf("dpop: replay store full: %w", claims.ErrUnavailable)

// Use implements ReplayStore. It returns an error (wrapping
// claims.ErrUnavailable) only when the store is full of unexpired entries.
func (s *MemoryStore) Use(_ context.Context, key string, exp time.Time) (bool, error) {
	k := memKey{maphash.String(s.seed1, key), maphash.String(s.seed2, key)}
	now := s.clock().UnixNano()
	e := exp.UnixNano()
	sh := &s.shards[k[0]%memShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.entries[k]; ok {
		if old >= now { // still used at exp itself, as Verify accepts then
			return false, nil
		}
		delete(sh.entries, k)
	}
	if e < now {
		return true, nil // already expired: nothing to remember
	}
	if len(sh.entries) >= s.perShard {
		if now <= sh.minExp {
			return false, errFull
		}
		sh.sweep(now)
		if len(sh.entries) >= s.perShard {
			return false, errFull
		}
	}
	if len(sh.entries) == 0 || e < sh.minExp {
		sh.minExp = e
	}
	sh.entries[k] = e
	return true, nil
}

// sweep deletes the entries expired before now and recomputes minExp.
func (sh *memShard) sweep(now int64) {
	minExp := int64(0)
	for k, e := range sh.entries {
		if e < now {
			delete(sh.entries, k)
		} else if minExp == 0 || e < minExp {
			minExp = e
		}
	}
	sh.minExp = minExp
}

// Len returns the number of entries held, expired ones not yet swept
// included.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

func (s *MemoryStore) setClock(now func() time.Time) { s.now.Store(&now) }

func (s *MemoryStore) clock() time.Time {
	if p := s.now.Load(); p != nil {
		return (*p)()
	}
	return time.Now()
}
