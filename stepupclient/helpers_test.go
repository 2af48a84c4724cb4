package stepupclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepupclient"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// newIssuer starts an in-process issuer, closed with the test.
func newIssuer(t testing.TB) *stepuptest.Issuer {
	t.Helper()
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	return iss
}

func newVerifier(t testing.TB, iss *stepuptest.Issuer) *verify.Verifier {
	t.Helper()
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// api is a test resource server that counts the requests it receives.
type api struct {
	*httptest.Server
	requests atomic.Int64
}

// newAPI serves routes behind a Guard of iss, plus opts, on loopback.
func newAPI(t testing.TB, iss *stepuptest.Issuer, routes map[string]claims.Requirement, opts ...httpmw.Option) *api {
	t.Helper()
	mux := newMux(t, iss, routes, opts...)
	a := &api{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(a.Close)
	return a
}

// newMux serves routes behind a Guard of iss with opts; each route answers
// the caller's acr.
func newMux(t testing.TB, iss *stepuptest.Issuer, routes map[string]claims.Requirement, opts ...httpmw.Option) http.Handler {
	t.Helper()
	g, err := httpmw.New(newVerifier(t, iss), opts...)
	if err != nil {
		t.Fatal(err)
	}
	var rs []httpmw.Route
	for p, req := range routes {
		rs = append(rs, httpmw.Route{Pattern: p, Requirement: req, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := claims.FromContext(r.Context())
			_, _ = w.Write([]byte(c.ACR))
		})})
	}
	mux, err := g.Mux(rs)
	if err != nil {
		t.Fatal(err)
	}
	return mux
}

// logins records the Logins a TokenFunc was called with and logs in at
// iss as each asks.
type logins struct {
	iss *stepuptest.Issuer
	mu  sync.Mutex
	got []stepupclient.Login
	// mint, when set, replaces the login at iss.
	mint func(l stepupclient.Login) (string, error)
}

func (ls *logins) token(ctx context.Context, l stepupclient.Login) (*oauth2.Token, error) {
	ls.mu.Lock()
	ls.got = append(ls.got, l)
	ls.mu.Unlock()
	var tok string
	var err error
	if ls.mint != nil {
		tok, err = ls.mint(l)
	} else {
		tok, err = ls.iss.Login(ctx, stepuptest.LoginRequest{ACRValues: l.ACRValues, MaxAge: l.MaxAge, Scopes: l.Scopes})
	}
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: tok}, nil
}

func (ls *logins) calls() []stepupclient.Login {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return append([]stepupclient.Login(nil), ls.got...)
}

// newClient returns an http.Client whose Transport sends the tokens of a
// Source built from cfg (Token set to ls.token) to the origin of srv.
func newClient(t testing.TB, cfg stepupclient.Config, ls *logins, origin string, base http.RoundTripper) (*http.Client, *stepupclient.Source) {
	t.Helper()
	if cfg.Token == nil {
		cfg.Token = ls.token
	}
	src, err := stepupclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := stepupclient.NewTransport(src, origin, base)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: tr}, src
}
