package interop

import (
	"context"
	"encoding/json"
	"net/url"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// dpopClient is dpop-client.mjs, a DPoP client built on jose, running for
// one test: it holds the keys, asks the provider for DPoP-bound tokens and
// makes the proofs the test sends (see the script's header comment).
type dpopClient struct {
	proc *process
	mu   sync.Mutex // one request at a time: each answer is the next line
}

func startDPoPClient(t *testing.T) *dpopClient {
	t.Helper()
	proc, _ := startProcess(t, nodeBin, ".", nil, func(line string) (string, bool) {
		return "", line == "ready"
	}, "dpop-client.mjs")
	return &dpopClient{proc: proc}
}

// call sends req and decodes the answer into resp.
func (c *dpopClient) call(t *testing.T, ctx context.Context, req, resp any) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.proc.stdin.Write(append(b, '\n')); err != nil {
		t.Fatalf("dpop-client.mjs: writing a request: %v", err)
	}
	line, err := c.proc.nextLine(ctx)
	if err != nil {
		t.Fatalf("dpop-client.mjs: reading the answer: %v", err)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatalf("dpop-client.mjs answered %q: %v", line, err)
	}
	if e.Error != "" {
		t.Fatalf("dpop-client.mjs %s: %s", b, e.Error)
	}
	if err := json.Unmarshal([]byte(line), resp); err != nil {
		t.Fatalf("dpop-client.mjs answered %q: %v", line, err)
	}
}

// jkt returns the RFC 7638 thumbprint of key, as jose computes it.
func (c *dpopClient) jkt(t *testing.T, ctx context.Context, key string) string {
	t.Helper()
	var r struct {
		JKT string `json:"jkt"`
	}
	c.call(t, ctx, map[string]string{"op": "key", "key": key}, &r)
	if r.JKT == "" {
		t.Fatalf("dpop-client.mjs: key %s has no thumbprint", key)
	}
	return r.JKT
}

// proof returns a proof by key for htm and htu, with the ath of token and
// nonce when they are not empty.
func (c *dpopClient) proof(t *testing.T, ctx context.Context, key, htm, htu, token, nonce string) string {
	t.Helper()
	var r struct {
		Proof string `json:"proof"`
	}
	c.call(t, ctx, map[string]string{"op": "proof", "key": key, "htm": htm, "htu": htu, "token": token, "nonce": nonce}, &r)
	return r.Proof
}

// dpopTokenResponse is the token endpoint's answer to the script.
type dpopTokenResponse struct {
	Status int `json:"status"`
	Body   struct {
		AccessToken      string `json:"access_token"`
		TokenType        string `json:"token_type"`
		Scope            string `json:"scope"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	} `json:"body"`
	NonceRetries int `json:"nonceRetries"` // requests repeated with the server's DPoP-Nonce
}

// token makes the script POST params to the provider's token endpoint with
// a proof by key (and HTTP Basic client authentication when basic holds
// the id and secret), and returns a DPoP-bound access token: it fails the
// test unless the answer is 200 with token_type DPoP.
func (c *dpopClient) token(t *testing.T, ctx context.Context, p *provider, key string, params url.Values, basic ...string) (string, dpopTokenResponse) {
	t.Helper()
	form := map[string]string{}
	for k := range params {
		form[k] = params.Get(k)
	}
	req := map[string]any{"op": "token", "key": key, "url": p.tokenURL, "params": form}
	if len(basic) > 0 {
		req["basic"] = basic
	}
	var r dpopTokenResponse
	c.call(t, ctx, req, &r)
	if r.Status != 200 || r.Body.AccessToken == "" {
		t.Fatalf("token request (%s) with a DPoP proof: %d %s: %s", params.Get("grant_type"), r.Status, r.Body.Error, r.Body.ErrorDescription)
	}
	// RFC 9449 §5: a DPoP-bound token is issued with token_type DPoP.
	if r.Body.TokenType != "DPoP" {
		t.Fatalf("token_type %q, want DPoP", r.Body.TokenType)
	}
	return r.Body.AccessToken, r
}

// serviceToken is a client_credentials token of the service client bound
// to key.
func (c *dpopClient) serviceToken(t *testing.T, ctx context.Context, p *provider, key string) string {
	t.Helper()
	tok, _ := c.token(t, ctx, p, key, url.Values{
		"grant_type": {"client_credentials"}, "scope": {"accounts"}, "resource": {audience},
	}, serviceClientID, serviceSecret)
	return tok
}

// login runs the code flow with PKCE in b and redeems the code through the
// script, with a proof by key at the token endpoint: the access token is
// bound to key (RFC 9449 §5).
func (c *dpopClient) login(t *testing.T, ctx context.Context, b *browser, key string, req loginRequest) string {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	code, err := b.authorize(ctx, req, verifier)
	if err != nil {
		t.Fatalf("authorization %+v: %v", req, err)
	}
	tok, _ := c.token(t, ctx, b.p, key, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {redirectURI}, "client_id": {appClientID}, "resource": {audience},
	})
	return tok
}
