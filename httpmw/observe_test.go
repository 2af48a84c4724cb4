package httpmw_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// TestErrorHooksCompose: every decision hook runs, in order, with the
// ServeMux pattern in r.Pattern.
func TestErrorHooksCompose(t *testing.T) {
	is := newIssuer(t)
	var got []string
	hook := func(name string) httpmw.Option {
		return refusals(func(r *http.Request, err error) {
			got = append(got, name+" "+r.Pattern)
		})
	}
	g := newGuard(t, is.verifier(t), hook("first"), hook("second"))
	mux, err := g.Mux([]httpmw.Route{{Pattern: "GET /items/{id}", Handler: okHandler()}})
	if err != nil {
		t.Fatal(err)
	}
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/42", nil))
	want := []string{"first GET /items/{id}", "second GET /items/{id}"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("hooks: got %q, want %q", got, want)
	}
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
}

func TestWithLoggerNil(t *testing.T) {
	is := newIssuer(t)
	g, err := httpmw.New(is.verifier(t), httpmw.WithLogger(nil))
	if err == nil || g != nil || !strings.HasPrefix(err.Error(), "httpmw: ") {
		t.Errorf("New(WithLogger(nil)): got %v, %v; want an httpmw error", g, err)
	}
}

// TestWithLogger checks the decision log lines: what they hold and that
// they hold neither the token nor the subject.
func TestWithLogger(t *testing.T) {
	is := newIssuer(t)
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	g := newGuard(t, is.verifier(t), httpmw.WithLogger(l))
	mux, err := g.Mux([]httpmw.Route{
		{Pattern: "GET /profile", Handler: okHandler()},
		{Pattern: "POST /transfer", Requirement: claims.Requirement{ACR: []string{"urn:loa:3"}, MaxAge: 5 * time.Minute}, Handler: okHandler()},
	})
	if err != nil {
		t.Fatal(err)
	}
	good := is.mint(t, map[string]any{"sub": "subject-PII-1"})
	expired := is.mint(t, map[string]any{"sub": "subject-PII-1", "exp": testNow.Add(-time.Hour).Unix()})
	send := func(method, target, tok string) {
		r := httptest.NewRequest(method, target, nil)
		if tok != "" {
			r.Header.Set("Authorization", "Bearer "+tok)
		}
		mux.ServeHTTP(httptest.NewRecorder(), r)
	}
	send("GET", "/profile", good)
	send("GET", "/profile", expired)
	send("POST", "/transfer", good)
	send("GET", "/profile", "")
	chooser := g.RequireFunc(func(*http.Request, *claims.Claims) (claims.Requirement, error) {
		return claims.Requirement{}, errors.New("policy store down")
	}, okHandler())
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Authorization", "Bearer "+good)
	chooser.ServeHTTP(httptest.NewRecorder(), r)

	want := `level=DEBUG msg="httpmw: request allowed" method=GET route="GET /profile" status=200
level=DEBUG msg="httpmw: request refused" method=GET route="GET /profile" status=401 code=invalid_token reason=expired
level=DEBUG msg="httpmw: request refused" method=POST route="POST /transfer" status=401 code=insufficient_user_authentication acr_values=urn:loa:3
level=DEBUG msg="httpmw: request refused" method=GET route="GET /profile" status=401 code=none
level=DEBUG msg="httpmw: request refused" method=GET route="" status=500 code=internal error="policy store down"
`
	if got := buf.String(); got != want {
		t.Errorf("logs:\ngot:\n%s\nwant:\n%s", got, want)
	}
	for _, secret := range []string{good, expired, "subject-PII-1"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

// TestDecisionHook: every decision of Require and RequireFunc reaches the
// decision hooks, nil when allowed; public Mux routes are not decided on.
func TestDecisionHook(t *testing.T) {
	is := newIssuer(t)
	var got []string
	hook := func(name string) httpmw.Option {
		return httpmw.WithDecisionHook(func(r *http.Request, err error) {
			code := "ok"
			if err != nil {
				code = "refused"
				var ce *claims.Error
				if errors.As(err, &ce) {
					code = string(ce.Code)
				}
			}
			got = append(got, name+" "+r.Pattern+" "+code)
		})
	}
	g := newGuard(t, is.verifier(t), hook("first"), hook("second"))
	mux, err := g.Mux([]httpmw.Route{
		{Pattern: "GET /profile", Handler: okHandler()},
		{Pattern: "GET /public", Public: true, Handler: okHandler()},
		{Pattern: "POST /transfer", Requirement: claims.Requirement{ACR: []string{"urn:loa:3"}}, Handler: okHandler()},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("GET /chosen", g.RequireFunc(func(*http.Request, *claims.Claims) (claims.Requirement, error) {
		return claims.Requirement{}, nil
	}, okHandler()))
	tok := is.mint(t, nil)
	for _, c := range []struct{ method, path, tok string }{
		{"GET", "/profile", tok}, {"GET", "/public", ""}, {"POST", "/transfer", tok}, {"GET", "/profile", ""}, {"GET", "/chosen", tok},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.tok != "" {
			r.Header.Set("Authorization", "Bearer "+c.tok)
		}
		mux.ServeHTTP(httptest.NewRecorder(), r)
	}
	want := []string{
		"first GET /profile ok", "second GET /profile ok",
		"first POST /transfer insufficient_user_authentication", "second POST /transfer insufficient_user_authentication",
		"first GET /profile ", "second GET /profile ",
		"first GET /chosen ok", "second GET /chosen ok",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("decision hooks:\ngot  %q\nwant %q", got, want)
	}
	if g, err := httpmw.New(is.verifier(t), httpmw.WithDecisionHook(nil)); err == nil || g != nil {
		t.Errorf("New(WithDecisionHook(nil)): got %v, %v; want an error", g, err)
	}
}
