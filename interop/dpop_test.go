package interop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
)

// senderResult is one answer of a sender-constrained resource server.
type senderResult struct {
	status int
	www    string // the WWW-Authenticate values, one a line
	nonce  string // DPoP-Nonce
	retry  string // Retry-After
	body   string
	caller caller // 200 only
}

// sendAuth sends method url with the Authorization value auth and, unless
// empty, the DPoP proof, and returns the answer.
func sendAuth(t *testing.T, ctx context.Context, c *http.Client, method, url, auth, proof string) senderResult {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	r := senderResult{
		status: resp.StatusCode, body: string(body), nonce: resp.Header.Get("DPoP-Nonce"), retry: resp.Header.Get("Retry-After"),
		www: strings.Join(resp.Header.Values("WWW-Authenticate"), "\n"),
	}
	if r.status == http.StatusOK {
		if err := json.Unmarshal(body, &r.caller); err != nil {
			t.Fatalf("%s %s: 200 body %q: %v", method, url, body, err)
		}
	}
	return r
}

// dpopChallenge is the DPoP challenge of the sender-constrained servers
// for error code and description (RFC 9449 §7.1).
func dpopChallenge(code, description string) string {
	return `DPoP realm="` + senderRealm + `", error="` + code + `", error_description="` + description + `", ` + dpopAlgs
}

var (
	wwwNoToken      = `Bearer realm="` + senderRealm + `", DPoP realm="` + senderRealm + `", ` + dpopAlgs
	wwwInvalidToken = dpopChallenge("invalid_token", "The access token is invalid")
	wwwInvalidProof = dpopChallenge("invalid_dpop_proof", "The DPoP proof is invalid")
	wwwNeedsDPoP    = dpopChallenge("invalid_token", "A DPoP-bound access token is required")
	wwwUseNonce     = dpopChallenge("use_dpop_nonce", "Resource server requires nonce in DPoP proof")
	wwwStepUp       = `DPoP realm="` + senderRealm + `", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="` + acrMFA + `", ` + dpopAlgs
)

// TestDPoPHTTP: oidc-provider binds a client_credentials token to the key
// of dpop-client.mjs (cnf.jkt equal to jose's thumbprint, token_type DPoP)
// when the token request carries the client's proof, and an httpmw Guard
// accepts that token with the DPoP scheme and a proof by that key for the
// request's method and URL, once. Every other presentation is refused with
// RFC 9449 §7's exact challenge.
func TestDPoPHTTP(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	c := startDPoPClient(t)
	api := startDPoPHTTP(t, ctx, p, nil)
	hc := &http.Client{Timeout: httpTimeout}

	tok := c.serviceToken(t, ctx, p, "main")
	if got, want := confirmation(t, tok, "jkt"), c.jkt(t, ctx, "main"); got != want {
		t.Fatalf("cnf.jkt %q, want the client key's %q", got, want)
	}
	other := c.serviceToken(t, ctx, p, "main") // a second token bound to the same key
	bearer, err := p.serviceConfig("accounts").Token(ctx)
	if err != nil {
		t.Fatalf("client_credentials without DPoP: %v", err)
	}
	profile := api + "/profile"

	for _, tt := range []struct {
		name   string
		method string
		path   string
		auth   string
		proof  func() string
		status int
		header string
	}{
		{"DPoP token and its proof", "GET", "/profile", "DPoP " + tok,
			func() string { return c.proof(t, ctx, "main", "GET", profile, tok, "") }, 200, ""},
		{"no token: both schemes", "GET", "/profile", "", nil, 401, wwwNoToken},
		{"DPoP-bound token as Bearer", "GET", "/profile", "Bearer " + tok, nil, 401, wwwInvalidToken},
		{"DPoP-bound token as Bearer with its proof", "GET", "/profile", "Bearer " + tok,
			func() string { return c.proof(t, ctx, "main", "GET", profile, tok, "") }, 401, wwwInvalidToken},
		{"no proof", "GET", "/profile", "DPoP " + tok, nil, 401, wwwInvalidProof},
		{"proof for another URL", "GET", "/profile", "DPoP " + tok,
			func() string { return c.proof(t, ctx, "main", "GET", api+"/transfer", tok, "") }, 401, wwwInvalidProof},
		{"proof for another server", "GET", "/profile", "DPoP " + tok,
			func() string { return c.proof(t, ctx, "main", "GET", "https://api.interop.test/profile", tok, "") }, 401, wwwInvalidProof},
		{"proof for another method", "GET", "/profile", "DPoP " + tok,
			func() string { return c.proof(t, ctx, "main", "POST", profile, tok, "") }, 401, wwwInvalidProof},
		{"proof for another token", "GET", "/profile", "DPoP " + tok,
			func() string { return c.proof(t, ctx, "main", "GET", profile, other, "") }, 401, wwwInvalidProof},
		{"proof without ath", "GET", "/profile", "DPoP " + tok,
			func() string { return c.proof(t, ctx, "main", "GET", profile, "", "") }, 401, wwwInvalidProof},
		{"proof by another key", "GET", "/profile", "DPoP " + tok,
			func() string { return c.proof(t, ctx, "other", "GET", profile, tok, "") }, 401, wwwInvalidToken},
		{"bearer token as DPoP", "GET", "/profile", "DPoP " + bearer.AccessToken,
			func() string { return c.proof(t, ctx, "main", "GET", profile, bearer.AccessToken, "") }, 401, wwwInvalidToken},
		{"bearer token as Bearer", "GET", "/profile", "Bearer " + bearer.AccessToken, nil, 200, ""},
		{"bearer token where DPoP is demanded", "POST", "/transfer", "Bearer " + bearer.AccessToken, nil, 401, wwwNeedsDPoP},
	} {
		t.Run(tt.name, func(t *testing.T) {
			proof := ""
			if tt.proof != nil {
				proof = tt.proof()
			}
			r := sendAuth(t, ctx, hc, tt.method, api+tt.path, tt.auth, proof)
			if r.status != tt.status || r.www != tt.header {
				t.Fatalf("got %d %q (body %s)\nwant %d %q", r.status, r.www, r.body, tt.status, tt.header)
			}
			if r.status == 200 && r.caller.Sub != serviceClientID {
				t.Errorf("caller %+v, want sub %s", r.caller, serviceClientID)
			}
		})
	}

	t.Run("replayed proof", func(t *testing.T) {
		proof := c.proof(t, ctx, "main", "GET", profile, tok, "")
		for i, want := range []struct {
			status int
			header string
		}{{200, ""}, {401, wwwInvalidProof}} {
			r := sendAuth(t, ctx, hc, "GET", profile, "DPoP "+tok, proof)
			if r.status != want.status || r.www != want.header {
				t.Errorf("use %d of one proof: got %d %q, want %d %q", i+1, r.status, r.www, want.status, want.header)
			}
		}
	})
}

// invokeAuth calls a unary method of interop.v1.Caller with the
// authorization metadata auth and, unless empty, the dpop metadata proof,
// and returns the answer and the response header metadata.
func invokeAuth(ctx context.Context, cc *grpc.ClientConn, method, auth, proof string) (fields, metadata.MD, error) {
	md := metadata.MD{}
	if auth != "" {
		md.Append("authorization", auth)
	}
	if proof != "" {
		md.Append("dpop", proof)
	}
	var header metadata.MD
	var resp rawMessage
	if err := cc.Invoke(metadata.NewOutgoingContext(ctx, md), method, &rawMessage{}, &resp, grpc.Header(&header)); err != nil {
		return nil, header, err
	}
	f, err := decodeFields(resp.b)
	return f, header, err
}

// dialPlainGRPC connects to addr in plaintext without grpcmw's client
// interceptor: errors are the server's status as sent.
func dialPlainGRPC(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// watch opens interop.v1.Caller/Watch with the authorization metadata
// auth and the proof, and returns the messages it received.
func watch(ctx context.Context, cc *grpc.ClientConn, auth, proof string) ([]fields, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", auth, "dpop", proof)
	s, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, methodWatch)
	if err != nil {
		return nil, err
	}
	if err := s.SendMsg(&rawMessage{}); err != nil {
		return nil, err
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	var out []fields
	for {
		var m rawMessage
		if err := s.RecvMsg(&m); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return out, err
		}
		f, err := decodeFields(m.b)
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
}

// TestDPoPGRPC: the same token over gRPC, against grpcmw's interceptors:
// accepted with the DPoP scheme in the authorization metadata and a proof
// for POST and the public URL plus the full method in the dpop metadata,
// for a unary call and a server stream; refused as Bearer, with a proof
// for another method, for GET, by another key, or replayed, with the
// challenge in the www-authenticate metadata and the status message.
func TestDPoPGRPC(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	c := startDPoPClient(t)
	addr := startDPoPGRPC(t, ctx, p, nil)
	cc := dialPlainGRPC(t, addr)
	base := "http://" + addr
	whoami := base + methodWhoami

	tok := c.serviceToken(t, ctx, p, "main")
	for _, tt := range []struct {
		name   string
		auth   string
		proof  func() string
		header string // "": the call succeeds
	}{
		{"DPoP token and its proof", "DPoP " + tok, func() string { return c.proof(t, ctx, "main", "POST", whoami, tok, "") }, ""},
		{"no token: both schemes", "", nil, wwwNoToken},
		{"DPoP-bound token as Bearer", "Bearer " + tok, nil, wwwInvalidToken},
		{"no proof", "DPoP " + tok, nil, wwwInvalidProof},
		{"proof for another method", "DPoP " + tok, func() string { return c.proof(t, ctx, "main", "POST", base+methodWatch, tok, "") }, wwwInvalidProof},
		{"proof for GET", "DPoP " + tok, func() string { return c.proof(t, ctx, "main", "GET", whoami, tok, "") }, wwwInvalidProof},
		{"proof by another key", "DPoP " + tok, func() string { return c.proof(t, ctx, "other", "POST", whoami, tok, "") }, wwwInvalidToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			proof := ""
			if tt.proof != nil {
				proof = tt.proof()
			}
			f, header, err := invokeAuth(ctx, cc, methodWhoami, tt.auth, proof)
			if tt.header == "" {
				if err != nil || f[1] != serviceClientID {
					t.Fatalf("Whoami: %v %v, want the caller %s", f, err, serviceClientID)
				}
				return
			}
			got := strings.Join(header.Get("www-authenticate"), "\n")
			if status.Code(err) != codes.Unauthenticated || got != tt.header || status.Convert(err).Message() != tt.header {
				t.Fatalf("got %v, www-authenticate %q\nwant Unauthenticated %q", err, got, tt.header)
			}
		})
	}

	t.Run("replayed proof", func(t *testing.T) {
		proof := c.proof(t, ctx, "main", "POST", whoami, tok, "")
		if _, _, err := invokeAuth(ctx, cc, methodWhoami, "DPoP "+tok, proof); err != nil {
			t.Fatalf("first use: %v", err)
		}
		_, header, err := invokeAuth(ctx, cc, methodWhoami, "DPoP "+tok, proof)
		if got := strings.Join(header.Get("www-authenticate"), "\n"); status.Code(err) != codes.Unauthenticated || got != wwwInvalidProof {
			t.Fatalf("second use: %v %q, want Unauthenticated %q", err, got, wwwInvalidProof)
		}
	})

	t.Run("stream", func(t *testing.T) {
		got, err := watch(ctx, cc, "DPoP "+tok, c.proof(t, ctx, "main", "POST", base+methodWatch, tok, ""))
		if err != nil || len(got) != 2 || got[0][1] != serviceClientID {
			t.Fatalf("Watch with its proof: %v %v, want two messages for %s", got, err, serviceClientID)
		}
		_, err = watch(ctx, cc, "DPoP "+tok, c.proof(t, ctx, "main", "POST", whoami, tok, ""))
		if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != wwwInvalidProof {
			t.Fatalf("Watch with Whoami's proof: %v, want Unauthenticated %q", err, wwwInvalidProof)
		}
	})
}

// TestDPoPNonce: server nonces at both ends (RFC 9449 §8, §9). The
// provider demands one at its token endpoint (features.dPoP.nonceSecret,
// requireNonce): dpop-client.mjs gets use_dpop_nonce, retries with the
// DPoP-Nonce value, and is issued its token. The resource servers demand
// their own (dpop.Config{Nonces}): a proof without a nonce, or with one
// they did not issue, gets use_dpop_nonce and a fresh nonce in the
// DPoP-Nonce header (dpop-nonce metadata over gRPC); the retry with it
// passes.
func TestDPoPNonce(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProviderWith(t, providerOptions{dpopNonces: true})
	c := startDPoPClient(t)
	nonces := newNonces(t)
	api := startDPoPHTTP(t, ctx, p, nonces)
	addr := startDPoPGRPC(t, ctx, p, nonces)
	hc := &http.Client{Timeout: httpTimeout}

	tok, resp := c.token(t, ctx, p, "main", url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts"}, "resource": {audience}}, serviceClientID, serviceSecret)
	if resp.NonceRetries != 1 {
		t.Errorf("token request retried %d times with the provider's nonce, want once", resp.NonceRetries)
	}

	t.Run("http", func(t *testing.T) {
		profile := api + "/profile"
		for _, nonce := range []string{"", "made-up-nonce"} {
			r := sendAuth(t, ctx, hc, "GET", profile, "DPoP "+tok, c.proof(t, ctx, "main", "GET", profile, tok, nonce))
			if r.status != 401 || r.www != wwwUseNonce || r.nonce == "" {
				t.Fatalf("proof with nonce %q: got %d %q DPoP-Nonce %q, want 401 %q and a nonce", nonce, r.status, r.www, r.nonce, wwwUseNonce)
			}
			retry := sendAuth(t, ctx, hc, "GET", profile, "DPoP "+tok, c.proof(t, ctx, "main", "GET", profile, tok, r.nonce))
			if retry.status != 200 || retry.caller.Sub != serviceClientID {
				t.Fatalf("retry with the server's nonce: got %d %q, want 200", retry.status, retry.www)
			}
		}
	})

	t.Run("grpc", func(t *testing.T) {
		cc := dialPlainGRPC(t, addr)
		whoami := "http://" + addr + methodWhoami
		_, header, err := invokeAuth(ctx, cc, methodWhoami, "DPoP "+tok, c.proof(t, ctx, "main", "POST", whoami, tok, ""))
		nonce := strings.Join(header.Get("dpop-nonce"), "")
		if got := strings.Join(header.Get("www-authenticate"), "\n"); status.Code(err) != codes.Unauthenticated || got != wwwUseNonce || nonce == "" {
			t.Fatalf("proof without a nonce: %v %q dpop-nonce %q, want Unauthenticated %q and a nonce", err, got, nonce, wwwUseNonce)
		}
		if f, _, err := invokeAuth(ctx, cc, methodWhoami, "DPoP "+tok, c.proof(t, ctx, "main", "POST", whoami, tok, nonce)); err != nil || f[1] != serviceClientID {
			t.Fatalf("retry with the server's nonce: %v %v", f, err)
		}
	})
}

// TestDPoPStepUpHTTP: RFC 9470 over DPoP. The user logs in with a
// password; dpop-client.mjs redeems the code with its proof, so the
// code-flow token is bound to its key. The transfer route
// (Requirement{Binding: BindingDPoP, ACR: multi-factor}) answers the DPoP
// insufficient_user_authentication challenge; the client logs in again
// with its acr_values, keeping its key, and the retry passes.
func TestDPoPStepUpHTTP(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	c := startDPoPClient(t)
	api := startDPoPHTTP(t, ctx, p, nil)
	hc := &http.Client{Timeout: httpTimeout}
	b := p.newBrowser(t)
	jkt := c.jkt(t, ctx, "main")
	transfer := api + "/transfer"

	tok := c.login(t, ctx, b, "main", loginRequest{})
	if got := confirmation(t, tok, "jkt"); got != jkt {
		t.Fatalf("code-flow token cnf.jkt %q, want %q", got, jkt)
	}
	r := sendAuth(t, ctx, hc, "GET", api+"/profile", "DPoP "+tok, c.proof(t, ctx, "main", "GET", api+"/profile", tok, ""))
	if r.status != 200 || r.caller.Sub != defaultSubject || r.caller.ACR != acrPassword {
		t.Fatalf("GET /profile: %d %q %+v, want 200 for %s at %s", r.status, r.www, r.caller, defaultSubject, acrPassword)
	}

	r = sendAuth(t, ctx, hc, "POST", transfer, "DPoP "+tok, c.proof(t, ctx, "main", "POST", transfer, tok, ""))
	if r.status != 401 || r.www != wwwStepUp {
		t.Fatalf("POST /transfer with a password login: %d %q, want 401 %q", r.status, r.www, wwwStepUp)
	}
	chs, err := claims.ParseChallenges(r.www)
	if err != nil || len(chs) != 1 || chs[0].Scheme != "DPoP" {
		t.Fatalf("ParseChallenges(%q): %+v %v, want one DPoP challenge", r.www, chs, err)
	}

	tok = c.login(t, ctx, b, "main", stepUpRequest(chs[0].Err()))
	if got := confirmation(t, tok, "jkt"); got != jkt {
		t.Fatalf("step-up token cnf.jkt %q, want the same key's %q", got, jkt)
	}
	r = sendAuth(t, ctx, hc, "POST", transfer, "DPoP "+tok, c.proof(t, ctx, "main", "POST", transfer, tok, ""))
	if r.status != 200 || r.caller.ACR != acrMFA || !slices.Contains(r.caller.AMR, "mfa") {
		t.Fatalf("POST /transfer after step-up: %d %q %+v, want 200 at %s", r.status, r.www, r.caller, acrMFA)
	}
}

// TestDPoPStepUpGRPC: the same loop over gRPC: grpcmw's client interceptor
// returns the DPoP challenge as a *claims.Error (Scheme DPoP) with the
// acr_values, the client logs in again with its key, and the retried call
// passes.
func TestDPoPStepUpGRPC(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	c := startDPoPClient(t)
	addr := startDPoPGRPC(t, ctx, p, nil)
	cc := dialGRPC(t, addr)
	b := p.newBrowser(t)
	htu := "http://" + addr + methodCallerTransfer

	tok := c.login(t, ctx, b, "main", loginRequest{})
	_, header, err := invokeAuth(ctx, cc, methodCallerTransfer, "DPoP "+tok, c.proof(t, ctx, "main", "POST", htu, tok, ""))
	if got := strings.Join(header.Get("www-authenticate"), "\n"); got != wwwStepUp {
		t.Fatalf("Transfer with a password login: www-authenticate %q, want %q", got, wwwStepUp)
	}
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Scheme != "DPoP" || ce.Code != claims.CodeInsufficientUserAuthentication || !slices.Equal(ce.ACRValues, []string{acrMFA}) {
		t.Fatalf("Transfer with a password login: %v, want a DPoP insufficient_user_authentication *claims.Error asking for %s", err, acrMFA)
	}

	tok = c.login(t, ctx, b, "main", stepUpRequest(ce))
	f, _, err := invokeAuth(ctx, cc, methodCallerTransfer, "DPoP "+tok, c.proof(t, ctx, "main", "POST", htu, tok, ""))
	if err != nil || f[1] != defaultSubject || f[2] != acrMFA {
		t.Fatalf("Transfer after step-up: %v %v, want %s at %s", f, err, defaultSubject, acrMFA)
	}
}
