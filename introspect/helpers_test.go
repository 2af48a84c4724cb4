package introspect_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
)

// t0 is the test clock's start: between the iat and the exp of the RFC
// 9470 §6.2 example.
var t0 = time.Unix(1618354100, 0)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// request is what the fake authorization server received.
type request struct {
	method string
	header http.Header
	form   url.Values
}

// server is a fake introspection endpoint on loopback. Its handler can be
// swapped while it runs.
type server struct {
	*httptest.Server
	count atomic.Int32

	mu      sync.Mutex
	handler http.HandlerFunc
	reqs    []request
}

func newServer(t testing.TB, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{handler: h}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count.Add(1)
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		s.mu.Lock()
		s.reqs = append(s.reqs, request{method: r.Method, header: r.Header.Clone(), form: form})
		h := s.handler
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) set(h http.HandlerFunc) {
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

func (s *server) last() request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqs[len(s.reqs)-1]
}

func (s *server) requests() int { return int(s.count.Load()) }

// answer is a handler answering 200 with the JSON body.
func answer(body string) http.HandlerFunc {
	return status(http.StatusOK, body)
}

// status is a handler answering code with the JSON body.
func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// config is a Config for s with a client secret and the clock.
func config(s *server, clk *clock) introspect.Config {
	return introspect.Config{
		Endpoint:     s.URL + "/introspect",
		ClientID:     "rs",
		ClientSecret: "secret",
		Now:          clk.Now,
	}
}

func mustNew(t testing.TB, cfg introspect.Config) *introspect.Client {
	t.Helper()
	c, err := introspect.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// reason returns the Reason of an invalid_token refusal, failing the test
// for any other error.
func reason(t *testing.T, err error) string {
	t.Helper()
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken {
		t.Fatalf("got %v, want an invalid_token *claims.Error", err)
	}
	var ie *introspect.Error
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an *introspect.Error cause", err)
	}
	if errors.Is(err, claims.ErrUnavailable) {
		t.Fatalf("a refusal wraps ErrUnavailable: %v", err)
	}
	return ie.Reason
}

// wantUnavailable fails unless err is an outage and not a refusal.
func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, claims.ErrUnavailable) {
		t.Fatalf("got %v, want an error wrapping claims.ErrUnavailable", err)
	}
	var ce *claims.Error
	if errors.As(err, &ce) {
		t.Fatalf("got a *claims.Error (%v) for an outage", err)
	}
}

var ctx = context.Background()

const token = "2YotnFZFEjr1zCsicMWpAA"

func noToken(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("error text holds the token: %v", err)
	}
}
