package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

// The real-proxy tests start nginx and Caddy (Debian's packages, which
// .ci/run installs) as child processes on loopback ports, with the
// configurations of deploy/ (the README's), in front of a small upstream
// and stepup authz. Without the binary they skip, except under CI=true,
// where they fail.

func needBinary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
			if p := filepath.Join(dir, name); fileExists(p) {
				return p
			}
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed: .ci/run installs it with apt-get", name)
		}
		t.Skipf("%s is not installed (apt-get install %s); CI fails instead of skipping", name, name)
	}
	return path
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// upstream is the API behind the proxy: it records the identity headers
// of each request it serves.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	seen []http.Header
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.seen = append(u.seen, r.Header.Clone())
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"upstream": r.Method + " " + r.URL.RequestURI()})
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) last() (http.Header, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		return nil, 0
	}
	return u.seen[len(u.seen)-1], len(u.seen)
}

// deployConfig reads a configuration of deploy/ and points it at the
// test's addresses.
func deployConfig(t *testing.T, name, listen, authz, api string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("127.0.0.1:80 ", listen+" ", "127.0.0.1:80;", listen+";", "127.0.0.1:9000", authz, "127.0.0.1:8080", api).Replace(string(b))
}

// startProcess runs cmd until the test ends, and waits until addr accepts
// connections.
func startProcess(t *testing.T, cmd *exec.Cmd, addr string, logs func() string) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("%s exited: %v\n%s\n%s", cmd.Path, err, &out, logs())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s\n%s\n%s", cmd.Path, addr, &out, logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startNginx(t *testing.T, e *authzEnv, api string) string {
	bin := needBinary(t, "nginx")
	listen := freePort(t)
	prefix := t.TempDir()
	if err := os.Chmod(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	site := deployConfig(t, "nginx.conf", listen, e.addrs.http, strings.TrimPrefix(api, "http://"))
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[2]s
}
`, prefix, site)
	path := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	startProcess(t, exec.Command(bin, "-p", prefix, "-c", path, "-e", filepath.Join(prefix, "error.log")), listen, func() string {
		b, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
		return string(b)
	})
	return "http://" + listen
}

func startCaddy(t *testing.T, e *authzEnv, api string) string {
	bin := needBinary(t, "caddy")
	listen := freePort(t)
	dir := t.TempDir()
	site := deployConfig(t, "Caddyfile", listen, e.addrs.http, strings.TrimPrefix(api, "http://"))
	conf := "{\n\tadmin off\n\tauto_https off\n}\n\n" + site
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	startProcess(t, cmd, listen, func() string { return "" })
	return "http://" + listen
}

func TestNginx(t *testing.T) {
	needBinary(t, "nginx")
	e := startAuthz(t, nil, nil)
	up := newUpstream(t)
	proxyScenarios(t, e, up, startNginx(t, e, up.URL))
}

func TestCaddy(t *testing.T) {
	needBinary(t, "caddy")
	e := startAuthz(t, nil, nil)
	up := newUpstream(t)
	proxyScenarios(t, e, up, startCaddy(t, e, up.URL))
}

// answerHeaders are the headers of a refusal that must reach the client
// as stepup authz wrote them.
var answerHeaders = []string{"Www-Authenticate", "Content-Type", "Cache-Control", "Retry-After", "X-Content-Type-Options", "Dpop-Nonce"}

// proxyScenarios runs the scenarios through the proxy at base.
func proxyScenarios(t *testing.T, e *authzEnv, up *upstream, base string) {
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, token string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp, b.String()
	}
	// sameAnswer wants the proxy's answer to be stepup authz's own.
	sameAnswer := func(name string, resp *http.Response, b string, method, uri, token string, wantStatus int) {
		t.Helper()
		direct := e.forward(t, method, uri, token, nil)
		db := body(t, direct)
		if resp.StatusCode != wantStatus || direct.StatusCode != wantStatus {
			t.Errorf("%s: status via proxy %d, direct %d, want %d", name, resp.StatusCode, direct.StatusCode, wantStatus)
		}
		for _, k := range answerHeaders {
			if got, want := strings.Join(resp.Header.Values(k), "|"), strings.Join(direct.Header.Values(k), "|"); got != want {
				t.Errorf("%s: %s via proxy %q, direct %q", name, k, got, want)
			}
		}
		if b != db {
			t.Errorf("%s: body via proxy %q, direct %q", name, b, db)
		}
	}
	_, before := up.last()

	resp, b := do("GET", "/profile", "", nil)
	if resp.Header.Get("Www-Authenticate") != `Bearer realm="api"` {
		t.Errorf("no token: WWW-Authenticate %q", resp.Header.Get("Www-Authenticate"))
	}
	sameAnswer("no token", resp, b, "GET", "/profile", "", 401)

	pwd := passwordToken(e, t)
	resp, b = do("POST", "/transfer", pwd, nil)
	if resp.Header.Get("Www-Authenticate") != wantStepUp || !strings.Contains(b, `"acr_values":"`+claims.ACRMultiFactor+`"`) {
		t.Errorf("password: %q %s", resp.Header.Get("Www-Authenticate"), b)
	}
	sameAnswer("password token", resp, b, "POST", "/transfer", pwd, 401)

	// A client that names another route in forwarding headers does not get it.
	resp, b = do("POST", "/transfer", "", map[string]string{"X-Forwarded-Uri": "/public", "X-Original-URI": "/public", "X-Forwarded-Method": "GET", "X-Original-Method": "GET"})
	if resp.StatusCode != 401 {
		t.Errorf("forged route: %d %s", resp.StatusCode, b)
	}
	if _, n := up.last(); n != before {
		t.Fatalf("the upstream was reached by a refused request")
	}

	// Multi-factor: 200 from the upstream with the identity headers, and
	// the client's forged copies gone (amr: the token has none).
	mfa := e.mint(t, stepuptest.Token{Subject: "alice", ACR: claims.ACRMultiFactor, AuthTime: time.Now(), ClientID: "bank-app"})
	resp, b = do("POST", "/transfer?amount=5", mfa, map[string]string{"X-Stepup-Subject": "mallory", "X-Stepup-Amr": "hwk", "x-stepup-acr": "gold"})
	if resp.StatusCode != 200 || !strings.Contains(b, `"upstream":"POST /transfer?amount=5"`) {
		t.Fatalf("mfa: %d %s", resp.StatusCode, b)
	}
	seen, _ := up.last()
	if got := seen.Values("X-Stepup-Subject"); len(got) != 1 || got[0] != "alice" {
		t.Errorf("upstream subject: %q", got)
	}
	if got := seen.Values("X-Stepup-Acr"); len(got) != 1 || got[0] != claims.ACRMultiFactor {
		t.Errorf("upstream acr: %q", got)
	}
	if got := seen.Values("X-Stepup-Client-Id"); len(got) != 1 || got[0] != "bank-app" {
		t.Errorf("upstream client id: %q", got)
	}
	// Absent (nginx) or empty (Caddy copies the answer's empty header).
	if got := seen.Values("X-Stepup-Amr"); len(got) > 1 || len(got) == 1 && got[0] != "" {
		t.Errorf("upstream got the forged amr %q", got)
	}

	// A lookalike (X_Stepup_Subject, which CGI-style upstreams read as
	// X-Stepup-Subject) never reaches the upstream: nginx drops it, and
	// stepup authz refuses what Caddy passes on.
	_, before = up.last()
	resp, b = do("POST", "/transfer", mfa, map[string]string{"X_Stepup_Subject": "mallory"})
	if seen, n := up.last(); n != before {
		for k := range seen {
			if k != "X-Stepup-Subject" && strings.EqualFold(strings.ReplaceAll(k, "_", "-"), "X-Stepup-Subject") {
				t.Errorf("lookalike: the upstream got %s: %q", k, seen[k])
			}
		}
	} else if resp.StatusCode != 400 {
		t.Errorf("lookalike refused with %d %s, want 400", resp.StatusCode, b)
	}

	// Public: through, no identity.
	resp, _ = do("GET", "/public", "", map[string]string{"X-Stepup-Subject": "mallory"})
	seen, _ = up.last()
	if resp.StatusCode != 200 || seen.Get("X-Stepup-Subject") != "" {
		t.Errorf("public: %d, upstream subject %q", resp.StatusCode, seen.Get("X-Stepup-Subject"))
	}

	// Unlisted: 403 as stepup authz writes it.
	resp, b = do("GET", "/elsewhere", mfa, nil)
	sameAnswer("unlisted", resp, b, "GET", "/elsewhere", mfa, 403)

	// Keys unavailable: a token signed with a key the gateway has not seen
	// while the issuer's JWKS is down is 503 with Retry-After.
	kid, err := e.iss.Rotate("ES256")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.FaultDown}); err != nil {
		t.Fatal(err)
	}
	fresh := e.mint(t, stepuptest.Token{KeyID: kid, Algorithm: "ES256"})
	resp, b = do("GET", "/profile", fresh, nil)
	if resp.Header.Get("Retry-After") == "" || resp.Header.Get("Www-Authenticate") != "" {
		t.Errorf("unavailable: %v", resp.Header)
	}
	sameAnswer("keys unavailable", resp, b, "GET", "/profile", fresh, 503)
}
