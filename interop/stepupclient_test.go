package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/stepupclient"
)

// The tests of package stepupclient against oidc-provider and the example
// servers: the client code below has no challenge handling. Its TokenFunc
// runs the code flow in the headless browser with exactly the parameters
// stepupclient.Login.AuthCodeOptions gives (acr_values, max_age, scope),
// plus prompt=login for a challenge without max_age (oidc-provider treats
// acr_values as voluntary and would reuse the session's login).

// follower is a stepupclient.Source whose logins go through the browser,
// with a record of the Logins.
type follower struct {
	src    *stepupclient.Source
	mu     sync.Mutex
	logins []stepupclient.Login
}

func newFollower(t *testing.T, b *browser, cfg stepupclient.Config, first loginRequest) *follower {
	t.Helper()
	f := &follower{}
	cfg.Scopes = appScopes
	cfg.Token = func(ctx context.Context, l stepupclient.Login) (*oauth2.Token, error) {
		f.mu.Lock()
		f.logins = append(f.logins, l)
		f.mu.Unlock()
		req := first
		if l.Refusal != nil {
			req = loginRequest{}
			if _, ok := l.MaxAge.Seconds(); !ok {
				req.Prompt = "login"
			}
		}
		req.Options = l.AuthCodeOptions()
		return b.login(ctx, req)
	}
	var err error
	if f.src, err = stepupclient.New(cfg); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *follower) calls() []stepupclient.Login {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.logins)
}

// countingProxy is a reverse proxy in front of target that counts the
// requests the API receives.
type countingProxy struct {
	*httptest.Server
	n atomic.Int64
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

func (f *follower) client(t *testing.T, origin string) *http.Client {
	t.Helper()
	tr, err := stepupclient.NewTransport(f.src, origin, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr, Timeout: 2 * httpTimeout}
}

// TestStepUpClientHTTP: password login, GET /profile, POST /transfer
// challenged and followed with the challenge's acr_values (exactly one
// retry, counted at the API), then a scope challenge on GET /admin/
// followed with the union of the scopes.
func TestStepUpClientHTTP(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	api := newCountingProxy(t, startHTTPAPI(t, p))
	f := newFollower(t, p.newBrowser(t), stepupclient.Config{}, loginRequest{})
	c := f.client(t, api.URL)

	r := callAPI(t, ctx, c, http.MethodGet, api.URL+"/profile")
	if r.status != http.StatusOK || r.caller.ACR != acrPassword {
		t.Fatalf("GET /profile: %d %s, want 200 at %s", r.status, r.body, acrPassword)
	}
	r = callAPI(t, ctx, c, http.MethodPost, api.URL+"/transfer")
	if r.status != http.StatusOK || r.caller.ACR != acrMFA || !slices.Contains(r.caller.AMR, "mfa") {
		t.Fatalf("POST /transfer: %d %s, want 200 at %s", r.status, r.body, acrMFA)
	}
	if n := api.n.Load(); n != 3 {
		t.Errorf("the API received %d requests, want 3 (profile, transfer, one retry)", n)
	}
	ls := f.calls()
	if len(ls) != 2 || ls[1].Refusal == nil || ls[1].Refusal.Code != claims.CodeInsufficientUserAuthentication || !slices.Equal(ls[1].ACRValues, []string{acrMFA}) {
		t.Fatalf("Logins %+v: want a first one, then one following insufficient_user_authentication with acr_values [%s]", ls, acrMFA)
	}

	r = callAPI(t, ctx, c, http.MethodGet, api.URL+"/admin/accounts")
	if r.status != http.StatusOK || !slices.Contains(strings.Fields(r.caller.Scope), "admin") {
		t.Fatalf("GET /admin/accounts: %d %s, want 200 with scope admin", r.status, r.body)
	}
	if n := api.n.Load(); n != 5 {
		t.Errorf("the API received %d requests, want 5 (one more retry)", n)
	}
	ls = f.calls()
	want := append(slices.Clone(appScopes), "admin")
	if len(ls) != 3 || ls[2].Refusal == nil || ls[2].Refusal.Code != claims.CodeInsufficientScope || !slices.Equal(ls[2].Scopes, want) {
		t.Fatalf("third Login %+v: want insufficient_scope asking for %q", ls[len(ls)-1], want)
	}
}

// TestStepUpClientMaxAge: a multi-factor login backdated past max_age; the
// Transport follows the max_age challenge, the provider logs the user in
// afresh, and the transfer passes after one retry.
func TestStepUpClientMaxAge(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	api := newCountingProxy(t, startHTTPAPI(t, p))
	f := newFollower(t, p.newBrowser(t), stepupclient.Config{}, loginRequest{ACR: acrMFA, AuthTime: time.Now().Add(-2 * transferMaxAge)})

	before := time.Now()
	r := callAPI(t, ctx, f.client(t, api.URL), http.MethodPost, api.URL+"/transfer")
	if r.status != http.StatusOK {
		t.Fatalf("POST /transfer: %d %s, want 200", r.status, r.body)
	}
	if got := time.Unix(r.caller.AuthTime, 0); got.Before(before.Add(-clockSlack)) || r.caller.ACR != acrMFA {
		t.Errorf("caller %+v: want a fresh %s login", r.caller, acrMFA)
	}
	ls := f.calls()
	if secs, ok := ls[len(ls)-1].MaxAge.Seconds(); len(ls) != 2 || !ok || secs != int64(transferMaxAge/time.Second) {
		t.Errorf("Logins %+v: want two, the second with max_age %v", ls, transferMaxAge)
	}
	if n := api.n.Load(); n != 2 {
		t.Errorf("the API received %d requests, want 2", n)
	}
}

// TestStepUpClientBound: an API that always challenges (whatever the
// login) gets 1+MaxRetries requests, each retry after a real login at the
// provider, and the client its last 401.
func TestStepUpClientBound(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	var n atomic.Int64
	always := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_user_authentication", acr_values="`+acrMFA+`"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(always.Close)
	f := newFollower(t, p.newBrowser(t), stepupclient.Config{MaxRetries: 2}, loginRequest{})
	r := callAPI(t, ctx, f.client(t, always.URL), http.MethodPost, always.URL+"/transfer")
	if r.status != http.StatusUnauthorized {
		t.Errorf("got %d, want the last 401", r.status)
	}
	if n.Load() != 3 || len(f.calls()) != 3 {
		t.Errorf("%d requests, %d logins; want 3, 3 (MaxRetries 2)", n.Load(), len(f.calls()))
	}
}

// TestStepUpClientGRPC: against examples/grpcapi, grpcmw.UnaryClientStepUp
// follows the Transfer refusal by itself; the interceptor under it counts
// the calls on the wire: two.
func TestStepUpClientGRPC(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	f := newFollower(t, p.newBrowser(t), stepupclient.Config{}, loginRequest{})
	cc, wire := dialStepUp(t, startGRPCAPI(t, p), grpcmw.UnaryClientStepUp(f.src))

	var resp rawMessage
	if err := cc.Invoke(ctx, methodTransfer, &rawMessage{b: transferRequest("alice-checking", "bob-checking", 1500)}, &resp); err != nil {
		var ce *claims.Error
		errors.As(err, &ce)
		t.Fatalf("Transfer: %v (%+v)", err, ce)
	}
	fs, err := decodeFields(resp.b)
	if err != nil {
		t.Fatal(err)
	}
	if rc := receiptOf(fs); rc.ACR != acrMFA || rc.Cents != 1500 {
		t.Errorf("receipt %+v, want 1500 cents at %s", rc, acrMFA)
	}
	if wire.Load() != 2 || len(f.calls()) != 2 {
		t.Errorf("%d calls on the wire, %d logins; want 2, 2", wire.Load(), len(f.calls()))
	}
}

// dpopTokenTransport adds the Source's DPoP proof to token requests (RFC
// 9449 §5) and retries once with the authorization server's nonce when it
// demands one (§8).
type dpopTokenTransport struct{ src *stepupclient.Source }

func (d dpopTokenTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	nonce := ""
	for attempt := 0; ; attempt++ {
		c := r.Clone(r.Context())
		if attempt > 0 {
			body, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			c.Body = body
		}
		proof, err := d.src.DPoPProof(r.Method, r.URL.String(), "", nonce)
		if err != nil {
			return nil, err
		}
		c.Header.Set("DPoP", proof)
		resp, err := http.DefaultTransport.RoundTrip(c)
		if err != nil || attempt > 0 || resp.StatusCode != http.StatusBadRequest || resp.Header.Get("DPoP-Nonce") == "" {
			return resp, err
		}
		nonce = resp.Header.Get("DPoP-Nonce")
		_ = resp.Body.Close()
	}
}

// TestStepUpClientDPoP: the provider binds code-flow tokens to the
// Source's ES256 key (its token endpoint demanding nonces: the TokenFunc's
// proofs come from Source.DPoPProof), and the Transport against an httpmw
// guard with DPoP nonces learns the nonce (one retry), then follows the DPoP
// step-up challenge of the transfer (one retry, the nonce remembered).
func TestStepUpClientDPoP(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProviderWith(t, providerOptions{dpopNonces: true})
	api := startDPoPHTTP(t, ctx, p, newNonces(t))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b := p.newBrowser(t)
	var src *stepupclient.Source
	var logins []stepupclient.Login
	src, err = stepupclient.New(stepupclient.Config{Scopes: appScopes, DPoP: key, Token: func(ctx context.Context, l stepupclient.Login) (*oauth2.Token, error) {
		logins = append(logins, l)
		req := loginRequest{Options: l.AuthCodeOptions()}
		if _, ok := l.MaxAge.Seconds(); l.Refusal != nil && !ok {
			req.Prompt = "login"
		}
		verifier := oauth2.GenerateVerifier()
		code, err := b.authorize(ctx, req, verifier)
		if err != nil {
			return nil, err
		}
		ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: httpTimeout, Transport: dpopTokenTransport{src}})
		return p.appConfig().Exchange(ctx, code, oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("resource", audience))
	}})
	if err != nil {
		t.Fatal(err)
	}
	var wire atomic.Int64
	tr, err := stepupclient.NewTransport(src, api, countingBase{&wire})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: tr, Timeout: 2 * httpTimeout}

	r := callAPI(t, ctx, c, http.MethodGet, api+"/profile")
	if r.status != http.StatusOK || r.caller.ACR != acrPassword {
		t.Fatalf("GET /profile: %d %s %+v, want 200 at %s", r.status, r.body, r.challenge, acrPassword)
	}
	if n := wire.Load(); n != 2 {
		t.Errorf("%d requests for GET /profile, want 2 (the nonce retry)", n)
	}
	tok, _ := src.Token(ctx)
	if tok.TokenType != "DPoP" || confirmation(t, tok.AccessToken, "jkt") != logins[0].DPoPJKT {
		t.Fatalf("token type %q, cnf.jkt %q: want a DPoP token bound to %q", tok.TokenType, confirmation(t, tok.AccessToken, "jkt"), logins[0].DPoPJKT)
	}
	r = callAPI(t, ctx, c, http.MethodPost, api+"/transfer")
	if r.status != http.StatusOK || r.caller.ACR != acrMFA {
		t.Fatalf("POST /transfer: %d %s %+v, want 200 at %s", r.status, r.body, r.challenge, acrMFA)
	}
	if n := wire.Load(); n != 4 {
		t.Errorf("%d requests in all, want 4 (one step-up retry, the nonce remembered)", n)
	}
	if len(logins) != 2 || logins[1].Refusal == nil || logins[1].Refusal.Scheme != "DPoP" || !slices.Equal(logins[1].ACRValues, []string{acrMFA}) {
		t.Errorf("Logins %+v: want the second following the DPoP step-up challenge", logins)
	}

	// The same Source over gRPC (grpcmw.WithClientDPoP) against a grpcmw
	// server with DPoP nonces: the multi-factor token passes Transfer after
	// the nonce retry, with no new login.
	addr := startDPoPGRPC(t, ctx, p, newNonces(t))
	cc, calls := dialStepUp(t, addr, grpcmw.UnaryClientStepUp(src, grpcmw.WithClientDPoP("http://"+addr)))
	var resp rawMessage
	if err := cc.Invoke(ctx, methodCallerTransfer, &rawMessage{}, &resp); err != nil {
		t.Fatalf("gRPC Transfer: %v", err)
	}
	fs, err := decodeFields(resp.b)
	if err != nil {
		t.Fatal(err)
	}
	if fs[2] != acrMFA || calls.Load() != 2 || len(logins) != 2 {
		t.Errorf("gRPC Transfer: acr %v after %d calls and %d logins, want %s after 2 (the nonce retry) and 2", fs[2], calls.Load(), len(logins), acrMFA)
	}
}

// countingBase counts the requests it sends.
type countingBase struct{ n *atomic.Int64 }

func (c countingBase) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// dialStepUp dials addr (rawCodec) through stepUp and, under it, an
// interceptor that counts the calls on the wire.
func dialStepUp(t *testing.T, addr string, stepUp grpc.UnaryClientInterceptor) (*grpc.ClientConn, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(stepUp,
			func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				n.Add(1)
				return invoker(ctx, method, req, reply, cc, opts...)
			}),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc, &n
}
