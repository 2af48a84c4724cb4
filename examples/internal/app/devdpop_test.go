package app

import (
	"context"
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/examples/internal/app/apptest"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
)

// TestOpenDPoP: the nonce secret comes from Config (the environment), is
// required with nonce: true outside -dev, and must be long enough.
func TestOpenDPoP(t *testing.T) {
	iss, err := NewDevIssuer("https://api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	doc := func(extra string) string {
		return "issuer: " + iss.Issuer() + "\naudience: https://api.example.com\n" + extra + "rules:\n  - http: POST /t\n    sender_constraint: dpop\n"
	}
	nonce := apptest.WritePolicy(t, doc("dpop: {public_url: https://api.example.com, nonce: true}\n"))
	plain := apptest.WritePolicy(t, doc("dpop: {public_url: https://api.example.com}\nmtls: {trusted_proxies: [10.0.0.7/32]}\n"))
	tests := []struct {
		name   string
		c      Config
		want   string // error; "" for success
		nonces bool
	}{
		{"nonce without a secret", Config{PolicyPath: nonce}, nonce + ": dpop nonce: true needs a nonce secret in $STEPUP_DPOP_NONCE_SECRET (at least 32 random bytes, the same on every instance)", false},
		{"nonce, short secret", Config{PolicyPath: nonce, NonceSecret: []byte("short")}, "$STEPUP_DPOP_NONCE_SECRET: policy: dpop nonce: dpop: invalid config: nonce secret of 5 bytes; use at least 32 random bytes", false},
		{"nonce, secret", Config{PolicyPath: nonce, NonceSecret: []byte(strings.Repeat("s", 32))}, "", true},
		{"nonce, -dev makes one up", Config{PolicyPath: nonce, Dev: true}, "", true},
		{"no nonce", Config{PolicyPath: plain}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Open(context.Background(), tt.c, discardLogger())
			if tt.want != "" {
				if err == nil || err.Error() != tt.want {
					t.Fatalf("Open: %v\nwant %s", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if a.DPoP == nil || (a.nonces != nil) != tt.nonces || (a.DevKey != nil) != tt.c.Dev {
				t.Errorf("DPoP %v nonces %v DevKey %v; want a verifier, nonces %v, a key with -dev only", a.DPoP, a.nonces, a.DevKey, tt.nonces)
			}
			if (a.Certs != nil) != (tt.c.PolicyPath == plain) {
				t.Errorf("Certs %v, want one exactly for the mtls block", a.Certs)
			}
		})
	}
}

func TestParseFlagsNonceSecret(t *testing.T) {
	t.Setenv(NonceSecretEnv, "from-the-environment")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c Config
	c.RegisterFlags(fs, "127.0.0.1:1", "realm")
	if err := c.ParseFlags(fs, []string{"-policy", "p.yaml"}); err != nil {
		t.Fatal(err)
	}
	if string(c.NonceSecret) != "from-the-environment" {
		t.Errorf("NonceSecret %q, want the environment's", c.NonceSecret)
	}
}

// TestDevDPoPNonce: with nonce: true, the printed proofs carry the
// server's nonce and the output says so.
func TestDevDPoPNonce(t *testing.T) {
	path := apptest.WritePolicy(t, `issuer: https://idp.example.com/
audience: https://api.example.com
dpop: {public_url: "https://api.example.com/v1/", nonce: true, algorithms: [EdDSA]}
rules:
  - http: POST /pay
    acr: [`+claims.ACRMultiFactor+`]
    sender_constraint: any
`)
	a, err := Open(context.Background(), Config{PolicyPath: path, Dev: true}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	d, err := a.DevDPoP([]string{"s"}, []DevRequest{{"POST", "/pay"}, {"GET", "/a/pay"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Token.ACR != claims.ACRMultiFactor || d.Key.Algorithm() != "EdDSA" || !d.Nonce {
		t.Errorf("token acr %q, key alg %q, nonce %v; want the rule's acr, EdDSA, true", d.Token.ACR, d.Key.Algorithm(), d.Nonce)
	}
	var names, urls []string
	for _, p := range d.Proofs {
		names, urls = append(names, p.Var), append(urls, p.URL)
	}
	if strings.Join(names, " ") != "DPOP_PROOF_PAY DPOP_PROOF_PAY_2" || strings.Join(urls, " ") != "https://api.example.com/v1/pay https://api.example.com/v1/a/pay" {
		t.Errorf("proofs %q for %q", names, urls)
	}
	c, err := a.Verifier.Verify(context.Background(), d.Token.Token)
	if err != nil {
		t.Fatalf("DPOP_TOKEN: %v", err)
	}
	if want := `{"jkt":"` + d.Key.JKT() + `"}`; string(c.Confirmation) != want {
		t.Errorf("DPOP_TOKEN cnf %s, want %s", c.Confirmation, want)
	}
	// The printed proof carries the nonce the server wants.
	if _, err := a.DPoP.Verify(context.Background(), d.Proofs[0].Proof, dpop.Request{Method: "POST", URL: d.Proofs[0].URL, AccessToken: d.Token.Token}); err != nil {
		t.Errorf("printed proof: %v", err)
	}
	var b strings.Builder
	PrintDevDPoP(&b, d)
	for _, want := range []string{"carry the server's current nonce", "# proof for GET https://api.example.com/v1/a/pay\nexport DPOP_PROOF_PAY_2='", "export DPOP_KEY='{"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
}

func TestDevDPoPACR(t *testing.T) {
	supported := []string{stepuptest.ACRPassword, claims.ACRMultiFactor, ACRPhishingResistant}
	rule := func(b claims.Binding, acr ...string) policy.Rule {
		return policy.Rule{Requirement: claims.Requirement{ACR: acr, Binding: b}}
	}
	tests := []struct {
		rules []policy.Rule
		want  string
	}{
		{[]policy.Rule{rule(claims.BindingNone, ACRPhishingResistant), rule(claims.BindingDPoP, "urn:unknown", ACRPhishingResistant)}, ACRPhishingResistant},
		{[]policy.Rule{rule(claims.BindingMTLS, ACRPhishingResistant)}, claims.ACRMultiFactor},
		{nil, claims.ACRMultiFactor},
	}
	for _, tt := range tests {
		if got := devDPoPACR(&policy.Policy{Rules: tt.rules}, supported); got != tt.want {
			t.Errorf("devDPoPACR(%v) = %q, want %q", tt.rules, got, tt.want)
		}
	}
	if got := devDPoPACR(&policy.Policy{}, []string{"1", "2"}); got != "1" {
		t.Errorf("devDPoPACR without built-in levels = %q, want the first", got)
	}
}

// TestDPoPPolicyShipped: examples/policies/dpop.yaml is the demo policy
// plus the dpop block and the transfer rule's sender constraint.
func TestDPoPPolicyShipped(t *testing.T) {
	demo, err := policy.Load(filepath.Join("..", "..", "policies", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Load(filepath.Join("..", "..", "policies", "dpop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if p.DPoP == nil || p.DPoP.PublicURL != p.Audience || p.DPoP.Nonce {
		t.Fatalf("dpop block %+v, want public_url = audience, no nonce", p.DPoP)
	}
	if len(p.Rules) != len(demo.Rules) {
		t.Fatalf("%d rules, want the demo's %d", len(p.Rules), len(demo.Rules))
	}
	for i, r := range p.Rules {
		want := demo.Rules[i].Requirement
		if r.HTTP == "POST /transfer" {
			want.Binding = claims.BindingDPoP
		}
		if r.HTTP != demo.Rules[i].HTTP || r.GRPC != demo.Rules[i].GRPC || Describe(r) != Describe(policy.Rule{Public: demo.Rules[i].Public, Requirement: want}) {
			t.Errorf("rules[%d] = %s%s %q, want the demo's with sender_constraint on the transfer", i, r.HTTP, r.GRPC, Describe(r))
		}
	}
}
