package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/stepuptest"
)

// opaquePolicy introspects opaque tokens at ENDPOINT.
const opaquePolicy = `issuer: https://as.example.com/
audience: https://api.example.com
introspection:
  endpoint: ENDPOINT
  client_id: api
  client_secret_env: STEPUP_EXPLAIN_TEST_SECRET
rules:
  - http: "GET /accounts"
  - http: "POST /transfer"
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
    max_age: 5m
`

const opaqueToken = "2YotnFZFEjr1zCsicMWpAA"

// answerJSON is an introspection answer with the given members over an
// active one of the policy's issuer and audience.
func answerJSON(t *testing.T, set map[string]any) string {
	t.Helper()
	m := map[string]any{
		"active": true, "iss": "https://as.example.com/", "aud": "https://api.example.com",
		"sub": "alice", "client_id": "bank-app", "scope": "read",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"acr": claims.ACRMultiFactor, "auth_time": now.Add(-2 * time.Minute).Unix(),
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExplainOpaque: an opaque token under a policy with an introspection
// block is said to be opaque, the endpoint's answer (a file, offline) is
// judged by the library's introspection client, and its refusals are
// explained in words.
func TestExplainOpaque(t *testing.T) {
	pol := strings.ReplaceAll(opaquePolicy, "ENDPOINT", "https://as.example.com/oauth2/introspect")
	tests := []struct {
		name   string
		answer map[string]any
		route  string
		status int
	}{
		{"opaque_allowed", nil, "POST /transfer", exitOK},
		{"opaque_stepup", map[string]any{"acr": stepuptest.ACRPassword}, "POST /transfer", exitRefused},
		{"opaque_inactive", map[string]any{"active": false}, "GET /accounts", exitRefused},
		{"opaque_expired", map[string]any{"exp": now.Add(-10 * time.Minute).Unix()}, "GET /accounts", exitRefused},
		{"opaque_audience", map[string]any{"aud": "https://other.example.com"}, "GET /accounts", exitRefused},
		{"opaque_issuer", map[string]any{"iss": "https://evil.example.com/"}, "GET /accounts", exitRefused},
		{"opaque_malformed", map[string]any{"active": "true"}, "GET /accounts", exitRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"explain", "-policy", writeFile(t, "policy.yaml", pol), "-now", now.Format(time.RFC3339),
				"-introspection", writeFile(t, "answer.json", answerJSON(t, tt.answer)), "-route", tt.route}
			var stdout, stderr bytes.Buffer
			if got := run(args, strings.NewReader(opaqueToken), &stdout, &stderr); got != tt.status {
				t.Errorf("exit status: got %d, want %d; stderr %s", got, tt.status, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: got %q, want nothing", stderr.String())
			}
			checkGolden(t, "explain_"+tt.name, stdout.String())
		})
	}
}

// TestExplainOpaqueOnline: without -introspection, explain asks the
// policy's endpoint with the secret of the environment variable it names,
// and says what to do when that variable is unset.
func TestExplainOpaqueOnline(t *testing.T) {
	var asked int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "api" || secret != "s3cret" || r.PostFormValue("token") != opaqueToken {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		asked++
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answerJSON(t, map[string]any{"acr": stepuptest.ACRPassword})))
	}))
	defer srv.Close()
	pol := writeFile(t, "policy.yaml", strings.ReplaceAll(opaquePolicy, "ENDPOINT", srv.URL+"/introspect"))
	args := []string{"explain", "-policy", pol, "-now", now.Format(time.RFC3339), "-route", "POST /transfer"}

	var stdout, stderr bytes.Buffer
	if got := run(args, strings.NewReader(opaqueToken), &stdout, &stderr); got != exitUsage {
		t.Errorf("no secret: exit status %d, want %d", got, exitUsage)
	}
	checkGolden(t, "explain_opaque_no_secret", stdout.String())

	t.Setenv("STEPUP_EXPLAIN_TEST_SECRET", "s3cret")
	stdout.Reset()
	if got := run(args, strings.NewReader(opaqueToken), &stdout, &stderr); got != exitRefused {
		t.Errorf("online: exit status %d, want %d; stderr %s", got, exitRefused, stderr.String())
	}
	if asked == 0 {
		t.Error("the endpoint was not asked")
	}
	checkGolden(t, "explain_opaque_online", stdout.String())
	if strings.Contains(stdout.String(), "s3cret") {
		t.Error("the output shows the client secret")
	}
}

// dpopPolicy accepts DPoP-bound tokens for https://api.example.com.
const dpopPolicy = `issuer: ISSUER
audience: https://api.example.com
dpop:
  public_url: https://api.example.com
  max_age: 1m
rules:
  - http: "GET /accounts"
  - http: "POST /transfer"
    sender_constraint: dpop
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
`

// TestExplainDPoP: a DPoP-bound token is explained with what a request
// needs; -dpop-proof checks one proof offline against the token and the
// request of -route (or -url) with the library's decision: key binding,
// ath, htm, htu, iat.
func TestExplainDPoP(t *testing.T) {
	iss := newIssuer(t)
	key, err := stepuptest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	other, err := stepuptest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	bound := func(k *stepuptest.DPoPKey, jti string) string {
		raw, err := iss.Mint(stepuptest.Token{ACR: claims.ACRMultiFactor, JTI: jti, Claims: map[string]any{"cnf": map[string]any{"jkt": k.JKT()}}})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	tok := bound(key, "d1")
	bearer, err := iss.Mint(stepuptest.Token{ACR: claims.ACRMultiFactor, JTI: "d2"})
	if err != nil {
		t.Fatal(err)
	}
	proof := func(k *stepuptest.DPoPKey, p stepuptest.DPoPProof) string {
		if p.IssuedAt.IsZero() {
			p.IssuedAt = now.Add(-5 * time.Second)
		}
		if p.JTI == "" {
			p.JTI = "proof-1"
		}
		s, err := k.Proof(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := stepuptest.DPoPProof{Method: "POST", URL: "https://api.example.com/transfer", AccessToken: tok}
	with := func(f func(*stepuptest.DPoPProof)) stepuptest.DPoPProof { p := good; f(&p); return p }
	// What changes from run to run: the keys, and the tokens (an ECDSA
	// signature is randomized), so the ath of each.
	vary := []string{key.JKT(), "JKT", other.JKT(), "OTHER-JKT", ath(tok), "ATH-OF-TOKEN", ath(bearer), "ATH-OF-BEARER-TOKEN"}
	for i, k := range []*stepuptest.DPoPKey{key, other} {
		var jwk map[string]string
		if err := json.Unmarshal(k.PrivateJWK(), &jwk); err != nil {
			t.Fatal(err)
		}
		vary = append(vary, jwk["x"], fmt.Sprintf("KEY%d-X", i+1), jwk["y"], fmt.Sprintf("KEY%d-Y", i+1))
	}
	jkts := strings.NewReplacer(vary...)

	tests := []struct {
		name   string
		policy string
		token  string
		args   []string
		status int
	}{
		{"dpop_bound_no_proof", dpopPolicy, tok, []string{"-route", "POST /transfer"}, exitOK},
		{"dpop_allowed", dpopPolicy, tok, []string{"-route", "POST /transfer", "-dpop-proof", proof(key, good)}, exitOK},
		{"dpop_wrong_key", dpopPolicy, tok, []string{"-route", "POST /transfer", "-dpop-proof", proof(other, good)}, exitRefused},
		{"dpop_htm", dpopPolicy, tok, []string{"-route", "POST /transfer", "-dpop-proof", proof(key, with(func(p *stepuptest.DPoPProof) { p.Method = "GET" }))}, exitRefused},
		{"dpop_htu", dpopPolicy, tok, []string{"-route", "POST /transfer", "-dpop-proof", proof(key, with(func(p *stepuptest.DPoPProof) { p.URL = "https://api.example.com/transfers" }))}, exitRefused},
		{"dpop_url_flag", dpopPolicy, tok, []string{"-route", "POST /transfer", "-url", "https://gw.example.com/bank/transfer",
			"-dpop-proof", proof(key, with(func(p *stepuptest.DPoPProof) { p.URL = "https://gw.example.com/bank/transfer" }))}, exitOK},
		{"dpop_ath", dpopPolicy, tok, []string{"-route", "POST /transfer", "-dpop-proof", proof(key, with(func(p *stepuptest.DPoPProof) { p.AccessToken = bearer }))}, exitRefused},
		{"dpop_iat", dpopPolicy, tok, []string{"-route", "POST /transfer", "-dpop-proof", proof(key, with(func(p *stepuptest.DPoPProof) { p.IssuedAt = now.Add(-10 * time.Minute) }))}, exitRefused},
		{"dpop_bearer_token", dpopPolicy, bearer, []string{"-route", "GET /accounts", "-dpop-proof", proof(key, stepuptest.DPoPProof{Method: "GET", URL: "https://api.example.com/accounts", AccessToken: bearer})}, exitRefused},
		{"dpop_no_block", basePolicy, tok, []string{"-route", "GET /accounts", "-dpop-proof", proof(key, stepuptest.DPoPProof{Method: "GET", URL: "https://api.example.com/accounts", AccessToken: tok})}, exitRefused},
		{"dpop_grpc", dpopPolicy + "  - grpc: /bank.v1.Bank/Transfer\n", tok, []string{"-method", "/bank.v1.Bank/Transfer",
			"-dpop-proof", proof(key, stepuptest.DPoPProof{Method: "POST", URL: "https://api.example.com/bank.v1.Bank/Transfer", AccessToken: tok})}, exitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := strings.ReplaceAll(tt.policy, "ISSUER", iss.Issuer())
			args := append([]string{"explain", "-policy", writeFile(t, "policy.yaml", pol),
				"-jwks", writeFile(t, "jwks.json", string(iss.JWKS())), "-now", now.Format(time.RFC3339)}, tt.args...)
			var stdout, stderr bytes.Buffer
			if got := run(args, strings.NewReader(tt.token), &stdout, &stderr); got != tt.status {
				t.Errorf("exit status: got %d, want %d; stderr %s", got, tt.status, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: got %q, want nothing", stderr.String())
			}
			checkGolden(t, "explain_"+tt.name, jkts.Replace(stable(iss, stdout.String())))
		})
	}
}

func TestExplainSenderUsage(t *testing.T) {
	pol := writeFile(t, "policy.yaml", strings.ReplaceAll(basePolicy, "ISSUER", "https://idp.example.com/"))
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-dpop-proof", "x.y.z"}, "-dpop-proof needs -route or -method"},
		{[]string{"-url", "https://api.example.com/x"}, "-url is the URL of a DPoP proof"},
		{[]string{"-introspection", "answer.json", "-route", "GET /accounts"}, "-introspection: the policy verifies this token with keys"},
	} {
		var stdout, stderr bytes.Buffer
		got := run(append([]string{"explain", "-policy", pol, "-token", "a.b.c"}, tt.args...), nil, &stdout, &stderr)
		if got != exitUsage || !strings.Contains(stderr.String(), tt.msg) {
			t.Errorf("%q: got %d, %q; want %d and %q", tt.args, got, stderr.String(), exitUsage, tt.msg)
		}
	}
}

// ath is the ath of a proof for token (RFC 9449 §4.2).
func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// TestExplainClientCert: a certificate-bound token is explained with the
// thumbprint its client certificate must have; -client-cert checks one by
// the library's decision.
func TestExplainClientCert(t *testing.T) {
	iss := newIssuer(t)
	certPEM := func() (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, "client.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))), mtls.Thumbprint(cert)
	}
	mine, x5t := certPEM()
	other, otherX5T := certPEM()
	tok, err := iss.Mint(stepuptest.Token{JTI: "c1", Claims: map[string]any{"cnf": map[string]any{"x5t#S256": x5t}}})
	if err != nil {
		t.Fatal(err)
	}
	vary := strings.NewReplacer(x5t, "X5T", otherX5T, "OTHER-X5T")
	for _, tt := range []struct {
		name   string
		args   []string
		status int
	}{
		{"cert_bound_no_cert", nil, exitOK},
		{"cert_allowed", []string{"-client-cert", mine}, exitOK},
		{"cert_other", []string{"-client-cert", other}, exitRefused},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"explain", "-policy", writeFile(t, "policy.yaml", strings.ReplaceAll(basePolicy, "ISSUER", iss.Issuer())),
				"-jwks", writeFile(t, "jwks.json", string(iss.JWKS())), "-now", now.Format(time.RFC3339), "-route", "GET /accounts"}, tt.args...)
			var stdout, stderr bytes.Buffer
			if got := run(args, strings.NewReader(tok), &stdout, &stderr); got != tt.status {
				t.Errorf("exit status: got %d, want %d; stderr %s", got, tt.status, stderr.String())
			}
			checkGolden(t, "explain_"+tt.name, vary.Replace(stable(iss, stdout.String())))
		})
	}
}
