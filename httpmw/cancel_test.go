package httpmw_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
)

// blockingSource is a key source that blocks until the lookup's context
// ends, then returns an error wrapping the context's error, like a remote
// source whose fetch the request's cancellation aborted. entered is closed
// when the first lookup starts.
type blockingSource struct{ entered chan struct{} }

func newBlockingSource() *blockingSource { return &blockingSource{entered: make(chan struct{})} }

func (s *blockingSource) Key(ctx context.Context, _, _ string) (*jwks.Key, error) {
	select {
	case <-s.entered:
	default:
		close(s.entered)
	}
	<-ctx.Done()
	return nil, fmt.Errorf("test: key lookup: %w", ctx.Err())
}

// TestRequestContextEnded: when the request's context ends while the key
// lookup waits (the client went away, or the server's deadline passed), the
// answer is 503 with Retry-After and no challenge: never 500, never a
// challenge. The hook sees the context's error.
func TestRequestContextEnded(t *testing.T) {
	is := newIssuer(t)
	tests := []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		cancel bool // cancel once the lookup started
		want   error
	}{
		{"canceled", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, true, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(context.Background(), 0) }, false, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newBlockingSource()
			var hooked error
			g := newGuard(t, newVerifier(t, src), httpmw.WithRealm("api"),
				refusals(func(_ *http.Request, err error) { hooked = err }))
			ctx, cancel := tt.ctx()
			defer cancel()
			if tt.cancel {
				go func() { <-src.entered; cancel() }()
			}
			r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
			r.Header.Set("Authorization", "Bearer "+is.mint(t, nil))
			rec := httptest.NewRecorder()
			g.Require(claims.Requirement{}, ok).ServeHTTP(rec, r)
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("status: got %d, want 503", rec.Code)
			}
			if got := rec.Header().Get("Retry-After"); got == "" {
				t.Errorf("Retry-After: got none, want one")
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != "" {
				t.Errorf("WWW-Authenticate: got %q, want none", got)
			}
			if !errors.Is(hooked, tt.want) {
				t.Errorf("hook error: got %v, want one wrapping %v", hooked, tt.want)
			}
		})
	}
}

// TestStatusContextErrors: a context error of the server's own (the
// request's context has not ended) is an outage, 503, not a 500.
func TestStatusContextErrors(t *testing.T) {
	g := newGuard(t, newIssuer(t).verifier(t))
	for _, err := range []error{
		fmt.Errorf("verify: key lookup: %w", context.Canceled),
		fmt.Errorf("verify: key lookup: %w", context.DeadlineExceeded),
	} {
		if got := answered(g, err); got != http.StatusServiceUnavailable {
			t.Errorf("Status(%v): got %d, want 503", err, got)
		}
	}
}

// TestFormTokenHeaderAndLargeBody: with WithFormToken, a request with a
// header token and a form body over the limit is served with the header
// token, and the handler reads the whole body; a body within the limit
// that carries a second token is still refused.
func TestFormTokenHeaderAndLargeBody(t *testing.T) {
	is := newIssuer(t)
	g := newGuard(t, is.verifier(t), httpmw.WithFormToken(64))
	tok := is.mint(t, nil)
	var read string
	h := g.Require(claims.Requirement{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		read = string(b)
	}))
	large := "access_token=" + tok + "&data=" + strings.Repeat("x", 100<<10)
	tests := []struct {
		name   string
		header bool
		body   string
		want   int
	}{
		{"header token, large body", true, large, http.StatusOK},
		{"no header token, large body", false, large, http.StatusBadRequest},
		{"header token, small body with a token", true, "access_token=" + "abc", http.StatusBadRequest},
		{"header token, small body without a token", true, "a=b", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			read = ""
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.header {
				r.Header.Set("Authorization", "Bearer "+tok)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Fatalf("status: got %d, want %d", rec.Code, tt.want)
			}
			if tt.want == http.StatusOK && read != tt.body {
				t.Errorf("handler read %d bytes, want the whole body of %d", len(read), len(tt.body))
			}
		})
	}
}
