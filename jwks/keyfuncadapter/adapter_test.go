package keyfuncadapter_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/jwks/keyfuncadapter"
)

var (
	once   sync.Once
	rsa1   *rsa.PrivateKey
	rsa2   *rsa.PrivateKey
	ecPriv *ecdsa.PrivateKey
)

func keys(t testing.TB) {
	t.Helper()
	once.Do(func() {
		var err error
		if rsa1, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecPriv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	})
}

func jwkJSON(t testing.TB, key any, kid string, extra map[string]any) map[string]any {
	t.Helper()
	k, err := jwk.Import(key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["kid"] = kid
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func setOf(t *testing.T, keys ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFromKeyfuncJSON(t *testing.T) {
	keys(t)
	ctx := context.Background()
	k, err := keyfunc.NewJWKSetJSON(setOf(t,
		jwkJSON(t, &rsa1.PublicKey, "rsa", map[string]any{"alg": "RS256"}),
		jwkJSON(t, ecPriv, "ec-private", nil), // private: only the public part is served
		jwkJSON(t, &rsa2.PublicKey, "enc", map[string]any{"use": "enc"}),
		map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"},
	))
	if err != nil {
		t.Fatalf("keyfunc.NewJWKSetJSON: %v", err)
	}
	src := keyfuncadapter.FromKeyfunc(k)

	got, err := src.Key(ctx, "any", "rsa")
	if err != nil {
		t.Fatalf("Key(rsa): %v", err)
	}
	if got.KeyType != "RSA" || got.Algorithm != "RS256" || !rsa1.PublicKey.Equal(got.Public) {
		t.Errorf("Key(rsa): got %+v", got)
	}
	if again, _ := src.Key(ctx, "any", "rsa"); again != got {
		t.Errorf("second lookup: got another *Key, want the same pointer")
	}
	ec, err := src.Key(ctx, "", "ec-private")
	if err != nil {
		t.Fatalf("Key(ec-private): %v", err)
	}
	if pub, ok := ec.Public.(*ecdsa.PublicKey); !ok || !pub.Equal(&ecPriv.PublicKey) {
		t.Errorf("Key(ec-private): got %T, want the *ecdsa.PublicKey", ec.Public)
	}
	for _, kid := range []string{"enc", "hmac", "missing", ""} {
		if _, err := src.Key(ctx, "", kid); !errors.Is(err, jwks.ErrUnknownKey) {
			t.Errorf("Key(%q): got %v, want ErrUnknownKey", kid, err)
		}
	}
	var ke *jwks.KeyError
	if _, err := src.Key(ctx, "", "hmac"); !errors.As(err, &ke) || ke.KID != "hmac" {
		t.Errorf("Key(hmac): got %v, want a *jwks.KeyError", err)
	}
}

// TestFromKeyfuncHTTP: a keyfunc on a loopback JWKS; a rotated-in kid is
// found through keyfunc's own refresh, and unchanged keys keep their
// pointer.
func TestFromKeyfuncHTTP(t *testing.T) {
	keys(t)
	var (
		mu      sync.Mutex
		body    = setOf(t, jwkJSON(t, &rsa1.PublicKey, "k1", nil))
		fetches atomic.Int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		b := body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, err := keyfunc.NewDefaultCtx(ctx, []string{srv.URL})
	if err != nil {
		t.Fatalf("keyfunc.NewDefaultCtx: %v", err)
	}
	src := keyfuncadapter.FromKeyfunc(k)
	k1, err := src.Key(ctx, "", "k1")
	if err != nil {
		t.Fatalf("Key(k1): %v", err)
	}
	before := fetches.Load()

	mu.Lock()
	body = setOf(t, jwkJSON(t, &rsa1.PublicKey, "k1", nil), jwkJSON(t, &rsa2.PublicKey, "k2", nil))
	mu.Unlock()
	k2, err := src.Key(ctx, "", "k2")
	if err != nil {
		t.Fatalf("Key(k2) after rotation: %v", err)
	}
	if !rsa2.PublicKey.Equal(k2.Public) {
		t.Errorf("Key(k2): wrong material")
	}
	if got := fetches.Load(); got != before+1 {
		t.Errorf("fetches for the new kid: got %d, want %d", got-before, 1)
	}
	if again, err := src.Key(ctx, "", "k1"); err != nil || again != k1 {
		t.Errorf("Key(k1) after refresh: got (%p, %v), want the same pointer %p", again, err, k1)
	}
}

// dupStorage holds two JWKs with the same kid, which keyfunc's memory
// storage would not allow.
type dupStorage struct {
	jwkset.Storage
	keys []jwkset.JWK
	err  error
}

func (d dupStorage) KeyReadAll(context.Context) ([]jwkset.JWK, error) { return d.keys, d.err }
func (d dupStorage) KeyRead(_ context.Context, kid string) (jwkset.JWK, error) {
	if d.err != nil {
		return jwkset.JWK{}, d.err
	}
	for _, k := range d.keys {
		if k.Marshal().KID == kid {
			return k, nil
		}
	}
	return jwkset.JWK{}, jwkset.ErrKeyNotFound
}

func TestFromStorageRules(t *testing.T) {
	keys(t)
	ctx := context.Background()
	mk := func(key any, kid string) jwkset.JWK {
		j, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid}})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	dup := keyfuncadapter.FromStorage(dupStorage{keys: []jwkset.JWK{mk(&rsa1.PublicKey, "d"), mk(&rsa2.PublicKey, "d")}})
	if _, err := dup.Key(ctx, "", "d"); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("duplicate kid: got %v, want ErrUnknownKey", err)
	}
	one := keyfuncadapter.FromStorage(dupStorage{keys: []jwkset.JWK{mk(&rsa1.PublicKey, "only")}})
	if k, err := one.Key(ctx, "", ""); err != nil || k.ID != "only" {
		t.Errorf("no kid, one key: got (%v, %v), want key only", k, err)
	}
	two := keyfuncadapter.FromStorage(dupStorage{keys: []jwkset.JWK{mk(&rsa1.PublicKey, "a"), mk(&rsa2.PublicKey, "b")}})
	if _, err := two.Key(ctx, "", ""); !errors.Is(err, jwks.ErrUnknownKey) {
		t.Errorf("no kid, two keys: got %v, want ErrUnknownKey", err)
	}
	broken := keyfuncadapter.FromStorage(dupStorage{err: errors.New("disk on fire")})
	if _, err := broken.Key(ctx, "", "a"); !errors.Is(err, claims.ErrUnavailable) {
		t.Errorf("storage error: got %v, want claims.ErrUnavailable", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := broken.Key(cctx, "", "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("storage error, cancelled ctx: got %v, want context.Canceled", err)
	}
}
