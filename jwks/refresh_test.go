package jwks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stepupauth/stepup/internal/testclock"
	"github.com/stepupauth/stepup/jwks"
)

// handlerTransport serves requests from an http.Handler in memory, so that
// a Remote can run inside a synctest bubble (loopback sockets cannot).
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// heldIssuer is a JWKS endpoint whose next request, once hold is called,
// reads the set as it is at arrival and then waits for release before
// answering: a fetch in flight while the issuer publishes a key.
type heldIssuer struct {
	mu      sync.Mutex
	body    []byte
	hold    bool
	entered chan struct{} // receives when the held request has read the set
	release chan struct{} // closed by the test to let it answer
}

func (s *heldIssuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body, hold := s.body, s.hold
	s.hold = false
	s.mu.Unlock()
	if hold {
		s.entered <- struct{}{}
		select {
		case <-s.release:
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(body)
}

func (s *heldIssuer) publish(body []byte) {
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

// TestRefreshAfterPublish: Refresh called while a background fetch that
// started before the issuer published a key is in flight does not return
// that fetch's stale set: it waits for it and fetches again, so the new key
// is there when Refresh returns. synctest.Wait makes sure Refresh is
// waiting on the old fetch before that fetch may answer.
func TestRefreshAfterPublish(t *testing.T) {
	testKeys(t)
	synctest.Test(t, func(t *testing.T) {
		iss := &heldIssuer{
			body:    setJSON(t, rsaJWK(t, 0, "k1")),
			entered: make(chan struct{}),
			release: make(chan struct{}),
		}
		clock := newClock()
		r, err := jwks.NewRemote("https://idp.example.com/jwks",
			jwks.WithHTTPClient(&http.Client{Transport: handlerTransport{iss}}),
			testclock.JWKS(clock.Now).(jwks.Option),
			jwks.WithRefreshBounds(testMinRefr, testMaxRefr),
			jwks.WithCooldown(testCooldown),
			jwks.WithStaleness(testStaleness),
		)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		ctx := context.Background()
		if err := r.Refresh(ctx); err != nil {
			t.Fatalf("first Refresh: %v", err)
		}

		// The set is due: a lookup starts a background fetch, which
		// reads the issuer's set (k1 only) and is held there.
		iss.mu.Lock()
		iss.hold = true
		iss.mu.Unlock()
		clock.Advance(testMaxRefr + time.Second)
		if _, err := r.Key(ctx, "", "k1"); err != nil {
			t.Fatalf("Key(k1): %v", err)
		}
		<-iss.entered

		// The issuer publishes k2; the caller asks for a refresh.
		iss.publish(setJSON(t, rsaJWK(t, 0, "k1"), rsaJWK(t, 1, "k2")))
		done := make(chan error, 1)
		go func() { done <- r.Refresh(ctx) }()
		synctest.Wait() // Refresh is now waiting: on the held fetch, or its own
		close(iss.release)
		if err := <-done; err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if got, want := kids(r.Set()), []string{"k1", "k2"}; !slices.Equal(got, want) {
			t.Errorf("kids after Refresh: got %q, want %q (Refresh returned a fetch that started before its call)", got, want)
		}
	})
}

// TestRefreshConcurrent: callers of Refresh that arrive while one fetch is
// in flight share the next fetch instead of starting one each.
func TestRefreshConcurrent(t *testing.T) {
	testKeys(t)
	synctest.Test(t, func(t *testing.T) {
		iss := &heldIssuer{
			body:    setJSON(t, rsaJWK(t, 0, "k1")),
			hold:    true,
			entered: make(chan struct{}),
			release: make(chan struct{}),
		}
		var fetches int
		counted := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			fetches++ // handlers run one at a time here: one fetch in flight
			iss.ServeHTTP(w, req)
		})
		r, err := jwks.NewRemote("https://idp.example.com/jwks",
			jwks.WithHTTPClient(&http.Client{Transport: handlerTransport{counted}}))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		ctx := context.Background()
		first := make(chan error, 1)
		go func() { first <- r.Refresh(ctx) }()
		<-iss.entered
		const n = 5
		done := make(chan error, n)
		for range n {
			go func() { done <- r.Refresh(ctx) }()
		}
		synctest.Wait()
		close(iss.release)
		if err := <-first; err != nil {
			t.Fatalf("first Refresh: %v", err)
		}
		for range n {
			if err := <-done; err != nil {
				t.Fatalf("Refresh: %v", err)
			}
		}
		if fetches != 2 {
			t.Errorf("fetches: got %d, want 2 (the held one, then one shared by the %d later callers)", fetches, n)
		}
	})
}
