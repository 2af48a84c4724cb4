package introspect

import (
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// keyIn returns a key that lands in shard 0 of a two-shard cache.
func keyIn(b byte) key {
	var k key
	k[0], k[1] = 0, b
	return k
}

func TestEvictionOrder(t *testing.T) {
	now := time.Unix(1000, 0)
	live := &entry{claims: &claims.Claims{}, expires: now.Add(time.Hour), stale: now.Add(time.Hour)}
	outdated := &entry{claims: &claims.Claims{}, expires: now.Add(-time.Second), stale: now.Add(-time.Second)}
	refusal := &entry{refusal: &Error{Reason: ReasonInactive}, expires: now.Add(time.Hour), stale: now.Add(time.Hour)}
	staleable := &entry{claims: &claims.Claims{}, expires: now.Add(-time.Second), stale: now.Add(time.Hour)}

	c := newCache(3, 1<<20) // two shards: shard 0 holds 2 entries
	if got := len(c.shards); got != 2 || c.shards[0].max != 2 {
		t.Fatalf("shards %d, shard 0 max %d; the test assumes 2 and 2", got, c.shards[0].max)
	}
	has := func(k key) bool { return c.get(k) != nil }

	c.put(keyIn(1), live, now)
	c.put(keyIn(2), outdated, now)
	c.put(keyIn(3), refusal, now)
	if !has(keyIn(1)) || has(keyIn(2)) || !has(keyIn(3)) {
		t.Errorf("an outdated entry is evicted first: live %v outdated %v refusal %v", has(keyIn(1)), has(keyIn(2)), has(keyIn(3)))
	}
	c.put(keyIn(4), staleable, now)
	if !has(keyIn(1)) || has(keyIn(3)) || !has(keyIn(4)) {
		t.Errorf("a refusal goes before an active entry: live %v refusal %v staleable %v", has(keyIn(1)), has(keyIn(3)), has(keyIn(4)))
	}
	c.put(keyIn(5), live, now)
	if n := len(c.shards[0].m); n != 2 {
		t.Errorf("shard holds %d entries, want its bound 2", n)
	}
	// Replacing an entry evicts nothing.
	c.put(keyIn(5), live, now)
	if n := len(c.shards[0].m); n != 2 {
		t.Errorf("after a replacement the shard holds %d, want 2", n)
	}
}

// TestCacheBytes: the cache holds about its byte bound, whatever the
// entry count allows, and an answer larger than a shard's share is not
// kept.
func TestCacheBytes(t *testing.T) {
	now := time.Unix(1000, 0)
	big := func() *entry {
		return &entry{claims: parsed(t, `{"scope":"`+strings.Repeat("s", 4000)+`"}`), expires: now.Add(time.Hour), stale: now.Add(time.Hour)}
	}
	const bound = 1 << 20 // 32 shards of 32 KiB: about 3 entries of 8.5 KiB each
	c := newCache(10_000, bound)
	for i := range 200 {
		var k key
		k[0], k[1], k[2] = byte(i), byte(i>>8), 1
		c.put(k, big(), now)
	}
	total := 0
	for i := range c.shards {
		s := &c.shards[i]
		if s.bytes > s.maxBytes {
			t.Errorf("shard %d holds %d bytes, over its bound %d", i, s.bytes, s.maxBytes)
		}
		sum := 0
		for _, e := range s.m {
			sum += e.cost
		}
		if sum != s.bytes {
			t.Errorf("shard %d counts %d bytes, its entries cost %d", i, s.bytes, sum)
		}
		total += s.bytes
	}
	if total > bound || c.len() == 0 {
		t.Errorf("cache holds %d bytes in %d entries, want at most %d and some entries", total, c.len(), bound)
	}
	huge := &entry{claims: parsed(t, `{"x":`+strings.Repeat("1", bound)+`}`), expires: now.Add(time.Hour)}
	var k key
	k[5] = 9
	c.put(k, huge, now)
	if c.get(k) != nil {
		t.Error("an answer larger than a shard's share was cached")
	}
}

// parsed is claims.Parse of payload, which must be valid.
func parsed(t *testing.T, payload string) *claims.Claims {
	t.Helper()
	c, err := claims.Parse([]byte(payload), claims.Names{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
