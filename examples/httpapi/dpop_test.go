package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/examples/internal/app/apptest"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/stepuptest"
)

// dpopChallenge is the challenge of the dpop.yaml policy's refusals.
func dpopChallenge(code, description string) string {
	return `DPoP realm="stepup-example", error="` + code + `", error_description="` + description +
		`", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource", algs="ES256 EdDSA"`
}

// send makes a request with an Authorization header and DPoP proofs.
func send(t *testing.T, method, url, auth string, proofs ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return answer{status: resp.StatusCode, header: resp.Header}
}

// TestDevDPoP runs -dev on the dpop policy: the printed DPoP-bound token
// and proof pass POST /transfer, once; the token as Bearer and a bearer
// token are refused with the DPoP challenges; the printed key signs more
// proofs.
func TestDevDPoP(t *testing.T) {
	s := startServer(t, "-dev", "-policy", filepath.Join("..", "policies", "dpop.yaml"))
	out := s.stdout.String()
	ex := apptest.Exports(out)
	for _, name := range []string{"DPOP_KEY", "DPOP_TOKEN", "DPOP_PROOF_TRANSFER", "MFA_TOKEN"} {
		if ex[name] == "" {
			t.Fatalf("no %s in the output:\n%s", name, out)
		}
	}
	for _, want := range []string{
		"# proof for POST https://api.example.com/transfer\n",
		`curl -i -X POST ` + s.url + `/transfer -H "Authorization: DPoP $DPOP_TOKEN" -H "DPoP: $DPOP_PROOF_TRANSFER"`,
		"is single-use and valid for 1m0s (max_age)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	tok := ex["DPOP_TOKEN"]
	tests := []struct {
		name   string
		method string
		path   string
		auth   string
		proofs []string
		status int
		header string
	}{
		{"bound token and the printed proof", "POST", "/transfer", "DPoP " + tok, []string{ex["DPOP_PROOF_TRANSFER"]}, 200, ""},
		{"the printed proof again", "POST", "/transfer", "DPoP " + tok, []string{ex["DPOP_PROOF_TRANSFER"]}, 401,
			dpopChallenge("invalid_dpop_proof", "The DPoP proof is invalid")},
		{"bound token as Bearer", "POST", "/transfer", "Bearer " + tok, nil, 401,
			dpopChallenge("invalid_token", "The access token is invalid")},
		{"bound token as Bearer, any-token route", "GET", "/profile", "Bearer " + tok, nil, 401,
			dpopChallenge("invalid_token", "The access token is invalid")},
		{"bearer token where DPoP is required", "POST", "/transfer", "Bearer " + ex["MFA_TOKEN"], nil, 401,
			dpopChallenge("invalid_token", "A DPoP-bound access token is required")},
		{"a new proof signed with DPOP_KEY", "POST", "/transfer", "DPoP " + tok,
			[]string{apptest.Proof(t, ex["DPOP_KEY"], "POST", "https://api.example.com/transfer", tok)}, 200, ""},
		{"a proof for the listening address, not public_url", "GET", "/profile", "DPoP " + tok,
			[]string{apptest.Proof(t, ex["DPOP_KEY"], "GET", s.url+"/profile", tok)}, 401,
			dpopChallenge("invalid_dpop_proof", "The DPoP proof is invalid")},
		{"bearer token elsewhere", "GET", "/profile", "Bearer " + ex["MFA_TOKEN"], nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, tt.method, s.url+tt.path, tt.auth, tt.proofs...)
			if a.status != tt.status || a.header.Get("WWW-Authenticate") != tt.header {
				t.Errorf("got %d %q\nwant %d %q", a.status, a.header.Get("WWW-Authenticate"), tt.status, tt.header)
			}
		})
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run after cancel: %v, want nil", err)
	}
}

// TestClientCertificates: with an mtls block trusting 127.0.0.1, a
// certificate-bound token passes with its certificate in the Client-Cert
// header (RFC 9440) of a loopback request, and is refused without it.
func TestClientCertificates(t *testing.T) {
	iss := newIssuer(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	doc := "issuer: " + iss.Issuer() + "\naudience: " + audience + `
mtls:
  trusted_proxies: [127.0.0.1/32, "::1/128"]
rules:
  - http: "POST /cert"
    sender_constraint: mtls
`
	s := startServer(t, "-policy", apptest.WritePolicy(t, doc))
	bound, err := iss.Mint(stepuptest.Token{Claims: map[string]any{"cnf": map[string]any{"x5t#S256": mtls.Thumbprint(cert)}}})
	if err != nil {
		t.Fatal(err)
	}
	do := func(clientCert string) int {
		req, err := http.NewRequest("POST", s.url+"/cert", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+bound)
		if clientCert != "" {
			req.Header.Set("Client-Cert", clientCert)
		}
		c := &http.Client{Transport: &http.Transport{}}
		defer c.CloseIdleConnections()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := do(":" + base64.StdEncoding.EncodeToString(der) + ":"); got != http.StatusOK {
		t.Errorf("with the certificate from a trusted proxy: %d, want 200", got)
	}
	if got := do(""); got != http.StatusUnauthorized {
		t.Errorf("without a certificate: %d, want 401", got)
	}
}
