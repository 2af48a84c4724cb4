package gateway_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/gateway"
	"github.com/stepupauth/stepup/policy"
)

// TestHostCase: host names are case-insensitive and a trailing dot names
// the same host (RFC 3986 §3.2.2, RFC 1034 §3.1); the upstream's virtual
// hosts (nginx, Envoy) match them so. The gateway must decide on the host
// rule too, not let "STATUS.example.com" or "status.example.com." fall
// through to the public rule of every other host.
func TestHostCase(t *testing.T) {
	f := newFixture(t, gateway.Config{AllowUnlisted: []string{"open.example.com"}})
	for _, tc := range []struct {
		host    string
		status  int
		allowed bool
	}{
		{"status.example.com", 401, false},
		{"STATUS.example.com", 401, false},
		{"Status.Example.Com:8443", 401, false},
		{"status.example.com.", 401, false},
		{"status.example.com.:80", 401, false},
		{"status.example.com..", 400, false},
		{".", 400, false},
		{"api.example.com.", 200, true}, // the public rule of any host
		{"[::1]:80", 200, true},
		{"OPEN.example.com.", 200, true},
	} {
		d := f.gw.Decide(context.Background(), gateway.Request{Method: "GET", Host: tc.host, URI: "/public"})
		if d.Allowed != tc.allowed || d.Status != tc.status {
			t.Errorf("%s: allowed %v status %d, want %v %d", tc.host, d.Allowed, d.Status, tc.allowed, tc.status)
		}
	}
	d := f.gw.Decide(context.Background(), gateway.Request{Method: "GET", Host: "OPEN.example.com.", URI: "/unlisted"})
	if !d.Allowed {
		t.Errorf("OPEN.example.com. /unlisted: status %d, want allowed", d.Status)
	}
}

// TestNewHostPattern: the gateway compares lower-case hosts without a
// trailing dot, so a rule's host in another form would never match.
func TestNewHostPattern(t *testing.T) {
	f := newFixture(t, gateway.Config{})
	for _, p := range []string{"GET Status.example.com/", "status.example.com./x", "GET  API.example.com/{id}"} {
		_, err := gateway.New(f.guard, []policy.Rule{{HTTP: p}}, gateway.Config{})
		if err == nil || !strings.Contains(err.Error(), "lower case") {
			t.Errorf("%q: got %v", p, err)
		}
	}
	if _, err := gateway.New(f.guard, []policy.Rule{{HTTP: "GET status.example.com/A/{X}"}, {HTTP: "/B"}}, gateway.Config{}); err != nil {
		t.Errorf("lower-case host, upper-case path: %v", err)
	}
}

// TestSmuggledIdentityHeader: the proxies remove or replace the identity
// headers by their exact names; a client's X_Stepup_Subject passes them,
// and CGI, WSGI, Rack and PHP upstreams read it as X-Stepup-Subject
// (HTTP_X_STEPUP_SUBJECT). Such a request is refused.
func TestSmuggledIdentityHeader(t *testing.T) {
	f := newFixture(t, gateway.Config{Headers: gateway.Headers{Subject: "X-User"}})
	tok := f.tokens(t)["mfa"]
	for _, tc := range []struct {
		name    string
		allowed bool
	}{
		{"X-User", true}, // the exact name: the proxy replaces it
		{"x-user", true},
		{"X_User", false},
		{"x_user", false},
		{"X_stepup_acr", false},
		{"X-Stepup_Amr", false},
		{"X_Other", true},
	} {
		h := http.Header{"Authorization": {"Bearer " + tok}}
		h[tc.name] = []string{"forged"}
		for _, uri := range []string{"/profile", "/public"} {
			d := f.gw.Decide(context.Background(), gateway.Request{Method: "GET", Host: "api.example.com", URI: uri, Header: h})
			if d.Allowed != tc.allowed || (!tc.allowed && d.Status != 400) {
				t.Errorf("%s %s: allowed %v status %d, want %v", tc.name, uri, d.Allowed, d.Status, tc.allowed)
			}
		}
	}
}

// TestAmbiguousPath: paths that ServeMux takes as written but that common
// upstreams resolve to another path (Tomcat and Jetty drop ";params"
// before dot segments; IIS and others take a backslash for a slash; C
// servers stop at NUL) are refused on every host, like the paths ServeMux
// would redirect.
func TestAmbiguousPath(t *testing.T) {
	f := newFixture(t, gateway.Config{AllowUnlisted: []string{"api.example.com"}})
	for _, uri := range []string{
		"/x/..;/admin/users",
		"/x/..;x=1/admin/users",
		"/x/.;/y",
		"/x/..%3B/admin/users",
		"/x%5C..%5Cadmin/users",
		"/x\\..\\admin/users",
		"/public%00/x",
		"/public%0d%0aX:1",
	} {
		d := f.gw.Decide(context.Background(), gateway.Request{Method: "GET", Host: "api.example.com", URI: uri})
		if d.Allowed || (d.Status != 403 && d.Status != 400) {
			t.Errorf("%s: allowed %v status %d", uri, d.Allowed, d.Status)
		}
	}
	for _, uri := range []string{"/public;v=1", "/x;..", "/a/b..;/c", "/public?a=..;&b=\\"} {
		d := f.gw.Decide(context.Background(), gateway.Request{Method: "GET", Host: "api.example.com", URI: uri})
		if !d.Allowed {
			t.Errorf("%s: status %d, want allowed", uri, d.Status)
		}
	}
}
