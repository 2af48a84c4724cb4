package gateway_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/gateway"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// Decide answers for a request a proxy describes, as the policy's
// httpmw.Mux would.
func ExampleGateway_Decide() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	p, err := policy.Parse(fmt.Appendf(nil, `
issuer: %s
audience: %s
jwks_uri: %s
rules:
  - http: "POST /transfer"
    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
`, iss.Issuer(), iss.Audience(), iss.JWKSURL()))
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwks.NewRemote(p.JWKSURI)
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	v, err := verify.New(keys, p.VerifyConfig())
	if err != nil {
		log.Fatal(err)
	}
	guard, err := httpmw.New(v, httpmw.WithRealm("api"))
	if err != nil {
		log.Fatal(err)
	}
	gw, err := gateway.New(guard, p.HTTPRules(), gateway.Config{})
	if err != nil {
		log.Fatal(err)
	}

	pwd, _ := iss.Mint(stepuptest.Token{ACR: "urn:example:pwd"})
	d := gw.Decide(context.Background(), gateway.Request{Method: "POST", Host: "api.example.com", URI: "/transfer",
		Header: http.Header{"Authorization": {"Bearer " + pwd}}})
	fmt.Println(d.Allowed, d.Status, d.Header.Get("WWW-Authenticate"))

	mfa, _ := iss.Mint(stepuptest.Token{Subject: "alice", ACR: claims.ACRMultiFactor, AuthTime: time.Now()})
	d = gw.Decide(context.Background(), gateway.Request{Method: "POST", Host: "api.example.com", URI: "/transfer",
		Header: http.Header{"Authorization": {"Bearer " + mfa}}})
	fmt.Println(d.Allowed, d.Status, d.Header.Get("X-Stepup-Subject"))

	d = gw.Decide(context.Background(), gateway.Request{Method: "GET", Host: "api.example.com", URI: "/elsewhere"})
	fmt.Println(d.Allowed, d.Status, string(d.Body))
	// Output:
	// false 401 Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"
	// true 200 alice
	// false 403 {"error_description":"no rule of the policy takes this request"}
}

// ParseTrustedProxies reads the -trusted-proxies flag: the proxies whose
// X-Forwarded-* headers ForwardAuth believes.
func ExampleParseTrustedProxies() {
	trusted, err := gateway.ParseTrustedProxies("127.0.0.1/32, 10.0.0.0/8")
	fmt.Println(trusted, err)
	_, err = gateway.ParseTrustedProxies("10.0.0.7")
	fmt.Println(err != nil)
	// Output:
	// [127.0.0.1/32 10.0.0.0/8] <nil>
	// true
}
