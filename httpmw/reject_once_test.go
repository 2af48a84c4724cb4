package httpmw_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// reportLog records every decision hook call ("ok" or the refusal's code).
type reportLog struct {
	mu  sync.Mutex
	got []string
}

func (l *reportLog) hook() httpmw.Option {
	return httpmw.WithDecisionHook(func(_ *http.Request, err error) {
		s := "ok"
		if err != nil {
			s = "refused"
			var ce *claims.Error
			if errors.As(err, &ce) {
				s = string(ce.Code)
			}
		}
		l.mu.Lock()
		l.got = append(l.got, s)
		l.mu.Unlock()
	})
}

func (l *reportLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.got, "|")
}

func (l *reportLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.got)
}

// TestRejectReportsOnce: a request is reported once to the decision
// hooks however often, and whenever, its handler refuses it with Reject.
//
// Reject flags the request refused but reports unconditionally, so a
// handler that calls Reject twice (a helper refusing and its caller
// refusing again), or one that calls Reject after the allowed report was
// made (a handler behind http.TimeoutHandler that finishes late), is
// reported twice.
func TestRejectReportsOnce(t *testing.T) {
	is := newIssuer(t)
	tok := is.mint(t, nil)
	scopeErr := &claims.Error{Code: claims.CodeInsufficientScope, Scope: []string{"bank:unfreeze"}}

	t.Run("twice", func(t *testing.T) {
		var rl reportLog
		g := newGuard(t, is.verifier(t), rl.hook())
		h := g.Require(claims.Requirement{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			g.Reject(w, r, scopeErr)
			g.Reject(w, r, scopeErr)
		}))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got := rl.String(); got != "insufficient_scope" {
			t.Errorf("reports: got %q, want one refusal", got)
		}
	})

	t.Run("after the allowed report", func(t *testing.T) {
		var rl reportLog
		g := newGuard(t, is.verifier(t), rl.hook())
		done := make(chan struct{})
		slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(done)
			time.Sleep(100 * time.Millisecond)
			g.Reject(w, r, scopeErr) // w is the TimeoutHandler's: ErrHandlerTimeout
		})
		h := g.Require(claims.Requirement{}, http.TimeoutHandler(slow, 10*time.Millisecond, "timeout"))
		srv := httptest.NewServer(h)
		defer srv.Close()
		req, _ := http.NewRequest("GET", srv.URL, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		<-done
		if n := rl.len(); n != 1 {
			t.Errorf("reports: got %d (%s), want 1", n, rl.String())
		}
	})
}
