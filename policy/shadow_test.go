package policy_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// lineRE matches the line numbers in an error, which are all 1 in the
// one-line JSON form of a document.
var lineRE = regexp.MustCompile(`line \d+`)

// rulesDoc is a policy document with the given rules list, one or
// more lines per rule; the first rule starts on line 4.
func rulesDoc(rules ...string) string {
	return head + "rules:\n" + strings.Join(rules, "")
}

// TestShadowRefused checks that a public rule taking requests or calls a
// protected rule names is refused at load time, naming both rules.
func TestShadowRefused(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		// The three examples of the issue.
		{"wildcard under a protected prefix", rulesDoc(
			"  - http: GET /admin/\n",
			"  - http: \"GET /admin/{x}\"\n    public: true\n"),
			`policy: line 5: rules[1] (http "GET /admin/{x}"): http: public pattern takes requests that protected rules[0] (http "GET /admin/", line 4) names, such as GET /admin/stepup-probe; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"host pattern over a host-less protected one", rulesDoc(
			"  - http: GET status.example.com/admin/\n    public: true\n",
			"  - http: GET /admin/\n"),
			`policy: line 4: rules[0] (http "GET status.example.com/admin/"): http: public pattern takes requests that protected rules[1] (http "GET /admin/", line 6) names, such as GET /admin/ with Host: status.example.com; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"catch-all beside a lower-case method", rulesDoc(
			"  - http: /\n    public: true\n",
			"  - http: get /admin/\n"),
			`policy: line 6: rules[1] (http "get /admin/"): http: method "get" must be upper case, e.g. GET`},

		// More ways for ServeMux to prefer the public pattern.
		{"literal under a protected prefix", rulesDoc(
			"  - http: /admin/\n",
			"  - http: GET /admin/health\n    public: true\n"),
			`policy: line 5: rules[1] (http "GET /admin/health"): http: public pattern takes requests that protected rules[0] (http "/admin/", line 4) names, such as GET /admin/health; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"HEAD beside a protected GET", rulesDoc(
			"  - http: GET /admin/\n",
			"  - http: HEAD /admin/\n    public: true\n"),
			`policy: line 5: rules[1] (http "HEAD /admin/"): http: public pattern takes requests that protected rules[0] (http "GET /admin/", line 4) names, such as HEAD /admin/; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"method over a method-less protected pattern", rulesDoc(
			"  - http: /admin/\n",
			"  - http: POST /admin/\n    public: true\n"),
			`policy: line 5: rules[1] (http "POST /admin/"): http: public pattern takes requests that protected rules[0] (http "/admin/", line 4) names, such as POST /admin/; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"host catch-all", rulesDoc(
			"  - http: \"POST /transfer/{id}\"\n",
			"  - http: status.example.com/\n    public: true\n"),
			`policy: line 5: rules[1] (http "status.example.com/"): http: public pattern takes requests that protected rules[0] (http "POST /transfer/{id}", line 4) names, such as POST /transfer/stepup-probe with Host: status.example.com; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"exact trailing slash", rulesDoc(
			"  - http: /admin/\n",
			"  - http: /admin/{$}\n    public: true\n"),
			`policy: line 5: rules[1] (http "/admin/{$}"): http: public pattern takes requests that protected rules[0] (http "/admin/", line 4) names, such as GET /admin/; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"root under a protected catch-all", rulesDoc(
			"  - http: /\n",
			"  - http: GET /{$}\n    public: true\n"),
			`policy: line 5: rules[1] (http "GET /{$}"): http: public pattern takes requests that protected rules[0] (http "/", line 4) names, such as GET /; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"literal under a wildcard prefix", rulesDoc(
			"  - http: \"GET /items/{id}/\"\n",
			"  - http: \"GET /items/{id}/photo\"\n    public: true\n"),
			`policy: line 5: rules[1] (http "GET /items/{id}/photo"): http: public pattern takes requests that protected rules[0] (http "GET /items/{id}/", line 4) names, such as GET /items/stepup-probe/photo; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"rest wildcard", rulesDoc(
			"  - http: \"GET /files/{path...}\"\n",
			"  - http: \"GET /files/public/{name}\"\n    public: true\n"),
			`policy: line 5: rules[1] (http "GET /files/public/{name}"): http: public pattern takes requests that protected rules[0] (http "GET /files/{path...}", line 4) names, such as GET /files/public/stepup-probe; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"escaped literal", rulesDoc(
			"  - http: /%61dmin/\n",
			"  - http: GET /admin/x\n    public: true\n"),
			`policy: line 5: rules[1] (http "GET /admin/x"): http: public pattern takes requests that protected rules[0] (http "/%61dmin/", line 4) names, such as GET /admin/x; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},
		{"rule with both routes", rulesDoc(
			"  - http: GET /admin/\n    grpc: /bank.v1.Admin/*\n",
			"  - http: GET /admin/status\n    grpc: /bank.v1.Admin/Status\n    public: true\n"),
			`policy: line 6: rules[1] (http "GET /admin/status", grpc "/bank.v1.Admin/Status"): http: public pattern takes requests that protected rules[0] (http "GET /admin/", line 4) names, such as GET /admin/status; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public`},

		// gRPC: an exact method wins over its service's wildcard.
		{"grpc exact under a protected wildcard", rulesDoc(
			"  - grpc: /pkg.Svc/*\n",
			"  - grpc: /pkg.Svc/Get\n    public: true\n"),
			`policy: line 5: rules[1] (grpc "/pkg.Svc/Get"): grpc: public method under protected rules[0] (grpc "/pkg.Svc/*", line 4): an exact method wins over its service's wildcard, so /pkg.Svc/Get would need no token; remove this rule, or set overrides_protected: true if it is meant to be public`},
		{"grpc exact before the protected wildcard", rulesDoc(
			"  - grpc: /pkg.Svc/Get\n    public: true\n",
			"  - http: /x\n    grpc: /pkg.Svc/*\n"),
			`policy: line 4: rules[0] (grpc "/pkg.Svc/Get"): grpc: public method under protected rules[1] (grpc "/pkg.Svc/*", line 7): an exact method wins over its service's wildcard, so /pkg.Svc/Get would need no token; remove this rule, or set overrides_protected: true if it is meant to be public`},

		// The escape is for public rules only.
		{"overrides on a protected rule", rulesDoc(
			"  - http: /admin/\n    overrides_protected: true\n"),
			`policy: line 5: rules[0] (http "/admin/"): overrides_protected: only a public rule can override protected ones (add public: true, or remove the field)`},
		{"overrides not a boolean", rulesDoc(
			"  - http: /admin/health\n    public: true\n    overrides_protected: !!bool yes\n"),
			`policy: line 6: rules[0] (http "/admin/health"): overrides_protected: want true or false, got "yes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, format := range []string{"yaml", "json"} {
				doc := []byte(tt.doc)
				want := tt.want
				if format == "json" {
					if strings.Contains(tt.doc, "!!") {
						continue
					}
					doc = toJSON(t, tt.doc)
					want = lineRE.ReplaceAllString(want, "line 1")
				}
				p, err := policy.Parse(doc)
				if err == nil {
					t.Fatalf("%s: Parse = %+v, want error %q", format, p, want)
				}
				if got := err.Error(); got != want {
					t.Errorf("%s: error\ngot  %s\nwant %s", format, got, want)
				}
				var e *policy.Error
				if !errors.As(err, &e) || e.Rule < 0 {
					t.Errorf("%s: error %#v does not name a rule", format, err)
				}
			}
		})
	}
}

// TestShadowAllowed checks rules that overlap without a public one taking
// what a protected one names, and the overrides_protected escape.
func TestShadowAllowed(t *testing.T) {
	tests := []struct {
		name string
		doc  string
	}{
		{"public catch-all below protected routes", rulesDoc(
			"  - http: /\n    public: true\n",
			"  - http: GET /admin/\n",
			"  - http: \"POST /transfer/{id}\"\n")},
		{"public prefix above a protected literal", rulesDoc(
			"  - http: GET /docs/\n    public: true\n",
			"  - http: GET /docs/internal\n")},
		{"protected host pattern over a public host-less one", rulesDoc(
			"  - http: api.example.com/admin/\n",
			"  - http: \"GET /admin/{x}\"\n    public: true\n")},
		{"methods apart", rulesDoc(
			"  - http: GET /admin/\n",
			"  - http: \"POST /admin/{x}\"\n    public: true\n")},
		{"path without the slash", rulesDoc(
			"  - http: GET /admin/\n",
			"  - http: GET /admin\n    public: true\n")},
		{"hosts apart", rulesDoc(
			"  - http: GET a.example.com/\n",
			"  - http: GET b.example.com/\n    public: true\n")},
		{"overrides_protected", rulesDoc(
			"  - http: GET /admin/\n    grpc: /pkg.Svc/*\n",
			"  - http: GET /admin/health\n    grpc: /pkg.Svc/Health\n    public: true\n    overrides_protected: true\n",
			"  - http: GET status.example.com/\n    public: true\n    overrides_protected: true\n")},
		{"overrides_protected false on any rule", rulesDoc(
			"  - http: GET /admin/\n    overrides_protected: false\n",
			"  - http: GET /health\n    public: true\n    overrides_protected: false\n")},
		{"grpc public wildcard, protected exact method", rulesDoc(
			"  - grpc: /pkg.Svc/*\n    public: true\n",
			"  - grpc: /pkg.Svc/Delete\n")},
		{"grpc other service", rulesDoc(
			"  - grpc: /pkg.Svc/*\n",
			"  - grpc: /pkg.Svc2/Get\n    public: true\n",
			"  - grpc: /pkg.Svc.Sub/Get\n    public: true\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := policy.Parse([]byte(tt.doc)); err != nil {
				t.Errorf("YAML: %v", err)
			}
			if _, err := policy.Parse(toJSON(t, tt.doc)); err != nil {
				t.Errorf("JSON: %v", err)
			}
		})
	}
}

// TestOverridesProtected checks the rule records the escape.
func TestOverridesProtected(t *testing.T) {
	p, err := policy.Parse([]byte(rulesDoc(
		"  - http: /admin/\n",
		"  - http: GET /admin/health\n    public: true\n    overrides_protected: true\n")))
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Rules[0]; r.Public || r.OverridesProtected {
		t.Errorf("rules[0]: Public = %v, OverridesProtected = %v, want false, false", r.Public, r.OverridesProtected)
	}
	if r := p.Rules[1]; !r.Public || !r.OverridesProtected {
		t.Errorf("rules[1]: Public = %v, OverridesProtected = %v, want true, true", r.Public, r.OverridesProtected)
	}
}

// TestShadowAsTheMiddlewareSeesIt checks the premises of the shadow check
// against the tables the rules feed: httpmw's ServeMux serves a shadowed
// request without a token, and grpcmw's method table prefers an exact
// method to its service's wildcard, whichever of them is public.
func TestShadowAsTheMiddlewareSeesIt(t *testing.T) {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		t.Fatal(err)
	}
	guard, err := httpmw.New(v)
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})

	// The table a file with overrides_protected produces, and what the
	// refused files would have produced without the check.
	doc := rulesDoc(
		"  - http: GET /admin/\n",
		"  - http: GET /admin/health\n    public: true\n    overrides_protected: true\n")
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var routes []httpmw.Route
	for _, r := range p.HTTPRules() {
		routes = append(routes, httpmw.Route{Pattern: r.HTTP, Public: r.Public, Requirement: r.Requirement, Handler: ok})
	}
	routes = append(routes,
		httpmw.Route{Pattern: "GET /admin/{x}", Public: true, Handler: ok},
		httpmw.Route{Pattern: "GET status.example.com/admin/", Public: true, Handler: ok})
	mux, err := guard.Mux(routes)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host, path string
		want       int
	}{
		{"api.example.com", "/admin/health", http.StatusOK},           // overrides_protected
		{"api.example.com", "/admin/users", http.StatusOK},            // GET /admin/{x}
		{"status.example.com", "/admin/a/b", http.StatusOK},           // the host pattern
		{"api.example.com", "/admin/a/b", http.StatusUnauthorized},    // GET /admin/ itself
		{"api.example.com", "/admin/", http.StatusUnauthorized},       // GET /admin/ itself
		{"status.example.com", "/other", http.StatusNotFound},         // nothing
		{"api.example.com", "/admin/users/", http.StatusUnauthorized}, // GET /admin/ itself
	} {
		req := httptest.NewRequest(http.MethodGet, "http://"+tt.host+tt.path, nil)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("GET %s%s without a token: got %d, want %d", tt.host, tt.path, rec.Code, tt.want)
		}
	}

	for _, tt := range []struct {
		name  string
		rules []grpcmw.Rule
		want  bool // the exact method is public
	}{
		{"public exact, protected wildcard", []grpcmw.Rule{{Method: "/pkg.Svc/*"}, {Method: "/pkg.Svc/Get", Public: true}}, true},
		{"public wildcard, protected exact", []grpcmw.Rule{{Method: "/pkg.Svc/*", Public: true}, {Method: "/pkg.Svc/Get"}}, false},
	} {
		m, err := grpcmw.NewMethods(tt.rules...)
		if err != nil {
			t.Fatal(err)
		}
		r, found := m.Lookup("/pkg.Svc/Get")
		if !found || r.Public != tt.want {
			t.Errorf("%s: Lookup(/pkg.Svc/Get) = %+v, %v; want Public %v", tt.name, r, found, tt.want)
		}
	}
}
