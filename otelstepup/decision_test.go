package otelstepup_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/otelstepup"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// marker is put in tokens (subject, claims, kid) and in errors: no
// attribute may ever hold it.
const marker = "s3cr3t-m4rk3r-do-not-trace"

func TestNewNil(t *testing.T) {
	if _, err := otelstepup.New(nil); err == nil {
		t.Error("New(nil): got nil error, want one")
	}
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

// httpStack is an API on a stepuptest issuer, behind a server span, with
// the Tracer's decision hook installed.
type httpStack struct {
	iss *stepuptest.Issuer
	api http.Handler
	sr  *tracetest.SpanRecorder
}

func newHTTPStack(t *testing.T) *httpStack {
	t.Helper()
	tr, tp, sr := newTracer(t)
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	keys, err := jwks.Discover(context.Background(), iss.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		t.Fatal(err)
	}
	g, err := httpmw.New(v, httpmw.WithDecisionHook(tr.HTTPDecisionHook()))
	if err != nil {
		t.Fatal(err)
	}
	mux, err := g.Mux([]httpmw.Route{
		{Pattern: "GET /public", Public: true, Handler: ok},
		{Pattern: "GET /profile", Handler: ok},
		{Pattern: "POST /transfer", Requirement: claims.Requirement{ACR: []string{claims.ACRMultiFactor}}, Handler: ok},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /lookup", g.RequireFunc(func(r *http.Request, c *claims.Claims) (claims.Requirement, error) {
		switch r.URL.Query().Get("fail") {
		case "outage":
			return claims.Requirement{}, fmt.Errorf("account store %s: %w", marker, claims.ErrUnavailable)
		case "bug":
			return claims.Requirement{}, errors.New("chooser failed on " + marker)
		}
		return claims.Requirement{}, nil
	}, ok))
	// A guard outside any ServeMux: r.Pattern is empty.
	bare := g.Require(claims.Requirement{}, ok)
	// The same on another router, named by httpmw.Named.
	named := httpmw.Named("GET /named/{id}", g.RequireFunc(func(*http.Request, *claims.Claims) (claims.Requirement, error) {
		return claims.Requirement{ACR: []string{claims.ACRMultiFactor}}, nil
	}, ok))
	return &httpStack{iss: iss, sr: sr, api: serverSpan(tp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/bare":
			bare.ServeHTTP(w, r)
			return
		case strings.HasPrefix(r.URL.Path, "/named/"):
			named.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}))}
}

func (s *httpStack) mint(t *testing.T, tok stepuptest.Token) string {
	t.Helper()
	raw, err := s.iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestHTTPDecisionHook sends allowed and refused requests through the
// guard and reads the stepup.decision event on each server span.
func TestHTTPDecisionHook(t *testing.T) {
	s := newHTTPStack(t)
	secretClaims := map[string]any{"email": marker + "@example.com", "note": marker}
	plain := s.mint(t, stepuptest.Token{Subject: marker, Claims: secretClaims})
	mfa := s.mint(t, stepuptest.Token{Subject: marker, ACR: claims.ACRMultiFactor, AuthTime: time.Now(), Claims: secretClaims})
	unknownKid := s.mint(t, stepuptest.Token{Subject: marker, Header: map[string]any{"kid": marker}})
	expired := s.mint(t, stepuptest.Token{Subject: marker, IssuedAt: time.Now().Add(-2 * time.Hour), Expiry: time.Now().Add(-time.Hour)})

	for _, tc := range []struct {
		name, method, target, token string
		status                      int
		want                        map[string]string
		wantErr                     string // span status description when Error
	}{
		{name: "allowed", method: "GET", target: "/profile", token: plain, status: 200,
			want: map[string]string{"stepup.rule": "GET /profile", "stepup.outcome": "allowed"}},
		{name: "allowed step-up", method: "POST", target: "/transfer", token: mfa, status: 200,
			want: map[string]string{"stepup.rule": "POST /transfer", "stepup.outcome": "allowed"}},
		{name: "no token", method: "GET", target: "/profile", status: 401,
			want: map[string]string{"stepup.rule": "GET /profile", "stepup.outcome": "none"}},
		{name: "step-up needed", method: "POST", target: "/transfer", token: plain, status: 401,
			want: map[string]string{"stepup.rule": "POST /transfer", "stepup.outcome": "insufficient_user_authentication"}},
		{name: "unknown kid", method: "GET", target: "/profile", token: unknownKid, status: 401,
			want: map[string]string{"stepup.rule": "GET /profile", "stepup.outcome": "invalid_token", "stepup.reason": "unknown_key"}},
		{name: "expired", method: "GET", target: "/profile", token: expired, status: 401,
			want: map[string]string{"stepup.rule": "GET /profile", "stepup.outcome": "invalid_token", "stepup.reason": "expired"}},
		{name: "garbage", method: "GET", target: "/profile", token: marker, status: 401,
			want: map[string]string{"stepup.rule": "GET /profile", "stepup.outcome": "invalid_token", "stepup.reason": "malformed"}},
		{name: "outage", method: "GET", target: "/lookup?fail=outage", token: plain, status: 503,
			want: map[string]string{"stepup.rule": "GET /lookup", "stepup.outcome": "unavailable"}, wantErr: "stepup: unavailable"},
		{name: "internal", method: "GET", target: "/lookup?fail=bug", token: plain, status: 500,
			want: map[string]string{"stepup.rule": "GET /lookup", "stepup.outcome": "internal"}, wantErr: "stepup: internal"},
		{name: "unmatched", method: "GET", target: "/bare", token: plain, status: 200,
			want: map[string]string{"stepup.rule": "unmatched", "stepup.outcome": "allowed"}},
		{name: "named", method: "GET", target: "/named/7", token: plain, status: 401,
			want: map[string]string{"stepup.rule": "GET /named/{id}", "stepup.outcome": "insufficient_user_authentication"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(spansNamed(s.sr, "server"))
			r := httptest.NewRequest(tc.method, tc.target, nil)
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			s.api.ServeHTTP(rec, r)
			if rec.Code != tc.status {
				t.Fatalf("status: got %d, want %d", rec.Code, tc.status)
			}
			spans := spansNamed(s.sr, "server")
			if len(spans) != before+1 {
				t.Fatalf("server spans: got %d, want %d", len(spans), before+1)
			}
			span := spans[len(spans)-1]
			checkDecision(t, span, tc.want, tc.wantErr)
		})
	}
	assertNoSecret(t, s.sr, marker)
}

// TestHTTPPublicRouteNoEvent: a public route is not decided on.
func TestHTTPPublicRouteNoEvent(t *testing.T) {
	s := newHTTPStack(t)
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, httptest.NewRequest("GET", "/public", nil))
	spans := spansNamed(s.sr, "server")
	if len(spans) != 1 {
		t.Fatalf("server spans: got %d, want 1", len(spans))
	}
	if ev := spans[0].Events(); len(ev) != 0 {
		t.Errorf("events on a public route: got %v, want none", ev)
	}
}

// checkDecision asserts that span holds exactly one stepup.decision event
// with exactly the attributes want, and the status wantErr (Error with
// that description) or Unset when wantErr is empty.
func checkDecision(t *testing.T, span sdktrace.ReadOnlySpan, want map[string]string, wantErr string) {
	t.Helper()
	evs := span.Events()
	if len(evs) != 1 || evs[0].Name != "stepup.decision" {
		t.Fatalf("events: got %v, want one stepup.decision", evs)
	}
	if got := attrs(evs[0].Attributes); !maps.Equal(got, want) {
		t.Errorf("attributes: got %v, want %v", got, want)
	}
	st := span.Status()
	switch {
	case wantErr == "" && st.Code != codes.Unset:
		t.Errorf("status: got %v %q, want Unset", st.Code, st.Description)
	case wantErr != "" && (st.Code != codes.Error || st.Description != wantErr):
		t.Errorf("status: got %v %q, want Error %q", st.Code, st.Description, wantErr)
	}
}

// TestGRPCDecisionHook calls the hook as grpcmw does, with the errors its
// documentation lists, on a context carrying a server span.
func TestGRPCDecisionHook(t *testing.T) {
	tr, tp, sr := newTracer(t)
	hook := tr.GRPCDecisionHook()
	tokenErr := claims.InvalidToken(&verify.TokenError{Reason: verify.ReasonSignature, Err: errors.New("bad signature for " + marker)})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		rule    string
		err     error
		want    map[string]string
		wantErr string
	}{
		{name: "allowed", rule: "/bank.Bank/Transfer", want: map[string]string{"stepup.rule": "/bank.Bank/Transfer", "stepup.outcome": "allowed"}},
		{name: "wildcard", rule: "/bank.Bank/*", err: &claims.Error{Code: claims.CodeInsufficientScope, Scope: []string{"transfer"}},
			want: map[string]string{"stepup.rule": "/bank.Bank/*", "stepup.outcome": "insufficient_scope"}},
		{name: "bad token", rule: "/bank.Bank/Transfer", err: tokenErr,
			want: map[string]string{"stepup.rule": "/bank.Bank/Transfer", "stepup.outcome": "invalid_token", "stepup.reason": "signature"}},
		{name: "unlisted", rule: "", err: grpcmw.ErrUnlistedMethod,
			want: map[string]string{"stepup.rule": "unlisted", "stepup.outcome": "unlisted"}},
		{name: "reject outside", rule: "", err: &claims.Error{Code: claims.CodeInsufficientClaims},
			want: map[string]string{"stepup.rule": "unlisted", "stepup.outcome": "insufficient_claims"}},
		{name: "stream expired", rule: "/bank.Bank/Watch", err: grpcmw.ErrStreamExpired,
			want: map[string]string{"stepup.rule": "/bank.Bank/Watch", "stepup.outcome": "internal"}, wantErr: "stepup: internal"},
		{name: "outage", rule: "/bank.Bank/Transfer", err: fmt.Errorf("keys: %w", claims.ErrUnavailable),
			want: map[string]string{"stepup.rule": "/bank.Bank/Transfer", "stepup.outcome": "unavailable"}, wantErr: "stepup: unavailable"},
		{name: "canceled", ctx: canceled, rule: "/bank.Bank/Transfer", err: fmt.Errorf("lookup: %w", context.Canceled),
			want: map[string]string{"stepup.rule": "/bank.Bank/Transfer", "stepup.outcome": "canceled"}},
		{name: "server context ended", rule: "/bank.Bank/Transfer", err: fmt.Errorf("lookup: %w", context.DeadlineExceeded),
			want: map[string]string{"stepup.rule": "/bank.Bank/Transfer", "stepup.outcome": "unavailable"}, wantErr: "stepup: unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, span := tp.Tracer("test").Start(ctx, tc.name, trace.WithSpanKind(trace.SpanKindServer))
			hook(ctx, tc.rule, tc.err)
			span.End()
			spans := spansNamed(sr, tc.name)
			if len(spans) != 1 {
				t.Fatalf("spans: got %d, want 1", len(spans))
			}
			checkDecision(t, spans[0], tc.want, tc.wantErr)
		})
	}
	assertNoSecret(t, sr, marker)
}

// TestDecisionWithoutRecordingSpan: without a recording span the hooks
// record nothing and start no span.
func TestDecisionWithoutRecordingSpan(t *testing.T) {
	tr, _, sr := newTracer(t)
	ctx, span := noop.NewTracerProvider().Tracer("test").Start(context.Background(), "noop")
	tr.GRPCDecisionHook()(ctx, "/bank.Bank/Transfer", claims.MissingToken())
	r := httptest.NewRequest("GET", "/", nil)
	tr.HTTPDecisionHook()(r, claims.MissingToken())
	span.End()
	if got := len(sr.Ended()) + len(sr.Started()); got != 0 {
		t.Errorf("spans: got %d, want 0", got)
	}
}
