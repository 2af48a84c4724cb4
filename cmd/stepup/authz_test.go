package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/gateway"
	"github.com/stepupauth/stepup/stepuptest"
)

// authzPolicy is the policy of the gateway tests; ISSUER, AUDIENCE and
// JWKS are replaced by the test issuer's.
const authzPolicy = `issuer: ISSUER
audience: AUDIENCE
jwks_uri: JWKS
rules:
  - http: "GET /public"
    public: true
  - http: "GET /profile"
  - http: "POST /transfer"
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
    max_age: 5m
`

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// authzEnv is a running stepup authz with its issuer.
type authzEnv struct {
	iss        *stepuptest.Issuer
	policyPath string
	addrs      addrs
	hup        chan os.Signal
	log        *syncBuffer
	stop       func() error // cancels the server and returns serveAuthz's error
}

func writePolicy(t testing.TB, path string, iss *stepuptest.Issuer, policy string) {
	t.Helper()
	p := strings.NewReplacer("ISSUER", iss.Issuer(), "AUDIENCE", iss.Audience(), "JWKS", iss.JWKSURL()).Replace(policy)
	if err := os.WriteFile(path, []byte(p), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startAuthz starts serveAuthz on loopback ports, trusting 127.0.0.1 as a
// proxy, with the test issuer's policy.
func startAuthz(t testing.TB, iss *stepuptest.Issuer, mod func(*authzConfig)) *authzEnv {
	t.Helper()
	if iss == nil {
		var err error
		if iss, err = stepuptest.NewIssuer(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(iss.Close)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writePolicy(t, path, iss, authzPolicy)
	cfg, err := parseAuthzFlags([]string{"-policy", path, "-http", "127.0.0.1:0", "-grpc", "127.0.0.1:0",
		"-trusted-proxies", "127.0.0.1/32", "-realm", "api", "-shutdown-timeout", "5s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(cfg)
	}
	env := &authzEnv{iss: iss, policyPath: path, hup: make(chan os.Signal, 1), log: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan addrs, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveAuthz(ctx, cfg, slog.New(slog.NewTextHandler(env.log, nil)), env.hup, func(a addrs) { ready <- a })
	}()
	select {
	case env.addrs = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serveAuthz: %v\n%s", err, env.log)
	}
	var once sync.Once
	var stopErr error
	env.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(10 * time.Second):
				stopErr = fmt.Errorf("serveAuthz did not return after cancel")
			}
		})
		return stopErr
	}
	t.Cleanup(func() {
		if err := env.stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return env
}

func (e *authzEnv) mint(t testing.TB, tok stepuptest.Token) string {
	t.Helper()
	s, err := e.iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mfaToken(e *authzEnv, t testing.TB) string {
	return e.mint(t, stepuptest.Token{Subject: "alice", ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "otp"}, AuthTime: time.Now(), ClientID: "bank-app"})
}

func passwordToken(e *authzEnv, t testing.TB) string {
	return e.mint(t, stepuptest.Token{Subject: "alice", ACR: "urn:example:pwd", AMR: []string{"pwd"}, AuthTime: time.Now()})
}

// forward sends a forward-auth request as a proxy on 127.0.0.1 would.
func (e *authzEnv) forward(t testing.TB, method, uri, token string, extra map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+e.addrs.http+"/auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-Method", method)
	req.Header.Set("X-Forwarded-Uri", uri)
	req.Header.Set("X-Forwarded-Host", "api.example.com")
	req.Header.Set("X-Forwarded-Proto", "https")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func body(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, body(t, resp)
}

const wantStepUp = `Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"`

func TestAuthzForwardAuth(t *testing.T) {
	e := startAuthz(t, nil, nil)
	resp := e.forward(t, "POST", "/transfer", mfaToken(e, t), nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Stepup-Subject") != "alice" || resp.Header.Get("X-Stepup-Acr") != claims.ACRMultiFactor ||
		resp.Header.Get("X-Stepup-Amr") != "pwd otp" || resp.Header.Get("X-Stepup-Client-Id") != "bank-app" {
		t.Errorf("mfa: %d %v", resp.StatusCode, resp.Header)
	}
	resp = e.forward(t, "POST", "/transfer", passwordToken(e, t), nil)
	if resp.StatusCode != 401 || resp.Header.Get("Www-Authenticate") != wantStepUp {
		t.Errorf("password: %d %q", resp.StatusCode, resp.Header.Get("Www-Authenticate"))
	}
	if b := body(t, resp); !strings.Contains(b, `"error":"insufficient_user_authentication"`) || !strings.Contains(b, `"acr_values":"http://schemas.openid.net/pape/policies/2007/06/multi-factor"`) {
		t.Errorf("password body: %s", b)
	}
	resp = e.forward(t, "GET", "/profile", "", nil)
	if resp.StatusCode != 401 || resp.Header.Get("Www-Authenticate") != `Bearer realm="api"` {
		t.Errorf("no token: %d %q", resp.StatusCode, resp.Header.Get("Www-Authenticate"))
	}
	resp = e.forward(t, "GET", "/nowhere", mfaToken(e, t), nil)
	if resp.StatusCode != 403 || resp.Header.Get("X-Stepup-Subject") != "" {
		t.Errorf("unlisted: %d %v", resp.StatusCode, resp.Header)
	}
	// The refusal's log line names the rule and never holds the token.
	tok := passwordToken(e, t)
	e.forward(t, "POST", "/transfer", tok, nil)
	if l := e.log.String(); !strings.Contains(l, `rule="POST /transfer"`) || strings.Contains(l, tok) || strings.Contains(l, tok[strings.LastIndexByte(tok, '.')+1:]) {
		t.Errorf("log: %s", l)
	}
}

func TestAuthzHealthMetrics(t *testing.T) {
	e := startAuthz(t, nil, nil)
	if code, b := get(t, "http://"+e.addrs.http+"/healthz"); code != 200 || b != "ok\n" {
		t.Errorf("healthz: %d %q", code, b)
	}
	if code, b := get(t, "http://"+e.addrs.http+"/readyz"); code != 200 || b != "ok\n" {
		t.Errorf("readyz: %d %q", code, b)
	}
	e.forward(t, "POST", "/transfer", passwordToken(e, t), nil)
	e.forward(t, "POST", "/transfer", mfaToken(e, t), nil)
	code, m := get(t, "http://"+e.addrs.http+"/metrics")
	for _, want := range []string{
		`stepup_http_rejections_total{code="insufficient_user_authentication",route="POST /transfer"} 1`,
		`stepup_http_allowed_total{route="POST /transfer"} 1`,
		`stepup_jwks_keys{issuer="` + e.iss.Issuer() + `"}`,
		`go_goroutines`,
	} {
		if code != 200 || !strings.Contains(m, want) {
			t.Errorf("metrics: %d, no %q", code, want)
		}
	}
}

// TestAuthzKeysNotLoaded starts with the issuer's JWKS failing: the server
// runs, /healthz and /readyz say the keys are not loaded, and checks are 503.
func TestAuthzKeysNotLoaded(t *testing.T) {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	if err := iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.FaultDown}); err != nil {
		t.Fatal(err)
	}
	e := startAuthz(t, iss, func(c *authzConfig) { c.startTimeout = 2 * time.Second })
	if code, b := get(t, "http://"+e.addrs.http+"/healthz"); code != 503 || b != "keys not loaded\n" {
		t.Errorf("healthz: %d %q", code, b)
	}
	if code, _ := get(t, "http://"+e.addrs.http+"/readyz"); code != 503 {
		t.Errorf("readyz: %d", code)
	}
	resp := e.forward(t, "GET", "/profile", mfaToken(e, t), nil)
	if resp.StatusCode != 503 || resp.Header.Get("Www-Authenticate") != "" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("check: %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(e.log.String(), "keys not loaded") {
		t.Errorf("log: %s", e.log)
	}
}

func TestAuthzReload(t *testing.T) {
	e := startAuthz(t, nil, nil)
	if resp := e.forward(t, "GET", "/reports", mfaToken(e, t), nil); resp.StatusCode != 403 {
		t.Fatalf("before reload: %d", resp.StatusCode)
	}
	reloaded := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(e.log.String(), "reload") < n {
			if time.Now().After(deadline) {
				t.Fatalf("no reload logged:\n%s", e.log)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// A good file: its new rule is in force.
	writePolicy(t, e.policyPath, e.iss, authzPolicy+"  - http: \"GET /reports\"\n    scopes: [reports]\n")
	e.hup <- syscallHUP
	reloaded(1)
	resp := e.forward(t, "GET", "/reports", mfaToken(e, t), nil)
	if resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("Www-Authenticate"), `error="insufficient_scope"`) || !strings.Contains(resp.Header.Get("Www-Authenticate"), `scope="reports"`) {
		t.Errorf("after reload: %d %q", resp.StatusCode, resp.Header.Get("Www-Authenticate"))
	}
	// A bad file: the old policy stays, and the log says why.
	if err := os.WriteFile(e.policyPath, []byte("issuer: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.hup <- syscallHUP
	reloaded(2)
	if l := e.log.String(); !strings.Contains(l, "reload failed: keeping the policy in force") || !strings.Contains(l, "policy.yaml") {
		t.Errorf("log: %s", l)
	}
	resp = e.forward(t, "GET", "/reports", mfaToken(e, t), nil)
	if !strings.Contains(resp.Header.Get("Www-Authenticate"), `scope="reports"`) {
		t.Errorf("after a bad reload: %d %q", resp.StatusCode, resp.Header.Get("Www-Authenticate"))
	}
}

// TestAuthzGracefulShutdown cancels the server while a check waits on a
// slow JWKS fetch: the check completes, then serveAuthz returns nil and the
// port is closed.
func TestAuthzGracefulShutdown(t *testing.T) {
	iss, err := stepuptest.NewIssuer(stepuptest.WithSlowDelay(500 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	e := startAuthz(t, iss, nil)
	kid, err := e.iss.Rotate("ES256")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.FaultSlow}); err != nil {
		t.Fatal(err)
	}
	tok := e.mint(t, stepuptest.Token{KeyID: kid, Algorithm: "ES256"})
	got := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+e.addrs.http+"/auth", nil)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Host", "api.example.com")
		req.Header.Set("X-Forwarded-Uri", "/profile")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	time.Sleep(150 * time.Millisecond)
	if err := e.stop(); err != nil {
		t.Fatal(err)
	}
	if code := <-got; code != 200 {
		t.Errorf("in-flight check: %d, want 200", code)
	}
	if _, err := http.Get("http://" + e.addrs.http + "/healthz"); err == nil {
		t.Error("still listening after shutdown")
	}
}

func TestAuthzFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "-policy is required"},
		{[]string{"-policy", "p"}, "give -http"},
		{[]string{"-policy", "p", "-http", ":0"}, "-http needs -trusted-proxies"},
		{[]string{"-policy", "p", "-grpc", ":0", "-trusted-proxies", "10.0.0.1"}, "not a CIDR prefix"},
		{[]string{"-policy", "p", "-grpc", ":0", "x"}, "unexpected arguments"},
	} {
		if _, err := parseAuthzFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.args, err, tc.want)
		}
	}
	c, err := parseAuthzFlags([]string{"-policy", "p", "-grpc", ":0", "-header-subject", "X-User", "-allow-unlisted", "a.example, b.example"}, io.Discard)
	if err != nil || c.headers.Subject != "X-User" || c.headers.ACR != gateway.DefaultHeaders().ACR || fmt.Sprint(c.allowUnlisted) != "[a.example b.example]" {
		t.Errorf("got %+v, %v", c, err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"authz", "-policy", filepath.Join(t.TempDir(), "missing.yaml"), "-grpc", "127.0.0.1:0"}, nil, io.Discard, &stderr); code != exitRefused || !strings.Contains(stderr.String(), "missing.yaml") {
		t.Errorf("missing policy: exit %d, %s", code, &stderr)
	}
	stderr.Reset()
	if code := run([]string{"authz"}, nil, io.Discard, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "-policy is required") {
		t.Errorf("usage: exit %d, %s", code, &stderr)
	}
}

var syscallHUP os.Signal = syscall.SIGHUP

// TestAuthzAfterStop: a check that reaches the handlers after the last
// generation is retired (a shutdown that timed out) is 503, not a hang.
func TestAuthzAfterStop(t *testing.T) {
	s := &server{cfg: &authzConfig{}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	g := &generation{}
	s.cur.Store(g)
	g.retire()
	rec := httptest.NewRecorder()
	s.httpHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/auth", nil))
	if rec.Code != 503 {
		t.Errorf("forward auth after stop: %d", rec.Code)
	}
	got, err := (&extAuthz{s: s}).Check(context.Background(), checkRequest("GET", "/profile", "", nil))
	if err != nil || got.GetDeniedResponse().GetStatus().GetCode() != 503 || codes.Code(got.GetStatus().GetCode()) != codes.Unavailable {
		t.Errorf("ext_authz after stop: %v, %v", got, err)
	}
}
