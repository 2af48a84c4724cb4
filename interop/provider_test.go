package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/stepupauth/stepup/claims"
)

// What provider.mjs is configured with (see its header comment).
const (
	audience        = "https://api.interop.test"
	appClientID     = "interop-app"
	serviceClientID = "interop-service"
	serviceSecret   = "interop-service-secret"
	mtlsClientID    = "interop-mtls-service"
	mtlsSecret      = "interop-mtls-service-secret"
	apiClientID     = "interop-api" // the API's own client: it may introspect
	apiSecret       = "interop-api-secret"
	redirectURI     = "http://127.0.0.1/callback"

	acrPassword = "urn:interop:acr:password"
	acrMFA      = claims.ACRMultiFactor

	// defaultSubject is the account the login driver logs in.
	defaultSubject = "alice"
)

// appScopes are the scopes the code-flow client asks for.
var appScopes = []string{"openid", "accounts", "transfer"}

// httpTimeout bounds every HTTP exchange of the tests.
const httpTimeout = 20 * time.Second

// signingKey is a private ES256 JWK for the provider.
type signingKey struct {
	kid string
	jwk json.RawMessage
}

func newSigningKey(t *testing.T, kid string) signingKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.Import(priv)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{jwk.KeyIDKey: kid, jwk.AlgorithmKey: "ES256", jwk.KeyUsageKey: "sig"} {
		if err := k.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: kid, jwk: b}
}

// provider is provider.mjs running on 127.0.0.1.
type provider struct {
	opts     providerOptions
	issuer   string
	port     int
	proc     *process
	authURL  string // from the discovery document
	tokenURL string
	// introspectionURL and revocationURL are the RFC 7662 and RFC 7009
	// endpoints of the discovery document.
	introspectionURL string
	revocationURL    string
	// client reaches the provider: http.DefaultClient, or one trusting
	// the test CA when the provider serves TLS.
	client *http.Client
}

// providerOptions are the provider.mjs settings a test may change (see the
// script's header comment).
type providerOptions struct {
	keys       []signingKey // the first signs; none: the script generates one
	dpopNonces bool         // the token endpoint demands DPoP nonces
	opaque     bool         // access tokens for the audience are opaque
	tls        *tlsFiles    // serve HTTPS with this certificate
}

// startProvider starts provider.mjs with keys (the first signs; none: the
// script generates one) on a free port.
func startProvider(t *testing.T, keys ...signingKey) *provider {
	t.Helper()
	return startProviderWith(t, providerOptions{keys: keys})
}

// startProviderWith starts provider.mjs with opts on a free port.
func startProviderWith(t *testing.T, opts providerOptions) *provider {
	t.Helper()
	p := &provider{opts: opts}
	p.start(t, 0, opts.keys)
	return p
}

// restart stops the provider and starts it again on the same port with
// keys: the issuer stays, the sessions and grants (in memory) are gone.
func (p *provider) restart(t *testing.T, keys ...signingKey) {
	t.Helper()
	if err := p.proc.stop(); err != nil {
		t.Fatalf("stopping the provider: %v", err)
	}
	p.start(t, p.port, keys)
}

func (p *provider) start(t *testing.T, port int, keys []signingKey) {
	t.Helper()
	cfg := map[string]any{"port": port, "audience": audience}
	p.client = http.DefaultClient
	if p.opts.dpopNonces {
		cfg["dpopNonces"] = true
	}
	if p.opts.opaque {
		cfg["opaque"] = true
	}
	if f := p.opts.tls; f != nil {
		cfg["tls"] = map[string]string{"cert": f.certFile, "key": f.keyFile}
		p.client = f.client(nil)
	}
	if len(keys) > 0 {
		jwks := make([]json.RawMessage, len(keys))
		for i, k := range keys {
			jwks[i] = k.jwk
		}
		cfg["keys"] = jwks
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	proc, issuer := startProcess(t, nodeBin, ".", []string{"INTEROP_PROVIDER=" + string(b)}, func(line string) (string, bool) {
		return strings.CutPrefix(line, "ready ")
	}, "provider.mjs")
	u, err := url.Parse(issuer)
	if err != nil {
		t.Fatalf("provider announced %q: %v", issuer, err)
	}
	if p.port, err = strconv.Atoi(u.Port()); err != nil {
		t.Fatalf("provider announced %q: %v", issuer, err)
	}
	if p.issuer != "" && p.issuer != issuer {
		t.Fatalf("restarted provider's issuer is %s, want %s", issuer, p.issuer)
	}
	p.issuer, p.proc = issuer, proc

	ctx, cancel := context.WithTimeout(t.Context(), httpTimeout)
	defer cancel()
	var meta struct {
		Issuer                string `json:"issuer"`
		AuthorizationEndpoint string `json:"authorization_endpoint"`
		TokenEndpoint         string `json:"token_endpoint"`
		IntrospectionEndpoint string `json:"introspection_endpoint"`
		RevocationEndpoint    string `json:"revocation_endpoint"`
	}
	if err := getJSON(ctx, p.client, issuer+"/.well-known/openid-configuration", &meta); err != nil {
		t.Fatalf("provider discovery: %v", err)
	}
	if meta.Issuer != issuer {
		t.Fatalf("discovery issuer = %q, want %q", meta.Issuer, issuer)
	}
	p.authURL, p.tokenURL = meta.AuthorizationEndpoint, meta.TokenEndpoint
	p.introspectionURL, p.revocationURL = meta.IntrospectionEndpoint, meta.RevocationEndpoint
}

// providerStats is GET /interop/stats.
type providerStats struct {
	JWKS       int    `json:"jwks"` // JWKS requests served by this process
	SigningKid string `json:"signingKid"`
}

func (p *provider) stats(t *testing.T) providerStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), httpTimeout)
	defer cancel()
	var s providerStats
	if err := getJSON(ctx, p.client, p.issuer+"/interop/stats", &s); err != nil {
		t.Fatalf("provider stats: %v", err)
	}
	return s
}

// appConfig is the x/oauth2 configuration of the public code-flow client.
func (p *provider) appConfig() *oauth2.Config {
	return &oauth2.Config{
		ClientID:    appClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: p.authURL, TokenURL: p.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: redirectURI,
		Scopes:      appScopes,
	}
}

// serviceConfig is the x/oauth2 client credentials configuration of the
// confidential service client.
func (p *provider) serviceConfig(scopes ...string) *clientcredentials.Config {
	return &clientcredentials.Config{
		ClientID:       serviceClientID,
		ClientSecret:   serviceSecret,
		TokenURL:       p.tokenURL,
		Scopes:         scopes,
		EndpointParams: url.Values{"resource": {audience}},
		AuthStyle:      oauth2.AuthStyleInHeader,
	}
}

// loginRequest is one authorization request: the RFC 9470 parameters a
// client sends, and what the provider's login driver should do when it has
// to log the user in (zero values: its defaults).
type loginRequest struct {
	ACRValues []string
	MaxAge    claims.MaxAge // the zero MaxAge sends none
	Prompt    string

	ACR      string    // interop_acr: the level the user logs in at
	AMR      []string  // interop_amr
	AuthTime time.Time // interop_auth_time: backdates the login

	// Options are more authorization request parameters, after the
	// above (stepupclient.Login.AuthCodeOptions).
	Options []oauth2.AuthCodeOption
}

// stepUpRequest is what an RFC 9470 client asks for after the challenge e:
// its acr_values and max_age, and prompt=login when the challenge has no
// max_age (oidc-provider treats acr_values as voluntary and would reuse
// the session's login otherwise).
func stepUpRequest(e *claims.Error) loginRequest {
	r := loginRequest{ACRValues: e.ACRValues, MaxAge: e.MaxAge}
	if _, ok := e.MaxAge.Seconds(); !ok {
		r.Prompt = "login"
	}
	return r
}

// browser is a user agent with a cookie jar that follows the provider's
// redirects and stops at the client's redirect URI: the tests' stand-in for
// a person at a login page.
type browser struct {
	p      *provider
	client *http.Client
}

func (p *provider) newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{p: p, client: &http.Client{
		Jar:     jar,
		Timeout: httpTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), redirectURI) {
				return http.ErrUseLastResponse
			}
			if len(via) >= 10 {
				return errors.New("more than 10 redirects")
			}
			return nil
		},
	}}
}

// login runs the authorization code flow with PKCE (S256) for the app
// client and returns its tokens (the ID token in Extra("id_token")).
func (b *browser) login(ctx context.Context, req loginRequest) (*oauth2.Token, error) {
	verifier := oauth2.GenerateVerifier()
	code, err := b.authorize(ctx, req, verifier)
	if err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: httpTimeout})
	tok, err := b.p.appConfig().Exchange(ctx, code, oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", audience))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	return tok, nil
}

// authorize is the front channel of the authorization code flow: the
// authorization request with the PKCE challenge of verifier, the login
// and consent, and the redirect to the client, whose code it returns.
func (b *browser) authorize(ctx context.Context, req loginRequest, verifier string) (string, error) {
	conf := b.p.appConfig()
	state := oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("resource", audience),
		oauth2.SetAuthURLParam("login_hint", defaultSubject),
	}
	if len(req.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(req.ACRValues, " ")))
	}
	if secs, ok := req.MaxAge.Seconds(); ok {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(secs, 10)))
	}
	if req.Prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", req.Prompt))
	}
	if req.ACR != "" {
		opts = append(opts, oauth2.SetAuthURLParam("interop_acr", req.ACR))
	}
	if len(req.AMR) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("interop_amr", strings.Join(req.AMR, " ")))
	}
	if !req.AuthTime.IsZero() {
		opts = append(opts, oauth2.SetAuthURLParam("interop_auth_time", strconv.FormatInt(req.AuthTime.Unix(), 10)))
	}

	opts = append(opts, req.Options...)

	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, conf.AuthCodeURL(state, opts...), nil)
	if err != nil {
		return "", err
	}
	resp, err := b.client.Do(hreq)
	if err != nil {
		return "", fmt.Errorf("authorization request: %w", err)
	}
	_ = resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || !strings.HasPrefix(loc.String(), redirectURI) {
		return "", fmt.Errorf("authorization request ended with %s at %s, not a redirect to the client", resp.Status, resp.Request.URL)
	}
	q := loc.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("authorization error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return "", fmt.Errorf("state %q, want %q", q.Get("state"), state)
	}
	return q.Get("code"), nil
}

// mustLogin is login that fails the test on error.
func (b *browser) mustLogin(t *testing.T, ctx context.Context, req loginRequest) *oauth2.Token {
	t.Helper()
	tok, err := b.login(ctx, req)
	if err != nil {
		t.Fatalf("login %+v: %v", req, err)
	}
	return tok
}

// idToken returns the ID token of a code-flow token response.
func idToken(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	s, _ := tok.Extra("id_token").(string)
	if s == "" {
		t.Fatal("token response without id_token")
	}
	return s
}

// unverifiedHeader decodes a JWS header, for assertions on what the
// provider sent (the library verifies; this does not).
func unverifiedHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	h, _, ok := strings.Cut(token, ".")
	if !ok {
		t.Fatalf("not a JWS: %.20q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWS header: %v", err)
	}
	return m
}

// getJSON GETs url and decodes a 200 JSON answer into v.
func getJSON(ctx context.Context, c *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// unverifiedClaims decodes a JWS payload, for assertions on what the
// provider issued (the library verifies; this does not).
func unverifiedClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %.20q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWS payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWS payload: %v", err)
	}
	return m
}

// confirmation returns member name of a token's cnf claim (RFC 7800), ""
// when there is none.
func confirmation(t *testing.T, token, name string) string {
	t.Helper()
	cnf, _ := unverifiedClaims(t, token)["cnf"].(map[string]any)
	s, _ := cnf[name].(string)
	return s
}
