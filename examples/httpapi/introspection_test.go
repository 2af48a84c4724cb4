package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app/apptest"
)

// invalidToken is the challenge of a refused token under the demo-like
// policies.
const invalidToken = `Bearer realm="stepup-example", error="invalid_token", error_description="The access token is invalid", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`

// TestDevIntrospection runs -dev on the introspection policy: the printed
// opaque token passes the routes its multi-factor login meets, through the
// dev introspection endpoint; an unknown opaque token is invalid_token;
// the JWTs still verify with the keys.
func TestDevIntrospection(t *testing.T) {
	s := startServer(t, "-dev", "-policy", filepath.Join("..", "policies", "introspection.yaml"))
	out := s.stdout.String()
	ex := apptest.Exports(out)
	opaque := ex["OPAQUE_TOKEN"]
	if opaque == "" || strings.Count(opaque, ".") == 2 {
		t.Fatalf("OPAQUE_TOKEN %q is missing or a JWT; output:\n%s", opaque, out)
	}
	if want := "amr [pwd otp mfa], scope \"admin\"; opaque, answered by the dev introspection endpoint http://127.0.0.1:"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	tests := []struct {
		name, method, path, token string
		status                    int
		header                    string
	}{
		{"opaque, any token", "GET", "/profile", opaque, 200, ""},
		{"opaque, multi-factor", "POST", "/transfer", opaque, 200, ""},
		{"opaque, no hardware key", "GET", "/admin/", opaque, 401,
			`Bearer realm="stepup-example", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/phishing-resistant", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`},
		{"unknown opaque token", "GET", "/profile", "mB80Ux0yHX17jTaxFhryM7o3og8TojktkEro26mFDMc", 401, invalidToken},
		{"JWT still verified with the keys", "POST", "/transfer", ex["MFA_TOKEN"], 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, tt.method, s.url+tt.path, tt.token)
			if a.status != tt.status || a.header.Get("WWW-Authenticate") != tt.header {
				t.Errorf("got %d %q\nwant %d %q", a.status, a.header.Get("WWW-Authenticate"), tt.status, tt.header)
			}
		})
	}
	var caller map[string]any
	if err := json.Unmarshal([]byte(get(t, "GET", s.url+"/profile", opaque).body), &caller); err != nil || caller["sub"] != "alice" || caller["acr"] != claims.ACRMultiFactor {
		t.Errorf("GET /profile with the opaque token: %v %v, want alice at %s", caller, err, claims.ACRMultiFactor)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run after cancel: %v, want nil", err)
	}
}

// authServer is an authorization server's metadata (RFC 8414) and
// introspection endpoint for client "api" with secret "s3cr3t", answering
// active for the token "opaque-mfa".
func authServer(t *testing.T, jwksURI string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/oauth-authorization-server":
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": srv.URL, "jwks_uri": jwksURI, "introspection_endpoint": srv.URL + "/introspect"})
		case "/introspect":
			if id, secret, ok := r.BasicAuth(); !ok || id != "api" || secret != "s3cr3t" {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
				return
			}
			answer := map[string]any{"active": false}
			if r.PostFormValue("token") == "opaque-mfa" {
				now := time.Now()
				answer = map[string]any{"active": true, "iss": srv.URL, "aud": audience, "sub": "bob",
					"exp": now.Add(time.Hour).Unix(), "acr": claims.ACRMultiFactor, "auth_time": now.Unix()}
			}
			_ = json.NewEncoder(w).Encode(answer)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestIntrospectionStartup: without -dev the secret comes from the named
// variable, the endpoint is given or discovered, and wrong credentials,
// a missing secret or an unreachable endpoint stop the start-up with a
// message saying so.
func TestIntrospectionStartup(t *testing.T) {
	iss := newIssuer(t)
	as := authServer(t, iss.JWKSURL())
	doc := func(block string) string {
		return "issuer: " + as.URL + "\naudience: " + audience + "\njwks_uri: " + iss.JWKSURL() +
			"\nresource_metadata: https://api.example.com/.well-known/oauth-protected-resource\n" +
			"introspection:\n  client_id: api\n  client_secret_env: TEST_INTROSPECTION_SECRET\n  " + block +
			"\nrules:\n  - http: \"POST /transfer\"\n    acr: [" + claims.ACRMultiFactor + "]\n"
	}
	for _, block := range []string{"endpoint: " + as.URL + "/introspect", "discover: true"} {
		t.Run(block, func(t *testing.T) {
			t.Setenv("TEST_INTROSPECTION_SECRET", "s3cr3t")
			s := startServer(t, "-policy", apptest.WritePolicy(t, doc(block)))
			for _, tt := range []struct {
				token  string
				status int
				header string
			}{
				{"opaque-mfa", 200, ""},
				{"opaque-unknown", 401, invalidToken},
			} {
				a := get(t, "POST", s.url+"/transfer", tt.token)
				if a.status != tt.status || a.header.Get("WWW-Authenticate") != tt.header {
					t.Errorf("%s: got %d %q\nwant %d %q", tt.token, a.status, a.header.Get("WWW-Authenticate"), tt.status, tt.header)
				}
			}
		})
	}
	tests := []struct {
		name, secret, block, want string
	}{
		{"wrong secret", "wrong", "endpoint: " + as.URL + "/introspect",
			`introspection endpoint ` + as.URL + `/introspect refused client_id "api" with the secret in $TEST_INTROSPECTION_SECRET (client_secret_basic); fix the credentials: `},
		{"wrong secret, discovered", "wrong", "discover: true",
			`introspection endpoint of ` + as.URL + ` (discovered) refused client_id "api" with the secret in $TEST_INTROSPECTION_SECRET (client_secret_basic); fix the credentials: `},
		{"no secret", "", "endpoint: " + as.URL + "/introspect",
			`$TEST_INTROSPECTION_SECRET is unset or empty; it must hold the client secret of client_id "api"`},
		{"unreachable", "s3cr3t", "endpoint: http://127.0.0.1:1/introspect", "introspection endpoint http://127.0.0.1:1/introspect: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TEST_INTROSPECTION_SECRET", tt.secret)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, []string{"-addr", "127.0.0.1:0", "-policy", apptest.WritePolicy(t, doc(tt.block))}, io.Discard, io.Discard, func(string) { t.Error("ready called") })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: %v\nwant an error containing %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
}
