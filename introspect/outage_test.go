package introspect_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
)

func TestOutages(t *testing.T) {
	big := `{"active":true,"pad":"` + strings.Repeat("x", 64<<10) + `"}`
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"500", status(500, `{"error":"server_error"}`)},
		{"503", status(503, ``)},
		{"404", status(404, `not found`)},
		{"405", status(405, ``)},
		{"429", status(429, `{"error":"slow_down"}`)},
		{"400 invalid_request", status(400, `{"error":"invalid_request"}`)},
		{"204", status(204, ``)},
		{"302", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }},
		{"307", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		}},
		{"not json", answer(`<html>oops</html>`)},
		{"truncated json", answer(`{"active":true,`)},
		{"not an object", answer(`[{"active":true}]`)},
		{"two objects", answer(`{"active":true}{"active":true}`)},
		{"invalid utf-8", answer("{\"active\":true,\"sub\":\"\xff\"}")},
		{"html content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `{"active":true}`)
		}},
		{"no content type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			io.WriteString(w, `{"active":true}`)
		}},
		{"over the size cap", answer(big)},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		}},
		{"connection dropped", func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}},
	}
	for _, tt := range tests {
		for _, noCache := range []bool{false, true} {
			name := tt.name
			if noCache {
				name += " NoCache"
			}
			t.Run(name, func(t *testing.T) {
				s := newServer(t, tt.h)
				cfg := config(s, newClock())
				cfg.Timeout, cfg.NoCache = 200*time.Millisecond, noCache
				c, err := mustNew(t, cfg).Introspect(ctx, token)
				if c != nil {
					t.Error("got claims")
				}
				wantUnavailable(t, err)
				if errors.Is(err, introspect.ErrClientAuth) {
					t.Errorf("an outage wraps ErrClientAuth: %v", err)
				}
				noToken(t, err)
			})
		}
	}
}

func TestEndpointDown(t *testing.T) {
	s := newServer(t, answer(`{"active":true}`))
	cfg := config(s, newClock())
	s.Close()
	_, err := mustNew(t, cfg).Introspect(ctx, token)
	wantUnavailable(t, err)
}

// A redirect is refused even with a caller's client that would follow it:
// the token and the credentials never reach the target.
func TestRedirectRefused(t *testing.T) {
	target := newServer(t, answer(`{"active":true}`))
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	})
	cfg := config(s, newClock())
	cfg.HTTPClient = &http.Client{}
	_, err := mustNew(t, cfg).Introspect(ctx, token)
	wantUnavailable(t, err)
	if n := target.requests(); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

func TestClientAuthRefused(t *testing.T) {
	tests := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"401 invalid_client", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", `Basic realm="as"`)
			status(401, `{"error":"invalid_client"}`)(w, r)
		}},
		{"401 without body", status(401, ``)},
		{"400 invalid_client", status(400, `{"error":"invalid_client","error_description":"bad secret"}`)},
		{"400 unauthorized_client", status(400, `{"error":"unauthorized_client"}`)},
		{"403", status(403, `{"error":"access_denied"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.h)
			c := mustNew(t, config(s, newClock()))
			_, err := c.Introspect(ctx, token)
			wantUnavailable(t, err)
			if !errors.Is(err, introspect.ErrClientAuth) {
				t.Errorf("got %v, want it to wrap ErrClientAuth", err)
			}
			if err := c.Check(ctx); !errors.Is(err, introspect.ErrClientAuth) {
				t.Errorf("Check: got %v, want ErrClientAuth", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Run("inactive answer", func(t *testing.T) {
		s := newServer(t, answer(`{"active":false}`))
		c := mustNew(t, config(s, newClock()))
		for range 2 {
			if err := c.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
		}
		if n := s.requests(); n != 2 {
			t.Errorf("two Checks made %d requests, want 2 (no cache)", n)
		}
		if tok := s.last().form.Get("token"); len(tok) < 32 {
			t.Errorf("Check sent token %q, want a long random one", tok)
		}
	})
	t.Run("endpoint down", func(t *testing.T) {
		s := newServer(t, answer(`{"active":false}`))
		c := mustNew(t, config(s, newClock()))
		s.Close()
		err := c.Check(ctx)
		wantUnavailable(t, err)
		if errors.Is(err, introspect.ErrClientAuth) {
			t.Errorf("a down endpoint reported as ErrClientAuth: %v", err)
		}
	})
	t.Run("malformed answer", func(t *testing.T) {
		s := newServer(t, answer(`<html>`))
		err := mustNew(t, config(s, newClock())).Check(ctx)
		wantUnavailable(t, err)
	})
}

// hold is a handler that answers body once release is closed.
func hold(release <-chan struct{}, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		answer(body)(w, r)
	}
}

func TestContextEnds(t *testing.T) {
	for _, noCache := range []bool{false, true} {
		t.Run(map[bool]string{false: "cache", true: "NoCache"}[noCache], func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			s := newServer(t, hold(release, `{"active":true}`))
			cfg := config(s, newClock())
			cfg.NoCache = noCache
			c := mustNew(t, cfg)
			cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := c.Introspect(cctx, token)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("got %v, want context.DeadlineExceeded", err)
			}
			if errors.Is(err, claims.ErrUnavailable) {
				t.Errorf("a caller's context end reported as an outage: %v", err)
			}
			var ce *claims.Error
			if errors.As(err, &ce) {
				t.Errorf("a caller's context end reported as %v", ce)
			}
			canceled, cancel2 := context.WithCancel(ctx)
			cancel2()
			if _, err := c.Introspect(canceled, "other"); !errors.Is(err, context.Canceled) {
				t.Errorf("canceled context: got %v, want context.Canceled", err)
			}
		})
	}
}

// One caller going away does not fail the others sharing its call, and
// the call ends once the endpoint answers.
func TestCallerLeavesFlight(t *testing.T) {
	release := make(chan struct{})
	s := newServer(t, hold(release, `{"active":true,"sub":"alice"}`))
	c := mustNew(t, config(s, newClock()))

	first, cancel := context.WithCancel(ctx)
	firstErr := make(chan error, 1)
	go func() {
		_, err := c.Introspect(first, token)
		firstErr <- err
	}()
	waitFor(t, func() bool { return introspect.Waiters(c, token) == 1 })
	var got atomic.Pointer[claims.Claims]
	second := make(chan error, 1)
	go func() {
		cl, err := c.Introspect(ctx, token)
		got.Store(cl)
		second <- err
	}()
	waitFor(t, func() bool { return introspect.Waiters(c, token) == 2 })
	cancel()
	if err := <-firstErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("first caller: got %v, want context.Canceled", err)
	}
	close(release)
	if err := <-second; err != nil {
		t.Fatalf("second caller: %v", err)
	}
	if cl := got.Load(); cl == nil || cl.Subject != "alice" {
		t.Fatalf("second caller got %+v", cl)
	}
	waitFor(t, func() bool { return introspect.InFlight(c) == 0 })
	if n := s.requests(); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
