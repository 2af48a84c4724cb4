package jwks_test

import (
	"context"
	"testing"

	"github.com/stepupauth/stepup/jwks"
)

// BenchmarkSetKey: lookup in a static set (the verify hot path).
func BenchmarkSetKey(b *testing.B) {
	s, err := jwks.NewStatic(setJSON(b, rsaJWK(b, 0, "k1"), rsaJWK(b, 1, "k2")))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Key(ctx, "iss", "k2"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoteKeyHit: lookup of a cached key in a warm Remote.
func BenchmarkRemoteKeyHit(b *testing.B) {
	srv := newJWKSServer(b, setJSON(b, rsaJWK(b, 0, "k1"), rsaJWK(b, 1, "k2")))
	r, err := jwks.NewRemote(srv.url())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if err := r.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Key(ctx, "iss", "k2"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRemoteKeyMissCooldown: an unknown kid during the cooldown fails
// fast.
func BenchmarkRemoteKeyMissCooldown(b *testing.B) {
	srv := newJWKSServer(b, setJSON(b, rsaJWK(b, 0, "k1")))
	r, err := jwks.NewRemote(srv.url())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if err := r.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Key(ctx, "iss", "nope"); err == nil {
			b.Fatal("got a key")
		}
	}
}
