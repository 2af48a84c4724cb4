package httpmw_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

func TestMux(t *testing.T) {
	is := newIssuer(t)
	g := newGuard(t, is.verifier(t), httpmw.WithRealm(testRealm))
	public := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, found := claims.FromContext(r.Context())
		_, _ = w.Write([]byte("public, claims: " + map[bool]string{true: "yes", false: "no"}[found]))
	})
	mux, err := g.Mux([]httpmw.Route{
		{Pattern: "GET /public", Public: true, Handler: public},
		{Pattern: "GET /profile", Handler: ok},
		{Pattern: "POST /transfer", Requirement: claims.Requirement{ACR: []string{mfa}, MaxAge: 5 * time.Minute}, Handler: ok},
		{Pattern: "GET /admin/", Requirement: claims.Requirement{AMRAll: []string{"hwk"}, AMRACRValues: []string{"urn:example:loa:3"}, Scopes: []string{"admin"}}, Handler: ok},
	})
	if err != nil {
		t.Fatal(err)
	}
	good := is.mint(t, nil)
	pwd := is.mint(t, map[string]any{"acr": "urn:example:pwd", "amr": []string{"pwd"}})
	tests := []struct {
		method, path, token string
		status              int
		challenge           string
	}{
		{"GET", "/public", "", 200, ""},
		{"GET", "/public", "not a valid token", 200, ""},
		{"GET", "/profile", "", 401, `Bearer realm="api"`},
		{"GET", "/profile", pwd, 200, ""},
		{"POST", "/transfer", pwd, 401, `Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="` + mfa + `"`},
		{"POST", "/transfer", good, 200, ""},
		{"GET", "/admin/users", good, 401, `Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", scope="admin", acr_values="urn:example:loa:3"`},
		{"GET", "/unlisted", good, 404, ""},
		{"DELETE", "/profile", good, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Errorf("status: got %d, want %d (body %q)", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate:\n got %q\nwant %q", got, tt.challenge)
			}
		})
	}
	r := httptest.NewRequest("GET", "/public", nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	if got := rec.Body.String(); got != "public, claims: no" {
		t.Errorf("public route body: got %q, want %q", got, "public, claims: no")
	}
}

func TestMuxErrors(t *testing.T) {
	g := newGuard(t, newIssuer(t).verifier(t))
	tests := []struct {
		name   string
		routes []httpmw.Route
		bad    string // pattern of the first bad route
		msg    string // part of the error text
	}{
		{"empty pattern", []httpmw.Route{{Pattern: "", Handler: ok}}, "", "empty pattern"},
		{"invalid pattern", []httpmw.Route{{Pattern: "GET /a/{x", Handler: ok}}, "GET /a/{x", "bad wildcard"},
		{"duplicate wildcard", []httpmw.Route{{Pattern: "GET /{x}/{x}", Handler: ok}}, "GET /{x}/{x}", "duplicate wildcard"},
		{"duplicate", []httpmw.Route{{Pattern: "GET /a", Handler: ok}, {Pattern: "GET /a", Handler: ok}}, "GET /a", "duplicate pattern"},
		{"conflict", []httpmw.Route{{Pattern: "GET /a/{x}", Handler: ok}, {Pattern: "GET /{y}/b", Handler: ok}}, "GET /{y}/b", "conflicts"},
		{"no handler", []httpmw.Route{{Pattern: "GET /a"}}, "GET /a", "no handler"},
		{"invalid requirement", []httpmw.Route{{Pattern: "GET /a", Requirement: claims.Requirement{ACRMin: "urn:loa:2"}, Handler: ok}}, "GET /a", "invalid requirement: claims: invalid requirement: ACRMin"},
		{"public with requirement", []httpmw.Route{{Pattern: "GET /a", Public: true, Requirement: claims.Requirement{Scopes: []string{"x"}}, Handler: ok}}, "GET /a", "public route with a requirement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux, err := g.Mux(tt.routes)
			if err == nil || mux != nil {
				t.Fatalf("Mux: got %v, %v; want an error", mux, err)
			}
			var re *httpmw.RouteError
			if !errors.As(err, &re) || re.Pattern != tt.bad {
				t.Fatalf("Mux error: got %v, want a *RouteError for %q", err, tt.bad)
			}
			if !strings.HasPrefix(err.Error(), "httpmw: route ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Mux error text: got %q, want it to mention %q", err, tt.msg)
			}
		})
	}
	// every bad route is reported
	_, err := g.Mux([]httpmw.Route{{Pattern: "GET /a"}, {Pattern: "GET /b", Handler: ok}, {Pattern: "GET /c"}})
	if n := strings.Count(err.Error(), "httpmw: route "); n != 2 {
		t.Errorf("Mux with two bad routes: got %d errors in %q, want 2", n, err)
	}
	// A public route carries the zero requirement only, as a public gRPC
	// method does: even levels or acr_values, which qualify other
	// conditions, would look enforced on a route that reads no token.
	for _, req := range []claims.Requirement{{ACRLevels: []string{"a", "b"}}, {AMRACRValues: []string{"a"}}} {
		if _, err := g.Mux([]httpmw.Route{{Pattern: "GET /p", Public: true, Handler: ok, Requirement: req}}); err == nil || !strings.Contains(err.Error(), "public route with a requirement") {
			t.Errorf("public route with %+v: got %v, want a public route error", req, err)
		}
	}
}

// TestRouteAnyRouter: a handler from Guard.Route, mounted on a router that
// is not a ServeMux (r.Pattern empty), labels its decisions with the
// route's Pattern, also under a ServeMux it is mounted in; public routes are
// served undecided; bad routes are *RouteErrors.
func TestRouteAnyRouter(t *testing.T) {
	is := newIssuer(t)
	var labels []string
	g := newGuard(t, is.verifier(t), httpmw.WithDecisionHook(func(r *http.Request, _ error) { labels = append(labels, r.Pattern) }))
	ok := okHandler()
	h, err := g.Route(httpmw.Route{Pattern: "POST /transfer", Requirement: claims.Requirement{Scopes: []string{"transfer"}}, Handler: ok})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/transfer", nil)) // as chi would call it
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("no token: got %d, want 401", rec.Code)
	}
	r := httptest.NewRequest("POST", "/transfer", nil)
	r.Pattern = "/" // a ServeMux that mounts the router at "/"
	h.ServeHTTP(httptest.NewRecorder(), r)
	if got := strings.Join(labels, "|"); got != "POST /transfer|POST /transfer" {
		t.Errorf("labels: got %q, want the route's name twice", got)
	}
	pub, err := g.Route(httpmw.Route{Pattern: "GET /health", Public: true, Handler: ok})
	if err != nil {
		t.Fatal(err)
	}
	labels = nil
	rec = httptest.NewRecorder()
	pub.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	if rec.Code != http.StatusOK || len(labels) != 0 {
		t.Errorf("public route: got %d and %d decisions, want 200 and none", rec.Code, len(labels))
	}
	for _, rt := range []httpmw.Route{{Pattern: "", Handler: ok}, {Pattern: "x"}, {Pattern: "x", Public: true, Handler: ok, Requirement: claims.Requirement{Scopes: []string{"a"}}}} {
		var re *httpmw.RouteError
		if _, err := g.Route(rt); !errors.As(err, &re) {
			t.Errorf("Route(%+v): got %v, want a *RouteError", rt, err)
		}
	}
}
