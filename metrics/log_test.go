package metrics_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/metrics"
	"github.com/stepupauth/stepup/stepuptest"
)

// syncBuffer is a bytes.Buffer safe for the fetch goroutines' writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogsHoldNoToken drives success and every kind of failure, over HTTP,
// gRPC and the key set, with every logger at Debug, and checks that no log
// line holds a token (or a part of one) or the subject.
func TestLogsHoldNoToken(t *testing.T) {
	var out syncBuffer
	logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, _ := newMetrics(t, metrics.WithLogger(logger))
	s := newStack(t, m, httpmw.WithLogger(logger))
	methods := grpcMethods(t)
	unary := mustInterceptors(t, s.v, methods, grpcmw.WithDecisionHook(m.GRPCDecisionHook()), grpcmw.WithLogger(logger)).Unary()
	chooser := s.guard.RequireFunc(func(*http.Request, *claims.Claims) (claims.Requirement, error) {
		return claims.Requirement{}, errors.New("chooser failed")
	}, ok)

	const subject = "subject-PII-4711"
	var tokens []string
	mint := func(tok stepuptest.Token) string {
		tok.Subject = subject
		raw := s.mint(t, tok)
		tokens = append(tokens, raw)
		return raw
	}
	valid := mint(stepuptest.Token{})
	tampered := valid[:len(valid)-4] + "AAAA"
	tokens = append(tokens, tampered)
	all := map[string]string{
		"valid":          valid,
		"expired":        mint(stepuptest.Token{IssuedAt: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-30 * time.Minute)}),
		"wrong audience": mint(stepuptest.Token{Audience: []string{"https://other.example.com"}}),
		"wrong issuer":   mint(stepuptest.Token{Claims: map[string]any{"iss": "https://evil.example.com/"}}),
		"unknown kid":    mint(stepuptest.Token{Header: map[string]any{"kid": "kid-not-there"}}),
		"no typ":         mint(stepuptest.Token{Header: map[string]any{"typ": nil}}),
		"bad signature":  tampered,
		"not a jwt":      "not-a-jwt-token-secret",
	}
	tokens = append(tokens, all["not a jwt"])
	for _, tok := range all {
		for _, target := range []string{"/profile", "/admin/x"} {
			serve(s.mux, "GET", target, "Bearer "+tok)
		}
		serve(s.mux, "POST", "/transfer", "Bearer "+tok)
		serve(s.mux, "GET", "/profile", "Bearer "+tok, "Bearer "+tok)
		serve(chooser, "GET", "/choose", "Bearer "+tok)
		for _, method := range []string{"/bank.v1.Bank/Balance", "/bank.v1.Bank/Transfer", "/bank.v1.Admin/X", "/bank.v1.Bank/Unlisted"} {
			call(unary, method, "Bearer "+tok)
		}
		call(unary, "/bank.v1.Bank/Balance", "Bearer "+tok, "Bearer "+tok)
	}
	serve(s.mux, "GET", "/profile")
	call(unary, "/bank.v1.Bank/Balance")

	// Key-set events: rotation, a bad key, a failed fetch, an outage.
	if _, err := s.iss.Rotate(""); err != nil {
		t.Fatal(err)
	}
	if err := s.iss.AddRawKey([]byte(`{"kty":"oct","kid":"sym","k":"c2VjcmV0"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.remote.refresh(t); err != nil {
		t.Fatal(err)
	}
	s.outage(t)
	fresh := mint(stepuptest.Token{})
	if got := serve(s.mux, "GET", "/profile", "Bearer "+fresh); got != 503 {
		t.Errorf("outage: status %d, want 503", got)
	}
	s.remote.wait(t)
	if got := call(unary, "/bank.v1.Bank/Balance", "Bearer "+fresh); got != codes.Unavailable {
		t.Errorf("outage over gRPC: code %v, want Unavailable", got)
	}

	logs := out.String()
	for _, tok := range tokens {
		parts := strings.Split(tok, ".")
		for _, p := range append(parts, tok) {
			if len(p) >= 8 && strings.Contains(logs, p) {
				t.Errorf("logs contain (part of) a token: %q", p)
			}
		}
	}
	if strings.Contains(logs, subject) {
		t.Errorf("logs contain the subject %q", subject)
	}

	// The logs say what happened.
	var lines []map[string]any
	for line := range strings.Lines(logs) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		lines = append(lines, rec)
	}
	has := func(level, msg string, attrs map[string]string) bool {
		for _, rec := range lines {
			if rec["level"] != level || rec["msg"] != msg {
				continue
			}
			match := true
			for k, v := range attrs {
				if s, _ := rec[k].(string); s != v {
					match = false
				}
			}
			if match {
				return true
			}
		}
		return false
	}
	for _, tt := range []struct {
		level, msg string
		attrs      map[string]string
	}{
		{"DEBUG", "httpmw: request allowed", map[string]string{"route": "GET /profile"}},
		{"DEBUG", "httpmw: request refused", map[string]string{"route": "GET /profile", "code": "invalid_token", "reason": "expired"}},
		{"DEBUG", "httpmw: request refused", map[string]string{"route": "GET /profile", "code": "invalid_token", "reason": "unknown_key"}},
		{"DEBUG", "httpmw: request refused", map[string]string{"route": "POST /transfer", "code": "insufficient_user_authentication", "acr_values": claims.ACRMultiFactor, "max_age": "300"}},
		{"DEBUG", "httpmw: request refused", map[string]string{"route": "GET /admin/", "code": "insufficient_scope", "scope": "admin"}},
		{"DEBUG", "httpmw: request refused", map[string]string{"route": "GET /profile", "code": "invalid_request"}},
		{"DEBUG", "httpmw: request refused", map[string]string{"route": "GET /profile", "code": "none"}},
		{"DEBUG", "httpmw: request refused", map[string]string{"route": "", "error": "chooser failed"}},
		{"DEBUG", "grpcmw: call allowed", map[string]string{"rule": "/bank.v1.Bank/Balance"}},
		{"DEBUG", "grpcmw: call refused", map[string]string{"rule": "/bank.v1.Admin/*", "code": "insufficient_scope"}},
		{"DEBUG", "grpcmw: call refused", map[string]string{"rule": "unlisted", "grpc_code": "PermissionDenied"}},
		{"DEBUG", "grpcmw: call refused", map[string]string{"rule": "/bank.v1.Bank/Balance", "grpc_code": "Unavailable"}},
		{"INFO", "jwks: key set changed", map[string]string{"issuer": "idp"}},
		{"WARN", "jwks: key rejected", map[string]string{"issuer": "idp", "kid": "sym"}},
		{"WARN", "jwks: fetch failed", map[string]string{"issuer": "idp", "result": "http_status"}},
		{"WARN", "jwks: keys unavailable, last good set too old", map[string]string{"issuer": "idp"}},
	} {
		if !has(tt.level, tt.msg, tt.attrs) {
			t.Errorf("no %s log %q with %v", tt.level, tt.msg, tt.attrs)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", logs)
	}
}

// TestNoDebugAtInfo: with loggers at Info, decisions are not logged; the
// first fetch's key set change is.
func TestNoDebugAtInfo(t *testing.T) {
	var out syncBuffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m, _ := newMetrics(t, metrics.WithLogger(logger))
	s := newStack(t, m, httpmw.WithLogger(logger))
	serve(s.mux, "GET", "/profile")
	serve(s.mux, "GET", "/profile", "Bearer "+s.mint(t, stepuptest.Token{}))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `level=INFO msg="jwks: key set changed"`) {
		t.Errorf("logs at Info: got %q, want only the key set change of the first fetch", lines)
	}
}

// TestNoTokenCodeAgrees: a request without a token is logged and counted
// under the same code.
func TestNoTokenCodeAgrees(t *testing.T) {
	var out syncBuffer
	logger := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, reg := newMetrics(t)
	s := newStack(t, m, httpmw.WithLogger(logger))
	serve(s.mux, "GET", "/profile")
	var rec struct{ Msg, Code string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &rec); err != nil || rec.Msg != "httpmw: request refused" {
		t.Fatalf("log: got %q (%v), want one refusal", out.String(), err)
	}
	if got := value(t, reg, "stepup_http_rejections_total", "route", "GET /profile", "code", rec.Code); got != 1 {
		t.Errorf("logged code=%q, but stepup_http_rejections_total{code=%q} is %v, want 1", rec.Code, rec.Code, got)
	}
}
