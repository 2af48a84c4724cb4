package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/redisstore"
)

// replayStore is dpop.ReplayStore, restated: package dpop is not a
// dependency of this module.
type replayStore interface {
	Use(ctx context.Context, key string, exp time.Time) (fresh bool, err error)
}

var _ replayStore = (*redisstore.Store)(nil)

func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:         addr,
		DialTimeout:  time.Second,
		ReadTimeout:  time.Second,
		WriteTimeout: time.Second,
		MaxRetries:   -1, // an outage shows at once
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func newStore(t testing.TB, c redis.UniversalClient, prefix string) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(c, prefix)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func use(t *testing.T, s *redisstore.Store, key string, exp time.Time) bool {
	t.Helper()
	fresh, err := s.Use(context.Background(), key, exp)
	if err != nil {
		t.Fatalf("Use(%q): %v", key, err)
	}
	return fresh
}

func TestNewNilClient(t *testing.T) {
	if s, err := redisstore.New(nil, "dpop:"); err == nil || s != nil {
		t.Errorf("New(nil) = %v, %v; want an error", s, err)
	}
}

func TestUseFreshThenReplay(t *testing.T) {
	srv := startRedis(t)
	s := newStore(t, newClient(t, srv.addr()), "dpop:")
	exp := time.Now().Add(time.Minute)

	if !use(t, s, "jti-1", exp) {
		t.Error("first Use: got not fresh, want fresh")
	}
	if use(t, s, "jti-1", exp) {
		t.Error("replay: got fresh, want not fresh")
	}
	if !use(t, s, "jti-2", exp) {
		t.Error("another key: got not fresh, want fresh")
	}
}

func TestUseKeyHashed(t *testing.T) {
	srv := startRedis(t)
	c := newClient(t, srv.addr())
	s := newStore(t, c, "dpop:")
	key := strings.Repeat("client data ", 100_000) // 1.2 MB: the Redis key stays short
	if !use(t, s, key, time.Now().Add(time.Minute)) {
		t.Fatal("got not fresh, want fresh")
	}
	sum := sha256.Sum256([]byte(key))
	want := "dpop:" + hex.EncodeToString(sum[:])
	keys, err := c.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != want {
		t.Errorf("Redis holds %q, want only %q", keys, want)
	}
	ttl, err := c.PTTL(context.Background(), want).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 58*time.Second || ttl > time.Minute {
		t.Errorf("PTTL = %v, want just under 1m", ttl)
	}
}

func TestUseSharedAcrossStores(t *testing.T) {
	srv := startRedis(t)
	a := newStore(t, newClient(t, srv.addr()), "dpop:")
	b := newStore(t, newClient(t, srv.addr()), "dpop:")
	other := newStore(t, newClient(t, srv.addr()), "other:")
	exp := time.Now().Add(time.Minute)

	if !use(t, a, "jti", exp) {
		t.Fatal("through a: got not fresh, want fresh")
	}
	if use(t, b, "jti", exp) {
		t.Error("through b after a: got fresh, want not fresh")
	}
	if !use(t, other, "jti", exp) {
		t.Error("under another prefix: got not fresh, want fresh")
	}
}

func TestUseConcurrentOneFresh(t *testing.T) {
	srv := startRedis(t)
	stores := []*redisstore.Store{
		newStore(t, newClient(t, srv.addr()), "dpop:"),
		newStore(t, newClient(t, srv.addr()), "dpop:"),
	}
	exp := time.Now().Add(time.Minute)
	var fresh atomic.Int32
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			ok, err := stores[i%2].Use(context.Background(), "jti", exp)
			if err != nil {
				t.Error(err)
			}
			if ok {
				fresh.Add(1)
			}
		})
	}
	wg.Wait()
	if got := fresh.Load(); got != 1 {
		t.Errorf("%d of 50 concurrent uses were fresh, want exactly 1", got)
	}
}

func TestUseExpiry(t *testing.T) {
	srv := startRedis(t)
	c := newClient(t, srv.addr())
	s := newStore(t, c, "dpop:")
	exp := time.Now().Add(200 * time.Millisecond)

	if !use(t, s, "jti", exp) {
		t.Fatal("first Use: got not fresh, want fresh")
	}
	if use(t, s, "jti", exp) {
		t.Fatal("replay before exp: got fresh, want not fresh")
	}
	time.Sleep(time.Until(exp) + 100*time.Millisecond)
	n, err := c.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("after exp Redis holds %d keys, want 0", n)
	}
	if use(t, s, "jti", exp) {
		t.Error("the old exp, now past: got fresh, want not fresh")
	}
	if !use(t, s, "jti", time.Now().Add(time.Minute)) {
		t.Error("after expiry with a new exp: got not fresh, want fresh")
	}
}

func TestUsePastExp(t *testing.T) {
	srv := startRedis(t)
	c := newClient(t, srv.addr())
	s := newStore(t, c, "dpop:")
	for _, exp := range []time.Time{time.Now().Add(-time.Second), time.Now(), {}} {
		if use(t, s, "jti", exp) {
			t.Errorf("exp %v: got fresh, want not fresh", exp)
		}
	}
	if n, err := c.DBSize(context.Background()).Result(); err != nil || n != 0 {
		t.Errorf("Redis holds %d keys (%v), want 0: a past exp is not recorded", n, err)
	}
}

func TestUseOutage(t *testing.T) {
	srv := startRedis(t)
	s := newStore(t, newClient(t, srv.addr()), "dpop:")
	exp := time.Now().Add(time.Minute)
	if !use(t, s, "before", exp) {
		t.Fatal("before the outage: got not fresh, want fresh")
	}

	srv.stop()
	const secret = "secret-client-data"
	fresh, err := s.Use(context.Background(), secret, exp)
	if !errors.Is(err, claims.ErrUnavailable) || fresh {
		t.Fatalf("Redis down: got %v, %v; want not fresh and an error matching claims.ErrUnavailable", fresh, err)
	}
	sum := sha256.Sum256([]byte(secret))
	if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, hex.EncodeToString(sum[:])) ||
		!strings.HasPrefix(msg, "redisstore: ") {
		t.Errorf("error text %q: want the redisstore prefix and no trace of the key", msg)
	}

	srv.start() // same port, empty: no persistence
	if !use(t, s, "after", exp) {
		t.Error("after the restart: got not fresh, want fresh")
	}
	if use(t, s, "after", exp) {
		t.Error("replay after the restart: got fresh, want not fresh")
	}
}

func TestUseCanceledContext(t *testing.T) {
	srv := startRedis(t)
	s := newStore(t, newClient(t, srv.addr()), "dpop:")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fresh, err := s.Use(ctx, "jti", time.Now().Add(time.Minute))
	if fresh || !errors.Is(err, claims.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, %v; want not fresh and an error matching claims.ErrUnavailable and context.Canceled", fresh, err)
	}
}

func TestUseErrorReply(t *testing.T) {
	srv := startRedis(t)
	c := newClient(t, srv.addr())
	s := newStore(t, c, "dpop:")
	// A Redis that refuses writes answers with an error reply.
	if err := c.ConfigSet(context.Background(), "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(context.Background(), "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	fresh, err := s.Use(context.Background(), "jti", time.Now().Add(time.Minute))
	if fresh || !errors.Is(err, claims.ErrUnavailable) {
		t.Errorf("got %v, %v; want not fresh and an error matching claims.ErrUnavailable", fresh, err)
	}
}

// BenchmarkUse is the replay-store round trip a DPoP request adds with
// Redis on loopback: one SET NX PX per proof.
func BenchmarkUse(b *testing.B) {
	srv := startRedis(b)
	s := newStore(b, newClient(b, srv.addr()), "bench:")
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		fresh, err := s.Use(ctx, "jkt:"+strconv.Itoa(i), exp)
		if err != nil || !fresh {
			b.Fatalf("Use: %v, %v", fresh, err)
		}
	}
}
