package gateway_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/gateway"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// testPolicy has a public route, a plain protected one, a step-up route, a
// scope route, a host rule, a wildcard and a prefix with a public carve-out.
const testPolicy = `
issuer: %s
audience: %s
jwks_uri: %s
resource_metadata: https://api.example.com/.well-known/oauth-protected-resource
rules:
  - http: "GET /public"
    public: true
  - http: "GET /profile"
  - http: "POST /transfer"
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
    max_age: 5m
  - http: "GET /reports/{id}"
    scopes: [reports]
  - http: "GET status.example.com/"
    scopes: [status]
  - http: "GET /admin/"
    amr_all: [hwk]
    acr_values: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
  - http: "GET /admin/health"
    public: true
    overrides_protected: true
`

type fixture struct {
	iss   *stepuptest.Issuer
	keys  *jwks.Remote
	guard *httpmw.Guard
	rules []policy.Rule
	gw    *gateway.Gateway
}

func newFixture(t testing.TB, cfg gateway.Config) *fixture {
	t.Helper()
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	p, err := policy.Parse(fmt.Appendf(nil, testPolicy, iss.Issuer(), iss.Audience(), iss.JWKSURL()))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.NewRemote(p.JWKSURI)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	if err := keys.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(keys, p.VerifyConfig())
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpmw.New(v, httpmw.WithRealm("api"), httpmw.WithResourceMetadata(p.ResourceMetadata))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(guard, p.HTTPRules(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{iss: iss, keys: keys, guard: guard, rules: p.HTTPRules(), gw: gw}
}

func (f *fixture) mint(t testing.TB, tok stepuptest.Token) string {
	t.Helper()
	s, err := f.iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) tokens(t testing.TB) map[string]string {
	now := time.Now()
	return map[string]string{
		"none":     "",
		"password": f.mint(t, stepuptest.Token{ACR: "urn:example:pwd", AMR: []string{"pwd"}, AuthTime: now}),
		"mfa": f.mint(t, stepuptest.Token{ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "otp", "mfa"}, AuthTime: now,
			Scopes: []string{"reports"}, Subject: "alice", ClientID: "app"}),
		"hwk":     f.mint(t, stepuptest.Token{ACR: claims.ACRMultiFactor, AMR: []string{"hwk"}, AuthTime: now}),
		"stale":   f.mint(t, stepuptest.Token{ACR: claims.ACRMultiFactor, AuthTime: now.Add(-time.Hour)}),
		"expired": f.mint(t, stepuptest.Token{IssuedAt: now.Add(-2 * time.Hour), Expiry: now.Add(-time.Hour)}),
		"garbage": "not-a-jwt",
	}
}

// TestDecideMatchesMux runs the same requests through an httpmw.Mux built
// from the policy and through the gateway, and wants the same answer:
// allowed where the Mux's handler ran, and otherwise the same status,
// WWW-Authenticate, headers and body. Unlisted requests, which the Mux
// answers 404 or 405 (or redirects), are 403 at the gateway.
func TestDecideMatchesMux(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	var routes []httpmw.Route
	for _, r := range f.rules {
		routes = append(routes, httpmw.Route{Pattern: r.HTTP, Public: r.Public, Requirement: r.Requirement,
			Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				w.Header().Set("X-Reached", req.Pattern)
			})})
	}
	mux, err := f.guard.Mux(routes)
	if err != nil {
		t.Fatal(err)
	}
	toks := f.tokens(t)
	requests := []struct{ method, host, uri string }{
		{"GET", "api.example.com", "/public"},
		{"HEAD", "api.example.com", "/public"},
		{"GET", "api.example.com", "/profile"},
		{"GET", "api.example.com", "/profile?x=1"},
		{"POST", "api.example.com", "/transfer"},
		{"GET", "api.example.com", "/transfer"},
		{"GET", "api.example.com", "/reports/7"},
		{"GET", "api.example.com", "/reports/"},
		{"GET", "status.example.com", "/"},
		{"GET", "status.example.com:8443", "/anything"},
		{"GET", "api.example.com", "/"},
		{"GET", "api.example.com", "/admin/users"},
		{"GET", "api.example.com", "/admin/health"},
		{"GET", "api.example.com", "/admin"},
		{"GET", "api.example.com", "/public/../transfer"},
		{"GET", "api.example.com", "//profile"},
		{"DELETE", "api.example.com", "/profile"},
		{"GET", "api.example.com", "/%70rofile"},
	}
	for _, rq := range requests {
		for name, tok := range toks {
			t.Run(rq.method+" "+rq.host+rq.uri+" "+name, func(t *testing.T) {
				h := http.Header{}
				if tok != "" {
					h.Set("Authorization", "Bearer "+tok)
				}
				req := httptest.NewRequest(rq.method, "http://"+rq.host+rq.uri, nil)
				req.Header = h.Clone()
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)

				d := f.gw.Decide(context.Background(), gateway.Request{Method: rq.method, Host: rq.host, URI: rq.uri, Header: h, RemoteAddr: "192.0.2.1:1234"})
				reached := rec.Header().Get("X-Reached")
				switch {
				case reached != "":
					if !d.Allowed || d.Status != 200 || d.Rule != reached {
						t.Fatalf("mux served %q; gateway: allowed %v status %d rule %q", reached, d.Allowed, d.Status, d.Rule)
					}
				case rec.Code == 404 || rec.Code == 405 || rec.Code/100 == 3:
					if d.Allowed || d.Status != 403 || string(d.Body) != `{"error_description":"no rule of the policy takes this request"}` {
						t.Fatalf("mux %d; gateway: allowed %v status %d body %s", rec.Code, d.Allowed, d.Status, d.Body)
					}
				default:
					if d.Allowed {
						t.Fatalf("mux refused with %d; gateway allowed", rec.Code)
					}
					if d.Status != rec.Code {
						t.Errorf("status: got %d, want %d", d.Status, rec.Code)
					}
					for _, k := range []string{"Www-Authenticate", "Content-Type", "Cache-Control", "Retry-After"} {
						if got, want := d.Header.Values(k), rec.Header().Values(k); strings.Join(got, "\n") != strings.Join(want, "\n") {
							t.Errorf("%s: got %q, want %q", k, got, want)
						}
					}
					if len(d.Header) != len(rec.Header()) {
						t.Errorf("headers: got %v, want %v", d.Header, rec.Header())
					}
					if string(d.Body) != rec.Body.String() {
						t.Errorf("body: got %s, want %s", d.Body, rec.Body.String())
					}
				}
			})
		}
	}
}

func TestIdentityHeaders(t *testing.T) {
	f := newFixture(t, gateway.Config{Headers: gateway.Headers{Subject: "x-user"}})
	tok := f.mint(t, stepuptest.Token{Subject: "ali\nce%é", ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "otp"}, AuthTime: time.Now(), ClientID: "app"})
	d := f.gw.Decide(context.Background(), gateway.Request{Method: "POST", Host: "api", URI: "/transfer", Header: http.Header{"Authorization": {"Bearer " + tok}}})
	if !d.Allowed || d.Rule != "POST /transfer" || d.Claims == nil || d.Body != nil {
		t.Fatalf("got %+v", d)
	}
	want := http.Header{
		"X-User":             {"ali%0Ace%25%C3%A9"},
		"X-Stepup-Acr":       {claims.ACRMultiFactor},
		"X-Stepup-Amr":       {"pwd otp"},
		"X-Stepup-Client-Id": {"app"},
	}
	if fmt.Sprint(d.Header) != fmt.Sprint(want) {
		t.Errorf("header: got %v, want %v", d.Header, want)
	}
	if sub, _ := url.PathUnescape(d.Header.Get("X-User")); sub != "ali\nce%é" {
		t.Errorf("subject decodes to %q", sub)
	}
	if got, want := strings.Join(d.Remove, ","), "X-User,X-Stepup-Acr,X-Stepup-Amr,X-Stepup-Client-Id"; got != want {
		t.Errorf("remove: got %s, want %s", got, want)
	}
	// A public route: allowed, no identity, the identity headers still removed.
	d = f.gw.Decide(context.Background(), gateway.Request{Method: "GET", Host: "api", URI: "/public", Header: http.Header{"X-User": {"forged"}}})
	if !d.Allowed || len(d.Header) != 0 || d.Claims != nil || len(d.Remove) != 4 {
		t.Errorf("public: got %+v", d)
	}
}

func TestAllowUnlisted(t *testing.T) {
	f := newFixture(t, gateway.Config{AllowUnlisted: []string{"Open.Example.com"}})
	for _, tc := range []struct {
		host, uri string
		allowed   bool
	}{
		{"open.example.com", "/unlisted", true},
		{"OPEN.example.com:8080", "/unlisted", true},
		{"api.example.com", "/unlisted", false},
		{"open.example.com", "/public/../transfer", false}, // not canonical: never passed
		{"open.example.com", "/transfer", false},           // listed: the rule decides (no token)
	} {
		d := f.gw.Decide(context.Background(), gateway.Request{Method: "POST", Host: tc.host, URI: tc.uri})
		if d.Allowed != tc.allowed {
			t.Errorf("%s%s: allowed %v, want %v (status %d)", tc.host, tc.uri, d.Allowed, tc.allowed, d.Status)
		}
	}
}

func TestDecideBadRequest(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	for _, req := range []gateway.Request{
		{Method: "", URI: "/profile"},
		{Method: "GE T", URI: "/profile"},
		{Method: "GET", URI: "profile"},
		{Method: "GET", URI: "/profile?a#x"},
		{Method: "GET", URI: "*"},
		{Method: "GET", URI: "/profile#frag"},
		{Method: "GET", URI: "/" + strings.Repeat("a", 9000)},
		{Method: "GET", Host: "a b", URI: "/profile"},
		{Method: "GET", Host: "a,b", URI: "/profile"},
		{Method: "GET", Host: "a:99999", URI: "/profile"},
		{Method: "GET", Scheme: "ftp", URI: "/profile"},
	} {
		d := f.gw.Decide(context.Background(), req)
		if d.Allowed || d.Status != 400 {
			t.Errorf("%+v: allowed %v status %d", req, d.Allowed, d.Status)
			continue
		}
		var body map[string]string
		if err := json.Unmarshal(d.Body, &body); err != nil || body["error"] != "invalid_request" {
			t.Errorf("%+v: body %s", req, d.Body)
		}
	}
}

func TestNewErrors(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	for _, tc := range []struct {
		name  string
		rules []policy.Rule
		cfg   gateway.Config
		want  string
	}{
		{"no http rules", []policy.Rule{{GRPC: "/a.B/C"}}, gateway.Config{}, "no http rules"},
		{"bad header", f.rules, gateway.Config{Headers: gateway.Headers{ACR: "x acr"}}, "not an HTTP field name"},
		{"twice", f.rules, gateway.Config{Headers: gateway.Headers{ACR: "x-a", AMR: "X-A"}}, "named twice"},
		{"authorization", f.rules, gateway.Config{Headers: gateway.Headers{Subject: "authorization"}}, "would replace"},
		{"host with port", f.rules, gateway.Config{AllowUnlisted: []string{"a:80"}}, "not a host name"},
		{"host of a dot", f.rules, gateway.Config{AllowUnlisted: []string{"."}}, "not a host name"},
		{"bad pattern", []policy.Rule{{HTTP: "GET /a"}, {HTTP: "GET /a"}}, gateway.Config{}, "gateway: "},
	} {
		_, err := gateway.New(f.guard, tc.rules, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := gateway.New(nil, f.rules, gateway.Config{}); err == nil {
		t.Error("nil guard: no error")
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := gateway.ParseTrustedProxies(" 10.0.0.0/8, 127.0.0.1/32,,::1/128 ")
	if err != nil || fmt.Sprint(got) != "[10.0.0.0/8 127.0.0.1/32 ::1/128]" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.7", "10.0.0.7/24", "0.0.0.0/0", "::/0", "x/8"} {
		if _, err := gateway.ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if got, err := gateway.ParseTrustedProxies(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v, %v", got, err)
	}
}

func TestForwardAuth(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	mfa := f.tokens(t)["mfa"]
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	h := f.gw.ForwardAuth(trusted)
	// do sends a forward-auth request from remote with hdr, plus
	// X-Forwarded-Host: api (as every proxy sends it) unless hdr names it;
	// "-" leaves it out.
	do := func(remote string, hdr map[string]string, method, target string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-Host", "api")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		if hdr["X-Forwarded-Host"] == "-" {
			req.Header.Del("X-Forwarded-Host")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// A trusted proxy chooses the route: POST /transfer with an MFA token.
	rec := do("10.1.2.3:5000", map[string]string{
		"X-Forwarded-Method": "POST", "X-Forwarded-Uri": "/transfer", "X-Forwarded-Host": "api", "X-Forwarded-Proto": "https",
		"Authorization": "Bearer " + mfa,
	}, "GET", "/auth")
	if rec.Code != 200 || rec.Header().Get("X-Stepup-Subject") != "alice" || rec.Body.Len() != 0 {
		t.Errorf("trusted MFA: %d %v %q", rec.Code, rec.Header(), rec.Body)
	}
	// nginx's names.
	rec = do("10.1.2.3:5000", map[string]string{"X-Original-Method": "POST", "X-Original-URI": "/transfer"}, "GET", "/auth")
	if rec.Code != 401 || rec.Header().Get("Www-Authenticate") != `Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"` {
		t.Errorf("nginx names: %d %v", rec.Code, rec.Header())
	}
	if rec.Header().Get("Content-Length") != fmt.Sprint(rec.Body.Len()) || rec.Body.String() != "{}" {
		t.Errorf("nginx names: body %q, length %q", rec.Body, rec.Header().Get("Content-Length"))
	}
	// An untrusted client cannot choose the route: /public is not what it asked for.
	rec = do("192.0.2.9:5000", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/public"}, "POST", "/transfer")
	if rec.Code != 401 {
		t.Errorf("untrusted: got %d, want 401 (decided on POST /transfer as received)", rec.Code)
	}
	rec = do("192.0.2.9:5000", map[string]string{"X-Forwarded-Uri": "/public", "X-Original-URI": "/public"}, "GET", "/auth")
	if rec.Code != 403 {
		t.Errorf("untrusted on /auth: got %d, want 403 (unlisted)", rec.Code)
	}
	// Twice, or malformed, from a trusted proxy: 400.
	for _, hdr := range []map[string]string{
		{"X-Forwarded-Uri": "/public", "X-Original-URI": "/transfer"},
		{"X-Forwarded-Method": "GET", "X-Original-Method": "POST", "X-Forwarded-Uri": "/public"},
		{"X-Forwarded-Uri": "http://evil/public"},
		{"X-Forwarded-Uri": "/public", "X-Forwarded-Host": "a, b"},
		{"X-Forwarded-Uri": "/public", "X-Forwarded-Proto": "gopher"},
		{"X-Forwarded-Method": "GET", "X-Forwarded-Host": "api"},                             // no URI: not decided on /auth
		{"X-Forwarded-Uri": "/public", "X-Forwarded-Host": "api"},                            // no method: not decided as GET
		{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/public", "X-Forwarded-Host": "-"}, // no host: not decided at the gateway's own
	} {
		if rec := do("10.0.0.1:1", hdr, "GET", "/auth"); rec.Code != 400 {
			t.Errorf("%v: got %d, want 400", hdr, rec.Code)
		}
	}
	// nginx asks for the body in a header too; others do not get it.
	rec = do("10.0.0.1:1", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/nowhere", "X-Stepup-Body-Header": "1"}, "GET", "/auth")
	if rec.Code != 403 || rec.Header().Get("X-Stepup-Body") != rec.Body.String() || rec.Body.Len() == 0 {
		t.Errorf("body header: %d %q %q", rec.Code, rec.Header().Get("X-Stepup-Body"), rec.Body)
	}
	rec = do("10.0.0.1:1", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/nowhere"}, "GET", "/auth")
	if _, ok := rec.Header()["X-Stepup-Body"]; ok {
		t.Errorf("body header without asking: %v", rec.Header())
	}
	// An allowed answer names every identity header, empty for a claim
	// the token lacks, so that a proxy copying them overwrites the client's.
	noAMR := f.mint(t, stepuptest.Token{ACR: claims.ACRMultiFactor, AuthTime: time.Now(), Subject: "bob"})
	rec = do("10.0.0.1:1", map[string]string{"X-Forwarded-Method": "POST", "X-Forwarded-Uri": "/transfer", "Authorization": "Bearer " + noAMR}, "GET", "/auth")
	if v, ok := rec.Header()["X-Stepup-Amr"]; rec.Code != 200 || !ok || len(v) != 1 || v[0] != "" || rec.Header().Get("X-Stepup-Subject") != "bob" {
		t.Errorf("empty identity header: %d %v", rec.Code, rec.Header())
	}
	// Public through the proxy.
	if rec := do("10.0.0.1:1", map[string]string{"X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/public?q=1"}, "GET", "/auth"); rec.Code != 200 {
		t.Errorf("public: got %d", rec.Code)
	}
}

// TestDecideLeavesHeader: Decide reads the caller's header map without
// writing it, and a Host entry in it does not choose the host rule.
func TestDecideLeavesHeader(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	h := http.Header{"Host": {"status.example.com"}, "Authorization": {"Bearer " + f.tokens(t)["mfa"]}}
	want := fmt.Sprint(h)
	d := f.gw.Decide(context.Background(), gateway.Request{Method: "GET", Host: "api.example.com", URI: "/", Header: h})
	if d.Allowed || d.Status != 403 {
		t.Errorf("Host header chose the route: allowed %v status %d rule %q", d.Allowed, d.Status, d.Rule)
	}
	if fmt.Sprint(h) != want {
		t.Errorf("header changed: %v", h)
	}
}

// TestForwardAuthClientCert: behind a forward-auth proxy, a certificate-bound
// token (RFC 8705) is allowed with the RFC 9440 Client-Cert header when the
// proxy is one of the mtls source's trusted proxies, and refused when the
// same header comes from another peer.
func TestForwardAuthClientCert(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	certs, err := mtls.New(mtls.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(f.keys, verify.Config{Issuer: f.iss.Issuer(), Audience: f.iss.Audience()})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpmw.New(v, httpmw.WithClientCertificates(certs))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(guard, f.rules, gateway.Config{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	tok := f.mint(t, stepuptest.Token{Claims: map[string]any{"cnf": map[string]string{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}}})
	h := gw.ForwardAuth([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.0/24")})
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"10.0.0.5:1000", 200},
		{"192.0.2.5:1000", 401}, // trusted for forwarding, not for Client-Cert
	} {
		req := httptest.NewRequest("GET", "/auth", nil)
		req.RemoteAddr = tc.remote
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Host", "api")
		req.Header.Set("X-Forwarded-Uri", "/profile")
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Client-Cert", ":"+base64.StdEncoding.EncodeToString(der)+":")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: got %d, want %d (%s)", tc.remote, rec.Code, tc.want, rec.Header().Get("Www-Authenticate"))
		}
	}
}
