package dpop_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
)

// storeWithClock returns a MemoryStore on c's clock (bound through New).
func storeWithClock(t *testing.T, n int, c *clock) *dpop.MemoryStore {
	st := dpop.NewMemoryStore(n)
	newVerifier(t, dpop.Config{Replay: st}, c)
	return st
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := storeWithClock(t, 1000, c)
	exp := c.Now().Add(time.Minute)
	if fresh, err := st.Use(ctx, "a", exp); !fresh || err != nil {
		t.Fatalf("first Use: got %v %v, want fresh", fresh, err)
	}
	if fresh, err := st.Use(ctx, "a", exp); fresh || err != nil {
		t.Fatalf("second Use: got %v %v, want used", fresh, err)
	}
	if fresh, _ := st.Use(ctx, "b", exp); !fresh {
		t.Fatal("another key: got used, want fresh")
	}
	c.set(exp)
	if fresh, _ := st.Use(ctx, "a", exp); fresh {
		t.Fatal("at exp: got fresh, want used")
	}
	c.advance(time.Nanosecond)
	if fresh, _ := st.Use(ctx, "a", c.Now().Add(time.Minute)); !fresh {
		t.Fatal("after exp: got used, want fresh")
	}
	if fresh, _ := st.Use(ctx, "past", c.Now().Add(-time.Second)); !fresh {
		t.Fatal("already expired entry: got used, want fresh")
	}
}

func TestMemoryStoreFull(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := storeWithClock(t, 256, c) // four entries a shard
	exp := c.Now().Add(time.Minute)
	var errFull error
	used := 0
	for i := 0; i < 10000 && errFull == nil; i++ {
		var fresh bool
		fresh, errFull = st.Use(ctx, fmt.Sprint("k", i), exp)
		if fresh {
			used++
		}
	}
	if !errors.Is(errFull, claims.ErrUnavailable) {
		t.Fatalf("got %v, want a full store wrapping claims.ErrUnavailable", errFull)
	}
	if n := st.Len(); n > 256 || used > 256 {
		t.Fatalf("holds %d entries after %d fresh answers, want at most 256", n, used)
	}
	// A key already recorded is still answered while full.
	if fresh, err := st.Use(ctx, "k0", exp); fresh || err != nil {
		t.Fatalf("recorded key while full: got %v %v, want used", fresh, err)
	}
	// Once every entry has expired, a full shard is swept for a new key,
	// and an expired key is fresh again.
	c.set(exp.Add(time.Nanosecond))
	if fresh, err := st.Use(ctx, "new", c.Now().Add(time.Minute)); !fresh || err != nil {
		t.Fatalf("new key after expiry: got %v %v, want fresh", fresh, err)
	}
	if fresh, err := st.Use(ctx, "k0", c.Now().Add(time.Minute)); !fresh || err != nil {
		t.Fatalf("expired key: got %v %v, want fresh", fresh, err)
	}
}

// TestMemoryStoreConcurrent: of many concurrent Use calls with one key,
// exactly one is fresh.
func TestMemoryStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	st := dpop.NewMemoryStore(100000)
	exp := time.Now().Add(time.Hour)
	for k := 0; k < 50; k++ {
		key := fmt.Sprint("key", k)
		var fresh atomic.Int32
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Go(func() {
				if ok, err := st.Use(ctx, key, exp); err != nil {
					t.Error(err)
				} else if ok {
					fresh.Add(1)
				}
			})
		}
		wg.Wait()
		if fresh.Load() != 1 {
			t.Fatalf("%s: %d fresh answers, want 1", key, fresh.Load())
		}
	}
}

// TestDefaultStoreSized: with no Replay, New makes a MemoryStore that
// holds the default window of a busy instance.
func TestDefaultStoreSized(t *testing.T) {
	c := newClock()
	v := newVerifier(t, dpop.Config{}, c)
	s := newSigner(t, "EdDSA")
	for i := 0; i < 2000; i++ {
		if _, err := v.Verify(context.Background(), s.sign(t, s.header(), validClaims(c.Now())), request()); err != nil {
			t.Fatalf("proof %d: %v", i, err)
		}
	}
}
