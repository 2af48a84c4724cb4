package idp_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/idp"
)

func TestConstructors(t *testing.T) {
	const tid = "11111111-2222-3333-4444-555555555555"
	tests := []struct {
		name      string
		make      func() (idp.Profile, error)
		issuers   []string
		templates []string
		jwks      string
		discovery string
		types     []string
		required  []string
		values    map[string]string
		names     claims.Names
	}{
		{"auth0 default", func() (idp.Profile, error) {
			return idp.Auth0("example.us.auth0.com", idp.Auth0Options{Namespace: "https://example.com/"})
		},
			[]string{"https://example.us.auth0.com/"}, nil, "https://example.us.auth0.com/.well-known/jwks.json",
			"https://example.us.auth0.com/.well-known/openid-configuration", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "azp"}, nil,
			claims.Names{ACR: "https://example.com/acr", AMR: "https://example.com/amr", AuthTime: "https://example.com/auth_time"}},
		{"auth0 namespace without trailing slash", func() (idp.Profile, error) {
			return idp.Auth0("example.us.auth0.com", idp.Auth0Options{Namespace: "https://example.com"})
		},
			[]string{"https://example.us.auth0.com/"}, nil, "https://example.us.auth0.com/.well-known/jwks.json",
			"https://example.us.auth0.com/.well-known/openid-configuration", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "azp"}, nil,
			claims.Names{ACR: "https://example.com/acr", AMR: "https://example.com/amr", AuthTime: "https://example.com/auth_time"}},
		{"auth0 namespace with a path", func() (idp.Profile, error) {
			return idp.Auth0("example.us.auth0.com", idp.Auth0Options{Namespace: "http://example.com/claims"})
		},
			[]string{"https://example.us.auth0.com/"}, nil, "https://example.us.auth0.com/.well-known/jwks.json",
			"https://example.us.auth0.com/.well-known/openid-configuration", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "azp"}, nil,
			claims.Names{ACR: "http://example.com/claims/acr", AMR: "http://example.com/claims/amr", AuthTime: "http://example.com/claims/auth_time"}},
		{"auth0 rfc 9068", func() (idp.Profile, error) { return idp.Auth0("login.example.com", idp.Auth0Options{RFC9068: true}) },
			[]string{"https://login.example.com/"}, nil, "https://login.example.com/.well-known/jwks.json",
			"https://login.example.com/.well-known/openid-configuration", []string{"at+jwt"},
			[]string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}, nil, claims.Names{}},
		{"okta", func() (idp.Profile, error) { return idp.Okta("example.okta.com", idp.OktaOptions{}) },
			[]string{"https://example.okta.com/oauth2/default"}, nil, "https://example.okta.com/oauth2/default/v1/keys",
			"https://example.okta.com/oauth2/default/.well-known/openid-configuration", []string{"at+jwt", "JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "jti", "cid"}, nil, claims.Names{}},
		{"okta loopback", func() (idp.Profile, error) {
			return idp.Okta("127.0.0.1:8443", idp.OktaOptions{AuthorizationServer: "aus1"})
		},
			[]string{"http://127.0.0.1:8443/oauth2/aus1"}, nil, "http://127.0.0.1:8443/oauth2/aus1/v1/keys",
			"http://127.0.0.1:8443/oauth2/aus1/.well-known/openid-configuration", []string{"at+jwt", "JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "jti", "cid"}, nil, claims.Names{}},
		{"okta domain that starts with 127. is a name: https", func() (idp.Profile, error) {
			return idp.Okta("127.example.com", idp.OktaOptions{AuthorizationServer: "aus1"})
		},
			[]string{"https://127.example.com/oauth2/aus1"}, nil, "https://127.example.com/oauth2/aus1/v1/keys",
			"https://127.example.com/oauth2/aus1/.well-known/openid-configuration", []string{"at+jwt", "JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "jti", "cid"}, nil, claims.Names{}},
		{"auth0 localhost is a name: https", func() (idp.Profile, error) { return idp.Auth0("localhost:8443", idp.Auth0Options{RFC9068: true}) },
			[]string{"https://localhost:8443/"}, nil, "https://localhost:8443/.well-known/jwks.json",
			"https://localhost:8443/.well-known/openid-configuration", []string{"at+jwt"},
			[]string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}, nil, claims.Names{}},
		{"entra single tenant", func() (idp.Profile, error) { return idp.Entra(tid, idp.EntraOptions{}) },
			[]string{"https://login.microsoftonline.com/" + tid + "/v2.0"}, nil,
			"https://login.microsoftonline.com/" + tid + "/discovery/v2.0/keys",
			"https://login.microsoftonline.com/" + tid + "/v2.0/.well-known/openid-configuration", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "tid", "uti", "azp", "ver"}, map[string]string{"ver": "2.0"}, claims.Names{}},
		{"entra upper-case guid", func() (idp.Profile, error) {
			return idp.Entra("AAAAAAAA-2222-3333-4444-555555555555", idp.EntraOptions{})
		},
			[]string{"https://login.microsoftonline.com/aaaaaaaa-2222-3333-4444-555555555555/v2.0"}, nil,
			"https://login.microsoftonline.com/aaaaaaaa-2222-3333-4444-555555555555/discovery/v2.0/keys",
			"https://login.microsoftonline.com/aaaaaaaa-2222-3333-4444-555555555555/v2.0/.well-known/openid-configuration", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "tid", "uti", "azp", "ver"}, map[string]string{"ver": "2.0"}, claims.Names{}},
		{"entra allowlist", func() (idp.Profile, error) {
			return idp.Entra(tid, idp.EntraOptions{Tenants: []string{"99999999-8888-7777-6666-555555555555"}})
		},
			[]string{"https://login.microsoftonline.com/" + tid + "/v2.0", "https://login.microsoftonline.com/99999999-8888-7777-6666-555555555555/v2.0"}, nil,
			"https://login.microsoftonline.com/common/discovery/v2.0/keys", "", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "tid", "uti", "azp", "ver"}, map[string]string{"ver": "2.0"}, claims.Names{}},
		{"entra any tenant", func() (idp.Profile, error) { return idp.Entra("organizations", idp.EntraOptions{}) },
			nil, []string{"https://login.microsoftonline.com/{tid}/v2.0"},
			"https://login.microsoftonline.com/common/discovery/v2.0/keys", "", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "tid", "uti", "azp", "ver"}, map[string]string{"ver": "2.0"}, claims.Names{}},
		{"entra national cloud", func() (idp.Profile, error) {
			return idp.Entra("common", idp.EntraOptions{Authority: "https://login.microsoftonline.us/"})
		},
			nil, []string{"https://login.microsoftonline.us/{tid}/v2.0"},
			"https://login.microsoftonline.us/common/discovery/v2.0/keys", "", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "tid", "uti", "azp", "ver"}, map[string]string{"ver": "2.0"}, claims.Names{}},
		{"keycloak", func() (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso.example.com/", Realm: "bank"})
		},
			[]string{"https://sso.example.com/realms/bank"}, nil, "https://sso.example.com/realms/bank/protocol/openid-connect/certs",
			"https://sso.example.com/realms/bank/.well-known/openid-configuration", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "jti", "azp", "typ"}, map[string]string{"typ": "Bearer"}, claims.Names{}},
		{"keycloak legacy path", func() (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso.example.com/auth", Realm: "bank"})
		},
			[]string{"https://sso.example.com/auth/realms/bank"}, nil, "https://sso.example.com/auth/realms/bank/protocol/openid-connect/certs",
			"https://sso.example.com/auth/realms/bank/.well-known/openid-configuration", []string{"JWT"},
			[]string{"iss", "exp", "aud", "sub", "iat", "jti", "azp", "typ"}, map[string]string{"typ": "Bearer"}, claims.Names{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.make()
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want any) {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s got %#v, want %#v", what, got, want)
				}
			}
			check("issuers", p.Issuers, tt.issuers)
			check("templates", p.IssuerTemplates, tt.templates)
			check("jwks", p.JWKSURI, tt.jwks)
			check("discovery", p.DiscoveryURL, tt.discovery)
			check("token types", p.TokenTypes, tt.types)
			check("required claims", p.RequiredClaims, tt.required)
			check("required values", p.RequiredValues, tt.values)
			check("claim names", p.ClaimNames, tt.names)
			if p.Docs == "" {
				t.Error("no docs link")
			}
			cfg := p.Config("aud")
			if cfg.Audience != "aud" || !reflect.DeepEqual(cfg.TokenTypes, tt.types) || !reflect.DeepEqual(cfg.IssuerTemplates, tt.templates) {
				t.Errorf("Config got %+v", cfg)
			}
			if len(tt.issuers) > 0 && (cfg.Issuer != tt.issuers[0] || len(cfg.Issuers) != len(tt.issuers)-1) {
				t.Errorf("Config issuers got %q %q, want %q", cfg.Issuer, cfg.Issuers, tt.issuers)
			}
		})
	}
}

func TestConstructorErrors(t *testing.T) {
	tests := []struct {
		name string
		make func() (idp.Profile, error)
		want string
	}{
		{"auth0 url", func() (idp.Profile, error) { return idp.Auth0("https://x.auth0.com/", idp.Auth0Options{}) }, "idp: auth0: domain: a host name such as example.com, not a URL"},
		{"auth0 empty", func() (idp.Profile, error) { return idp.Auth0("", idp.Auth0Options{}) }, "idp: auth0: domain: required"},
		{"auth0 path", func() (idp.Profile, error) { return idp.Auth0("x.auth0.com/a", idp.Auth0Options{}) }, "idp: auth0: domain: not a host name"},
		{"auth0 namespace space", func() (idp.Profile, error) { return idp.Auth0("x.auth0.com", idp.Auth0Options{Namespace: "a b/"}) }, "idp: auth0: namespace: not printable ASCII without spaces"},
		{"auth0 namespace not a url", func() (idp.Profile, error) { return idp.Auth0("x.auth0.com", idp.Auth0Options{Namespace: "myapp/"}) },
			`idp: auth0: namespace: "myapp/" is not an absolute http or https URL: use the namespace of the post-login Action's setCustomClaim calls, such as "https://example.com/"`},
		{"auth0 namespace urn", func() (idp.Profile, error) {
			return idp.Auth0("x.auth0.com", idp.Auth0Options{Namespace: "urn:example:"})
		},
			`idp: auth0: namespace: "urn:example:" is not an absolute http or https URL: use the namespace of the post-login Action's setCustomClaim calls, such as "https://example.com/"`},
		{"auth0 namespace no host", func() (idp.Profile, error) {
			return idp.Auth0("x.auth0.com", idp.Auth0Options{Namespace: "https:///acr/"})
		},
			`idp: auth0: namespace: "https:///acr/" is not an absolute http or https URL: use the namespace of the post-login Action's setCustomClaim calls, such as "https://example.com/"`},
		{"auth0 namespace fragment", func() (idp.Profile, error) {
			return idp.Auth0("x.auth0.com", idp.Auth0Options{Namespace: "https://example.com/#"})
		},
			`idp: auth0: namespace: "https://example.com/#" must not have user info, a query or a fragment: use the namespace of the post-login Action, such as "https://example.com/"`},
		{"auth0 namespace on auth0.com", func() (idp.Profile, error) {
			return idp.Auth0("x.auth0.com", idp.Auth0Options{Namespace: "https://x.us.Auth0.com/"})
		}, `idp: auth0: namespace: "https://x.us.Auth0.com/" is on Auth0's own domain auth0.com, which Auth0 refuses as a namespace: use a URL you control, such as "https://example.com/"`},
		{"okta domain as URL", func() (idp.Profile, error) { return idp.Okta("https://x.okta.com", idp.OktaOptions{}) }, "idp: okta: domain: a host name such as example.com, not a URL"},
		{"okta server as issuer path", func() (idp.Profile, error) {
			return idp.Okta("x.okta.com", idp.OktaOptions{AuthorizationServer: "/oauth2/aus1"})
		}, `idp: okta: authorization_server: "/oauth2/aus1" is a path: give the server ID alone, "aus1"`},
		{"okta server path", func() (idp.Profile, error) {
			return idp.Okta("x.okta.com", idp.OktaOptions{AuthorizationServer: "a/b"})
		}, "idp: okta: authorization_server: not a URL path segment of letters, digits and -._~"},
		{"entra not guid", func() (idp.Profile, error) { return idp.Entra("contoso.com", idp.EntraOptions{}) }, `idp: entra: tenant_id: "contoso.com" is not a tenant GUID (or organizations, common)`},
		{"entra bad listed", func() (idp.Profile, error) {
			return idp.Entra("11111111-2222-3333-4444-555555555555", idp.EntraOptions{Tenants: []string{"x"}})
		}, `idp: entra: tenants: "x" is not a tenant GUID (or organizations, common)`},
		{"entra repeated", func() (idp.Profile, error) {
			return idp.Entra("11111111-2222-3333-4444-555555555555", idp.EntraOptions{Tenants: []string{"11111111-2222-3333-4444-555555555555"}})
		}, `idp: entra: tenants: "11111111-2222-3333-4444-555555555555" repeated`},
		{"entra list with any", func() (idp.Profile, error) {
			return idp.Entra("common", idp.EntraOptions{Tenants: []string{"11111111-2222-3333-4444-555555555555"}})
		}, `idp: entra: tenants: an allowlist makes no sense with tenant "common"`},
		{"entra authority path", func() (idp.Profile, error) {
			return idp.Entra("common", idp.EntraOptions{Authority: "https://login.example.com/tenant"})
		}, "idp: entra: authority: must be a scheme and host only"},
		{"entra authority http", func() (idp.Profile, error) {
			return idp.Entra("common", idp.EntraOptions{Authority: "http://login.example.com"})
		}, "idp: entra: authority: must be https (http only for a loopback host)"},
		{"keycloak no realm", func() (idp.Profile, error) { return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso"}) },
			"idp: keycloak: realm: required: the realm's name, as in BASE/realms/NAME"},
		{"keycloak no base", func() (idp.Profile, error) { return idp.Keycloak(idp.KeycloakOptions{Realm: "bank"}) }, "idp: keycloak: base_url: required"},
		{"keycloak base with realm", func() (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso.example.com/auth/realms/bank/", Realm: "bank"})
		}, `idp: keycloak: base_url: "https://sso.example.com/auth/realms/bank/" names a realm: give the server URL "https://sso.example.com/auth" and the realm "bank" separately`},
		{"keycloak realm as URL", func() (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso.example.com", Realm: "https://sso.example.com/realms/bank"})
		}, `idp: keycloak: realm: "https://sso.example.com/realms/bank" is a URL: give the server URL as base_url and the realm's name alone`},
		{"keycloak realm path", func() (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso", Realm: "a/b"})
		},
			"idp: keycloak: realm: not a URL path segment of letters, digits and -._~"},
		{"keycloak swapped", func() (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "bank", Realm: "https://sso"})
		},
			"idp: keycloak: base_url: not an absolute URL"},
		{"keycloak query", func() (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso/?a", Realm: "r"})
		}, "idp: keycloak: base_url: must not have a query or fragment"},
		{"keycloak relative", func() (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "sso.example.com", Realm: "r"})
		}, "idp: keycloak: base_url: not an absolute URL"},
		{"keycloak repeated level", func() (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso", Realm: "r", Levels: []string{"silver", "silver"}})
		}, `idp: keycloak: levels: claims: invalid requirement: ACRLevels[1]: repeated`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.make()
			var ie *idp.Error
			if !errors.As(err, &ie) {
				t.Fatalf("error %T %v, want *idp.Error", err, err)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\ngot  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestLevelsNotShared: each profile holds its own ACRLevels, so a caller
// that edits one profile's levels (or the slice it passed in) changes no
// other profile.
func TestLevelsNotShared(t *testing.T) {
	for _, tt := range []struct {
		name string
		make func(levels []string) (idp.Profile, error)
		want []string
	}{
		{"okta", func([]string) (idp.Profile, error) { return idp.Okta("x.okta.com", idp.OktaOptions{}) },
			[]string{idp.OktaLoA1FAAny, idp.OktaLoA2FAAny, idp.OktaPhishingResistant, idp.OktaPhishingResistantHardware}},
		{"keycloak default", func([]string) (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso", Realm: "r"})
		}, []string{"0", "1", "2"}},
		{"keycloak named", func(levels []string) (idp.Profile, error) {
			return idp.Keycloak(idp.KeycloakOptions{BaseURL: "https://sso", Realm: "r", Levels: levels})
		}, []string{"silver", "gold"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := []string{"silver", "gold"}
			first, err := tt.make(in)
			if err != nil {
				t.Fatal(err)
			}
			first.ACRLevels[0] = "mutated"
			in[1] = "mutated"
			second, err := tt.make([]string{"silver", "gold"})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(second.ACRLevels, tt.want) {
				t.Errorf("ACRLevels after editing another profile's: got %v, want %v", second.ACRLevels, tt.want)
			}
			if tt.name == "keycloak named" {
				if got := first.ACRLevels[1]; got != "gold" {
					t.Errorf("ACRLevels follows the caller's slice: got %q, want gold", got)
				}
			}
		})
	}
}

func TestAuthContextArguments(t *testing.T) {
	entra, err := idp.Entra("common", idp.EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	okta, err := idp.Okta("x.okta.com", idp.OktaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    idp.Profile
		ids  []string
		want string
	}{
		{"not entra", okta, []string{"c1"}, "idp: okta: auth_context: authentication contexts are an Entra ID feature"},
		{"none", entra, nil, "idp: entra: auth_context: no authentication context"},
		{"c0", entra, []string{"c0"}, `idp: entra: auth_context: "c0" is not c1..c99`},
		{"c100", entra, []string{"c100"}, `idp: entra: auth_context: "c100" is not c1..c99`},
		{"c01", entra, []string{"c01"}, `idp: entra: auth_context: "c01" is not c1..c99`},
		{"repeated", entra, []string{"c1", "c1"}, `idp: entra: auth_context: "c1" repeated`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.AuthContext(tt.ids...)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error got %v, want %s", err, tt.want)
			}
		})
	}
	for id, want := range map[string]bool{"c1": true, "c9": true, "c10": true, "c99": true, "c": false, "C1": false, "c-1": false, "c1a": false, "x1": false} {
		_, err := entra.AuthContext(id)
		if got := err == nil; got != want {
			t.Errorf("AuthContext(%q) error %v, want valid %v", id, err, want)
		}
	}
}

func TestAuthContextMalformedACRS(t *testing.T) {
	entra, err := idp.Entra("common", idp.EntraOptions{})
	if err != nil {
		t.Fatal(err)
	}
	req, err := entra.AuthContext("c1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload string
		code    claims.Code
	}{
		{"met", `{"acrs":["c1"],"xms_cc":["cp1"]}`, ""},
		{"acrs a string", `{"acrs":"c1","xms_cc":["cp1"]}`, claims.CodeInsufficientClaims},
		{"xms_cc a string", `{"xms_cc":"cp1"}`, claims.CodeInsufficientClaims},
		{"xms_cc a number", `{"xms_cc":1}`, claims.CodeInsufficientUserAuthentication},
		{"xms_cc null", `{"xms_cc":null}`, claims.CodeInsufficientUserAuthentication},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := claims.Parse([]byte(tt.payload), claims.Names{})
			if err != nil {
				t.Fatal(err)
			}
			e := req.Check(c)
			var got claims.Code
			if e != nil {
				got = e.Code
				if !errors.Is(e, idp.ErrAuthContext) {
					t.Errorf("cause %v does not wrap ErrAuthContext", e.Err)
				}
			}
			if got != tt.code {
				t.Errorf("code got %q, want %q", got, tt.code)
			}
		})
	}
}

func TestClaimsRequest(t *testing.T) {
	tests := []struct {
		name string
		e    *claims.Error
		want string
		ok   bool
	}{
		{"nil", nil, "", false},
		{"other code", &claims.Error{Code: claims.CodeInvalidToken}, "", false},
		{"no claims", &claims.Error{Code: claims.CodeInsufficientClaims}, "", false},
		{"not base64", &claims.Error{Code: claims.CodeInsufficientClaims, Extra: []claims.Param{{Name: "claims", Value: "!!"}}}, "", false},
		{"not json", &claims.Error{Code: claims.CodeInsufficientClaims, Extra: []claims.Param{{Name: "claims", Value: "YWJj"}}}, "", false},
		{"microsoft's example", &claims.Error{Code: claims.CodeInsufficientClaims, Extra: []claims.Param{
			{Name: "Claims", Value: "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ=="}}},
			`{"access_token":{"acrs":{"essential":true,"value":"cp1"}}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := idp.ClaimsRequest(tt.e)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %q %v, want %q %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
