package keyfuncadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/MicahParks/jwkset"

	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/jwks/keyfuncadapter"
)

// storageOf builds a memory storage from JWK JSON objects, the way
// keyfunc's HTTP storage does on every refresh (fresh jwkset.JWK values,
// fresh Go keys).
func storageOf(t testing.TB, objs ...map[string]any) []jwkset.JWK {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": objs})
	if err != nil {
		t.Fatal(err)
	}
	var m jwkset.JWKSMarshal
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	all, err := m.JWKSlice()
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestConversionCache: a lookup of an unchanged JWK returns the cached
// *jwks.Key, also after the storage replaced its JWK values with equal
// ones (a keyfunc refresh); a JWK whose material or metadata changed
// under the same kid gets a new *jwks.Key; a removed one is unknown.
func TestConversionCache(t *testing.T) {
	keys(t)
	ctx := context.Background()
	st := jwkset.NewMemoryStorage()
	a := jwkJSON(t, &rsa1.PublicKey, "a", map[string]any{"alg": "RS256"})
	if err := st.KeyReplaceAll(ctx, storageOf(t, a)); err != nil {
		t.Fatal(err)
	}
	src := keyfuncadapter.FromStorage(st)
	first, err := src.Key(ctx, "", "a")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.KeyReplaceAll(ctx, storageOf(t, a)); err != nil { // refreshed, unchanged
		t.Fatal(err)
	}
	if got, err := src.Key(ctx, "", "a"); err != nil || got != first {
		t.Errorf("unchanged after refresh: got %p, %v; want the same *Key %p", got, err, first)
	}

	steps := []struct {
		name string
		jwk  map[string]any
	}{
		{"new material", jwkJSON(t, &rsa2.PublicKey, "a", map[string]any{"alg": "RS256"})},
		{"new alg", jwkJSON(t, &rsa2.PublicKey, "a", map[string]any{"alg": "PS256"})},
	}
	prev := first
	for _, s := range steps {
		if err := st.KeyReplaceAll(ctx, storageOf(t, s.jwk)); err != nil {
			t.Fatal(err)
		}
		got, err := src.Key(ctx, "", "a")
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got == prev {
			t.Errorf("%s: got the previous *Key, want a new one", s.name)
		}
		if got.Algorithm != s.jwk["alg"] {
			t.Errorf("%s: got alg %q, want %q", s.name, got.Algorithm, s.jwk["alg"])
		}
		prev = got
	}

	// use:enc under the same kid: the cached key must not be served.
	if err := st.KeyReplaceAll(ctx, storageOf(t, jwkJSON(t, &rsa2.PublicKey, "a", map[string]any{"alg": "PS256", "use": "enc"}))); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Key(ctx, "", "a"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("use:enc under a cached kid: got %v, want ErrUnknownKey", err)
	}
	if err := st.KeyReplaceAll(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Key(ctx, "", "a"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("removed: got %v, want ErrUnknownKey", err)
	}
}

// TestConversionCacheAllocs: a lookup of a cached key neither marshals
// JSON nor parses the key again: it allocates only the storage's snapshot.
func TestConversionCacheAllocs(t *testing.T) {
	keys(t)
	ctx := context.Background()
	st := jwkset.NewMemoryStorage()
	if err := st.KeyReplaceAll(ctx, storageOf(t,
		jwkJSON(t, &rsa1.PublicKey, "a", map[string]any{"alg": "RS256"}),
		jwkJSON(t, &ecPriv.PublicKey, "b", nil),
	)); err != nil {
		t.Fatal(err)
	}
	src := keyfuncadapter.FromStorage(st)
	if _, err := src.Key(ctx, "", "a"); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := src.Key(ctx, "", "a"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("allocations per cached lookup: got %v, want at most 1 (the storage snapshot)", allocs)
	}
}

func BenchmarkKeyCached(b *testing.B) {
	keys(b)
	ctx := context.Background()
	st := jwkset.NewMemoryStorage()
	objs := []map[string]any{
		jwkJSON(b, &rsa1.PublicKey, "a", map[string]any{"alg": "RS256"}),
		jwkJSON(b, &rsa2.PublicKey, "b", map[string]any{"alg": "RS256"}),
		jwkJSON(b, &ecPriv.PublicKey, "c", nil),
	}
	if err := st.KeyReplaceAll(ctx, storageOf(b, objs...)); err != nil {
		b.Fatal(err)
	}
	src := keyfuncadapter.FromStorage(st)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Key(ctx, "", "b"); err != nil {
			b.Fatal(err)
		}
	}
}
