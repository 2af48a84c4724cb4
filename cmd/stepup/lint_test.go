package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/policy"
)

// TestLintList runs lint on a policy for each item of its list (golden
// outputs, line numbers included): unreachable rules (http prefixes whose
// every request a more specific rule takes; duplicates of http patterns and
// gRPC methods), public rules shadowing protected ones, acr_min without
// acr_levels, http issuers, methods in lower case.
func TestLintList(t *testing.T) {
	const head = "issuer: https://idp.example.com/\naudience: https://api.example.com\n"
	tests := []struct {
		name   string
		policy string
		status int
	}{
		{"unreachable", head + `rules:
  - http: "GET /docs/"
    public: true
  - http: "GET /accounts/"
    scopes: [accounts]
  - http: "GET /accounts/{$}"
  - http: "GET /accounts/{id}"
    scopes: [accounts]
  - http: "GET /accounts/{id}/{rest...}"
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
  - http: "/files/"
  - http: "GET /files/{name...}"
  - http: "example.com/reports/"
  - http: "/reports/{x}"
  - http: "/reports/{x}/"
  - http: "/reports/{$}"
`, exitOK},
		{"unreachable_public", head + `rules:
  - http: "/"
    public: true
    overrides_protected: true
  - http: "/{$}"
  - http: "/{x}"
  - http: "/{x}/"
    grpc: /bank.v1.Bank/*
`, exitOK},
		{"duplicate_http", head + `rules:
  - http: "POST /transfer"
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
  - http: "POST /transfer"
`, exitRefused},
		{"duplicate_grpc", head + `rules:
  - grpc: /bank.v1.Bank/Transfer
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
  - grpc: /bank.v1.Bank/*
  - grpc: /bank.v1.Bank/Transfer
    public: true
`, exitRefused},
		{"public_shadow", head + `rules:
  - http: "GET /admin/"
    scopes: [admin]
  - http: "GET /admin/{page}"
    public: true
`, exitRefused},
		{"public_shadow_grpc", head + `rules:
  - grpc: /bank.v1.Admin/*
    scopes: [admin]
  - grpc: /bank.v1.Admin/Status
    public: true
`, exitRefused},
		{"acr_min_without_levels", head + `rules:
  - http: "GET /reports"
    acr_min: urn:example:loa:2
`, exitRefused},
		{"http_issuer", `issuer: http://idp.example.com/
audience: https://api.example.com
rules:
  - http: "GET /accounts"
`, exitRefused},
		{"lower_case_method", head + `rules:
  - http: "get /accounts"
`, exitRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "policy.yaml")
			if err := os.WriteFile(path, []byte(tt.policy), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if got := run([]string{"lint", path}, nil, &stdout, &stderr); got != tt.status {
				t.Errorf("exit status: got %d, want %d", got, tt.status)
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: got %q, want nothing", stderr.String())
			}
			checkGolden(t, "lint_"+tt.name, strings.ReplaceAll(stdout.String(), dir, "DIR"))
		})
	}
}

// TestUnreachableProbe: the probe finds a prefix pattern unreachable
// exactly when a real ServeMux routes none of its requests to it, also for
// requests with literals of other patterns and deeper than any pattern.
func TestUnreachableProbe(t *testing.T) {
	tests := []struct {
		patterns []string
		want     bool // the first pattern is unreachable
	}{
		{[]string{"GET /a/", "GET /a/{$}", "GET /a/{x}", "GET /a/{x}/"}, true},
		{[]string{"GET /a/", "GET /a/{$}", "GET /a/{x}"}, false},            // /a/x/y
		{[]string{"GET /a/", "GET /a/{x}", "GET /a/{x}/"}, false},           // /a/
		{[]string{"/a/", "GET /a/{$}", "GET /a/{x}", "GET /a/{x}/"}, false}, // POST /a/
		{[]string{"/a/", "/a/{$}", "/a/{x}", "/a/{x}/"}, true},              // no method on either side
		{[]string{"HEAD /a/", "HEAD /a/{$}", "HEAD /a/{x}", "HEAD /a/{x}/"}, true},
		{[]string{"GET /a/", "HEAD /a/{$}", "HEAD /a/{x}", "HEAD /a/{x}/"}, false},         // GET /a/x
		{[]string{"h.example/a/", "/a/{$}", "/a/{x}", "/a/{x}/"}, false},                   // a host wins
		{[]string{"/a/", "h.example/a/{$}", "h.example/a/{x}", "h.example/a/{x}/"}, false}, // other hosts
		{[]string{"GET /a/", "GET /a/{$}", "GET /a/b", "GET /a/{x}/"}, false},              // /a/c
		{[]string{"GET /a/b/", "GET /a/{x}/"}, false},                                      // a literal is more specific
		{[]string{"GET /a/{x}/", "GET /a/b/"}, false},                                      // /a/c/
		{[]string{"GET /a/{r...}", "GET /a/{$}", "GET /a/{x}", "GET /a/{x}/{y...}"}, true},
		{[]string{"GET /a%2Fb/", "GET /a%2Fb/{$}", "GET /a%2Fb/{x}", "GET /a%2Fb/{x}/"}, true},
		{[]string{"GET /a/", "GET /a/{$}", "GET /a/{x}", "GET /a/{x}/", "GET /stepup-probe/"}, true},
	}
	for _, tt := range tests {
		mux := http.NewServeMux()
		var rules []policy.Rule
		for i, p := range tt.patterns {
			if !register(mux, policy.Rule{Index: i, HTTP: p}) {
				t.Fatalf("%q: %q conflicts: ServeMux refuses the table", tt.patterns, p)
			}
			rules = append(rules, policy.Rule{Index: i, Line: i + 1, HTTP: p})
		}
		ws := unreachable(rules)
		got := len(ws) > 0 && strings.Contains(ws[0], "rules[0] ")
		if got != tt.want {
			t.Errorf("%q: got unreachable %v (%q), want %v", tt.patterns, got, ws, tt.want)
		}
		for _, w := range ws {
			if !strings.Contains(w, "rules[0] ") {
				t.Errorf("%q: warning about another rule: %q", tt.patterns, w)
			}
		}
	}
}
