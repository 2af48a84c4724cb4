package httpmw_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// TestNoLeak sends every kind of failing request and checks that no
// response holds the token (or a part of it), the key, or the text of an
// internal error.
func TestNoLeak(t *testing.T) {
	is := newIssuer(t)
	var internal []string // texts of the errors the hook saw
	hook := refusals(func(_ *http.Request, err error) {
		internal = append(internal, err.Error())
		var ce *claims.Error
		if errors.As(err, &ce) && ce.Err != nil {
			internal = append(internal, ce.Err.Error())
		}
	})
	opts := []httpmw.Option{hook, httpmw.WithRealm(testRealm), httpmw.WithResourceMetadata(testMetadata), httpmw.WithFormToken(0)}
	g := newGuard(t, is.verifier(t), opts...)
	gDown := newGuard(t, newVerifier(t, downSource{}), opts...)

	secretErr := errors.New("policy backend: " + secretText)
	choose := func(r *http.Request, _ *claims.Claims) (claims.Requirement, error) {
		switch r.URL.Query().Get("fail") {
		case "plain":
			return claims.Requirement{}, secretErr
		case "typed":
			return claims.Requirement{}, claims.InvalidRequest(secretErr)
		case "down":
			return claims.Requirement{}, fmt.Errorf("%w: %w", claims.ErrUnavailable, secretErr)
		}
		return transferReq, nil
	}
	tokens := map[string]string{
		"good":      is.mint(t, nil),
		"other key": newIssuer(t).mint(t, nil),
		"expired":   is.mint(t, map[string]any{"exp": testNow.Add(-time.Hour).Unix()}),
		"wrong aud": is.mint(t, map[string]any{"aud": "https://other.example.com"}),
		"wrong iss": is.mint(t, map[string]any{"iss": "https://evil.example.com/"}),
		"pwd":       is.mint(t, map[string]any{"acr": "urn:example:pwd", "auth_time": testNow.Add(-time.Hour).Unix()}),
		"no scope":  is.mint(t, map[string]any{"scope": "profile"}),
		"garbage":   "eyJhbGciOiJub25lIn0.eyJzdWIiOiJtYWxsb3J5In0.c2VjcmV0LXNpZ25hdHVyZQ",
	}
	handlers := map[string]http.Handler{
		"require":     g.Require(transferReq, ok),
		"requirefunc": g.RequireFunc(choose, ok),
		"down":        gDown.Require(transferReq, ok),
	}
	var secrets []string
	for _, tok := range tokens {
		secrets = append(secrets, tok)
		for _, seg := range strings.Split(tok, ".") {
			if len(seg) >= 8 {
				secrets = append(secrets, seg)
			}
		}
	}
	for _, k := range []string{"x", "y"} {
		secrets = append(secrets, is.jwk[k].(string))
	}
	secrets = append(secrets, secretText, "claims:", "verify:", "jwks:", "httpmw:")

	n := 0
	check := func(name string, rec *httptest.ResponseRecorder) {
		t.Helper()
		n++
		var resp strings.Builder
		for k, vs := range rec.Header() {
			fmt.Fprintf(&resp, "%s: %s\n", k, strings.Join(vs, ", "))
		}
		resp.WriteString(rec.Body.String())
		for _, s := range secrets {
			if strings.Contains(resp.String(), s) {
				t.Errorf("%s: response holds %q:\n%s", name, s, resp.String())
			}
		}
		for _, s := range internal {
			if strings.Contains(resp.String(), s) {
				t.Errorf("%s: response holds the internal error %q", name, s)
			}
		}
	}
	for hname, h := range handlers {
		for tname, tok := range tokens {
			for _, fail := range []string{"", "plain", "typed", "down"} {
				for _, how := range []string{"header", "form", "both"} {
					target := "/transfer?fail=" + fail
					var body string
					if how != "header" {
						body = "access_token=" + url.QueryEscape(tok)
					}
					r := httptest.NewRequest("POST", target, strings.NewReader(body))
					if how != "form" {
						r.Header.Set("Authorization", "Bearer "+tok)
					}
					if how != "header" {
						r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					if rec.Code == 200 {
						continue
					}
					check(hname+"/"+tname+"/"+fail+"/"+how, rec)
				}
			}
		}
	}
	if n < 100 || len(internal) == 0 {
		t.Fatalf("checked %d failing responses with %d internal errors; the test setup is broken", n, len(internal))
	}
}
