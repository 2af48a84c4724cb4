package policy_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/idp"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/verify"
)

const rule = "rules:\n  - http: GET /a\n"

func mustProfile(t *testing.T, p idp.Profile, err error) idp.Profile {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestProfiles: a profile in the file gives the verify.Config and levels
// the idp constructor gives in code.
func TestProfiles(t *testing.T) {
	const tid = "11111111-2222-3333-4444-555555555555"
	auth0, err := idp.Auth0("example.us.auth0.com", idp.Auth0Options{Namespace: "https://example.com/"})
	auth0 = mustProfile(t, auth0, err)
	auth0rfc, err := idp.Auth0("example.us.auth0.com", idp.Auth0Options{RFC9068: true})
	auth0rfc = mustProfile(t, auth0rfc, err)
	okta, err := idp.Okta("example.okta.com", idp.OktaOptions{})
	okta = mustProfile(t, okta, err)
	oktaAS, err := idp.Okta("example.okta.com", idp.OktaOptions{AuthorizationServer: "aus1"})
	oktaAS = mustProfile(t, oktaAS, err)
	entra, err := idp.Entra(tid, idp.EntraOptions{})
	entra = mustProfile(t, entra, err)
	entraAny, err := idp.Entra("organizations", idp.EntraOptions{})
	entraAny = mustProfile(t, entraAny, err)
	entraList, err := idp.Entra(tid, idp.EntraOptions{Tenants: []string{"99999999-8888-7777-6666-555555555555"}})
	entraList = mustProfile(t, entraList, err)
	kc, err := idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso.example.com", Realm: "bank"})
	kc = mustProfile(t, kc, err)
	kcNamed, err := idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso.example.com", Realm: "bank", Levels: []string{"silver", "gold"}})
	kcNamed = mustProfile(t, kcNamed, err)

	tests := []struct {
		name    string
		doc     string
		prof    idp.Profile
		issuer  string
		jwksURI string
	}{
		{"auth0", "profile: {provider: auth0, domain: example.us.auth0.com, namespace: 'https://example.com/'}\n", auth0, "https://example.us.auth0.com/", ""},
		{"auth0 rfc 9068", "profile:\n  provider: Auth0\n  domain: example.us.auth0.com\n  rfc9068: true\n", auth0rfc, "https://example.us.auth0.com/", ""},
		{"okta default server", "profile: {provider: okta, domain: example.okta.com}\n", okta, "https://example.okta.com/oauth2/default", ""},
		{"okta server", "profile: {provider: okta, domain: example.okta.com, authorization_server: aus1}\n", oktaAS, "https://example.okta.com/oauth2/aus1", ""},
		{"entra", "profile: {provider: entra, tenant_id: " + tid + "}\n", entra, "https://login.microsoftonline.com/" + tid + "/v2.0", ""},
		{"entra any tenant", "profile: {provider: entra, tenant_id: organizations}\n", entraAny, "", "https://login.microsoftonline.com/common/discovery/v2.0/keys"},
		{"entra allowlist", "profile: {provider: entra, tenant_id: " + tid + ", tenants: [99999999-8888-7777-6666-555555555555]}\n", entraList,
			"https://login.microsoftonline.com/" + tid + "/v2.0", "https://login.microsoftonline.com/common/discovery/v2.0/keys"},
		{"keycloak", "profile: {provider: keycloak, base_url: 'https://sso.example.com', realm: bank}\n", kc, "https://sso.example.com/realms/bank", ""},
		{"keycloak levels", "profile: {provider: keycloak, base_url: 'https://sso.example.com', realm: bank, levels: [silver, gold]}\n", kcNamed, "https://sso.example.com/realms/bank", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse([]byte("audience: api\n" + tt.doc + rule))
			if err != nil {
				t.Fatal(err)
			}
			if p.Profile == nil || !reflect.DeepEqual(*p.Profile, tt.prof) {
				t.Errorf("profile\ngot  %+v\nwant %+v", p.Profile, tt.prof)
			}
			if p.Issuer != tt.issuer || p.JWKSURI != tt.jwksURI {
				t.Errorf("issuer, jwks_uri got %q %q, want %q %q", p.Issuer, p.JWKSURI, tt.issuer, tt.jwksURI)
			}
			if !reflect.DeepEqual(p.ACRLevels, tt.prof.ACRLevels) {
				t.Errorf("acr_levels got %q, want %q", p.ACRLevels, tt.prof.ACRLevels)
			}
			if got, want := p.VerifyConfig(), tt.prof.Config("api"); !reflect.DeepEqual(got, want) {
				t.Errorf("VerifyConfig\ngot  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestProfileOverrides: explicit fields win over the profile.
func TestProfileOverrides(t *testing.T) {
	doc := `audience: api
profile: {provider: auth0, domain: example.us.auth0.com, namespace: 'https://example.com/'}
issuer: https://login.example.com/
token_types: [at+jwt, JWT]
claim_names: {acr: 'https://other.example/acr'}
acr_levels: [a, b]
` + rule
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := verify.Config{
		Issuer:         "https://login.example.com/",
		Audience:       "api",
		TokenTypes:     []string{"at+jwt", "JWT"},
		ClaimNames:     claims.Names{ACR: "https://other.example/acr"},
		RequiredClaims: []string{"iss", "exp", "aud", "sub", "iat", "azp"},
	}
	if got := p.VerifyConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("VerifyConfig\ngot  %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(p.ACRLevels, []string{"a", "b"}) || p.JWKSURI != "" {
		t.Errorf("acr_levels %q jwks_uri %q", p.ACRLevels, p.JWKSURI)
	}

	// A caller replacing the issuer (a test issuer) gets only that one.
	p, err = policy.Parse([]byte("audience: api\nprofile: {provider: entra, tenant_id: organizations}\n" + rule))
	if err != nil {
		t.Fatal(err)
	}
	p.Issuer = "http://127.0.0.1:9/t/v2.0"
	cfg := p.VerifyConfig()
	if cfg.Issuer != p.Issuer || cfg.Issuers != nil || cfg.IssuerTemplates != nil || cfg.RequiredValues["ver"] != "2.0" {
		t.Errorf("replaced issuer: %+v", cfg)
	}
	// organizations refuses the consumer tenant whatever the issuer.
	if got := cfg.ExcludedValues["tid"]; !reflect.DeepEqual(got, []string{idp.EntraConsumerTenant}) {
		t.Errorf("ExcludedValues[tid] got %q, want the consumer tenant", got)
	}
}

// TestAuthContextRule: auth_context is the Entra requirement code builds.
func TestAuthContextRule(t *testing.T) {
	doc := `audience: api
profile: {provider: entra, tenant_id: common}
rules:
  - http: POST /approve
    grpc: /inv.v1.Invoices/Approve
    auth_context: [c1, c2]
    scopes: [Invoices.Approve]
`
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Rules[0]
	if !reflect.DeepEqual(r.AuthContext, []string{"c1", "c2"}) || r.Requirement.Check == nil || !reflect.DeepEqual(r.Requirement.Scopes, []string{"Invoices.Approve"}) {
		t.Fatalf("rule %+v", r)
	}
	code, err := p.Profile.AuthContext("c1", "c2")
	if err != nil {
		t.Fatal(err)
	}
	code.Scopes = []string{"Invoices.Approve"}
	now := time.Unix(1_800_000_000, 0)
	for _, payload := range []string{
		`{"acrs":["c2"],"scp":"Invoices.Approve"}`,
		`{"xms_cc":["cp1"],"scp":"Invoices.Approve"}`,
		`{"scp":"Invoices.Approve"}`,
		`{"acrs":["c1"],"scp":"Invoices.Read"}`,
	} {
		c, err := claims.Parse([]byte(payload), claims.Names{})
		if err != nil {
			t.Fatal(err)
		}
		got, want := r.Requirement.Evaluate(c, now, 0), code.Evaluate(c, now, 0)
		if (got == nil) != (want == nil) || got != nil && (got.Code != want.Code || got.Challenge().String() != want.Challenge().String()) {
			t.Errorf("%s: file gives %v, code gives %v", payload, got, want)
		}
	}
}

func TestProfileErrors(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"scalar", "profile: auth0\n" + rule, "policy: line 2: profile: want a mapping such as {provider: auth0, domain: example.us.auth0.com}, got a string"},
		{"no provider", "profile: {domain: x.auth0.com}\n" + rule, "policy: line 2: profile.provider: required (auth0, okta, entra or keycloak)"},
		{"unknown provider", "profile: {provider: ping}\n" + rule, `policy: line 2: profile.provider: unknown provider "ping" (want auth0, okta, entra or keycloak)`},
		{"unknown parameter", "profile:\n  provider: okta\n  domain: x.okta.com\n  tenant_id: x\n" + rule, "policy: line 5: profile.tenant_id: unknown field for okta (want domain, authorization_server)"},
		{"missing parameter", "profile: {provider: keycloak, base_url: 'https://sso'}\n" + rule, "policy: line 2: profile.realm: required for keycloak"},
		{"bad tenant", "profile:\n  provider: entra\n  tenant_id: contoso.com\n" + rule, `policy: line 4: profile.tenant_id: "contoso.com" is not a tenant GUID (or organizations, common)`},
		{"bad domain", "profile: {provider: auth0, domain: 'https://x.auth0.com/'}\n" + rule, "policy: line 2: profile.domain: a host name such as example.com, not a URL"},
		{"rfc9068 string", "profile: {provider: auth0, domain: x.auth0.com, rfc9068: 'yes'}\n" + rule, `policy: line 2: profile.rfc9068: want true or false, got the string "yes"`},
		{"rfc9068 tagged yes", "profile: {provider: auth0, domain: x.auth0.com, rfc9068: !!bool yes}\n" + rule, `policy: line 2: profile.rfc9068: want true or false, got "yes"`},
		{"levels repeated", "profile: {provider: keycloak, base_url: 'https://sso', realm: r, levels: [a, a]}\n" + rule, `policy: line 2: profile.levels: duplicate value "a"`},
		{"empty authorization server", "profile:\n  provider: okta\n  domain: x.okta.com\n  authorization_server: ''\n" + rule,
			"policy: line 5: profile.authorization_server: must not be empty"},
		{"keycloak base with realm", "profile: {provider: keycloak, base_url: 'https://sso/realms/r', realm: r}\n" + rule,
			`policy: line 2: profile.base_url: "https://sso/realms/r" names a realm: give the server URL "https://sso" and the realm "r" separately`},
		{"duplicate parameter", "profile:\n  provider: okta\n  domain: a.okta.com\n  domain: b.okta.com\n" + rule, "policy: line 5: profile.domain: duplicate field (first on line 4)"},
		{"auth_context without entra", "issuer: https://a/\n" + "rules:\n  - http: GET /a\n    auth_context: [c1]\n", `policy: line 5: rules[0] (http "GET /a"): auth_context: needs a profile with provider entra (authentication contexts are an Entra ID feature)`},
		{"auth_context bad id", "profile: {provider: entra, tenant_id: common}\nrules:\n  - http: GET /a\n    auth_context: [c1, c100]\n", `policy: line 5: rules[0] (http "GET /a"): auth_context: "c100" is not an authentication context c1..c99`},
		{"auth_context on public rule", "profile: {provider: entra, tenant_id: common}\nrules:\n  - http: GET /a\n    public: true\n    auth_context: [c1]\n", `policy: line 6: rules[0] (http "GET /a"): auth_context: a public rule takes no requirement`},
		{"acr_min with profile levels", "profile: {provider: keycloak, base_url: 'https://sso', realm: r}\nrules:\n  - http: GET /a\n    acr_min: '3'\n", `policy: line 5: rules[0] (http "GET /a"): acr_min: "3" is not in acr_levels`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Parse([]byte("audience: api\n" + tt.doc))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\ngot  %v\nwant %s", err, tt.want)
			}
		})
	}
}
