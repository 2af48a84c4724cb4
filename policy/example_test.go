package policy_test

import (
	"errors"
	"fmt"

	"github.com/stepupauth/stepup/policy"
)

func ExampleParse() {
	doc := `
issuer: https://idp.example.com/
audience: https://api.example.com
acr_levels: [silver, gold]
rules:
  - http: "GET /public"
    public: true
  - http: "GET /profile"
  - http: "POST /transfer"
    grpc: /bank.v1.Bank/Transfer
    acr_min: gold
    max_age: 5m
`
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := p.VerifyConfig()
	fmt.Println("issuer:", cfg.Issuer, "audience:", cfg.Audience)
	for _, r := range p.HTTPRules() {
		fmt.Printf("%s public=%v acr_min=%q max_age=%v\n", r.HTTP, r.Public, r.Requirement.ACRMin, r.Requirement.MaxAge)
	}
	for _, r := range p.GRPCRules() {
		fmt.Printf("%s levels=%v\n", r.GRPC, r.Requirement.ACRLevels)
	}
	// Output:
	// issuer: https://idp.example.com/ audience: https://api.example.com
	// GET /public public=true acr_min="" max_age=0s
	// GET /profile public=false acr_min="" max_age=0s
	// POST /transfer public=false acr_min="gold" max_age=5m0s
	// /bank.v1.Bank/Transfer levels=[silver gold]
}

func ExampleError() {
	doc := `{
  "issuer": "https://idp.example.com/",
  "audience": "https://api.example.com",
  "acr_levels": ["silver", "gold"],
  "rules": [
    {"http": "GET /reports", "acr_min": "platinum"}
  ]
}`
	_, err := policy.Parse([]byte(doc))
	fmt.Println(err)
	var e *policy.Error
	if errors.As(err, &e) {
		fmt.Println("line", e.Line, "rule", e.Rule, "field", e.Field)
	}
	// Output:
	// policy: line 6: rules[0] (http "GET /reports"): acr_min: "platinum" is not in acr_levels
	// line 6 rule 0 field acr_min
}

func ExampleLoad() {
	p, err := policy.Load("../examples/policies/keycloak.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Profile.Provider, p.Issuer, p.TokenTypes)
	for _, r := range p.Rules {
		if r.Requirement.ACRMin != "" {
			fmt.Printf("rules[%d] line %d: http %q grpc %q: acr at least %q of %q\n",
				r.Index, r.Line, r.HTTP, r.GRPC, r.Requirement.ACRMin, r.Requirement.ACRLevels)
		}
	}
	// Output:
	// keycloak https://sso.example.com/realms/bank [JWT]
	// rules[1] line 36: http "GET /accounts" grpc "": acr at least "1" of ["0" "1" "2"]
	// rules[2] line 40: http "POST /payments" grpc "/bank.v1.Payments/Create": acr at least "2" of ["0" "1" "2"]
	// rules[3] line 46: http "" grpc "/bank.v1.Admin/*": acr at least "2" of ["0" "1" "2"]
}
