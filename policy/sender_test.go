package policy_test

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
)

// TestDPoPConfig: the verifier built from testdata/full.yaml's dpop block
// enforces its algorithms and nonce, with the caller's secret.
func TestDPoPConfig(t *testing.T) {
	p, err := policy.Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secret := bytes.Repeat([]byte{7}, 32)
	cfg, err := p.DPoPConfig(secret)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Algorithms, []string{"ES256", "EdDSA"}) || cfg.MaxAge != 30*time.Second || cfg.Nonces == nil || cfg.Replay != nil || cfg.Now != nil {
		t.Errorf("DPoPConfig = %+v, want ES256 EdDSA, 30s, nonces, no Replay nor Now", cfg)
	}
	cfg.Algorithms[0] = "RS256"
	if p.DPoP.Algorithms[0] != "ES256" {
		t.Errorf("DPoPConfig shares Algorithms with the policy")
	}

	now := time.Unix(1_800_000_000, 0)
	cfg, _ = p.DPoPConfig(secret)
	cfg.Now = func() time.Time { return now }
	v, err := dpop.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://api.example.com/transfer"
	req := dpop.Request{Method: "POST", URL: url, AccessToken: "tok"}
	key, err := stepuptest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	proof, err := key.Proof(stepuptest.DPoPProof{Method: "POST", URL: url, AccessToken: "tok", IssuedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	var perr *dpop.Error
	if _, err := v.Verify(context.Background(), proof, req); !errors.As(err, &perr) || perr.Code != claims.CodeUseDPoPNonce {
		t.Fatalf("proof without a nonce: %v, want %s", err, claims.CodeUseDPoPNonce)
	}
	proof, _ = key.Proof(stepuptest.DPoPProof{Method: "POST", URL: url, AccessToken: "tok", IssuedAt: now, Nonce: cfg.Nonces.Issue()})
	if got, err := v.Verify(context.Background(), proof, req); err != nil || got.JKT != key.JKT() {
		t.Errorf("proof with the nonce: %+v, %v; want accepted for %s", got, err, key.JKT())
	}
	other, _ := stepuptest.NewDPoPKey("PS256")
	proof, _ = other.Proof(stepuptest.DPoPProof{Method: "POST", URL: url, AccessToken: "tok", IssuedAt: now, Nonce: cfg.Nonces.Issue()})
	if _, err := v.Verify(context.Background(), proof, req); !errors.As(err, &perr) || perr.Reason != dpop.ReasonAlgorithm {
		t.Errorf("PS256 proof: %v, want reason %q (not in algorithms)", err, dpop.ReasonAlgorithm)
	}
}

func TestDPoPConfigErrors(t *testing.T) {
	const nonce = head + "dpop: {public_url: https://api.example.com, nonce: true}\nrules: [{http: /a}]\n"
	const plain = head + "dpop: {public_url: https://api.example.com}\nrules: [{http: /a}]\n"
	tests := []struct {
		name, doc string
		secret    []byte
		want      string // "" for success
	}{
		{"no block", head + "rules: [{http: /a}]\n", nil, "policy: no dpop block"},
		{"nonce without secret", nonce, nil, "policy: dpop nonce: dpop: invalid config: nonce secret of 0 bytes; use at least 32 random bytes"},
		{"nonce, short secret", nonce, make([]byte, 31), "policy: dpop nonce: dpop: invalid config: nonce secret of 31 bytes; use at least 32 random bytes"},
		{"nonce, 32 bytes", nonce, make([]byte, 32), ""},
		{"no nonce, no secret", plain, nil, ""},
		{"no nonce, secret ignored", plain, make([]byte, 3), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := p.DPoPConfig(tt.secret)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("DPoPConfig: %v", err)
			case tt.want == "":
				if (cfg.Nonces != nil) != p.DPoP.Nonce {
					t.Errorf("Nonces %v with nonce %v", cfg.Nonces, p.DPoP.Nonce)
				}
				if cfg.Algorithms != nil || cfg.MaxAge != 0 {
					t.Errorf("DPoPConfig = %+v, want dpop's defaults (zero values)", cfg)
				}
			case err == nil || err.Error() != tt.want:
				t.Errorf("DPoPConfig: %v, want %q", err, tt.want)
			case p.DPoP != nil && !errors.Is(err, dpop.ErrConfig):
				t.Errorf("DPoPConfig: %v, want it to wrap dpop.ErrConfig", err)
			}
		})
	}
}

func TestMTLSConfig(t *testing.T) {
	p, err := policy.Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.MTLSConfig()
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.7/32"), netip.MustParsePrefix("2001:db8::/48")}
	if !reflect.DeepEqual(cfg, mtls.Config{TrustedProxies: want}) {
		t.Errorf("MTLSConfig = %+v, want %v", cfg, want)
	}
	if _, err := mtls.New(cfg); err != nil {
		t.Errorf("mtls.New: %v", err)
	}
	cfg.TrustedProxies[0] = netip.MustParsePrefix("192.0.2.0/24")
	if p.MTLS.TrustedProxies[0] != want[0] {
		t.Error("MTLSConfig shares TrustedProxies with the policy")
	}
	none, err := policy.Parse([]byte(head + "rules: [{http: /a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := none.MTLSConfig(); !reflect.DeepEqual(got, mtls.Config{}) {
		t.Errorf("MTLSConfig without a block = %+v, want the zero Config", got)
	}
}
