package stepuptest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

func TestTokenEndpoint(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithClock(fixedClock), stepuptest.WithAlgorithms("ES256"))
	now := t0.Unix()
	old := t0.Add(-time.Hour).Unix()
	recent := t0.Add(-2 * time.Minute).Unix()
	mfa := claims.ACRMultiFactor
	tests := []struct {
		name      string
		form      url.Values
		want      map[string]any // claims; nil value: absent
		wantScope string
	}{
		{"password login by default", url.Values{}, map[string]any{
			"sub": stepuptest.DefaultSubject, "acr": stepuptest.ACRPassword, "amr": []any{"pwd"},
			"auth_time": float64(now), "aud": "https://api.example.com", "client_id": "stepuptest-client",
			"scope": nil, "iss": iss.Issuer(), "exp": float64(t0.Add(5 * time.Minute).Unix()),
		}, ""},
		{"first supported acr wins", url.Values{"acr_values": {"urn:unknown " + mfa + " " + stepuptest.ACRPassword}},
			map[string]any{"acr": mfa, "amr": []any{"pwd", "otp", "mfa"}}, ""},
		{"explicit grant type", url.Values{"grant_type": {"urn:stepuptest:grant-type:login"}, "sub": {"bob"}},
			map[string]any{"sub": "bob"}, ""},
		{"backdated login kept", url.Values{"auth_time": {strconv.FormatInt(old, 10)}},
			map[string]any{"auth_time": float64(old)}, ""},
		{"max_age exceeded forces a fresh login", url.Values{"auth_time": {strconv.FormatInt(old, 10)}, "max_age": {"300"}},
			map[string]any{"auth_time": float64(now)}, ""},
		{"max_age met keeps the session", url.Values{"auth_time": {strconv.FormatInt(recent, 10)}, "max_age": {"300"}},
			map[string]any{"auth_time": float64(recent)}, ""},
		{"max_age=0 forces a fresh login", url.Values{"auth_time": {strconv.FormatInt(recent, 10)}, "max_age": {"0"}},
			map[string]any{"auth_time": float64(now)}, ""},
		{"prompt=login forces a fresh login", url.Values{"auth_time": {strconv.FormatInt(old, 10)}, "prompt": {"login consent"}},
			map[string]any{"auth_time": float64(now)}, ""},
		{"scope audience client", url.Values{"scope": {"read  transfer"}, "audience": {"https://bank"}, "client_id": {"spa"}},
			map[string]any{"scope": "read transfer", "aud": "https://bank", "client_id": "spa"}, "read transfer"},
		{"resources", url.Values{"resource": {"https://a", "https://b"}},
			map[string]any{"aud": []any{"https://a", "https://b"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postForm(t, iss, tt.form)
			if status != http.StatusOK {
				t.Fatalf("status %d, body %s; want 200", status, body)
			}
			var resp stepuptest.LoginResponse
			if err := json.Unmarshal(body, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.TokenType != "Bearer" || resp.ExpiresIn != 300 || resp.Scope != tt.wantScope {
				t.Errorf("response token_type %q expires_in %d scope %q; want Bearer 300 %q",
					resp.TokenType, resp.ExpiresIn, resp.Scope, tt.wantScope)
			}
			if !verifies(t, iss, resp.AccessToken) {
				t.Error("access token does not verify")
			}
			h, c := decode(t, resp.AccessToken)
			if h["typ"] != "at+jwt" {
				t.Errorf("typ = %v, want at+jwt", h["typ"])
			}
			for k, want := range tt.want {
				got, ok := c[k]
				if want == nil {
					if ok {
						t.Errorf("claim %s = %v, want absent", k, got)
					}
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("claim %s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
}

func postForm(t *testing.T, iss *stepuptest.Issuer, form url.Values) (int, []byte) {
	t.Helper()
	resp, err := iss.Client().PostForm(iss.TokenURL(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	return resp.StatusCode, b
}

// loginResponse posts lr.Form() to the token endpoint, as a client that
// reads the whole response does, and decodes the success answer.
func loginResponse(t *testing.T, iss *stepuptest.Issuer, lr stepuptest.LoginRequest) stepuptest.LoginResponse {
	t.Helper()
	status, body := postForm(t, iss, lr.Form())
	if status != http.StatusOK {
		t.Fatalf("status %d, body %s; want 200", status, body)
	}
	var resp stepuptest.LoginResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestTokenEndpointErrors(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithClock(fixedClock), stepuptest.WithAlgorithms("ES256"))
	future := strconv.FormatInt(t0.Add(time.Hour).Unix(), 10)
	tests := []struct {
		name     string
		form     url.Values
		wantCode string
	}{
		{"unsupported acr", url.Values{"acr_values": {"urn:nope"}}, "unmet_authentication_requirements"},
		{"empty acr_values", url.Values{"acr_values": {" "}}, "invalid_request"},
		{"negative max_age", url.Values{"max_age": {"-1"}}, "invalid_request"},
		{"non-numeric max_age", url.Values{"max_age": {"5m"}}, "invalid_request"},
		{"non-numeric auth_time", url.Values{"auth_time": {"yesterday"}}, "invalid_request"},
		{"future auth_time", url.Values{"auth_time": {future}}, "invalid_request"},
		{"unknown prompt", url.Values{"prompt": {"dance"}}, "invalid_request"},
		{"repeated sub", url.Values{"sub": {"a", "b"}}, "invalid_request"},
		{"relative resource", url.Values{"resource": {"/api"}}, "invalid_target"},
		{"other grant", url.Values{"grant_type": {"password"}}, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postForm(t, iss, tt.form)
			var e struct {
				Error string `json:"error"`
				Desc  string `json:"error_description"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if status != http.StatusBadRequest || e.Error != tt.wantCode || e.Desc == "" {
				t.Errorf("got %d %q %q, want 400 %q with a description", status, e.Error, e.Desc, tt.wantCode)
			}
		})
	}

	t.Run("GET", func(t *testing.T) {
		resp, b := get(t, iss, iss.TokenURL())
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET: %d Allow %q %s, want 405 Allow POST", resp.StatusCode, resp.Header.Get("Allow"), b)
		}
	})
	t.Run("JSON body", func(t *testing.T) {
		resp, err := iss.Client().Post(iss.TokenURL(), "application/json", strings.NewReader(`{"sub":"a"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("huge body", func(t *testing.T) {
		resp, err := iss.Client().Post(iss.TokenURL(), "application/x-www-form-urlencoded",
			strings.NewReader("sub="+strings.Repeat("a", 1<<20)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
}

func TestLogin(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithClock(fixedClock), stepuptest.WithAlgorithms("ES256"))
	ctx := context.Background()
	old := t0.Add(-time.Hour)
	tests := []struct {
		name         string
		req          stepuptest.LoginRequest
		wantACR      string
		wantAuthTime time.Time
	}{
		{"zero request", stepuptest.LoginRequest{}, stepuptest.ACRPassword, t0},
		{"stale session", stepuptest.LoginRequest{AuthTime: old}, stepuptest.ACRPassword, old},
		{"step-up after a challenge", stepuptest.LoginRequest{AuthTime: old,
			ACRValues: []string{claims.ACRMultiFactor}, MaxAge: claims.MaxAgeOf(5 * time.Minute)}, claims.ACRMultiFactor, t0},
		{"max_age=0 convention", stepuptest.LoginRequest{AuthTime: t0.Add(-time.Second), MaxAge: claims.MaxAgeOf(-1)}, stepuptest.ACRPassword, t0},
		{"prompt login", stepuptest.LoginRequest{AuthTime: old, Prompt: "login"}, stepuptest.ACRPassword, t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Login(ctx, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			_, c := decode(t, tok)
			if c["acr"] != tt.wantACR || c["auth_time"] != float64(tt.wantAuthTime.Unix()) {
				t.Errorf("acr %v auth_time %v, want %s %d", c["acr"], c["auth_time"], tt.wantACR, tt.wantAuthTime.Unix())
			}
		})
	}

	lr := stepuptest.LoginRequest{Subject: "carol", Scopes: []string{"a", "b"}, Audience: "https://x", ClientID: "c"}
	resp := loginResponse(t, iss, lr)
	_, c := decode(t, resp.AccessToken)
	if resp.Scope != "a b" || c["sub"] != "carol" || c["aud"] != "https://x" || c["client_id"] != "c" || c["scope"] != "a b" {
		t.Errorf("response scope %q, claims %v", resp.Scope, c)
	}

	tok, err := iss.Login(ctx, lr)
	if err != nil {
		t.Fatal(err)
	}
	if _, c := decode(t, tok); c["sub"] != "carol" || c["aud"] != "https://x" || c["client_id"] != "c" || c["scope"] != "a b" {
		t.Errorf("Login claims %v", c)
	}

	_, err = iss.Login(ctx, stepuptest.LoginRequest{ACRValues: []string{"urn:nope"}})
	var te *stepuptest.TokenError
	if !errors.As(err, &te) || te.Code != "unmet_authentication_requirements" || te.StatusCode != 400 {
		t.Fatalf("Login(unsupported acr) = %v, want a *TokenError unmet_authentication_requirements", err)
	}
	if !strings.HasPrefix(te.Error(), "stepuptest: token endpoint: unmet_authentication_requirements: ") {
		t.Errorf("Error() = %q", te.Error())
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := iss.Login(cctx, stepuptest.LoginRequest{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Login with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestLoginHookAndACRMapping(t *testing.T) {
	const ns = "https://example.com/"
	iss := newIssuer(t, stepuptest.WithAlgorithms("ES256"),
		stepuptest.WithACR("1", "pwd"), stepuptest.WithACR("2", "pwd", "hwk"), stepuptest.WithACR("2", "pwd", "otp"),
		stepuptest.WithDefaultACR("2"),
		stepuptest.WithLoginHook(func(tok *stepuptest.Token) {
			tok.Claims = map[string]any{ns + "acr": tok.ACR, ns + "amr": tok.AMR}
			tok.ACR, tok.AMR = "", nil
			tok.Header = map[string]any{"typ": "JWT"}
			tok.Expiry = tok.IssuedAt.Add(time.Minute)
		}))
	if got, want := iss.ACRValues(), []string{"1", "2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ACRValues() = %v, want %v", got, want)
	}
	resp := loginResponse(t, iss, stepuptest.LoginRequest{})
	if resp.ExpiresIn != 60 {
		t.Errorf("expires_in = %d, want 60", resp.ExpiresIn)
	}
	h, c := decode(t, resp.AccessToken)
	if h["typ"] != "JWT" {
		t.Errorf("typ = %v, want JWT", h["typ"])
	}
	if _, ok := c["acr"]; ok {
		t.Errorf("acr present: %v", c)
	}
	if c[ns+"acr"] != "2" || !reflect.DeepEqual(c[ns+"amr"], []any{"pwd", "otp"}) {
		t.Errorf("namespaced acr/amr = %v %v, want 2 [pwd otp]", c[ns+"acr"], c[ns+"amr"])
	}
}
