package idp_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/idp"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// now is the fixed clock of the issuers and verifiers of these tests.
var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const (
	audience = "https://api.example.com"
	tenantA  = "11111111-2222-3333-4444-555555555555"
	tenantB  = "99999999-8888-7777-6666-555555555555"
)

// Microsoft's documented claims challenge for c1
// (https://learn.microsoft.com/entra/identity-platform/claims-challenge),
// through the common endpoint (any tenant, or an allowlist) and, for a
// single tenant, with the tenant as realm and in authorization_uri.
const (
	entraC1       = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`
	entraC1Tenant = `Bearer realm="` + tenantA + `", authorization_uri="https://login.microsoftonline.com/` + tenantA + `/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`
)

// newIssuer starts a provider-shaped test issuer on the fixed clock.
func newIssuer(t *testing.T, opts ...stepuptest.Option) *stepuptest.Issuer {
	t.Helper()
	iss, err := stepuptest.NewIssuer(append([]stepuptest.Option{
		stepuptest.WithClock(func() time.Time { return now }),
		stepuptest.WithAudience(audience),
		stepuptest.WithAlgorithms("RS256"),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	return iss
}

// guard builds the verifier of prof (keys from keys, or from prof.Keys)
// and an httpmw guard on it.
func guard(t *testing.T, prof idp.Profile, keys jwks.Source) *httpmw.Guard {
	t.Helper()
	if keys == nil {
		r, err := prof.Keys(context.Background())
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		t.Cleanup(func() { r.Close() })
		keys = r
	}
	cfg := prof.Config(audience)
	cfg.Now = func() time.Time { return now }
	v, err := verify.New(keys, cfg)
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	g, err := httpmw.New(v)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

type providerCase struct {
	name string
	req  claims.Requirement
	tok  stepuptest.Token
	// status and challenge expected; 200 has no challenge.
	status    int
	challenge string
}

func runCases(t *testing.T, iss *stepuptest.Issuer, g *httpmw.Guard, cases []providerCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := iss.Mint(tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			h := g.Require(tc.req, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := claims.FromContext(r.Context()); !ok {
					t.Error("handler ran without claims")
				}
			}))
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			r.Header.Set("Authorization", "Bearer "+raw)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("status got %d, want %d (WWW-Authenticate %q)", w.Code, tc.status, w.Header().Get("WWW-Authenticate"))
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate\ngot  %s\nwant %s", got, tc.challenge)
			}
		})
	}
}

const invalidToken = `Bearer error="invalid_token", error_description="The access token is invalid"`

func TestAuth0(t *testing.T) {
	const ns = "https://example.com/"
	for _, rfc9068 := range []bool{false, true} {
		name := "default profile"
		if rfc9068 {
			name = "rfc 9068 profile"
		}
		t.Run(name, func(t *testing.T) {
			iss := newIssuer(t, stepuptest.WithAuth0Shape(stepuptest.Auth0Shape{Namespace: ns, RFC9068: rfc9068}))
			prof, err := idp.Auth0(strings.TrimPrefix(iss.URL(), "http://"), idp.Auth0Options{Namespace: ns, RFC9068: rfc9068})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := prof.Issuers[0], iss.Issuer(); got != want || !strings.HasSuffix(got, "/") {
				t.Fatalf("issuer got %q, want %q with its trailing slash", got, want)
			}
			mfa := claims.Requirement{ACR: []string{claims.ACRMultiFactor}, MaxAge: 10 * time.Minute}
			mfaAMR := claims.Requirement{AMRAny: []string{claims.AMRMFA}, AMRACRValues: []string{claims.ACRMultiFactor}}
			otherTyp := "at+jwt"
			if rfc9068 {
				otherTyp = "JWT"
			}
			runCases(t, iss, guard(t, prof, nil), []providerCase{
				{"mfa allowed", mfa, stepuptest.Token{ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "mfa"}, AuthTime: now.Add(-time.Minute)}, 200, ""},
				{"amr mfa allowed", mfaAMR, stepuptest.Token{ACR: "pwd", AMR: []string{"pwd", "mfa"}}, 200, ""},
				{"password challenged", mfa, stepuptest.Token{ACR: "pwd", AMR: []string{"pwd"}, AuthTime: now.Add(-time.Minute)}, 401,
					`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"`},
				{"stale mfa challenged", mfa, stepuptest.Token{ACR: claims.ACRMultiFactor, AuthTime: now.Add(-time.Hour)}, 401,
					`Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=600`},
				{"amr without mfa challenged", mfaAMR, stepuptest.Token{ACR: "pwd", AMR: []string{"pwd"}}, 401,
					`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"`},
				{"acr not namespaced is not read", mfa, stepuptest.Token{AuthTime: now, Claims: map[string]any{"acr": claims.ACRMultiFactor}}, 401,
					`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"`},
				{"other tenant rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"iss": "https://other.us.auth0.com/"}}, 401, invalidToken},
				{"issuer without trailing slash rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"iss": strings.TrimSuffix(iss.Issuer(), "/")}}, 401, invalidToken},
				{"other profile's typ rejected", claims.Requirement{}, stepuptest.Token{Header: map[string]any{"typ": otherTyp}}, 401, invalidToken},
				{"id token shape rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"azp": nil, "client_id": nil}}, 401, invalidToken},
			})
		})
	}
}

func TestOkta(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithOktaShape("default"))
	prof, err := idp.Okta(strings.TrimPrefix(iss.URL(), "http://"), idp.OktaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	twoFA := claims.Requirement{ACRMin: idp.OktaLoA2FAAny, ACRLevels: prof.ACRLevels, MaxAge: 15 * time.Minute, Scopes: []string{"orders.write"}}
	phr := claims.Requirement{ACR: []string{idp.OktaPhishingResistantHardware, idp.OktaPhishingResistant}}
	fresh := now.Add(-time.Minute)
	runCases(t, iss, guard(t, prof, nil), []providerCase{
		{"2fa allowed", twoFA, stepuptest.Token{ACR: idp.OktaLoA2FAAny, AuthTime: fresh, Scopes: []string{"orders.read", "orders.write"}}, 200, ""},
		{"phr meets 2fa", twoFA, stepuptest.Token{ACR: idp.OktaPhishingResistant, AuthTime: fresh, Scopes: []string{"orders.write"}}, 200, ""},
		{"1fa challenged", twoFA, stepuptest.Token{ACR: idp.OktaLoA1FAAny, AuthTime: fresh, Scopes: []string{"orders.write"}}, 401,
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:okta:loa:2fa:any phr phrh"`},
		{"2fa if possible is not 2fa", twoFA, stepuptest.Token{ACR: idp.OktaLoA2FAAnyIfPossible, AuthTime: fresh, Scopes: []string{"orders.write"}}, 401,
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:okta:loa:2fa:any phr phrh"`},
		{"phr asked in order", phr, stepuptest.Token{ACR: idp.OktaLoA2FAAny}, 401,
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="phrh phr"`},
		{"scp array short", twoFA, stepuptest.Token{ACR: idp.OktaLoA2FAAny, AuthTime: fresh, Scopes: []string{"orders.read"}}, 403,
			`Bearer error="insufficient_scope", error_description="The access token does not grant the required scope", scope="orders.write"`},
		{"stale login challenged", twoFA, stepuptest.Token{ACR: idp.OktaLoA2FAAny, AuthTime: now.Add(-time.Hour), Scopes: []string{"orders.write"}}, 401,
			`Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=900`},
		{"other authorization server rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"iss": iss.URL() + "/oauth2/other"}}, 401, invalidToken},
		{"org authorization server rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"iss": iss.URL()}}, 401, invalidToken},
		{"no cid rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"cid": nil}}, 401, invalidToken},
		// Okta ID tokens carry a jti ("ID.…"): cid, not jti, keeps them
		// out, even one whose aud happened to be ours.
		{"id token shape rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{
			"jti": "ID.radCQMOQUmyvcTBmmIL0J6BaS60apUEiC7", "cid": nil, "uid": nil, "scp": nil,
			"amr": []string{"pwd"}, "idp": "00o1abcd", "at_hash": "fPlsvVszI29LU2UhDyJ9vg"}}, 401, invalidToken},
		{"id token with the client as aud rejected", claims.Requirement{}, stepuptest.Token{Audience: []string{"0oa1client"}, Claims: map[string]any{
			"jti": "ID.radCQMOQUmyvcTBmmIL0J6BaS60apUEiC7", "cid": nil, "uid": nil, "scp": nil}}, 401, invalidToken},
		{"typ JWT accepted", claims.Requirement{}, stepuptest.Token{Header: map[string]any{"typ": "JWT"}}, 200, ""},
	})
}

func TestKeycloak(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithKeycloakShape("bank"))
	prof, err := idp.Keycloak(idp.KeycloakOptions{BaseURL: iss.URL(), Realm: "bank"})
	if err != nil {
		t.Fatal(err)
	}
	named, err := idp.Keycloak(idp.KeycloakOptions{BaseURL: iss.URL(), Realm: "bank", Levels: []string{"bronze", "silver", "gold"}})
	if err != nil {
		t.Fatal(err)
	}
	two := claims.Requirement{ACRMin: "2", ACRLevels: prof.ACRLevels, MaxAge: 5 * time.Minute}
	one := claims.Requirement{ACRMin: "1", ACRLevels: prof.ACRLevels}
	g := guard(t, prof, nil)
	runCases(t, iss, g, []providerCase{
		{"level 2 allowed", two, stepuptest.Token{ACR: "2", AuthTime: now.Add(-time.Minute)}, 200, ""},
		{"level 2 meets 1", one, stepuptest.Token{ACR: "2"}, 200, ""},
		{"level 1 challenged", two, stepuptest.Token{ACR: "1", AuthTime: now.Add(-time.Minute)}, 401,
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="2"`},
		{"sso cookie challenged", one, stepuptest.Token{ACR: "0"}, 401,
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="1 2"`},
		{"stale level 2 challenged", two, stepuptest.Token{ACR: "2", AuthTime: now.Add(-time.Hour)}, 401,
			`Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=300`},
		{"other realm rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"iss": iss.URL() + "/realms/other"}}, 401, invalidToken},
		{"id token rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"typ": "ID"}}, 401, invalidToken},
		{"payload typ missing rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"typ": nil}}, 401, invalidToken},
		{"header typ at+jwt rejected", claims.Requirement{}, stepuptest.Token{Header: map[string]any{"typ": "at+jwt"}}, 401, invalidToken},
	})
	gold := claims.Requirement{ACRMin: "gold", ACRLevels: named.ACRLevels}
	runCases(t, iss, guard(t, named, nil), []providerCase{
		{"mapped gold allowed", gold, stepuptest.Token{ACR: "gold"}, 200, ""},
		{"mapped silver challenged", gold, stepuptest.Token{ACR: "silver"}, 401,
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="gold"`},
	})
}

func TestEntra(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithEntraShape(tenantA))
	prof, err := idp.Entra(tenantA, idp.EntraOptions{Authority: iss.URL()})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := prof.Issuers, []string{iss.Issuer()}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("issuers got %q, want %q", got, want)
	}
	c1 := authContext(t, prof, "c1")
	// The test issuer stands for login.microsoftonline.com; the challenge
	// names its authorize endpoint.
	local := strings.ReplaceAll(entraC1Tenant, "https://login.microsoftonline.com", iss.URL())
	capable := map[string]any{"xms_cc": []string{"cp1"}, "roles": []string{"Invoices.Approve"}}
	runCases(t, iss, guard(t, prof, nil), []providerCase{
		{"auth context allowed", c1, stepuptest.Token{ACRS: []string{"c1"}, Scopes: []string{"Invoices.Read"}, Claims: capable}, 200, ""},
		{"one of several contexts", c1, stepuptest.Token{ACRS: []string{"c7", "c1"}, Claims: capable}, 200, ""},
		{"cp1 client gets claims challenge", c1, stepuptest.Token{Claims: capable}, 401, local},
		{"other context gets claims challenge", c1, stepuptest.Token{ACRS: []string{"c2"}, Claims: capable}, 401, local},
		{"client without cp1 cannot step up", c1, stepuptest.Token{Claims: map[string]any{"xms_cc": []string{"cp2"}}}, 401,
			`Bearer error="insufficient_user_authentication", error_description="Stronger authentication is required, and this client does not declare the cp1 capability needed to answer a claims challenge"`},
		{"client without xms_cc cannot step up", c1, stepuptest.Token{}, 401,
			`Bearer error="insufficient_user_authentication", error_description="Stronger authentication is required, and this client does not declare the cp1 capability needed to answer a claims challenge"`},
		{"scp string", claims.Requirement{Scopes: []string{"Invoices.Approve"}}, stepuptest.Token{Scopes: []string{"Invoices.Read", "Invoices.Approve"}}, 200, ""},
		{"other tenant rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"iss": iss.URL() + "/" + tenantB + "/v2.0", "tid": tenantB}}, 401, invalidToken},
		{"v1.0 token rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"ver": "1.0"}}, 401, invalidToken},
		{"v1.0 issuer rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"iss": "https://sts.windows.net/" + tenantA + "/"}}, 401, invalidToken},
		{"no tid rejected", claims.Requirement{}, stepuptest.Token{Claims: map[string]any{"tid": nil}}, 401, invalidToken},
		{"at+jwt typ rejected", claims.Requirement{}, stepuptest.Token{Header: map[string]any{"typ": "at+jwt"}}, 401, invalidToken},
	})
}

func TestEntraMultiTenant(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithEntraShape(tenantA))
	keys, err := jwks.NewRemote(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	anyTenant, err := idp.Entra("organizations", idp.EntraOptions{Authority: iss.URL()})
	if err != nil {
		t.Fatal(err)
	}
	listed, err := idp.Entra(tenantA, idp.EntraOptions{Authority: iss.URL(), Tenants: []string{tenantB}})
	if err != nil {
		t.Fatal(err)
	}
	const tenantC = "abcdefab-cdef-abcd-efab-cdefabcdefab"
	from := func(iss *stepuptest.Issuer, tenant, tid string) stepuptest.Token {
		return stepuptest.Token{Claims: map[string]any{"iss": iss.URL() + "/" + tenant + "/v2.0", "tid": tid}}
	}
	all := claims.Requirement{}
	runCases(t, iss, guard(t, anyTenant, keys), []providerCase{
		{"home tenant", all, stepuptest.Token{}, 200, ""},
		{"another tenant", all, from(iss, tenantB, tenantB), 200, ""},
		{"iss tenant other than tid", all, from(iss, tenantB, tenantA), 401, invalidToken},
		{"no tid", all, stepuptest.Token{Claims: map[string]any{"tid": nil}}, 401, invalidToken},
		{"tid with a slash", all, from(iss, tenantB+"/x", tenantB+"/x"), 401, invalidToken},
		{"other host", all, stepuptest.Token{Claims: map[string]any{"iss": "https://login.example.com/" + tenantA + "/v2.0"}}, 401, invalidToken},
	})
	runCases(t, iss, guard(t, listed, keys), []providerCase{
		{"first listed tenant", all, stepuptest.Token{}, 200, ""},
		{"second listed tenant", all, from(iss, tenantB, tenantB), 200, ""},
		{"unlisted tenant", all, from(iss, tenantC, tenantC), 401, invalidToken},
	})
}

// TestEntraConsumerTenant: "organizations" is work and school accounts
// only, so the consumer tenant's tokens (personal Microsoft accounts) are
// refused there; "common" takes them; a specific tenant takes its own.
func TestEntraConsumerTenant(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithEntraShape(tenantA))
	keys, err := jwks.NewRemote(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	from := func(tid string) stepuptest.Token {
		return stepuptest.Token{Claims: map[string]any{"iss": iss.URL() + "/" + tid + "/v2.0", "tid": tid}}
	}
	consumer, business := from(idp.EntraConsumerTenant), from(tenantA)
	all := claims.Requirement{}
	for _, tt := range []struct {
		tenant             string
		consumer, business int // status
	}{
		{"common", 200, 200},
		{"organizations", 401, 200},
		{"Organizations", 401, 200},
		{tenantA, 401, 200},
	} {
		t.Run(tt.tenant, func(t *testing.T) {
			prof, err := idp.Entra(tt.tenant, idp.EntraOptions{Authority: iss.URL()})
			if err != nil {
				t.Fatal(err)
			}
			challenge := func(status int) string {
				if status == 200 {
					return ""
				}
				return invalidToken
			}
			runCases(t, iss, guard(t, prof, keys), []providerCase{
				{"consumer tid", all, consumer, tt.consumer, challenge(tt.consumer)},
				{"business tid", all, business, tt.business, challenge(tt.business)},
			})
		})
	}
	// The rule is data in the profile, and Config copies it.
	prof, err := idp.Entra("organizations", idp.EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"tid": {idp.EntraConsumerTenant}}
	if got := prof.Config(audience).ExcludedValues; !reflect.DeepEqual(got, want) {
		t.Errorf("Config().ExcludedValues got %q, want %q", got, want)
	}
	prof.Config(audience).ExcludedValues["tid"][0] = "x"
	if got := prof.Config(audience).ExcludedValues; !reflect.DeepEqual(got, want) {
		t.Errorf("Config().ExcludedValues after changing a copy got %q, want %q", got, want)
	}
}

func authContext(t *testing.T, p idp.Profile, ids ...string) claims.Requirement {
	t.Helper()
	r, err := p.AuthContext(ids...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEntraChallengeForm checks the claims challenge byte for byte against
// Microsoft's rules: an empty realm only with the common endpoint, a
// tenant realm only with that tenant's endpoint; one "value", the first
// (preferred) context, whatever the number of contexts; standard base64
// with padding.
func TestEntraChallengeForm(t *testing.T) {
	single, err := idp.Entra(tenantA, idp.EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	allowlist, err := idp.Entra(tenantA, idp.EntraOptions{Tenants: []string{tenantB}})
	if err != nil {
		t.Fatal(err)
	}
	anyTenant, err := idp.Entra("organizations", idp.EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	national, err := idp.Entra("common", idp.EntraOptions{Authority: "https://login.microsoftonline.us"})
	if err != nil {
		t.Fatal(err)
	}
	// claims of {"access_token":{"acrs":{"essential":true,"value":"c12"}}}:
	// padded.
	const c12 = "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEyIn19fQ=="
	common := `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims=`
	tests := []struct {
		name    string
		p       idp.Profile
		ids     []string
		want    string
		request string
	}{
		{"single tenant, one context", single, []string{"c1"}, entraC1Tenant, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"single tenant, several contexts: the first", single, []string{"c1", "c2", "c3"}, entraC1Tenant, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"allowlist: common", allowlist, []string{"c1"}, entraC1, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"any tenant: common", anyTenant, []string{"c1", "c2"}, entraC1, `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
		{"preference order kept", anyTenant, []string{"c12", "c1"}, common + `"` + c12 + `"`, `{"access_token":{"acrs":{"essential":true,"value":"c12"}}}`},
		{"national cloud", national, []string{"c1"}, strings.ReplaceAll(entraC1, "microsoftonline.com", "microsoftonline.us"), `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`},
	}
	capable, err := claims.Parse([]byte(`{"xms_cc":["cp1"]}`), claims.Names{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := authContext(t, tt.p, tt.ids...)
			e := req.Check(capable)
			if e == nil {
				t.Fatal("Check passed a token without acrs")
			}
			if got := e.Challenge().String(); got != tt.want {
				t.Errorf("challenge\ngot  %s\nwant %s", got, tt.want)
			}
			if got, ok := idp.ClaimsRequest(e); !ok || got != tt.request {
				t.Errorf("ClaimsRequest got %s, %v, want %s", got, ok, tt.request)
			}
			// Any of the contexts still passes, not only the one named.
			for _, id := range tt.ids {
				ok, err := claims.Parse([]byte(`{"acrs":["`+id+`"],"xms_cc":["cp1"]}`), claims.Names{})
				if err != nil {
					t.Fatal(err)
				}
				if e := req.Check(ok); e != nil {
					t.Errorf("acrs [%s]: got %v, want it accepted", id, e)
				}
			}
		})
	}
}

// Keys fetches once on both paths, so a wrong or dead JWKS URL fails at
// start-up and not at the first request.
func TestKeysFailFast(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	multi, err := idp.Entra("organizations", idp.EntraOptions{Authority: dead.URL})
	if err != nil {
		t.Fatal(err)
	}
	if multi.DiscoveryURL != "" {
		t.Fatalf("organizations profile has a discovery URL %q; the test wants the jwks.NewRemote path", multi.DiscoveryURL)
	}
	if r, err := multi.Keys(context.Background()); err == nil {
		r.Close()
		t.Fatal("dead JWKS URL: Keys returned no error")
	}
}
