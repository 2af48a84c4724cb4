package httpmw_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

const (
	testRealm    = "api"
	testMetadata = "https://api.example.com/.well-known/oauth-protected-resource"
	// the challenge parameters every answer carries
	baseChallenge = `Bearer realm="api"`
	metaParam     = `resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`
	noToken       = baseChallenge + ", " + metaParam
	mfa           = claims.ACRMultiFactor
)

// transferReq is the requirement of the protected route in the table.
var transferReq = claims.Requirement{
	ACR:    []string{mfa},
	MaxAge: 5 * time.Minute,
	Scopes: []string{"transfer"},
}

// ok is the protected handler: it answers the subject of the verified
// claims.
var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, found := claims.FromContext(r.Context())
	if !found {
		http.Error(w, "no claims in context", http.StatusTeapot)
		return
	}
	_, _ = io.WriteString(w, "hello "+c.Subject)
})

type answer struct {
	status     int
	challenge  string // exact WWW-Authenticate; "" means absent
	body       string // exact body
	retryAfter string
}

func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, want answer) {
	t.Helper()
	res := rec.Result()
	if res.StatusCode != want.status {
		t.Errorf("status: got %d, want %d", res.StatusCode, want.status)
	}
	if got := res.Header.Values("WWW-Authenticate"); want.challenge == "" && len(got) != 0 ||
		want.challenge != "" && (len(got) != 1 || got[0] != want.challenge) {
		t.Errorf("WWW-Authenticate:\n got %q\nwant %q", got, want.challenge)
	}
	if got := rec.Body.String(); got != want.body {
		t.Errorf("body:\n got %s\nwant %s", got, want.body)
	}
	if got := res.Header.Get("Retry-After"); got != want.retryAfter {
		t.Errorf("Retry-After: got %q, want %q", got, want.retryAfter)
	}
	if want.status != http.StatusOK {
		if got := res.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control: got %q, want no-store", got)
		}
		if got := res.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type: got %q, want application/json", got)
		}
	}
}

// TestAnswers covers every row of the answer table of the package
// documentation.
func TestAnswers(t *testing.T) {
	is := newIssuer(t)
	opts := []httpmw.Option{httpmw.WithRealm(testRealm), httpmw.WithResourceMetadata(testMetadata)}
	g := newGuard(t, is.verifier(t), opts...)
	gForm := newGuard(t, is.verifier(t), append(opts, httpmw.WithFormToken(0))...)
	gDown := newGuard(t, newVerifier(t, downSource{}), opts...)

	good := is.mint(t, nil)
	otherKey := newIssuer(t).mint(t, nil) // same kid, other key: bad signature
	expired := is.mint(t, map[string]any{"exp": testNow.Add(-time.Hour).Unix()})
	wrongAud := is.mint(t, map[string]any{"aud": "https://other.example.com"})
	pwdOnly := is.mint(t, map[string]any{"acr": "urn:example:pwd"})
	stale := is.mint(t, map[string]any{"auth_time": testNow.Add(-time.Hour).Unix()})
	pwdStale := is.mint(t, map[string]any{"acr": "urn:example:pwd", "auth_time": testNow.Add(-time.Hour).Unix()})
	noScope := is.mint(t, map[string]any{"scope": "profile"})

	const (
		invalidRequest = `{"error":"invalid_request","error_description":"The request is malformed"}`
		invalidToken   = `{"error":"invalid_token","error_description":"The access token is invalid"}`
	)
	wantNoToken := answer{status: 401, challenge: noToken, body: `{}`}
	wantInvalidRequest := answer{status: 400,
		challenge: baseChallenge + `, error="invalid_request", error_description="The request is malformed", ` + metaParam,
		body:      invalidRequest}
	wantInvalidToken := answer{status: 401,
		challenge: baseChallenge + `, error="invalid_token", error_description="The access token is invalid", ` + metaParam,
		body:      invalidToken}

	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	form := func() http.Header {
		return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	}
	tests := []struct {
		name   string
		guard  *httpmw.Guard
		method string
		target string
		header http.Header
		body   string
		want   answer
	}{
		// no token
		{name: "no token", want: wantNoToken},
		{name: "basic scheme", header: http.Header{"Authorization": {"Basic YWxpY2U6c2VjcmV0"}}, want: wantNoToken},
		{name: "dpop scheme", header: http.Header{"Authorization": {"DPoP " + good}}, want: wantNoToken},
		{name: "bearerx scheme", header: http.Header{"Authorization": {"Bearerx " + good}}, want: wantNoToken},
		{name: "token only in query", target: "/transfer?access_token=" + good, want: wantNoToken},
		{name: "form token not enabled", method: "POST", header: form(), body: "access_token=" + good, want: wantNoToken},
		{name: "form token on GET", guard: gForm, method: "GET", header: form(), body: "access_token=" + good, want: wantNoToken},
		{name: "form token wrong content type", guard: gForm, method: "POST", header: http.Header{"Content-Type": {"text/plain"}}, body: "access_token=" + good, want: wantNoToken},

		// malformed request
		{name: "two authorization headers", header: http.Header{"Authorization": {"Bearer " + good, "Bearer " + good}}, want: wantInvalidRequest},
		{name: "bearer and basic headers", header: http.Header{"Authorization": {"Bearer " + good, "Basic YWxpY2U6c2VjcmV0"}}, want: wantInvalidRequest},
		{name: "bearer without token", header: http.Header{"Authorization": {"Bearer"}}, want: wantInvalidRequest},
		{name: "bearer with spaces only", header: http.Header{"Authorization": {"Bearer   "}}, want: wantInvalidRequest},
		{name: "bearer tab", header: http.Header{"Authorization": {"Bearer\t" + good}}, want: wantInvalidRequest},
		{name: "bearer comma", header: http.Header{"Authorization": {"Bearer," + good}}, want: wantInvalidRequest},
		{name: "token with space", header: bearer(good + " x"), want: wantInvalidRequest},
		{name: "token with illegal char", header: bearer(good + "$"), want: wantInvalidRequest},
		{name: "token with inner padding", header: bearer("abc=def"), want: wantInvalidRequest},
		{name: "empty authorization", header: http.Header{"Authorization": {""}}, want: wantInvalidRequest},
		{name: "header and form token", guard: gForm, method: "POST", header: http.Header{"Authorization": {"Bearer " + good}, "Content-Type": {"application/x-www-form-urlencoded"}}, body: "access_token=" + good, want: wantInvalidRequest},
		{name: "two form tokens", guard: gForm, method: "POST", header: form(), body: "access_token=" + good + "&access_token=" + good, want: wantInvalidRequest},
		{name: "empty form token", guard: gForm, method: "POST", header: form(), body: "access_token=", want: wantInvalidRequest},
		{name: "malformed form body", guard: gForm, method: "POST", header: form(), body: "access_token=%zz", want: wantInvalidRequest},
		{name: "form body too large", guard: gForm, method: "POST", header: form(), body: "x=" + strings.Repeat("a", httpmw.DefaultMaxFormSize) + "&access_token=" + good, want: wantInvalidRequest},

		// bad token
		{name: "bad signature", header: bearer(otherKey), want: wantInvalidToken},
		{name: "expired", header: bearer(expired), want: wantInvalidToken},
		{name: "wrong audience", header: bearer(wrongAud), want: wantInvalidToken},
		{name: "not a jwt", header: bearer("abc.def.ghi"), want: wantInvalidToken},
		{name: "padded b64token", header: bearer("abc=="), want: wantInvalidToken},

		// user authentication short
		{name: "acr short", header: bearer(pwdOnly), want: answer{status: 401,
			challenge: baseChallenge + `, error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="` + mfa + `", ` + metaParam,
			body:      `{"error":"insufficient_user_authentication","error_description":"A different authentication level is required","acr_values":"` + mfa + `"}`}},
		{name: "login too old", header: bearer(stale), want: answer{status: 401,
			challenge: baseChallenge + `, error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=300, ` + metaParam,
			body:      `{"error":"insufficient_user_authentication","error_description":"More recent authentication is required","max_age":300}`}},
		{name: "acr short and login too old", header: bearer(pwdStale), want: answer{status: 401,
			challenge: baseChallenge + `, error="insufficient_user_authentication", error_description="A different authentication level and more recent authentication are required", acr_values="` + mfa + `", max_age=300, ` + metaParam,
			body:      `{"error":"insufficient_user_authentication","error_description":"A different authentication level and more recent authentication are required","acr_values":"` + mfa + `","max_age":300}`}},

		// scope short
		{name: "scope short", header: bearer(noScope), want: answer{status: 403,
			challenge: baseChallenge + `, error="insufficient_scope", error_description="The access token does not grant the required scope", scope="transfer", ` + metaParam,
			body:      `{"error":"insufficient_scope","error_description":"The access token does not grant the required scope","scope":"transfer"}`}},

		// keys unavailable
		{name: "keys unavailable", guard: gDown, header: bearer(good), want: answer{status: 503,
			body: `{"error_description":"token verification is temporarily unavailable"}`, retryAfter: "30"}},
		{name: "keys unavailable, no token", guard: gDown, want: wantNoToken},

		// all met
		{name: "all met", header: bearer(good), want: answer{status: 200, body: "hello alice"}},
		{name: "lower-case bearer", header: http.Header{"Authorization": {"bearer " + good}}, want: answer{status: 200, body: "hello alice"}},
		{name: "upper-case bearer", header: http.Header{"Authorization": {"BEARER " + good}}, want: answer{status: 200, body: "hello alice"}},
		{name: "several spaces", header: http.Header{"Authorization": {"Bearer   " + good}}, want: answer{status: 200, body: "hello alice"}},
		{name: "header and query token", target: "/transfer?access_token=" + otherKey, header: bearer(good), want: answer{status: 200, body: "hello alice"}},
		{name: "form token", guard: gForm, method: "POST", header: form(), body: "amount=5&access_token=" + url.QueryEscape(good), want: answer{status: 200, body: "hello alice"}},
		{name: "form token with charset", guard: gForm, method: "PUT", header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}, body: "access_token=" + good, want: answer{status: 200, body: "hello alice"}},
		{name: "form enabled, header token", guard: gForm, method: "POST", header: bearer(good), want: answer{status: 200, body: "hello alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gd := tt.guard
			if gd == nil {
				gd = g
			}
			method, target := tt.method, tt.target
			if method == "" {
				method = http.MethodGet
			}
			if target == "" {
				target = "/transfer"
			}
			r := httptest.NewRequest(method, target, strings.NewReader(tt.body))
			for k, vs := range tt.header {
				r.Header[k] = vs
			}
			rec := httptest.NewRecorder()
			gd.Require(transferReq, ok).ServeHTTP(rec, r)
			checkAnswer(t, rec, tt.want)
		})
	}
}

// TestFormBodyKept checks that the next handler reads the whole form body
// after the guard looked for access_token in it.
func TestFormBodyKept(t *testing.T) {
	is := newIssuer(t)
	g := newGuard(t, is.verifier(t), httpmw.WithFormToken(1024))
	body := "amount=5&access_token=" + is.mint(t, nil)
	var got string
	h := g.Require(claims.Requirement{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("ParseForm: %v", err)
		}
		got = r.PostForm.Encode()
	}))
	r := httptest.NewRequest("POST", "/transfer", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatalf("status: got %d, want 200", rec.Code)
	}
	want, _ := url.ParseQuery(body)
	if got != want.Encode() {
		t.Errorf("form seen by the handler:\n got %s\nwant %s", got, want.Encode())
	}
}

// TestClaimsReachHandler checks the handler sees the verified claims.
func TestClaimsReachHandler(t *testing.T) {
	is := newIssuer(t)
	g := newGuard(t, is.verifier(t))
	var got *claims.Claims
	h := g.Require(claims.Requirement{ACR: []string{mfa}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = claims.FromContext(r.Context())
	}))
	r := httptest.NewRequest("GET", "/profile", nil)
	r.Header.Set("Authorization", "Bearer "+is.mint(t, nil))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got == nil {
		t.Fatal("handler got no claims")
	}
	if got.Subject != "alice" || got.ACR != mfa || got.Issuer != testIssuer || !got.AuthTime.Equal(testNow.Add(-time.Minute)) {
		t.Errorf("claims: got sub=%q acr=%q iss=%q auth_time=%v, want alice, %s, %s, %v",
			got.Subject, got.ACR, got.Issuer, got.AuthTime, mfa, testIssuer, testNow.Add(-time.Minute))
	}
}

// TestCheck covers the decision method and Status.
func TestCheck(t *testing.T) {
	is := newIssuer(t)
	g := newGuard(t, is.verifier(t))
	tests := []struct {
		name   string
		auth   string
		req    claims.Requirement
		code   claims.Code
		status int
	}{
		{name: "met", auth: "Bearer " + is.mint(t, nil), status: 200},
		{name: "no token", status: 401, code: ""},
		{name: "malformed", auth: "Bearer", status: 400, code: claims.CodeInvalidRequest},
		{name: "scope", auth: "Bearer " + is.mint(t, nil), req: claims.Requirement{Scopes: []string{"admin"}}, status: 403, code: claims.CodeInsufficientScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			c, err := g.Check(r, tt.req)
			if tt.status == 200 {
				if err != nil || c == nil || c.Subject != "alice" {
					t.Fatalf("Check: got %v, %v; want alice's claims", c, err)
				}
				return
			}
			var ce *claims.Error
			if !errors.As(err, &ce) || ce.Code != tt.code {
				t.Fatalf("Check error: got %v, want a *claims.Error with code %q", err, tt.code)
			}
			if c != nil {
				t.Errorf("Check claims: got %v, want nil", c)
			}
			if got := answered(g, err); got != tt.status {
				t.Errorf("Status: got %d, want %d", got, tt.status)
			}
		})
	}
	r := httptest.NewRequest("GET", "/", nil)
	if _, err := g.Check(r, claims.Requirement{MaxAge: -1}); err == nil || answered(g, err) != 500 {
		t.Errorf("Check with an invalid requirement: got %v (status %d), want an error answered 500", err, answered(g, err))
	}
	if got := answered(g, downSource{}.err()); got != 503 {
		t.Errorf("Status(outage): got %d, want 503", got)
	}
}

func (downSource) err() error {
	_, err := downSource{}.Key(context.Background(), "", "")
	return err
}

// TestOptions covers the answers' optional headers and the hooks.
func TestOptions(t *testing.T) {
	is := newIssuer(t)
	var logged []error
	g := newGuard(t, is.verifier(t),
		httpmw.WithExposeHeaders(),
		httpmw.WithRetryAfter(1500*time.Millisecond),
		refusals(func(r *http.Request, err error) { logged = append(logged, err) }),
		httpmw.WithRenderer(func(w http.ResponseWriter, r *http.Request, status int, body httpmw.ErrorBody) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, string(body.Error)+"|"+body.ErrorDescription)
		}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+is.mint(t, map[string]any{"exp": testNow.Add(-time.Hour).Unix()}))
	rec := httptest.NewRecorder()
	g.Require(claims.Requirement{}, ok).ServeHTTP(rec, r)
	if got, want := rec.Body.String(), "invalid_token|The access token is invalid"; got != want {
		t.Errorf("rendered body: got %q, want %q", got, want)
	}
	if got := rec.Header().Get("Access-Control-Expose-Headers"); got != "WWW-Authenticate" {
		t.Errorf("Access-Control-Expose-Headers: got %q, want WWW-Authenticate", got)
	}
	if got, want := rec.Header().Get("WWW-Authenticate"), `Bearer error="invalid_token", error_description="The access token is invalid"`; got != want {
		t.Errorf("WWW-Authenticate without realm:\n got %q\nwant %q", got, want)
	}
	var ce *claims.Error
	if len(logged) != 1 || !errors.As(logged[0], &ce) || ce.Code != claims.CodeInvalidToken || ce.Err == nil {
		t.Errorf("error hook: got %v, want one invalid_token error with its cause", logged)
	}

	gDown := newGuard(t, newVerifier(t, downSource{}), httpmw.WithRetryAfter(1500*time.Millisecond))
	rec = httptest.NewRecorder()
	gDown.Require(claims.Requirement{}, ok).ServeHTTP(rec, r)
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "2" {
		t.Errorf("outage: got %d Retry-After %q, want 503 Retry-After 2", rec.Code, rec.Header().Get("Retry-After"))
	}
	// Zero means the default, as everywhere in the library.
	gZero := newGuard(t, newVerifier(t, downSource{}), httpmw.WithRetryAfter(0))
	rec = httptest.NewRecorder()
	gZero.Require(claims.Requirement{}, ok).ServeHTTP(rec, r)
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "30" {
		t.Errorf("outage with WithRetryAfter(0): got %d Retry-After %q, want 503 Retry-After 30 (the default)", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestNewErrors(t *testing.T) {
	v := newIssuer(t).verifier(t)
	tests := []struct {
		name string
		opts []httpmw.Option
	}{
		{"nil option", []httpmw.Option{nil}},
		{"realm with newline", []httpmw.Option{httpmw.WithRealm("a\nb")}},
		{"realm not ascii", []httpmw.Option{httpmw.WithRealm("é")}},
		{"metadata http", []httpmw.Option{httpmw.WithResourceMetadata("http://api.example.com/.well-known/oauth-protected-resource")}},
		{"metadata relative", []httpmw.Option{httpmw.WithResourceMetadata("/.well-known/oauth-protected-resource")}},
		{"metadata fragment", []httpmw.Option{httpmw.WithResourceMetadata("https://api.example.com/x#f")}},
		{"nil renderer", []httpmw.Option{httpmw.WithRenderer(nil)}},
		{"nil hook", []httpmw.Option{httpmw.WithDecisionHook(nil)}},
		{"negative form size", []httpmw.Option{httpmw.WithFormToken(-1)}},
		{"negative retry", []httpmw.Option{httpmw.WithRetryAfter(-time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := httpmw.New(v, tt.opts...)
			if err == nil || g != nil {
				t.Fatalf("New: got %v, %v; want an error", g, err)
			}
			if !strings.HasPrefix(err.Error(), "httpmw: ") {
				t.Errorf("error %q lacks the httpmw: prefix", err)
			}
		})
	}
	if _, err := httpmw.New(nil); err == nil {
		t.Error("New(nil): got no error")
	}
	if _, err := httpmw.New(v, httpmw.WithResourceMetadata("http://127.0.0.1:8080/.well-known/oauth-protected-resource")); err != nil {
		t.Errorf("New with a loopback http metadata URL: %v", err)
	}
}

// TestRequirePanics checks Require and RequireFunc reject bad arguments at
// construction, as http.ServeMux.Handle does.
func TestRequirePanics(t *testing.T) {
	g := newGuard(t, newIssuer(t).verifier(t))
	choose := func(*http.Request, *claims.Claims) (claims.Requirement, error) { return claims.Requirement{}, nil }
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"invalid requirement", func() { g.Require(claims.Requirement{ACRMin: "urn:loa:2"}, ok) }, "httpmw: Require: invalid requirement: "},
		{"nil handler", func() { g.Require(claims.Requirement{}, nil) }, "httpmw: Require: nil handler"},
		{"nil choose", func() { g.RequireFunc(nil, ok) }, "httpmw: RequireFunc: nil choose function"},
		{"nil func handler", func() { g.RequireFunc(choose, nil) }, "httpmw: RequireFunc: nil handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				p := recover()
				s, _ := p.(string)
				if !strings.HasPrefix(s, tt.want) {
					t.Errorf("panic: got %v, want a message starting %q", p, tt.want)
				}
			}()
			tt.f()
		})
	}
}

// TestRequireCopiesRequirement checks a caller changing its slices after
// Require does not change what is enforced.
func TestRequireCopiesRequirement(t *testing.T) {
	is := newIssuer(t)
	g := newGuard(t, is.verifier(t))
	req := claims.Requirement{Scopes: []string{"admin"}}
	h := g.Require(req, ok)
	req.Scopes[0] = "profile"
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+is.mint(t, nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 403 {
		t.Errorf("status: got %d, want 403 (the requirement as it was at Require)", rec.Code)
	}
}
