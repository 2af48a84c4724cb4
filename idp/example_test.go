package idp_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/idp"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// An Auth0 profile: the issuer keeps its trailing slash, the default
// access token profile sends typ JWT, and a post-login Action writes acr,
// amr and auth_time under a namespace.
func ExampleAuth0() {
	prof, err := idp.Auth0("example.us.auth0.com", idp.Auth0Options{Namespace: "https://example.com/"})
	if err != nil {
		panic(err)
	}
	cfg := prof.Config("https://api.example.com")
	fmt.Println(cfg.Issuer)
	fmt.Println(cfg.TokenTypes, cfg.RequiredClaims)
	fmt.Println(cfg.ClaimNames.ACR, cfg.ClaimNames.AuthTime)
	fmt.Println(prof.JWKSURI)
	// Output:
	// https://example.us.auth0.com/
	// [JWT] [iss exp aud sub iat azp]
	// https://example.com/acr https://example.com/auth_time
	// https://example.us.auth0.com/.well-known/jwks.json
}

// A multi-tenant Entra ID API: any tenant's v2.0 issuer, bound to the
// token's tid, and keys from the common endpoint.
func ExampleEntra() {
	prof, err := idp.Entra("organizations", idp.EntraOptions{})
	if err != nil {
		panic(err)
	}
	cfg := prof.Config("66666666-7777-8888-9999-000000000000")
	fmt.Println(cfg.IssuerTemplates, cfg.TokenTypes, cfg.RequiredValues)
	fmt.Println(prof.JWKSURI)
	// Output:
	// [https://login.microsoftonline.com/{tid}/v2.0] [JWT] map[ver:2.0]
	// https://login.microsoftonline.com/common/discovery/v2.0/keys
}

// Entra ID step-up: an API route that needs authentication context c1.
// A client that declared cp1 gets Microsoft's claims challenge; the
// client-side helper ClaimsRequest decodes what it must pass to MSAL.
func ExampleProfile_AuthContext() {
	const tenant = "11111111-2222-3333-4444-555555555555"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	iss, err := stepuptest.NewIssuer(stepuptest.WithEntraShape(tenant), stepuptest.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	defer iss.Close()
	// The test issuer stands in for https://login.microsoftonline.com.
	prof, err := idp.Entra(tenant, idp.EntraOptions{Authority: iss.URL()})
	if err != nil {
		panic(err)
	}
	keys, err := jwks.NewRemote(iss.JWKSURL())
	if err != nil {
		panic(err)
	}
	defer keys.Close()
	cfg := prof.Config(iss.Audience())
	cfg.Now = func() time.Time { return now }
	v, err := verify.New(keys, cfg)
	if err != nil {
		panic(err)
	}
	guard, err := httpmw.New(v)
	if err != nil {
		panic(err)
	}
	c1, err := prof.AuthContext("c1")
	if err != nil {
		panic(err)
	}
	approve := guard.Require(c1, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "approved") }))

	call := func(tok stepuptest.Token) *httptest.ResponseRecorder {
		raw, err := iss.Mint(tok)
		if err != nil {
			panic(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/invoices/7/approve", nil)
		r.Header.Set("Authorization", "Bearer "+raw)
		w := httptest.NewRecorder()
		approve.ServeHTTP(w, r)
		return w
	}
	cp1 := map[string]any{"xms_cc": []string{"cp1"}}

	w := call(stepuptest.Token{Claims: cp1})
	challenge := strings.ReplaceAll(w.Header().Get("WWW-Authenticate"), iss.URL(), "https://login.microsoftonline.com")
	fmt.Println(w.Code, challenge)
	chs, _ := claims.ParseChallenges(challenge)
	request, _ := idp.ClaimsRequest(chs[0].Err())
	fmt.Println(request)

	w = call(stepuptest.Token{})
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))

	w = call(stepuptest.Token{ACRS: []string{"c1"}, Claims: cp1})
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 401 Bearer realm="11111111-2222-3333-4444-555555555555", authorization_uri="https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"
	// {"access_token":{"acrs":{"essential":true,"value":"c1"}}}
	// 401 Bearer error="insufficient_user_authentication", error_description="Stronger authentication is required, and this client does not declare the cp1 capability needed to answer a claims challenge"
	// 200 approved
}
