package stepupclient_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepupclient"
	"github.com/stepupauth/stepup/stepuptest"
)

var mfa = claims.Requirement{ACR: []string{claims.ACRMultiFactor}, MaxAge: 5 * time.Minute}

// TestStepUp: a password token is refused for a transfer; the Transport
// logs in again with the challenge's acr_values and max_age and the retry
// succeeds, with exactly one retry.
func TestStepUp(t *testing.T) {
	iss := newIssuer(t)
	a := newAPI(t, iss, map[string]claims.Requirement{"GET /profile": {}, "POST /transfer": mfa})
	ls := &logins{iss: iss}
	c, _ := newClient(t, stepupclient.Config{}, ls, a.URL, nil)

	res := do(t, c, "GET", a.URL+"/profile", "")
	if res.status != 200 || res.body != stepuptest.ACRPassword {
		t.Fatalf("GET /profile: got %d %q, want 200 %q", res.status, res.body, stepuptest.ACRPassword)
	}
	res = do(t, c, "POST", a.URL+"/transfer", `{"cents":100}`)
	if res.status != 200 || res.body != claims.ACRMultiFactor {
		t.Fatalf("POST /transfer: got %d %q, want 200 %q", res.status, res.body, claims.ACRMultiFactor)
	}
	if n := a.requests.Load(); n != 3 {
		t.Errorf("server saw %d requests, want 3 (profile, transfer, one retry)", n)
	}
	got := ls.calls()
	if len(got) != 2 {
		t.Fatalf("TokenFunc called %d times, want 2", len(got))
	}
	if got[0].Refusal != nil {
		t.Errorf("first Login has Refusal %v, want nil", got[0].Refusal)
	}
	l := got[1]
	if l.Refusal == nil || l.Refusal.Code != claims.CodeInsufficientUserAuthentication {
		t.Fatalf("second Login's Refusal = %v, want insufficient_user_authentication", l.Refusal)
	}
	if want := []string{claims.ACRMultiFactor}; !slices.Equal(l.ACRValues, want) {
		t.Errorf("ACRValues = %q, want %q", l.ACRValues, want)
	}
	if _, ok := l.MaxAge.Seconds(); ok {
		t.Errorf("MaxAge = %v, want none: the login was fresh", l.MaxAge)
	}
	// The new token is kept: a second transfer needs no retry.
	res = do(t, c, "POST", a.URL+"/transfer", `{"cents":200}`)
	if res.status != 200 || a.requests.Load() != 4 || len(ls.calls()) != 2 {
		t.Errorf("second transfer: status %d, %d requests, %d logins; want 200, 4, 2", res.status, a.requests.Load(), len(ls.calls()))
	}
}

// TestMaxAge: a multi-factor login from a stale session gets a max_age
// challenge; the Login carries that max_age and the issuer authenticates
// afresh.
func TestMaxAge(t *testing.T) {
	iss := newIssuer(t)
	a := newAPI(t, iss, map[string]claims.Requirement{"POST /transfer": mfa})
	ls := &logins{iss: iss}
	ls.mint = func(l stepupclient.Login) (string, error) {
		lr := stepuptest.LoginRequest{ACRValues: []string{claims.ACRMultiFactor}, MaxAge: l.MaxAge, AuthTime: time.Now().Add(-time.Hour)}
		return iss.Login(context.Background(), lr)
	}
	c, _ := newClient(t, stepupclient.Config{}, ls, a.URL, nil)
	if res := do(t, c, "POST", a.URL+"/transfer", "x"); res.status != 200 {
		t.Fatalf("got %d %s, want 200", res.status, res.header.Get("WWW-Authenticate"))
	}
	got := ls.calls()
	if len(got) != 2 || a.requests.Load() != 2 {
		t.Fatalf("%d logins, %d requests; want 2, 2", len(got), a.requests.Load())
	}
	if secs, ok := got[1].MaxAge.Seconds(); !ok || secs != 300 {
		t.Errorf("Login MaxAge = %v, want 300s", got[1].MaxAge)
	}
}

type result struct {
	status int
	body   string
	header http.Header
}

func do(t *testing.T, c *http.Client, method, url, body string) result {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{res.StatusCode, string(b), res.Header}
}

// counted mints "tok-1", "tok-2", ... without an issuer.
func counted() *logins {
	var n atomic.Int64
	return &logins{mint: func(stepupclient.Login) (string, error) {
		return fmt.Sprintf("tok-%d", n.Add(1)), nil
	}}
}

// challenger is a server that answers every request with status and the
// WWW-Authenticate values, recording the Authorization and body of each.
type challenger struct {
	*httptest.Server
	mu     sync.Mutex
	auth   []string
	bodies []string
}

func newChallenger(t *testing.T, status int, challenge ...string) *challenger {
	t.Helper()
	c := &challenger{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.auth = append(c.auth, r.Header.Get("Authorization"))
		c.bodies = append(c.bodies, string(b))
		c.mu.Unlock()
		for _, v := range challenge {
			w.Header().Add("WWW-Authenticate", v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("refused"))
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *challenger) seen() ([]string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.auth), slices.Clone(c.bodies)
}

// TestRetryBound: a server that always challenges gets 1+MaxRetries
// requests, and the client its last refusal.
func TestRetryBound(t *testing.T) {
	for _, retries := range []int{0, 1, 3, stepupclient.MaxMaxRetries} {
		t.Run(fmt.Sprint(retries), func(t *testing.T) {
			srv := newChallenger(t, 401, `Bearer error="insufficient_user_authentication", acr_values="urn:x:loa:9"`)
			ls := counted()
			c, src := newClient(t, stepupclient.Config{MaxRetries: retries}, ls, srv.URL, nil)
			res := do(t, c, "POST", srv.URL+"/x", "body")
			if res.status != 401 || res.body != "refused" {
				t.Errorf("got %d %q, want the server's 401 and its body", res.status, res.body)
			}
			auth, bodies := srv.seen()
			want := 1 + src.MaxRetries()
			if len(auth) != want {
				t.Fatalf("server saw %d requests, want %d", len(auth), want)
			}
			for i := range auth {
				if w := fmt.Sprintf("Bearer tok-%d", i+1); auth[i] != w || bodies[i] != "body" {
					t.Errorf("request %d: Authorization %q body %q, want %q %q", i, auth[i], bodies[i], w, "body")
				}
			}
		})
	}
}

// TestOtherOrigin: tokens go to the configured origin only; requests
// elsewhere, redirects included, get no token and their challenges are
// not followed.
func TestOtherOrigin(t *testing.T) {
	other := newChallenger(t, 401, `Bearer error="insufficient_user_authentication", acr_values="urn:x:loa:9"`)
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, other.URL+"/landing", http.StatusTemporaryRedirect)
			return
		}
		_, _ = w.Write([]byte(r.Header.Get("Authorization")))
	}))
	t.Cleanup(home.Close)
	ls := counted()
	c, _ := newClient(t, stepupclient.Config{}, ls, home.URL, nil)

	if res := do(t, c, "GET", home.URL+"/a", ""); res.body != "Bearer tok-1" {
		t.Fatalf("home got Authorization %q, want the token", res.body)
	}
	res := do(t, c, "GET", other.URL+"/b", "")
	if res.status != 401 {
		t.Errorf("other origin: got %d, want its 401 returned as is", res.status)
	}
	res = do(t, c, "GET", home.URL+"/redirect", "")
	if res.status != 401 {
		t.Errorf("redirect: got %d, want the other origin's 401", res.status)
	}
	auth, _ := other.seen()
	if len(auth) != 2 {
		t.Fatalf("other origin saw %d requests, want 2 (one direct, one redirect, no retry)", len(auth))
	}
	for i, a := range auth {
		if a != "" {
			t.Errorf("other origin request %d carried Authorization %q", i, a)
		}
	}
	if n := len(ls.calls()); n != 1 {
		t.Errorf("TokenFunc called %d times, want 1: challenges of another origin are not followed", n)
	}
	// Same host, another port or scheme, is another origin.
	u := strings.Replace(home.URL, "http://", "https://", 1)
	req, _ := http.NewRequest("GET", u, nil)
	rec := &recorder{}
	tr2, _ := stepupclient.NewTransport(mustSource(t, ls), home.URL, rec)
	_, _ = tr2.RoundTrip(req)
	if len(rec.reqs) != 1 || rec.reqs[0].Header.Get("Authorization") != "" {
		t.Errorf("https on the http origin's host:port got a token")
	}
}

func mustSource(t *testing.T, ls *logins) *stepupclient.Source {
	t.Helper()
	src, err := stepupclient.New(stepupclient.Config{Token: ls.token})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// recorder is a base RoundTripper that records requests and answers with
// the responses of next (200 when it runs out), tracking body closes.
type recorder struct {
	mu     sync.Mutex
	reqs   []*http.Request
	bodies []string
	next   []func() *http.Response
	closed []*closeCounter
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b []byte
	if req.Body != nil {
		b, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	r.reqs = append(r.reqs, req)
	r.bodies = append(r.bodies, string(b))
	var res *http.Response
	if len(r.next) > 0 {
		res = r.next[0]()
		r.next = r.next[1:]
	} else {
		res = &http.Response{StatusCode: 200, Header: http.Header{}}
	}
	var body io.Reader = strings.NewReader("refused")
	if res.Body != nil {
		body = res.Body
	}
	cc := &closeCounter{Reader: body}
	res.Body = cc
	res.Request = req
	r.closed = append(r.closed, cc)
	return res, nil
}

type closeCounter struct {
	io.Reader
	read   bool
	n      int64 // bytes read
	closes int
}

func (c *closeCounter) Read(p []byte) (int, error) {
	c.read = true
	n, err := c.Reader.Read(p)
	c.n += int64(n)
	return n, err
}
func (c *closeCounter) Close() error { c.closes++; return nil }

func answer(status int, header ...string) func() *http.Response {
	return func() *http.Response {
		h := http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Add(header[i], header[i+1])
		}
		return &http.Response{StatusCode: status, Header: h}
	}
}

const stepUpChallenge = `Bearer error="insufficient_user_authentication", acr_values="urn:x:loa:2"`

// TestBodyReplay: a body without GetBody is never sent twice (the refusal
// is returned), a body with GetBody is sent again byte for byte, and the
// refused answer's body is drained and closed before the retry.
func TestBodyReplay(t *testing.T) {
	t.Run("no GetBody", func(t *testing.T) {
		rec := &recorder{next: []func() *http.Response{answer(401, "WWW-Authenticate", stepUpChallenge)}}
		ls := counted()
		c, _ := newClient(t, stepupclient.Config{}, ls, "http://127.0.0.1:1", rec)
		req, _ := http.NewRequest("POST", "http://127.0.0.1:1/transfer", io.NopCloser(strings.NewReader("once")))
		if req.GetBody != nil {
			t.Fatal("test request has GetBody")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 || len(rec.reqs) != 1 || len(ls.calls()) != 1 {
			t.Errorf("got %d after %d requests and %d logins, want the 401 after 1 request, 1 login", res.StatusCode, len(rec.reqs), len(ls.calls()))
		}
	})
	t.Run("GetBody", func(t *testing.T) {
		rec := &recorder{next: []func() *http.Response{answer(401, "WWW-Authenticate", stepUpChallenge)}}
		c, _ := newClient(t, stepupclient.Config{}, counted(), "http://127.0.0.1:1", rec)
		req, _ := http.NewRequest("POST", "http://127.0.0.1:1/transfer", bytes.NewReader([]byte("twice")))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || !slices.Equal(rec.bodies, []string{"twice", "twice"}) {
			t.Errorf("got %d with bodies %q, want 200 after two sends of %q", res.StatusCode, rec.bodies, "twice")
		}
		if c := rec.closed[0]; !c.read || c.closes != 1 {
			t.Errorf("refused body: read %v, closed %d times; want drained and closed once", c.read, c.closes)
		}
		if rec.reqs[0].Header.Get("Authorization") != "Bearer tok-1" || rec.reqs[1].Header.Get("Authorization") != "Bearer tok-2" {
			t.Errorf("Authorization %q then %q, want tok-1 then tok-2", rec.reqs[0].Header.Get("Authorization"), rec.reqs[1].Header.Get("Authorization"))
		}
	})
	t.Run("caller's request untouched", func(t *testing.T) {
		rec := &recorder{}
		c, _ := newClient(t, stepupclient.Config{}, counted(), "http://127.0.0.1:1", rec)
		req, _ := http.NewRequest("GET", "http://127.0.0.1:1/", nil)
		req.Header.Set("Authorization", "Basic mine")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if req.Header.Get("Authorization") != "Basic mine" || rec.reqs[0].Header.Get("Authorization") != "Bearer tok-1" {
			t.Errorf("caller's header %q, sent %q; want the caller's kept and the token sent", req.Header.Get("Authorization"), rec.reqs[0].Header.Get("Authorization"))
		}
	})
}

// TestScopeUnion: each insufficient_scope challenge adds its scopes to
// those asked for before.
func TestScopeUnion(t *testing.T) {
	iss := newIssuer(t)
	a := newAPI(t, iss, map[string]claims.Requirement{
		"GET /read":  {Scopes: []string{"read"}},
		"GET /write": {Scopes: []string{"write"}},
		"GET /both":  {Scopes: []string{"read", "write", "admin"}},
	})
	ls := &logins{iss: iss}
	c, _ := newClient(t, stepupclient.Config{Scopes: []string{"openid"}}, ls, a.URL, nil)
	for _, p := range []string{"/read", "/write", "/both", "/read"} {
		if res := do(t, c, "GET", a.URL+p, ""); res.status != 200 {
			t.Fatalf("GET %s: %d %s", p, res.status, res.header.Get("WWW-Authenticate"))
		}
	}
	var got [][]string
	for _, l := range ls.calls() {
		got = append(got, l.Scopes)
	}
	want := [][]string{{"openid"}, {"openid", "read"}, {"openid", "read", "write"}, {"openid", "read", "write", "admin"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Login scopes %q, want %q", got, want)
	}
	if n := a.requests.Load(); n != 7 {
		t.Errorf("server saw %d requests, want 7 (three retries)", n)
	}
}

// TestNotFollowed: unknown schemes, other codes, other statuses and
// challenges without error code are returned as they are, with no retry.
func TestNotFollowed(t *testing.T) {
	for _, tc := range []struct {
		status    int
		challenge []string
	}{
		{401, []string{`Basic realm="x"`}},
		{401, []string{`Negotiate abc==`, `Newauth realm="apps", error="insufficient_user_authentication"`}},
		{401, []string{`Bearer realm="api"`}},
		{401, []string{`Bearer error="invalid_token"`}},
		{400, []string{`Bearer error="invalid_request"`}},
		{401, nil},
		{500, []string{stepUpChallenge}},
		{401, []string{`DPoP error="use_dpop_nonce"`}}, // no DPoP key
	} {
		t.Run(fmt.Sprint(tc.status, tc.challenge), func(t *testing.T) {
			srv := newChallenger(t, tc.status, tc.challenge...)
			ls := counted()
			c, _ := newClient(t, stepupclient.Config{}, ls, srv.URL, nil)
			res := do(t, c, "GET", srv.URL, "")
			auth, _ := srv.seen()
			if res.status != tc.status || len(auth) != 1 || len(ls.calls()) != 1 {
				t.Errorf("got %d after %d requests, %d logins; want %d after 1, 1", res.status, len(auth), len(ls.calls()), tc.status)
			}
		})
	}
}

// TestMalformed: a challenge that cannot be read or followed is an error,
// never a retry, and the answer's body is closed.
func TestMalformed(t *testing.T) {
	for name, challenge := range map[string]string{
		"syntax":              `Bearer error="insufficient_user_authentication", acr_values="a`,
		"repeated parameter":  `Bearer error="insufficient_scope", scope="a", scope="b"`,
		"bad max_age":         `Bearer error="insufficient_user_authentication", max_age=-1`,
		"too long":            `Bearer error="insufficient_scope", scope="` + strings.Repeat("a", 70000) + `"`,
		"scope without scope": `Bearer error="insufficient_scope"`,
		"bad scope token":     `Bearer error="insufficient_scope", scope="a\\"b"`,
		"claims not base64":   `Bearer error="insufficient_claims", claims="!!!"`,
		"claims not object":   `Bearer error="insufficient_claims", claims="WzFd"`,
		"claims missing":      `Bearer error="insufficient_claims"`,
		"too many scopes":     `Bearer error="insufficient_scope", scope="` + manyScopes(300) + `"`,
		"too many, repeated":  `Bearer error="insufficient_scope", scope="` + strings.Repeat("s ", 300) + `s"`,
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{next: []func() *http.Response{answer(403, "WWW-Authenticate", challenge)}}
			ls := counted()
			c, _ := newClient(t, stepupclient.Config{}, ls, "http://127.0.0.1:1", rec)
			res, err := c.Get("http://127.0.0.1:1/x")
			if err == nil {
				res.Body.Close()
				t.Fatalf("got %d, want an error", res.StatusCode)
			}
			var ce *stepupclient.ChallengeError
			if !errors.As(err, &ce) {
				t.Errorf("error %v is not a *ChallengeError", err)
			}
			if len(rec.reqs) != 1 || len(ls.calls()) != 1 || rec.closed[0].closes != 1 {
				t.Errorf("%d requests, %d logins, body closed %d times; want 1, 1, 1", len(rec.reqs), len(ls.calls()), rec.closed[0].closes)
			}
		})
	}
}

func manyScopes(n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprint("s", i)
	}
	return strings.Join(s, " ")
}

// TestClaimsChallenge: an Entra ID claims challenge gives the TokenFunc
// the decoded claims request, and AuthCodeOptions sends it.
func TestClaimsChallenge(t *testing.T) {
	const req = `{"access_token":{"acrs":{"essential":true,"value":"c12"}}}` // 58 bytes: padded base64 ends "=="
	for name, enc := range map[string]string{
		"padded":   base64.StdEncoding.EncodeToString([]byte(req)),
		"unpadded": base64.RawStdEncoding.EncodeToString([]byte(req)),
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{next: []func() *http.Response{answer(401, "WWW-Authenticate",
				`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="`+enc+`"`)}}
			ls := counted()
			c, _ := newClient(t, stepupclient.Config{}, ls, "http://127.0.0.1:1", rec)
			res, err := c.Get("http://127.0.0.1:1/x")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			got := ls.calls()
			if res.StatusCode != 200 || len(got) != 2 || got[1].Claims != req {
				t.Fatalf("got %d, logins %+v; want 200 and a second login with claims %s", res.StatusCode, got, req)
			}
		})
	}
}

// TestLoginError: a failing TokenFunc is a *LoginError carrying the
// refusal, not a retry.
func TestLoginError(t *testing.T) {
	rec := &recorder{next: []func() *http.Response{answer(401, "WWW-Authenticate", stepUpChallenge)}}
	boom := errors.New("user cancelled")
	n := 0
	src, err := stepupclient.New(stepupclient.Config{Token: func(ctx context.Context, l stepupclient.Login) (*oauth2.Token, error) {
		n++
		if l.Refusal != nil {
			return nil, boom
		}
		return &oauth2.Token{AccessToken: "first"}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := stepupclient.NewTransport(src, "http://127.0.0.1:1", rec)
	_, err = (&http.Client{Transport: tr}).Get("http://127.0.0.1:1/x")
	var le *stepupclient.LoginError
	if !errors.As(err, &le) || !errors.Is(err, boom) || le.Refusal == nil || le.Refusal.Code != claims.CodeInsufficientUserAuthentication {
		t.Fatalf("error %v: want a *LoginError wrapping the TokenFunc's error, with the refusal", err)
	}
	if len(rec.reqs) != 1 || n != 2 {
		t.Errorf("%d requests, %d TokenFunc calls; want 1, 2", len(rec.reqs), n)
	}
	if want := "stepupclient: getting a token after insufficient_user_authentication: user cancelled"; le.Error() != want {
		t.Errorf("Error() = %q, want %q", le.Error(), want)
	}
}

// TestBadToken: a TokenFunc that returns nothing usable is an error, and
// nothing is sent.
func TestBadToken(t *testing.T) {
	for _, tok := range []*oauth2.Token{nil, {}, {AccessToken: "a b"}, {AccessToken: "x\r\nHost: evil"}} {
		rec := &recorder{}
		src, _ := stepupclient.New(stepupclient.Config{Token: func(context.Context, stepupclient.Login) (*oauth2.Token, error) { return tok, nil }})
		tr, _ := stepupclient.NewTransport(src, "http://127.0.0.1:1", rec)
		_, err := (&http.Client{Transport: tr}).Get("http://127.0.0.1:1/x")
		var le *stepupclient.LoginError
		if !errors.As(err, &le) || len(rec.reqs) != 0 {
			t.Errorf("token %v: error %v after %d requests; want a *LoginError, nothing sent", tok, err, len(rec.reqs))
		}
	}
}

// TestRenewal: an expired token is replaced before the request, with a
// Login without Refusal that keeps the acr values and scopes of the
// last challenge.
func TestRenewal(t *testing.T) {
	rec := &recorder{next: []func() *http.Response{answer(401, "WWW-Authenticate",
		`Bearer error="insufficient_user_authentication", acr_values="urn:x:loa:2", max_age=0, scope="pay"`)}}
	var got []stepupclient.Login
	src, _ := stepupclient.New(stepupclient.Config{Token: func(_ context.Context, l stepupclient.Login) (*oauth2.Token, error) {
		got = append(got, l)
		return &oauth2.Token{AccessToken: fmt.Sprint("t", len(got)), Expiry: time.Now().Add(-time.Minute)}, nil
	}})
	tr, _ := stepupclient.NewTransport(src, "http://127.0.0.1:1", rec)
	c := &http.Client{Transport: tr}
	for range 2 {
		res, err := c.Get("http://127.0.0.1:1/x")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	if len(got) != 3 {
		t.Fatalf("%d logins, want 3 (first, step-up, renewal)", len(got))
	}
	r := got[2]
	if r.Refusal != nil || !slices.Equal(r.ACRValues, []string{"urn:x:loa:2"}) || !slices.Equal(r.Scopes, []string{"pay"}) {
		t.Errorf("renewal Login %+v: want no Refusal, the challenge's acr values and scopes", r)
	}
	if _, ok := r.MaxAge.Seconds(); ok {
		t.Errorf("renewal asks max_age %v again", r.MaxAge)
	}
	if _, ok := got[1].MaxAge.Seconds(); !ok {
		t.Errorf("step-up Login has no max_age")
	}
}

// TestConcurrent: many requests refused at once cause one login, and every
// one of them succeeds.
func TestConcurrent(t *testing.T) {
	iss := newIssuer(t)
	a := newAPI(t, iss, map[string]claims.Requirement{"POST /transfer": {ACR: []string{claims.ACRMultiFactor}}})
	ls := &logins{iss: iss}
	c, src := newClient(t, stepupclient.Config{}, ls, a.URL, nil)
	if _, err := src.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", a.URL+"/transfer", strings.NewReader("x"))
			res, err := c.Do(req)
			if err != nil {
				errs <- err
				return
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", res.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(ls.calls()); n != 2 {
		t.Errorf("%d logins, want 2 (first, one step-up shared by all)", n)
	}
}

// TestConfig: bad configuration is an error at construction.
func TestConfig(t *testing.T) {
	tok := func(context.Context, stepupclient.Login) (*oauth2.Token, error) { return nil, nil }
	for _, cfg := range []stepupclient.Config{
		{},
		{Token: tok, MaxRetries: -1},
		{Token: tok, MaxRetries: stepupclient.MaxMaxRetries + 1},
		{Token: tok, Scopes: []string{"a b"}},
		{Token: tok, Scopes: []string{""}},
	} {
		if _, err := stepupclient.New(cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
	src, _ := stepupclient.New(stepupclient.Config{Token: tok})
	for _, o := range []string{"", "api.example.com", "http://api.example.com", "http://localhost:8080", "ftp://127.0.0.1",
		"https://api.example.com/v1", "https://u:p@api.example.com", "https://api.example.com?x", "https://api.example.com#f", "https://"} {
		if _, err := stepupclient.NewTransport(src, o, nil); err == nil {
			t.Errorf("NewTransport(%q): no error", o)
		}
	}
	if _, err := stepupclient.NewTransport(nil, "https://api.example.com", nil); err == nil {
		t.Error("NewTransport(nil source): no error")
	}
	for _, o := range []string{"https://api.example.com", "https://API.example.com:443/", "http://127.0.0.1:8080", "http://[::1]:9"} {
		if _, err := stepupclient.NewTransport(src, o, nil); err != nil {
			t.Errorf("NewTransport(%q): %v", o, err)
		}
	}
}

// TestDefaultPort: an origin with and without its default port is one
// origin.
func TestDefaultPort(t *testing.T) {
	rec := &recorder{}
	src := mustSource(t, counted())
	tr, _ := stepupclient.NewTransport(src, "https://API.example.com:443", rec)
	for _, u := range []string{"https://api.example.com/a", "https://api.example.com:443/b", "http://api.example.com/c", "https://api.example.com:8443/d", "https://example.com/e"} {
		req, _ := http.NewRequest("GET", u, nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	var got []bool
	for _, r := range rec.reqs {
		got = append(got, r.Header.Get("Authorization") != "")
	}
	if want := []bool{true, true, false, false, false}; !slices.Equal(got, want) {
		t.Errorf("token sent %v, want %v", got, want)
	}
}

// endless is a body that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func (endless) Close() error { return nil }

// TestDrainBound: the body of a refused answer is drained up to 64 KiB
// before the retry, never more, however long the server makes it.
func TestDrainBound(t *testing.T) {
	rec := &recorder{next: []func() *http.Response{func() *http.Response {
		r := answer(401, "WWW-Authenticate", stepUpChallenge)()
		r.Body = endless{}
		return r
	}}}
	c, _ := newClient(t, stepupclient.Config{}, counted(), "http://127.0.0.1:1", rec)
	res, err := c.Get("http://127.0.0.1:1/x")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || len(rec.reqs) != 2 {
		t.Fatalf("got %d after %d requests, want 200 after 2", res.StatusCode, len(rec.reqs))
	}
	if n := rec.closed[0].n; n > 64<<10 || rec.closed[0].closes != 1 {
		t.Errorf("read %d bytes of the refused body, closed %d times; want at most 64 KiB, once", n, rec.closed[0].closes)
	}
}

// TestStepUpScopeBound: a refusal naming more scopes than the union may
// hold is a *ChallengeError, however often they repeat, as a gRPC
// refusal's ErrorInfo (not bounded by ParseChallenges) may: each scope
// would otherwise be looked up in the union, millions of times.
func TestStepUpScopeBound(t *testing.T) {
	ls := counted()
	src := mustSource(t, ls)
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sc := make([]string, 1<<20)
	for i := range sc {
		sc[i] = "s"
	}
	_, err = src.StepUp(context.Background(), tok, &claims.Error{Code: claims.CodeInsufficientScope, Scope: sc})
	var ce *stepupclient.ChallengeError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a *ChallengeError", err)
	}
	if n := len(ls.calls()); n != 1 {
		t.Errorf("%d logins, want 1 (the first token only)", n)
	}
}
