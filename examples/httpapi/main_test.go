package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app"
	"github.com/stepupauth/stepup/examples/internal/app/apptest"
	"github.com/stepupauth/stepup/stepuptest"
)

const audience = "https://api.example.com"

// testPolicy is a policy for the issuer at iss; keys line is either empty
// (discovery) or a jwks_uri.
func testPolicy(iss, keys string) string {
	return `issuer: ` + iss + `
audience: ` + audience + `
` + keys + `
resource_metadata: https://api.example.com/.well-known/oauth-protected-resource
rules:
  - http: "GET /public"
    public: true
  - http: "GET /profile"
  - http: "POST /transfer"
    acr: [` + claims.ACRMultiFactor + `]
    max_age: 5m
  - http: "GET /items/{id}"
    scopes: [items]
`
}

// server is a run of the program in-process.
type server struct {
	url    string
	stdout *apptest.Buffer
	stderr *apptest.Buffer
	cancel context.CancelFunc
	done   chan error
}

// startServer runs the program with args plus -addr 127.0.0.1:0 and waits
// until it serves.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s := &server{stdout: &apptest.Buffer{}, stderr: &apptest.Buffer{}, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	go func() {
		s.done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), s.stdout, s.stderr, func(addr string) { ready <- addr })
	}()
	select {
	case addr := <-ready:
		s.url = "http://" + addr
	case err := <-s.done:
		cancel()
		t.Fatalf("run ended before serving: %v\nstderr:\n%s", err, s.stderr)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	return s
}

// stop cancels the run and returns its result.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
		return nil
	}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, method, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func newIssuer(t *testing.T) *stepuptest.Issuer {
	t.Helper()
	iss, err := app.NewDevIssuer(audience)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	return iss
}

func login(t *testing.T, iss *stepuptest.Issuer, lr stepuptest.LoginRequest) string {
	t.Helper()
	tok, err := iss.Login(context.Background(), lr)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSmoke(t *testing.T) {
	iss := newIssuer(t)
	for _, keys := range []struct{ name, line string }{
		{"discovery", ""},
		{"jwks_uri", "jwks_uri: " + iss.JWKSURL()},
	} {
		t.Run(keys.name, func(t *testing.T) {
			s := startServer(t, "-policy", apptest.WritePolicy(t, testPolicy(iss.Issuer(), keys.line)))
			password := login(t, iss, stepuptest.LoginRequest{})

			a := get(t, http.MethodGet, s.url+"/public", "")
			if a.status != http.StatusOK || strings.TrimSpace(a.body) != `{"route":"GET /public","public":true}` {
				t.Errorf("GET /public: %d %s, want 200 and the public JSON", a.status, a.body)
			}

			a = get(t, http.MethodGet, s.url+"/profile", password)
			var c app.Caller
			if err := json.Unmarshal([]byte(a.body), &c); a.status != http.StatusOK || err != nil {
				t.Fatalf("GET /profile: %d %s (%v), want 200 and the caller", a.status, a.body, err)
			}
			if c.Route != "GET /profile" || c.Subject != stepuptest.DefaultSubject || c.ACR != stepuptest.ACRPassword ||
				!slices.Equal(c.AMR, []string{"pwd"}) || c.AuthTime == 0 {
				t.Errorf("GET /profile caller %+v, want alice at the password level with auth_time", c)
			}

			a = get(t, http.MethodPost, s.url+"/transfer", password)
			checkChallenge(t, a, http.StatusUnauthorized, claims.Challenge{
				Realm: "stepup-example", Error: claims.CodeInsufficientUserAuthentication,
				ACRValues:        []string{claims.ACRMultiFactor},
				ResourceMetadata: "https://api.example.com/.well-known/oauth-protected-resource",
			})

			mfa := login(t, iss, stepuptest.LoginRequest{ACRValues: []string{claims.ACRMultiFactor}})
			if a := get(t, http.MethodPost, s.url+"/transfer", mfa); a.status != http.StatusOK {
				t.Errorf("POST /transfer with MFA: %d %s, want 200", a.status, a.body)
			}
			a = get(t, http.MethodGet, s.url+"/items/7", password)
			checkChallenge(t, a, http.StatusForbidden, claims.Challenge{
				Realm: "stepup-example", Error: claims.CodeInsufficientScope, Scope: []string{"items"},
				ResourceMetadata: "https://api.example.com/.well-known/oauth-protected-resource",
			})
			if a := get(t, http.MethodGet, s.url+"/profile", ""); a.status != http.StatusUnauthorized {
				t.Errorf("GET /profile without a token: %d, want 401", a.status)
			}

			for _, path := range []string{"/nope", "/profile/x", "/"} {
				if a := get(t, http.MethodGet, s.url+path, password); a.status != http.StatusNotFound {
					t.Errorf("GET %s: %d, want 404", path, a.status)
				}
			}

			a = get(t, http.MethodGet, s.url+"/metrics", "")
			if a.status != http.StatusOK || !strings.Contains(a.body, "go_goroutines") {
				t.Errorf("GET /metrics: %d, want 200 with Go metrics:\n%.300s", a.status, a.body)
			}
			for _, series := range []string{
				`stepup_http_rejections_total{code="insufficient_user_authentication",route="POST /transfer"}`,
				`stepup_http_rejections_total{code="none",route="GET /profile"}`,
				`stepup_token_verifications_total{outcome="valid",reason="none"}`,
				`stepup_jwks_fetches_total{issuer="` + iss.Issuer() + `",result="ok"}`,
			} {
				if !strings.Contains(a.body, series+" ") {
					t.Errorf("GET /metrics lacks %s", series)
				}
			}

			a = get(t, http.MethodGet, s.url+"/.well-known/oauth-protected-resource", "")
			var doc struct {
				Resource             string   `json:"resource"`
				AuthorizationServers []string `json:"authorization_servers"`
				ScopesSupported      []string `json:"scopes_supported"`
			}
			if err := json.Unmarshal([]byte(a.body), &doc); a.status != http.StatusOK || err != nil {
				t.Fatalf("metadata: %d %s (%v), want 200 JSON", a.status, a.body, err)
			}
			if doc.Resource != audience || !slices.Equal(doc.AuthorizationServers, []string{iss.Issuer()}) || !slices.Equal(doc.ScopesSupported, []string{"items"}) {
				t.Errorf("metadata %+v, want resource %s, server %s, scopes [items]", doc, audience, iss.Issuer())
			}

			if err := s.stop(t); err != nil {
				t.Errorf("run after cancel: %v, want nil", err)
			}
			if !strings.Contains(s.stderr.String(), "msg=refused") {
				t.Errorf("stderr lacks the refusal logs:\n%s", s.stderr)
			}
		})
	}
}

func checkChallenge(t *testing.T, a answer, status int, want claims.Challenge) {
	t.Helper()
	if a.status != status {
		t.Errorf("status %d, want %d (%s)", a.status, status, a.body)
	}
	chs, err := claims.ParseChallenges(a.header.Values("WWW-Authenticate")...)
	if err != nil || len(chs) != 1 {
		t.Fatalf("WWW-Authenticate %q: %d challenges, %v; want one", a.header.Values("WWW-Authenticate"), len(chs), err)
	}
	got := chs[0]
	got.Description = "" // fixed text of the library, not the example's
	want.Scheme = "Bearer"
	if got.String() != want.String() {
		t.Errorf("challenge %s\nwant      %s", got, want)
	}
}

// TestDev runs -dev on the demo policy and uses the printed tokens.
func TestDev(t *testing.T) {
	s := startServer(t, "-dev", "-policy", filepath.Join("..", "policies", "demo.yaml"))
	out := s.stdout.String()
	tokens := apptest.Exports(out)
	for _, name := range []string{"PASSWORD_TOKEN", "MFA_TOKEN", "KEY_TOKEN"} {
		if tokens[name] == "" {
			t.Fatalf("no %s in the output:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "curl -i -X POST "+s.url+"/transfer") {
		t.Errorf("output lacks the curl command of POST /transfer:\n%s", out)
	}
	tests := []struct {
		method, path, token string
		status              int
	}{
		{http.MethodGet, "/profile", "PASSWORD_TOKEN", http.StatusOK},
		{http.MethodPost, "/transfer", "PASSWORD_TOKEN", http.StatusUnauthorized},
		{http.MethodPost, "/transfer", "MFA_TOKEN", http.StatusOK},
		{http.MethodGet, "/admin/x", "MFA_TOKEN", http.StatusUnauthorized},
		{http.MethodGet, "/admin/x", "KEY_TOKEN", http.StatusOK},
	}
	for _, tt := range tests {
		if a := get(t, tt.method, s.url+tt.path, tokens[tt.token]); a.status != tt.status {
			t.Errorf("%s %s with %s: %d %s, want %d", tt.method, tt.path, tt.token, a.status, a.body, tt.status)
		}
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run after cancel: %v, want nil", err)
	}
}

func TestRunErrors(t *testing.T) {
	iss := newIssuer(t)
	good := apptest.WritePolicy(t, testPolicy(iss.Issuer(), ""))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no policy", nil, "-policy is required"},
		{"missing file", []string{"-policy", filepath.Join(t.TempDir(), "none.yaml")}, "no such file"},
		{"dev and issuer", []string{"-dev", "-issuer", iss.Issuer(), "-policy", good}, "exclude each other"},
		{"positional", []string{"-policy", good, "extra"}, "unexpected arguments"},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
		{"bad policy", []string{"-policy", apptest.WritePolicy(t, "issuer: x\n")}, "policy:"},
		{"route collides with /metrics", []string{"-policy", apptest.WritePolicy(t, testPolicy(iss.Issuer(), "")+"  - http: \"GET /metrics\"\n")}, "/metrics"},
		{"unreachable issuer", []string{"-issuer", "http://127.0.0.1:1", "-policy", good}, "discovering the keys"},
		{"busy address", []string{"-addr", strings.TrimPrefix(iss.URL(), "http://"), "-policy", good}, "address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var stderr apptest.Buffer
			err := run(ctx, tt.args, io.Discard, &stderr, func(string) { t.Error("ready called") })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		var stderr apptest.Buffer
		err := run(context.Background(), []string{"-h"}, io.Discard, &stderr, nil)
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-policy") {
			t.Errorf("run -h: %v, usage %q; want flag.ErrHelp and the usage", err, stderr.String())
		}
	})
}

func TestSamplePath(t *testing.T) {
	tests := []struct{ pattern, method, host, path string }{
		{"GET /profile", "GET", "", "/profile"},
		{"/admin/", "GET", "", "/admin/"},
		{"POST /items/{id}/tags/{rest...}", "POST", "", "/items/x/tags/x"},
		{"GET /{$}", "GET", "", "/"},
		{"GET api.example.com/v1/", "GET", "api.example.com", "/v1/"},
		{"DELETE  /x", "DELETE", "", "/x"},
	}
	for _, tt := range tests {
		m, h, p := samplePath(tt.pattern)
		if m != tt.method || h != tt.host || p != tt.path {
			t.Errorf("samplePath(%q) = %q, %q, %q; want %q, %q, %q", tt.pattern, m, h, p, tt.method, tt.host, tt.path)
		}
	}
}
