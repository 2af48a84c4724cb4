package stepuptest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

// parts decodes a compact JWS's header and claims, without verifying.
func parts(token string) (header, claimSet map[string]any) {
	p := strings.Split(token, ".")
	hb, _ := base64.RawURLEncoding.DecodeString(p[0])
	cb, _ := base64.RawURLEncoding.DecodeString(p[1])
	_ = json.Unmarshal(hb, &header)
	_ = json.Unmarshal(cb, &claimSet)
	return header, claimSet
}

// Point the API under test at the issuer, then mint the tokens each case
// needs: here a multi-factor login ten minutes old.
func ExampleIssuer_Mint() {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	iss, err := stepuptest.NewIssuer(stepuptest.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()

	// The API under test would use:
	//   verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()}
	//   keys from iss.Issuer() (discovery) or iss.JWKSURL()
	tok, err := iss.Mint(stepuptest.Token{
		Subject:  "alice",
		ACR:      claims.ACRMultiFactor,
		AMR:      []string{"pwd", "otp", "mfa"},
		AuthTime: now.Add(-10 * time.Minute),
		Scopes:   []string{"transfer"},
	})
	if err != nil {
		log.Fatal(err)
	}
	h, c := parts(tok)
	fmt.Println("alg:", h["alg"], "typ:", h["typ"], "kid is current:", h["kid"] == iss.KeyID(""))
	fmt.Println("iss is the issuer:", c["iss"] == iss.Issuer())
	fmt.Println("aud:", c["aud"])
	fmt.Println("acr:", c["acr"])
	fmt.Println("amr:", c["amr"])
	fmt.Println("scope:", c["scope"])
	fmt.Println("login age:", time.Duration(c["iat"].(float64)-c["auth_time"].(float64))*time.Second)
	fmt.Println("lifetime:", time.Duration(c["exp"].(float64)-c["iat"].(float64))*time.Second)
	// Output:
	// alg: RS256 typ: at+jwt kid is current: true
	// iss is the issuer: true
	// aud: https://api.example.com
	// acr: http://schemas.openid.net/pape/policies/2007/06/multi-factor
	// amr: [pwd otp mfa]
	// scope: transfer
	// login age: 10m0s
	// lifetime: 5m0s
}

// A client that got a step-up challenge logs in again at the issuer with
// the challenge's acr_values and max_age.
func ExampleIssuer_Login() {
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"))
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	ctx := context.Background()

	// A password login an hour ago.
	tok, err := iss.Login(ctx, stepuptest.LoginRequest{Subject: "alice", AuthTime: time.Now().Add(-time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	_, c := parts(tok)
	fmt.Println("first login:", c["acr"], c["amr"])

	// The API answered: error="insufficient_user_authentication",
	// acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor", max_age=300
	challenge := &claims.Error{ACRValues: []string{claims.ACRMultiFactor}, MaxAge: claims.MaxAgeOf(300 * time.Second)}
	tok, err = iss.Login(ctx, stepuptest.LoginRequest{
		Subject:   "alice",
		ACRValues: challenge.ACRValues,
		MaxAge:    challenge.MaxAge,
	})
	if err != nil {
		log.Fatal(err)
	}
	_, c = parts(tok)
	fresh := time.Since(time.Unix(int64(c["auth_time"].(float64)), 0)) < time.Minute
	fmt.Println("step-up login:", c["acr"], c["amr"], "fresh:", fresh)
	// Output:
	// first login: urn:stepuptest:acr:password [pwd]
	// step-up login: http://schemas.openid.net/pape/policies/2007/06/multi-factor [pwd otp mfa] fresh: true
}

// Rotate publishes a new key next to the old one and signs with it.
func ExampleIssuer_Rotate() {
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("EdDSA"))
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()

	old := iss.KeyID("")
	kid, err := iss.Rotate("")
	if err != nil {
		log.Fatal(err)
	}
	var set struct{ Keys []map[string]any }
	_ = json.Unmarshal(iss.JWKS(), &set)
	fmt.Println("new kid:", kid != old, "keys served:", len(set.Keys))

	_ = iss.RemoveKey(old)
	_ = json.Unmarshal(iss.JWKS(), &set)
	fmt.Println("after RemoveKey:", len(set.Keys), set.Keys[0]["kid"] == kid)
	// Output:
	// new kid: true keys served: 2
	// after RemoveKey: 1 true
}

// Faults make the JWKS (here) and discovery endpoints misbehave until
// cleared; Requests tells how often a client fetched.
func ExampleIssuer_SetFaults() {
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"))
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()

	for _, f := range []stepuptest.Fault{stepuptest.Fault500, stepuptest.FaultHTML, stepuptest.FaultDown, stepuptest.FaultNone} {
		_ = iss.SetFaults(stepuptest.Faults{JWKS: f})
		resp, err := iss.Client().Get(iss.JWKSURL())
		if err != nil {
			fmt.Printf("%s: transport error\n", f)
			continue
		}
		resp.Body.Close()
		fmt.Printf("%s: %d %s\n", f, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	fmt.Println("fetched at least 4 times:", iss.Requests().JWKS >= 4)
	// Output:
	// 500: 500 application/json
	// html: 200 text/html; charset=utf-8
	// down: transport error
	// none: 200 application/jwk-set+json
	// fetched at least 4 times: true
}
