package httpmw_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

// TestOpaqueTokens: behind the same guard, an opaque token is accepted
// with the claims of its introspection (RFC 7662, acr and auth_time as RFC
// 9470 §6.2 returns them), challenged for a step-up like a JWT, refused
// when inactive, and answered 503 when the authorization server is down;
// a JWT is still verified with the keys, never introspected.
func TestOpaqueTokens(t *testing.T) {
	var calls atomic.Int32
	var down atomic.Bool
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		if u, p, ok := r.BasicAuth(); !ok || u != "api" || p != "s3cret" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.PostFormValue("token") {
		case "opaque-password":
			fmt.Fprintf(w, `{"active":true,"iss":%q,"sub":"alice","client_id":"app","acr":"pwd","auth_time":%d,"exp":%d}`,
				testIssuer, testNow.Add(-time.Minute).Unix(), testNow.Add(time.Hour).Unix())
		case "opaque-mfa":
			fmt.Fprintf(w, `{"active":true,"iss":%q,"sub":"alice","client_id":"app","acr":%q,"auth_time":%d,"exp":%d}`,
				testIssuer, claims.ACRMultiFactor, testNow.Add(-time.Minute).Unix(), testNow.Add(time.Hour).Unix())
		default:
			fmt.Fprint(w, `{"active":false}`)
		}
	}))
	t.Cleanup(as.Close)
	ic, err := introspect.New(introspect.Config{Endpoint: as.URL, ClientID: "api", ClientSecret: "s3cret", Issuer: testIssuer,
		Now: func() time.Time { return testNow }, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t)
	set, err := jwks.NewStatic(is.jwks)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(set, verify.Config{Issuer: testIssuer, Audience: testAudience, Now: func() time.Time { return testNow }, Introspector: ic})
	if err != nil {
		t.Fatal(err)
	}
	g := newGuard(t, v, httpmw.WithRealm(testRealm))
	h := g.Require(claims.Requirement{ACR: []string{claims.ACRMultiFactor}, MaxAge: 5 * time.Minute}, okHandler())
	realm := `Bearer realm="` + testRealm + `"`
	for _, tt := range []struct {
		name   string
		token  string
		status int
		header string
	}{
		{"multi-factor opaque token", "opaque-mfa", 200, ""},
		{"password opaque token: step-up", "opaque-password", 401, realm + `, error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="` + claims.ACRMultiFactor + `"`},
		{"inactive", "opaque-revoked", 401, realm + `, error="invalid_token", error_description="The access token is invalid"`},
		{"a JWT is verified locally", is.mint(t, map[string]any{"acr": claims.ACRMultiFactor, "auth_time": testNow.Add(-time.Minute).Unix()}), 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := calls.Load()
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.header {
				t.Errorf("got %d %q\nwant %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tt.status, tt.header)
			}
			if jwt := tt.name == "a JWT is verified locally"; jwt != (calls.Load() == before) {
				t.Errorf("introspection calls: %d for %s", calls.Load()-before, tt.name)
			}
		})
	}
	down.Store(true)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer opaque-mfa")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("authorization server down: got %d %q, want 503 without a challenge", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}
