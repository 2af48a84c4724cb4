package httpmw_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// chooseByAmount demands a fresh multi-factor login for transfers above
// 1,000. It reads the JSON body (bounded) and puts the bytes back for the
// next handler.
func chooseByAmount(r *http.Request, c *claims.Claims) (claims.Requirement, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return claims.Requirement{}, claims.InvalidRequest(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	var t struct {
		Amount int64 `json:"amount"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return claims.Requirement{}, claims.InvalidRequest(err)
	}
	if t.Amount <= 1000 {
		return claims.Requirement{Scopes: []string{"transfer"}}, nil
	}
	return claims.Requirement{ACR: []string{mfa}, MaxAge: 5 * time.Minute, Scopes: []string{"transfer"}}, nil
}

// TestRequireFunc: the same route allows a small transfer and challenges a
// large one.
func TestRequireFunc(t *testing.T) {
	is := newIssuer(t)
	g := newGuard(t, is.verifier(t), httpmw.WithRealm(testRealm))
	transfer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, found := claims.FromContext(r.Context())
		b, _ := io.ReadAll(r.Body)
		if !found {
			http.Error(w, "no claims", http.StatusTeapot)
			return
		}
		fmt.Fprintf(w, "%s sent %s", c.Subject, b)
	})
	h := g.RequireFunc(chooseByAmount, transfer)

	pwd := is.mint(t, map[string]any{"acr": "urn:example:pwd", "auth_time": testNow.Add(-time.Hour).Unix()})
	fresh := is.mint(t, nil)
	tests := []struct {
		name, token, body string
		status            int
		challenge, resp   string
	}{
		{name: "small transfer, password login", token: pwd, body: `{"amount":50}`, status: 200, resp: `alice sent {"amount":50}`},
		{name: "large transfer, password login", token: pwd, body: `{"amount":5000}`, status: 401,
			challenge: `Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level and more recent authentication are required", acr_values="` + mfa + `", max_age=300`,
			resp:      `{"error":"insufficient_user_authentication","error_description":"A different authentication level and more recent authentication are required","acr_values":"` + mfa + `","max_age":300}`},
		{name: "large transfer, fresh mfa login", token: fresh, body: `{"amount":5000}`, status: 200, resp: `alice sent {"amount":5000}`},
		{name: "no token", body: `{"amount":50}`, status: 401, challenge: `Bearer realm="api"`, resp: `{}`},
		{name: "malformed body", token: pwd, body: `{"amount":`, status: 400,
			challenge: `Bearer realm="api", error="invalid_request", error_description="The request is malformed"`,
			resp:      `{"error":"invalid_request","error_description":"The request is malformed"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/transfer", strings.NewReader(tt.body))
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Errorf("status: got %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate:\n got %q\nwant %q", got, tt.challenge)
			}
			if got := rec.Body.String(); got != tt.resp {
				t.Errorf("body:\n got %s\nwant %s", got, tt.resp)
			}
		})
	}
}

// TestRequireFuncErrors: a chooser's failure fails closed.
func TestRequireFuncErrors(t *testing.T) {
	is := newIssuer(t)
	var hooked []error
	g := newGuard(t, is.verifier(t), refusals(func(_ *http.Request, err error) { hooked = append(hooked, err) }))
	errStore := errors.New("tenant policy store: " + secretText)
	tests := []struct {
		name   string
		choose func(*http.Request, *claims.Claims) (claims.Requirement, error)
		status int
		body   string
	}{
		{"server error", func(*http.Request, *claims.Claims) (claims.Requirement, error) {
			return claims.Requirement{}, errStore
		}, 500, `{"error_description":"internal server error"}`},
		{"invalid requirement", func(*http.Request, *claims.Claims) (claims.Requirement, error) {
			return claims.Requirement{MaxAge: -time.Second}, nil
		}, 500, `{"error_description":"internal server error"}`},
		{"policy store down", func(*http.Request, *claims.Claims) (claims.Requirement, error) {
			return claims.Requirement{}, fmt.Errorf("%w: %w", claims.ErrUnavailable, errStore)
		}, 503, `{"error_description":"token verification is temporarily unavailable"}`},
		{"rejection", func(*http.Request, *claims.Claims) (claims.Requirement, error) {
			return claims.Requirement{}, &claims.Error{Code: claims.CodeInsufficientScope, Description: "Tenant admins only", Scope: []string{"tenant:admin"}, Err: errStore}
		}, 403, `{"error":"insufficient_scope","error_description":"Tenant admins only","scope":"tenant:admin"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hooked = nil
			called := false
			h := g.RequireFunc(tt.choose, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
			r := httptest.NewRequest("POST", "/transfer", nil)
			r.Header.Set("Authorization", "Bearer "+is.mint(t, nil))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if called {
				t.Error("next handler was called")
			}
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body, tt.status, tt.body)
			}
			if tt.status >= 500 && rec.Header().Get("WWW-Authenticate") != "" {
				t.Errorf("WWW-Authenticate on %d: %q", tt.status, rec.Header().Get("WWW-Authenticate"))
			}
			if len(hooked) != 1 {
				t.Errorf("error hook: got %d calls, want 1", len(hooked))
			}
		})
	}
}
