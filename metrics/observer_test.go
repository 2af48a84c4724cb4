package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

// TestJWKSObserverTwice: a second observer for an issuer label already
// observed is an error; other labels are fine.
func TestJWKSObserverTwice(t *testing.T) {
	m, _ := newMetrics(t)
	if _, err := m.JWKSObserver("https://a.example/"); err != nil {
		t.Fatalf("first observer: %v", err)
	}
	if _, err := m.JWKSObserver("https://b.example/"); err != nil {
		t.Fatalf("observer of another issuer: %v", err)
	}
	obs, err := m.JWKSObserver("https://a.example/")
	if err == nil || !strings.HasPrefix(err.Error(), "metrics: ") || obs.FetchDone != nil {
		t.Errorf("second observer of one issuer: got %v, %v; want a metrics error and no hooks", obs.FetchDone != nil, err)
	}
}

// TestHTTPCanceledLabel: a rejection whose request context had ended is
// labelled "canceled", even when the error also matches
// claims.ErrUnavailable (as the verifier's key lookup error may); the same
// error with the request alive is "unavailable".
func TestHTTPCanceledLabel(t *testing.T) {
	m, reg := newMetrics(t)
	s := newStack(t, m)
	tok := s.mint(t, stepuptest.Token{})
	lookupErr := fmt.Errorf("verify: key lookup: %w: %w", claims.ErrUnavailable, context.Canceled)
	h := s.guard.RequireFunc(func(*http.Request, *claims.Claims) (claims.Requirement, error) {
		return claims.Requirement{}, lookupErr
	}, ok)
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	for _, ctx := range []context.Context{ended, context.Background()} {
		r := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
		r.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	want := `
# HELP stepup_http_rejections_total Refused HTTP requests by route pattern and error code.
# TYPE stepup_http_rejections_total counter
stepup_http_rejections_total{code="canceled",route="unmatched"} 1
stepup_http_rejections_total{code="unavailable",route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stepup_http_rejections_total"); err != nil {
		t.Error(err)
	}
}

// TestHTTPAllowed: allowed requests are counted by route beside the
// rejections, so that the step-up rate of a route is a ratio of two
// series; public routes are not decided on and not counted.
func TestHTTPAllowed(t *testing.T) {
	m, reg := newMetrics(t)
	s := newStack(t, m)
	mfa := s.mint(t, stepuptest.Token{ACR: claims.ACRMultiFactor, AuthTime: time.Now()})
	pwd := s.mint(t, stepuptest.Token{ACR: "pwd", AuthTime: time.Now()})
	for _, tok := range []string{mfa, mfa, mfa, pwd} {
		serve(s.mux, "POST", "/transfer", "Bearer "+tok)
	}
	serve(s.mux, "GET", "/profile", "Bearer "+pwd)
	serve(s.mux, "GET", "/public")
	want := `
# HELP stepup_http_allowed_total Allowed HTTP requests by route pattern.
# TYPE stepup_http_allowed_total counter
stepup_http_allowed_total{route="GET /profile"} 1
stepup_http_allowed_total{route="POST /transfer"} 3
# HELP stepup_http_rejections_total Refused HTTP requests by route pattern and error code.
# TYPE stepup_http_rejections_total counter
stepup_http_rejections_total{code="insufficient_user_authentication",route="POST /transfer"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stepup_http_allowed_total", "stepup_http_rejections_total"); err != nil {
		t.Error(err)
	}
}
