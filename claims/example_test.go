package claims_test

import (
	"fmt"
	"time"

	"github.com/stepupauth/stepup/claims"
)

func ExampleRequirement_Evaluate() {
	now := time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)
	c, err := claims.Parse([]byte(`{
		"sub": "alice",
		"acr": "urn:example:loa:1",
		"amr": ["pwd"],
		"auth_time": `+fmt.Sprint(now.Add(-time.Hour).Unix())+`,
		"scope": "transfer"
	}`), claims.Names{})
	if err != nil {
		fmt.Println(err)
		return
	}

	req := claims.Requirement{
		ACRMin:    "urn:example:loa:2",
		ACRLevels: []string{"urn:example:loa:1", "urn:example:loa:2", "urn:example:loa:3"},
		MaxAge:    5 * time.Minute,
		Scopes:    []string{"transfer"},
	}
	if err := req.Validate(); err != nil {
		fmt.Println(err)
		return
	}

	e := req.Evaluate(c, now, 30*time.Second)
	fmt.Println(e.Code)
	fmt.Println(e.ACRValues, e.MaxAge)
	fmt.Println(e.Challenge())

	// A fresh login at a high enough level passes.
	c.ACR, c.AuthTime = "urn:example:loa:3", now.Add(-time.Minute)
	fmt.Println(req.Evaluate(c, now, 30*time.Second) == nil)
	// Output:
	// insufficient_user_authentication
	// [urn:example:loa:2 urn:example:loa:3] 5m0s
	// Bearer error="insufficient_user_authentication", error_description="A different authentication level and more recent authentication are required", acr_values="urn:example:loa:2 urn:example:loa:3", max_age=300
	// true
}

func ExampleChallenge_String() {
	// A step-up answer: the token's login was not multi-factor.
	e := claims.Requirement{ACR: []string{claims.ACRMultiFactor}}.Evaluate(&claims.Claims{ACR: "pwd"}, time.Now(), 0)
	ch := e.Challenge()
	ch.Realm = "api"
	fmt.Println(ch)

	// The answer to a request without a token carries no error code.
	ch = claims.MissingToken().Challenge()
	ch.Realm = "api"
	ch.ResourceMetadata = "https://api.example.com/.well-known/oauth-protected-resource"
	fmt.Println(ch)
	// Output:
	// Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"
	// Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"
}

func ExampleParseChallenges() {
	// What a client does with a 401: read the challenge, log in again with
	// what it asks for.
	chs, err := claims.ParseChallenges(
		`Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"`,
		`DPoP algs="ES256"`,
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ch := range chs {
		if ch.Scheme == "Bearer" {
			e := ch.Err()
			fmt.Println(e.Code, e.MaxAge)
		}
	}
	fmt.Println(len(chs))
	// Output:
	// insufficient_user_authentication 5s
	// 2
}

func ExampleParse() {
	// Auth0 sets acr and amr in access tokens as namespaced custom claims.
	names := claims.Names{ACR: "https://example.com/acr", AMR: "https://example.com/amr"}
	c, err := claims.Parse([]byte(`{
		"iss": "https://tenant.example.com/",
		"aud": "https://api.example.com",
		"exp": 1735819200.5,
		"https://example.com/acr": "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
		"https://example.com/amr": ["pwd", "otp"],
		"auth_time": "yesterday"
	}`), names)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Audience, c.Expiry.Format(time.RFC3339Nano))
	fmt.Println(c.ACR == claims.ACRMultiFactor, c.AMR)
	fmt.Println(c.Malformed)
	// Output:
	// [https://api.example.com] 2025-01-02T12:00:00.5Z
	// true [pwd otp]
	// [auth_time]
}
