package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

// now is the fixed time of every case (-now), so that outputs are stable.
var now = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

const entraTenant = "11111111-2222-3333-4444-555555555555"

// basePolicy is the policy most cases check against; ISSUER and URL are
// replaced by the test issuer's identifier and base URL.
const basePolicy = `issuer: ISSUER
audience: https://api.example.com
resource_metadata: https://api.example.com/.well-known/oauth-protected-resource
rules:
  - http: "GET /health"
    public: true
  - http: "GET /accounts"
  - http: "POST /transfer"
    grpc: /bank.v1.Bank/Transfer
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
    max_age: 5m
  - http: "GET /admin/"
    scopes: [admin, audit]
`

// checkGolden compares got with testdata/name.golden, or rewrites it with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run (cd cmd/stepup && go test . -update) to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s ((cd cmd/stepup && go test . -update) rewrites it)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func newIssuer(t *testing.T, opts ...stepuptest.Option) *stepuptest.Issuer {
	t.Helper()
	opts = append([]stepuptest.Option{stepuptest.WithAlgorithms("ES256"), stepuptest.WithClock(func() time.Time { return now.Add(-time.Minute) })}, opts...)
	iss, err := stepuptest.NewIssuer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	return iss
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// stable replaces what changes from run to run (the port, the kid) with
// fixed text.
func stable(iss *stepuptest.Issuer, s string) string {
	s = strings.ReplaceAll(s, iss.URL(), "http://127.0.0.1:PORT")
	if kid := iss.KeyID(""); kid != "" {
		s = strings.ReplaceAll(s, kid, "KID")
	}
	return s
}

func TestExplain(t *testing.T) {
	mfa := claims.ACRMultiFactor
	plain := newIssuer(t)
	auth0 := newIssuer(t, stepuptest.WithAuth0Shape(stepuptest.Auth0Shape{Namespace: "https://x.example/", RFC9068: true}))
	okta := newIssuer(t, stepuptest.WithOktaShape("default"))
	keycloak := newIssuer(t, stepuptest.WithKeycloakShape("bank"))
	entra := newIssuer(t, stepuptest.WithEntraShape(entraTenant))

	tests := []struct {
		name   string
		iss    *stepuptest.Issuer
		policy string // basePolicy when empty
		tok    stepuptest.Token
		tamper bool   // spoil the signature
		raw    string // the token, instead of minting tok
		args   []string
		status int
	}{
		{name: "allowed", iss: plain, args: []string{"-route", "POST /transfer"}, status: exitOK,
			tok: stepuptest.Token{ACR: mfa, AMR: []string{"pwd", "otp"}, AuthTime: now.Add(-2 * time.Minute), JTI: "j1"}},
		{name: "stepup_acr", iss: plain, args: []string{"-route", "POST /transfer"}, status: exitRefused,
			tok: stepuptest.Token{ACR: stepuptest.ACRPassword, AuthTime: now.Add(-2 * time.Minute), JTI: "j2"}},
		{name: "all_rules", iss: plain, status: exitRefused,
			tok: stepuptest.Token{ACR: stepuptest.ACRPassword, AuthTime: now.Add(-2 * time.Minute), Scopes: []string{"read"}, JTI: "j3"}},
		{name: "max_age", iss: plain, args: []string{"-method", "/bank.v1.Bank/Transfer"}, status: exitRefused,
			tok: stepuptest.Token{ACR: mfa, AuthTime: now.Add(-2*time.Hour - 3*time.Minute), JTI: "j4"}},
		{name: "scope_missing", iss: plain, args: []string{"-route", "GET /admin/users"}, status: exitRefused,
			tok: stepuptest.Token{Scopes: []string{"read", "admin"}, JTI: "j5"}},
		{name: "expired", iss: plain, args: []string{"-route", "GET /accounts"}, status: exitRefused,
			tok: stepuptest.Token{IssuedAt: now.Add(-90 * time.Minute), Expiry: now.Add(-time.Hour), JTI: "j6"}},
		{name: "not_yet_valid", iss: plain, args: []string{"-route", "GET /accounts"}, status: exitRefused,
			tok: stepuptest.Token{NotBefore: now.Add(10 * time.Minute), JTI: "j7"}},
		{name: "wrong_typ_keycloak", iss: keycloak, args: []string{"-route", "GET /accounts"}, status: exitRefused,
			tok: stepuptest.Token{JTI: "j8"}},
		{name: "no_typ_okta", iss: okta, args: []string{"-route", "GET /accounts"}, status: exitRefused,
			tok: stepuptest.Token{JTI: "j9"}},
		{name: "okta_profile_allowed", iss: okta, args: []string{"-route", "GET /accounts"}, status: exitOK,
			policy: "profile: {provider: okta, domain: URLHOST}\naudience: https://api.example.com\nrules:\n  - http: \"GET /accounts\"\n",
			tok:    stepuptest.Token{JTI: "j10"}},
		{name: "issuer_trailing_slash", iss: auth0, args: []string{"-route", "GET /accounts"}, status: exitRefused,
			policy: strings.Replace(basePolicy, "issuer: ISSUER", "issuer: URL", 1),
			tok:    stepuptest.Token{JTI: "j11"}},
		{name: "auth0_namespace", iss: auth0, args: []string{"-route", "POST /transfer"}, status: exitRefused,
			tok: stepuptest.Token{ACR: mfa, AuthTime: now.Add(-time.Minute), JTI: "j12"}},
		{name: "audience", iss: plain, args: []string{"-route", "GET /accounts"}, status: exitRefused,
			tok: stepuptest.Token{Audience: []string{"https://other.example.com"}, JTI: "j13"}},
		{name: "unknown_kid", iss: plain, args: []string{"-route", "GET /accounts"}, status: exitRefused,
			tok: stepuptest.Token{Header: map[string]any{"kid": "retired-2025"}, JTI: "j14"}},
		{name: "bad_signature", iss: plain, args: []string{"-route", "GET /accounts"}, status: exitRefused, tamper: true,
			tok: stepuptest.Token{JTI: "j15"}},
		{name: "not_a_jwt", iss: plain, args: []string{"-route", "GET /accounts"}, status: exitRefused,
			raw: "2YotnFZFEjr1zCsicMWpAA"},
		{name: "entra_auth_context", iss: entra, args: []string{"-route", "POST /invoices/7/approve"}, status: exitRefused,
			policy: "profile: {provider: entra, tenant_id: " + entraTenant + ", authority: URL}\naudience: https://api.example.com\nrules:\n  - http: \"POST /invoices/{id}/approve\"\n    auth_context: [c1]\n",
			tok:    stepuptest.Token{ACRS: []string{"c2"}, Claims: map[string]any{"xms_cc": []string{"cp1"}, "oid": "o1"}, JTI: "j16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := tt.policy
			if pol == "" {
				pol = basePolicy
			}
			pol = strings.NewReplacer("ISSUER", tt.iss.Issuer(), "URLHOST", strings.TrimPrefix(tt.iss.URL(), "http://"), "URL", tt.iss.URL()).Replace(pol)
			raw := tt.raw
			if raw == "" {
				var err error
				if raw, err = tt.iss.Mint(tt.tok); err != nil {
					t.Fatal(err)
				}
			}
			if tt.tamper {
				raw = raw[:len(raw)-4] + "AAAA"
			}
			args := append([]string{"explain", "-policy", writeFile(t, "policy.yaml", pol),
				"-jwks", writeFile(t, "jwks.json", string(tt.iss.JWKS())), "-now", now.Format(time.RFC3339)}, tt.args...)
			var stdout, stderr bytes.Buffer
			status := run(args, strings.NewReader(raw), &stdout, &stderr)
			if status != tt.status {
				t.Errorf("exit status: got %d, want %d; stderr: %s", status, tt.status, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: got %q, want nothing", stderr.String())
			}
			checkGolden(t, "explain_"+tt.name, stable(tt.iss, stdout.String()))
		})
	}
}

// TestExplainTokenFlag: -token gives the same answer as standard input.
func TestExplainTokenFlag(t *testing.T) {
	iss := newIssuer(t)
	raw, err := iss.Mint(stepuptest.Token{JTI: "j"})
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"explain", "-policy", writeFile(t, "p.yaml", strings.ReplaceAll(basePolicy, "ISSUER", iss.Issuer())),
		"-jwks", writeFile(t, "jwks.json", string(iss.JWKS())), "-now", now.Format(time.RFC3339), "-route", "GET /accounts"}
	var fromStdin, fromFlag bytes.Buffer
	if got := run(base, strings.NewReader("Bearer "+raw+"\n"), &fromStdin, &bytes.Buffer{}); got != exitOK {
		t.Fatalf("stdin: exit status %d, want 0:\n%s", got, fromStdin.String())
	}
	if got := run(append(base, "-token", raw), strings.NewReader(""), &fromFlag, &bytes.Buffer{}); got != exitOK {
		t.Fatalf("-token: exit status %d, want 0:\n%s", got, fromFlag.String())
	}
	if fromStdin.String() != fromFlag.String() {
		t.Errorf("-token output\n%s\ndiffers from stdin output\n%s", fromFlag.String(), fromStdin.String())
	}
}

func TestUsage(t *testing.T) {
	iss := newIssuer(t)
	pol := writeFile(t, "p.yaml", strings.ReplaceAll(basePolicy, "ISSUER", iss.Issuer()))
	keys := writeFile(t, "jwks.json", string(iss.JWKS()))
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no command", nil, "usage:"},
		{"unknown command", []string{"frobnicate"}, `stepup: unknown command "frobnicate"`},
		{"no policy", []string{"explain", "-token", "x"}, "stepup explain: -policy is required"},
		{"route and method", []string{"explain", "-policy", pol, "-token", "x", "-route", "GET /", "-method", "/a.B/C"}, "give -route or -method, not both"},
		{"bad now", []string{"explain", "-policy", pol, "-token", "x", "-now", "yesterday"}, "stepup explain: -now: "},
		{"no token", []string{"explain", "-policy", pol}, "stepup explain: no token"},
		{"no rule", []string{"explain", "-policy", pol, "-jwks", keys, "-token", "x", "-route", "DELETE /accounts"},
			"stepup explain: no rule takes DELETE /accounts: the middleware would deny it (fail closed)"},
		{"no method", []string{"explain", "-policy", pol, "-jwks", keys, "-token", "x", "-method", "/bank.v1.Bank/Audit"},
			"stepup explain: no rule takes /bank.v1.Bank/Audit"},
		{"lint without file", []string{"lint"}, "usage: stepup lint FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if got := run(tt.args, strings.NewReader(""), &bytes.Buffer{}, &stderr); got != exitUsage {
				t.Errorf("exit status: got %d, want %d", got, exitUsage)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}

func TestLint(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		status int
	}{
		{"good", `issuer: https://idp.example.com/
audience: https://api.example.com
rules:
  - http: "GET /health"
    public: true
  - http: "POST /transfer"
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
    max_age: 5m
`, exitOK},
		{"bad", `issuer: https://idp.example.com/
audience: https://api.example.com
acr_levels: [silver, gold]
rules:
  - http: "GET /reports"
    acr_min: platinum
`, exitRefused},
		{"warnings", `issuer: http://127.0.0.1:8080
audience: https://api.example.com
rules:
  - http: "POST /transfer"
    max_age: 10m
  - grpc: /bank.v1.Bank/Transfer
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
    max_age: 10m
`, exitOK},
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
