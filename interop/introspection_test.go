package interop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

// The in-process resource servers of the introspection tests, built with
// the library like the sender-constrained ones: an httpmw Guard on
// httptest (GET /profile: any valid token; POST /transfer: opaqueTransfer)
// and a grpcmw server of interop.v1.Caller (Whoami and Watch: any valid
// token; Transfer: opaqueTransfer). Their verifier sends the provider's
// opaque access tokens to an *introspect.Client (verify.Config.Introspector)
// and verifies JWTs with the provider's keys.
const opaqueRealm = "interop-opaque"

// opaqueTransfer is the requirement of their transfer: a multi-factor
// login.
var opaqueTransfer = claims.Requirement{ACR: []string{acrMFA}}

// The answers of those servers (RFC 6750 §3, RFC 9470 §3), exact.
var (
	wwwOpaqueInvalid = `Bearer realm="` + opaqueRealm + `", error="invalid_token", error_description="The access token is invalid"`
	wwwOpaqueStepUp  = `Bearer realm="` + opaqueRealm + `", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="` + acrMFA + `"`
)

// What httpmw and grpcmw answer during an outage (503 / Unavailable), exact.
const (
	unavailableBody    = `{"error_description":"token verification is temporarily unavailable"}`
	unavailableRetry   = "30" // httpmw.DefaultRetryAfter
	unavailableMessage = "grpcmw: token verification is temporarily unavailable"
)

// recorder is an http.RoundTripper over http.DefaultTransport that notes
// "METHOD path status" (or "METHOD path error") for every exchange, so a
// test can say which requests an introspection client made.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	note := r.Method + " " + r.URL.Path + " "
	if err != nil {
		note += "error"
	} else {
		note += strconv.Itoa(resp.StatusCode)
	}
	rec.mu.Lock()
	rec.seen = append(rec.seen, note)
	rec.mu.Unlock()
	return resp, err
}

// exchanges returns what the recorder noted so far.
func (rec *recorder) exchanges() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.seen)
}

// count returns how many exchanges were noted as want.
func (rec *recorder) count(want string) int {
	n := 0
	for _, s := range rec.exchanges() {
		if s == want {
			n++
		}
	}
	return n
}

// introspected is the recorder's note of an introspection request the
// provider answered.
const introspected = "POST /token/introspection 200"

// manualClock is a clock that moves only when told, for the cache's
// expiry.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// introspectConfig is the API's introspection client configuration at p:
// its credentials (client_secret_basic), the provider's issuer and the
// API's audience, both required in every answer, its requests through rec.
func introspectConfig(p *provider, rec *recorder) introspect.Config {
	return introspect.Config{
		Endpoint: p.introspectionURL, ClientID: apiClientID, ClientSecret: apiSecret,
		Issuer: p.issuer, RequireIssuer: true,
		Audience: audience, RequireAudience: true,
		HTTPClient: &http.Client{Transport: rec},
	}
}

// newIntrospector is introspect.New(cfg) and a Check, as a server does at
// start-up.
func newIntrospector(t *testing.T, ctx context.Context, cfg introspect.Config) *introspect.Client {
	t.Helper()
	ic, err := introspect.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ic.Check(ctx); err != nil {
		t.Fatalf("Check at %s: %v", cfg.Endpoint, err)
	}
	return ic
}

// newOpaqueVerifier verifies p's JWTs with its keys (found by discovery)
// and hands every other token to ic.
func newOpaqueVerifier(t *testing.T, ctx context.Context, p *provider, ic verify.Introspector) *verify.Verifier {
	t.Helper()
	keys, err := jwks.Discover(ctx, p.issuer, jwks.WithHTTPClient(p.client))
	if err != nil {
		t.Fatalf("jwks.Discover(%s): %v", p.issuer, err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	v, err := verify.New(keys, verify.Config{
		Issuer: p.issuer, Audience: audience,
		Algorithms: []string{"ES256"}, TokenTypes: []string{"at+jwt"},
		Introspector: ic,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// startOpaqueHTTP serves the httpmw Guard of the introspection tests on
// http://127.0.0.1:PORT and returns that URL.
func startOpaqueHTTP(t *testing.T, ctx context.Context, p *provider, ic verify.Introspector) string {
	t.Helper()
	g, err := httpmw.New(newOpaqueVerifier(t, ctx, p, ic), httpmw.WithRealm(opaqueRealm))
	if err != nil {
		t.Fatal(err)
	}
	mux, err := g.Mux([]httpmw.Route{
		{Pattern: "GET /profile", Handler: callerHandler()},
		{Pattern: "POST /transfer", Requirement: opaqueTransfer, Handler: callerHandler()},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// startOpaqueGRPC serves interop.v1.Caller behind grpcmw's interceptors
// on 127.0.0.1:PORT and returns the address.
func startOpaqueGRPC(t *testing.T, ctx context.Context, p *provider, ic verify.Introspector) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: methodWhoami},
		grpcmw.Rule{Method: methodWatch},
		grpcmw.Rule{Method: methodCallerTransfer, Requirement: opaqueTransfer},
	)
	if err != nil {
		t.Fatal(err)
	}
	icpt, err := grpcmw.New(newOpaqueVerifier(t, ctx, p, ic), m, grpcmw.WithRealm(opaqueRealm))
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}),
		grpc.UnaryInterceptor(icpt.Unary()), grpc.StreamInterceptor(icpt.Stream()))
	s.RegisterService(&callerService, nil)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// introspection is the provider's introspection answer (RFC 7662 §2.2).
type introspection struct {
	Active    bool     `json:"active"`
	Sub       string   `json:"sub"`
	ClientID  string   `json:"client_id"`
	Iss       string   `json:"iss"`
	Aud       string   `json:"aud"`
	Scope     string   `json:"scope"`
	TokenType string   `json:"token_type"`
	ACR       string   `json:"acr"`
	AMR       []string `json:"amr"`
	AuthTime  int64    `json:"auth_time"`
	Exp       int64    `json:"exp"`
	Iat       int64    `json:"iat"`
}

// postForm POSTs form to endpoint, with HTTP Basic credentials unless id
// is empty, and returns the status and body.
func postForm(t *testing.T, ctx context.Context, endpoint, id, secret string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	resp, err := (&http.Client{Timeout: httpTimeout}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("POST %s: reading the body: %v", endpoint, err)
	}
	return resp.StatusCode, string(body)
}

// introspectAsAPI asks p's introspection endpoint about token with the
// API's credentials, as the test's own witness of what the provider says,
// and returns the raw answer and its decoding.
func introspectAsAPI(t *testing.T, ctx context.Context, p *provider, token string) (string, introspection) {
	t.Helper()
	code, body := postForm(t, ctx, p.introspectionURL, apiClientID, apiSecret, url.Values{"token": {token}, "token_type_hint": {"access_token"}})
	if code != http.StatusOK {
		t.Fatalf("introspection: %d %s", code, body)
	}
	var in introspection
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatalf("introspection answer %s: %v", body, err)
	}
	return body, in
}

// revoke revokes the app client's access token at p (RFC 7009 §2.1; the
// public client authenticates with its client_id alone).
func revoke(t *testing.T, ctx context.Context, p *provider, token string) {
	t.Helper()
	code, body := postForm(t, ctx, p.revocationURL, "", "", url.Values{
		"token": {token}, "token_type_hint": {"access_token"}, "client_id": {appClientID},
	})
	if code != http.StatusOK || body != "" {
		t.Fatalf("revocation: %d %q, want 200 and no body", code, body)
	}
}

// opaqueLogin logs the user in (req) and returns the access token,
// failing the test unless it is opaque: not a JWS compact serialization.
func opaqueLogin(t *testing.T, ctx context.Context, b *browser, req loginRequest) string {
	t.Helper()
	tok := b.mustLogin(t, ctx, req).AccessToken
	if isJWS(tok) {
		t.Fatalf("access token %.20q… is a JWS, want an opaque token", tok)
	}
	return tok
}

// isJWS reports whether token has the form of a JWS compact serialization
// (three parts), the verifier's test for a JWT.
func isJWS(token string) bool { return strings.Count(token, ".") == 2 }

// wantActive fails the test unless in is the provider's answer for an
// active code-flow token of the app client, for the API, of a login at acr
// with amr.
func wantActive(t *testing.T, p *provider, in introspection, acr string, amr []string) {
	t.Helper()
	if !in.Active || in.Sub != defaultSubject || in.ClientID != appClientID || in.Iss != p.issuer || in.Aud != audience ||
		in.Scope != "accounts transfer" || in.TokenType != "Bearer" || in.ACR != acr || !slices.Equal(in.AMR, amr) ||
		in.AuthTime == 0 || in.Exp != in.Iat+600 {
		t.Fatalf("introspection %+v, want active, sub %s, client_id %s, iss %s, aud %s, scope %q, Bearer, acr %s, amr %q, an auth_time, exp = iat + 600",
			in, defaultSubject, appClientID, p.issuer, audience, "accounts transfer", acr, amr)
	}
}

// TestIntrospectionStepUpHTTP: oidc-provider issues opaque access tokens
// for the API (accessTokenFormat "opaque") and answers introspection with
// acr, amr and auth_time of the login (RFC 9470 §6.2). The httpmw Guard
// reads the claims of a password login's token from its introspection
// answer; the transfer route answers the exact step-up challenge; the
// client logs in again with its acr_values, and the retry passes with the
// new opaque token. A JWT (the ID token) goes to the keys, never to the
// introspection endpoint.
func TestIntrospectionStepUpHTTP(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProviderWith(t, providerOptions{opaque: true})
	rec := &recorder{}
	api := startOpaqueHTTP(t, ctx, p, newIntrospector(t, ctx, introspectConfig(p, rec)))
	hc := &http.Client{Timeout: httpTimeout}
	b := p.newBrowser(t)

	login := b.mustLogin(t, ctx, loginRequest{})
	tok := login.AccessToken
	if isJWS(tok) {
		t.Fatalf("access token %.20q… is a JWS, want an opaque token", tok)
	}
	_, in := introspectAsAPI(t, ctx, p, tok)
	wantActive(t, p, in, acrPassword, []string{"pwd"})

	r := sendAuth(t, ctx, hc, http.MethodGet, api+"/profile", "Bearer "+tok, "")
	want := caller{Route: "GET /profile", Sub: defaultSubject, ACR: acrPassword, AMR: []string{"pwd"}, AuthTime: in.AuthTime, Scope: "accounts transfer"}
	if r.status != http.StatusOK || !equalCaller(r.caller, want) {
		t.Fatalf("GET /profile: %d %q %+v, want 200 %+v", r.status, r.www, r.caller, want)
	}

	r = sendAuth(t, ctx, hc, http.MethodPost, api+"/transfer", "Bearer "+tok, "")
	if r.status != http.StatusUnauthorized || r.www != wwwOpaqueStepUp {
		t.Fatalf("POST /transfer with a password login: %d %q, want 401 %q", r.status, r.www, wwwOpaqueStepUp)
	}
	chs, err := claims.ParseChallenges(r.www)
	if err != nil || len(chs) != 1 {
		t.Fatalf("ParseChallenges(%q): %+v %v, want one challenge", r.www, chs, err)
	}
	// Two calls, one introspection (Check's, then this token's): the
	// second answer came from the cache.
	if got := rec.count(introspected); got != 2 {
		t.Errorf("%d introspection requests, want 2 (Check, then the token once); seen %q", got, rec.exchanges())
	}

	tok = opaqueLogin(t, ctx, b, stepUpRequest(chs[0].Err()))
	_, in = introspectAsAPI(t, ctx, p, tok)
	wantActive(t, p, in, acrMFA, []string{"pwd", "otp", "mfa"})
	r = sendAuth(t, ctx, hc, http.MethodPost, api+"/transfer", "Bearer "+tok, "")
	want = caller{Route: "POST /transfer", Sub: defaultSubject, ACR: acrMFA, AMR: []string{"pwd", "otp", "mfa"}, AuthTime: in.AuthTime, Scope: "accounts transfer"}
	if r.status != http.StatusOK || !equalCaller(r.caller, want) {
		t.Fatalf("POST /transfer after step-up: %d %q %+v, want 200 %+v", r.status, r.www, r.caller, want)
	}

	t.Run("JWT verified with the keys", func(t *testing.T) {
		before := rec.count(introspected)
		r := sendAuth(t, ctx, hc, http.MethodGet, api+"/profile", "Bearer "+idToken(t, login), "")
		if r.status != http.StatusUnauthorized || r.www != wwwOpaqueInvalid {
			t.Fatalf("the ID token as access token: %d %q, want 401 %q", r.status, r.www, wwwOpaqueInvalid)
		}
		if got := rec.count(introspected); got != before {
			t.Errorf("the ID token was introspected (%d requests, want %d): a JWT must be verified with the keys", got, before)
		}
	})
}

// equalCaller reports whether two caller answers are the same.
func equalCaller(a, b caller) bool {
	return a.Route == b.Route && a.Sub == b.Sub && a.ACR == b.ACR && slices.Equal(a.AMR, b.AMR) &&
		a.AuthTime == b.AuthTime && a.Scope == b.Scope
}

// TestIntrospectionStepUpGRPC: the same loop over gRPC with grpcmw: the
// opaque token of a password login calls Whoami (sub, acr and client_id
// from the introspection answer), Transfer is refused with the challenge
// in the www-authenticate metadata and the status message, which grpcmw's
// client interceptor turns into a *claims.Error; after the new login,
// Transfer passes.
func TestIntrospectionStepUpGRPC(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProviderWith(t, providerOptions{opaque: true})
	addr := startOpaqueGRPC(t, ctx, p, newIntrospector(t, ctx, introspectConfig(p, &recorder{})))
	cc, plain := dialGRPC(t, addr), dialPlainGRPC(t, addr)
	b := p.newBrowser(t)

	tok := opaqueLogin(t, ctx, b, loginRequest{})
	f, _, err := invokeAuth(ctx, cc, methodWhoami, "Bearer "+tok, "")
	if err != nil || f[1] != defaultSubject || f[2] != acrPassword || f[3] != appClientID {
		t.Fatalf("Whoami: %v %v, want %s at %s through %s", f, err, defaultSubject, acrPassword, appClientID)
	}

	// As sent: without grpcmw's client interceptor.
	_, header, err := invokeAuth(ctx, plain, methodCallerTransfer, "Bearer "+tok, "")
	if got := strings.Join(header.Get("www-authenticate"), "\n"); status.Code(err) != codes.Unauthenticated || got != wwwOpaqueStepUp || status.Convert(err).Message() != wwwOpaqueStepUp {
		t.Fatalf("Transfer with a password login: %v, www-authenticate %q, want Unauthenticated %q", err, got, wwwOpaqueStepUp)
	}
	// As a client acts on it: through the interceptor.
	_, _, err = invokeAuth(ctx, cc, methodCallerTransfer, "Bearer "+tok, "")
	var ce *claims.Error
	if !errors.As(err, &ce) || status.Code(err) != codes.Unauthenticated || ce.Code != claims.CodeInsufficientUserAuthentication || !slices.Equal(ce.ACRValues, []string{acrMFA}) {
		t.Fatalf("Transfer with a password login: %v, want an Unauthenticated insufficient_user_authentication *claims.Error asking for %s", err, acrMFA)
	}

	tok = opaqueLogin(t, ctx, b, stepUpRequest(ce))
	f, _, err = invokeAuth(ctx, cc, methodCallerTransfer, "Bearer "+tok, "")
	if err != nil || f[1] != defaultSubject || f[2] != acrMFA {
		t.Fatalf("Transfer after step-up: %v %v, want %s at %s", f, err, defaultSubject, acrMFA)
	}
}

// TestIntrospectionRevocation: a token revoked at the provider's
// revocation endpoint (RFC 7009) is refused by servers whose introspection
// client has NoCache at once, over HTTP and gRPC; servers whose client
// caches answers (CacheTTL 2 s, on a clock the test moves) keep accepting
// it until its entry ends, then refuse it: the revocation delay RFC 7662
// §4 leaves to the resource server, bounded by CacheTTL.
func TestIntrospectionRevocation(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProviderWith(t, providerOptions{opaque: true})
	tok := opaqueLogin(t, ctx, p.newBrowser(t), loginRequest{})

	// The clock starts after the token was issued, so that its iat is not
	// in the future of a clock that stands still.
	clock := &manualClock{now: time.Now()}
	const cacheTTL = 2 * time.Second
	cachedRec, uncachedRec := &recorder{}, &recorder{}
	cachedCfg := introspectConfig(p, cachedRec)
	cachedCfg.CacheTTL, cachedCfg.Now = cacheTTL, clock.Now
	uncachedCfg := introspectConfig(p, uncachedRec)
	uncachedCfg.NoCache = true
	cached, uncached := newIntrospector(t, ctx, cachedCfg), newIntrospector(t, ctx, uncachedCfg)

	type server struct {
		name string
		call func() (string, error) // the caller's sub, or the challenge
	}
	servers := func(ic *introspect.Client) []server {
		api := startOpaqueHTTP(t, ctx, p, ic)
		cc := dialPlainGRPC(t, startOpaqueGRPC(t, ctx, p, ic))
		hc := &http.Client{Timeout: httpTimeout}
		return []server{
			{"http", func() (string, error) {
				r := sendAuth(t, ctx, hc, http.MethodGet, api+"/profile", "Bearer "+tok, "")
				if r.status == http.StatusOK {
					return r.caller.Sub, nil
				}
				return "", errors.New(strconv.Itoa(r.status) + " " + r.www)
			}},
			{"grpc", func() (string, error) {
				f, header, err := invokeAuth(ctx, cc, methodWhoami, "Bearer "+tok, "")
				if err != nil {
					return "", errors.New(status.Code(err).String() + " " + strings.Join(header.Get("www-authenticate"), "\n"))
				}
				s, _ := f[1].(string)
				return s, nil
			}},
		}
	}
	cachedServers, uncachedServers := servers(cached), servers(uncached)
	refused := map[string]string{
		"http": "401 " + wwwOpaqueInvalid,
		"grpc": "Unauthenticated " + wwwOpaqueInvalid,
	}
	expect := func(label string, srvs []server, accepted bool) {
		t.Helper()
		for _, s := range srvs {
			sub, err := s.call()
			switch {
			case accepted && (err != nil || sub != defaultSubject):
				t.Errorf("%s, %s: %q %v, want the caller %s", label, s.name, sub, err, defaultSubject)
			case !accepted && (err == nil || err.Error() != refused[s.name]):
				t.Errorf("%s, %s: %q %v, want %q", label, s.name, sub, err, refused[s.name])
			}
		}
	}

	expect("before the revocation, cached", cachedServers, true)
	expect("before the revocation, no cache", uncachedServers, true)
	revoke(t, ctx, p, tok)
	if body, _ := introspectAsAPI(t, ctx, p, tok); body != `{"active":false}` {
		t.Fatalf("introspection of the revoked token: %s, want {\"active\":false}", body)
	}

	expect("right after the revocation, no cache", uncachedServers, false)
	expect("right after the revocation, cached", cachedServers, true)
	clock.advance(cacheTTL)
	expect("once the cache entry ended", cachedServers, false)

	// Check, then one request per call without the cache; Check, the
	// token's first call, and once again when its entry ended with it.
	if got := uncachedRec.count(introspected); got != 1+4 {
		t.Errorf("the NoCache client made %d introspection requests, want 5: %q", got, uncachedRec.exchanges())
	}
	if got := cachedRec.count(introspected); got != 1+2 {
		t.Errorf("the caching client made %d introspection requests, want 3: %q", got, cachedRec.exchanges())
	}
}

// TestIntrospectionOutage: with the provider stopped, a token the servers
// have not seen is answered 503 with Retry-After and no challenge over
// HTTP, Unavailable over gRPC: an outage, never a 401 that would send the
// client to log in again. Check then reports the outage, not refused
// credentials. A token whose answer is cached stays accepted until its
// entry ends.
func TestIntrospectionOutage(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProviderWith(t, providerOptions{opaque: true})
	ic := newIntrospector(t, ctx, introspectConfig(p, &recorder{}))
	api := startOpaqueHTTP(t, ctx, p, ic)
	cc := dialPlainGRPC(t, startOpaqueGRPC(t, ctx, p, ic))
	hc := &http.Client{Timeout: httpTimeout}
	b := p.newBrowser(t)
	seen := opaqueLogin(t, ctx, b, loginRequest{})
	unseen := opaqueLogin(t, ctx, b, loginRequest{})
	if r := sendAuth(t, ctx, hc, http.MethodGet, api+"/profile", "Bearer "+seen, ""); r.status != http.StatusOK {
		t.Fatalf("GET /profile before the outage: %d %q", r.status, r.www)
	}

	if err := p.proc.stop(); err != nil {
		t.Fatalf("stopping the provider: %v", err)
	}

	r := sendAuth(t, ctx, hc, http.MethodGet, api+"/profile", "Bearer "+unseen, "")
	if r.status != http.StatusServiceUnavailable || r.www != "" || r.retry != unavailableRetry || r.body != unavailableBody {
		t.Errorf("GET /profile during the outage: %d WWW-Authenticate %q Retry-After %q %s\nwant 503, no challenge, Retry-After %s, %s",
			r.status, r.www, r.retry, r.body, unavailableRetry, unavailableBody)
	}
	_, header, err := invokeAuth(ctx, cc, methodWhoami, "Bearer "+unseen, "")
	if status.Code(err) != codes.Unavailable || status.Convert(err).Message() != unavailableMessage || len(header.Get("www-authenticate")) != 0 {
		t.Errorf("Whoami during the outage: %v, www-authenticate %q, want Unavailable %q and no challenge", err, header.Get("www-authenticate"), unavailableMessage)
	}
	if r := sendAuth(t, ctx, hc, http.MethodGet, api+"/profile", "Bearer "+seen, ""); r.status != http.StatusOK || r.caller.Sub != defaultSubject {
		t.Errorf("GET /profile with the cached token during the outage: %d %q, want 200 (its entry has 5 minutes to run)", r.status, r.www)
	}
	if err := ic.Check(ctx); !errors.Is(err, claims.ErrUnavailable) || errors.Is(err, introspect.ErrClientAuth) {
		t.Errorf("Check during the outage: %v, want an error wrapping claims.ErrUnavailable and not ErrClientAuth", err)
	}
}

// TestIntrospectionClientAuth: the provider refuses an introspection
// client with a wrong secret (basic or post) or an unknown client_id
// (invalid_client), and Check says so at start-up: errors.Is(err,
// introspect.ErrClientAuth). A server started without Check answers a
// token 503, an outage, not 401. A client that authenticates but that the
// provider's allowedPolicy does not let introspect the API's tokens learns
// only active false: invalid_token, reason inactive.
func TestIntrospectionClientAuth(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProviderWith(t, providerOptions{opaque: true})
	tok := opaqueLogin(t, ctx, p.newBrowser(t), loginRequest{})

	for _, tt := range []struct {
		name   string
		id     string
		secret string
		post   bool
	}{
		{"wrong secret, client_secret_basic", apiClientID, "not-" + apiSecret, false},
		{"wrong secret, client_secret_post", apiClientID, "not-" + apiSecret, true},
		{"unknown client", "interop-nobody", apiSecret, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := introspectConfig(p, &recorder{})
			cfg.ClientID, cfg.ClientSecret, cfg.SecretPost = tt.id, tt.secret, tt.post
			ic, err := introspect.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := ic.Check(ctx); !errors.Is(err, introspect.ErrClientAuth) || !errors.Is(err, claims.ErrUnavailable) {
				t.Fatalf("Check: %v, want an error wrapping introspect.ErrClientAuth and claims.ErrUnavailable", err)
			}
			r := sendAuth(t, ctx, &http.Client{Timeout: httpTimeout}, http.MethodGet, startOpaqueHTTP(t, ctx, p, ic)+"/profile", "Bearer "+tok, "")
			if r.status != http.StatusServiceUnavailable || r.www != "" || r.body != unavailableBody {
				t.Fatalf("GET /profile: %d %q %s, want 503 without a challenge, %s", r.status, r.www, r.body, unavailableBody)
			}
		})
	}

	t.Run("right credentials", func(t *testing.T) {
		ic := newIntrospector(t, ctx, introspectConfig(p, &recorder{}))
		cl, err := ic.Introspect(ctx, tok)
		if err != nil || cl.Subject != defaultSubject || cl.ACR != acrPassword {
			t.Fatalf("Introspect: %+v %v, want %s at %s", cl, err, defaultSubject, acrPassword)
		}
	})

	t.Run("not allowed to introspect", func(t *testing.T) {
		cfg := introspectConfig(p, &recorder{})
		cfg.ClientID, cfg.ClientSecret = serviceClientID, serviceSecret
		ic := newIntrospector(t, ctx, cfg) // its credentials are right
		_, err := ic.Introspect(ctx, tok)
		var ce *claims.Error
		var ie *introspect.Error
		if !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken || !errors.As(err, &ie) || ie.Reason != introspect.ReasonInactive {
			t.Fatalf("Introspect as %s: %v, want invalid_token, reason %s", serviceClientID, err, introspect.ReasonInactive)
		}
	})
}

// TestIntrospectionDiscover: introspect.Discover finds the provider's
// introspection_endpoint in its RFC 8414 metadata, which oidc-provider
// serves at /.well-known/oauth-authorization-server (so the OpenID
// Connect fallback is never asked), takes the issuer from it for the
// answers' iss, and the client it returns introspects a code-flow token.
func TestIntrospectionDiscover(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProviderWith(t, providerOptions{opaque: true})
	tok := opaqueLogin(t, ctx, p.newBrowser(t), loginRequest{ACR: acrMFA})

	rec := &recorder{}
	ic, err := introspect.Discover(ctx, p.issuer, introspect.Config{
		ClientID: apiClientID, ClientSecret: apiSecret,
		RequireIssuer: true, Audience: audience, RequireAudience: true,
		HTTPClient: &http.Client{Transport: rec},
	})
	if err != nil {
		t.Fatalf("introspect.Discover(%s): %v", p.issuer, err)
	}
	if err := ic.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
	cl, err := ic.Introspect(ctx, tok)
	if err != nil || cl.Subject != defaultSubject || cl.ACR != acrMFA || cl.Issuer != p.issuer || cl.ClientID != appClientID ||
		!slices.Equal(cl.Audience, []string{audience}) || !slices.Equal(cl.AMR, []string{"pwd", "otp", "mfa"}) || cl.AuthTime.IsZero() {
		t.Fatalf("Introspect: %+v %v, want %s at %s through %s, iss %s, aud %s", cl, err, defaultSubject, acrMFA, appClientID, p.issuer, audience)
	}
	if p.introspectionURL != p.issuer+"/token/introspection" {
		t.Fatalf("discovery document's introspection_endpoint %s", p.introspectionURL)
	}
	want := []string{"GET /.well-known/oauth-authorization-server 200", introspected, introspected}
	if got := rec.exchanges(); !slices.Equal(got, want) {
		t.Errorf("requests %q, want %q", got, want)
	}
}
