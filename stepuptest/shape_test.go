package stepuptest_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/stepuptest"
)

func TestShapes(t *testing.T) {
	const tenant = "11111111-2222-3333-4444-555555555555"
	at := time.Unix(1_800_000_000, 0)
	tok := stepuptest.Token{
		Subject: "alice", ACR: "2", AMR: []string{"pwd", "otp"}, AuthTime: at,
		IssuedAt: at, Expiry: at.Add(time.Hour), JTI: "j1", Scopes: []string{"read", "write"},
	}
	tests := []struct {
		name    string
		opt     stepuptest.Option
		path    string
		typ     any // nil: no typ header
		claims  map[string]any
		removed []string
	}{
		{"auth0 default", stepuptest.WithAuth0Shape(stepuptest.Auth0Shape{Namespace: "https://example.com/"}), "/", "JWT",
			map[string]any{"azp": "stepuptest-client", "https://example.com/acr": "2", "https://example.com/amr": []any{"pwd", "otp"},
				"https://example.com/auth_time": float64(at.Unix()), "scope": "read write"},
			[]string{"client_id", "jti", "acr", "amr", "auth_time"}},
		{"auth0 rfc 9068", stepuptest.WithAuth0Shape(stepuptest.Auth0Shape{RFC9068: true}), "/", "at+jwt",
			map[string]any{"client_id": "stepuptest-client", "jti": "j1", "acr": "2"},
			[]string{"azp"}},
		{"okta", stepuptest.WithOktaShape("default"), "/oauth2/default", nil,
			map[string]any{"ver": float64(1), "cid": "stepuptest-client", "jti": "AT.j1", "scp": []any{"read", "write"}, "acr": "2", "auth_time": float64(at.Unix())},
			[]string{"client_id", "scope"}},
		{"entra", stepuptest.WithEntraShape(tenant), "/" + tenant + "/v2.0", "JWT",
			map[string]any{"ver": "2.0", "tid": tenant, "azp": "stepuptest-client", "azpacr": "1", "uti": "j1",
				"scp": "read write", "nbf": float64(at.Unix()), "acrs": []any{"c1"}},
			[]string{"client_id", "jti", "acr", "amr", "auth_time", "scope"}},
		{"keycloak", stepuptest.WithKeycloakShape("bank"), "/realms/bank", "JWT",
			map[string]any{"typ": "Bearer", "azp": "stepuptest-client", "jti": "j1", "acr": "2", "scope": "read write"},
			[]string{"client_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := newIssuer(t, tt.opt)
			if got, want := iss.Issuer(), iss.URL()+tt.path; got != want {
				t.Errorf("issuer got %q, want %q", got, want)
			}
			tk := tok
			tk.ACRS = []string{"c1"}
			if tt.name != "entra" {
				tk.ACRS = nil
			}
			raw, err := iss.Mint(tk)
			if err != nil {
				t.Fatal(err)
			}
			if !verifies(t, iss, raw) {
				t.Error("token does not verify with the issuer's keys")
			}
			hdr, cl := decode(t, raw)
			if hdr["typ"] != tt.typ {
				t.Errorf("typ got %v, want %v", hdr["typ"], tt.typ)
			}
			if cl["iss"] != iss.Issuer() || cl["sub"] != "alice" {
				t.Errorf("iss %v sub %v", cl["iss"], cl["sub"])
			}
			for k, want := range tt.claims {
				if got := cl[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("%s got %#v, want %#v", k, got, want)
				}
			}
			for _, k := range tt.removed {
				if v, ok := cl[k]; ok {
					t.Errorf("%s present (%v), want removed", k, v)
				}
			}
		})
	}
}

// TestShapeOverrides: Token.Claims and Token.Header still win over a shape.
func TestShapeOverrides(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithKeycloakShape("bank"))
	raw, err := iss.Mint(stepuptest.Token{Claims: map[string]any{"typ": "ID", "azp": nil}, Header: map[string]any{"typ": nil}})
	if err != nil {
		t.Fatal(err)
	}
	hdr, cl := decode(t, raw)
	if _, ok := hdr["typ"]; ok || cl["typ"] != "ID" {
		t.Errorf("header %v claims %v", hdr, cl)
	}
	if _, ok := cl["azp"]; ok {
		t.Error("azp not removed")
	}
}

// TestShapeLogin: the token endpoint mints shaped tokens too.
func TestShapeLogin(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithOktaShape("aus1"))
	tok, err := iss.Login(t.Context(), stepuptest.LoginRequest{Scopes: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	hdr, cl := decode(t, tok)
	b, _ := json.Marshal(cl["scp"])
	if _, ok := hdr["typ"]; ok || string(b) != `["a"]` || !strings.HasPrefix(cl["jti"].(string), "AT.") {
		t.Errorf("header %v claims %v", hdr, cl)
	}
}

func TestShapeErrors(t *testing.T) {
	for name, opt := range map[string]stepuptest.Option{
		"okta server with space":  stepuptest.WithOktaShape("a b"),
		"entra empty tenant":      stepuptest.WithEntraShape(""),
		"keycloak realm w/ slash": stepuptest.WithKeycloakShape("a/b"),
		"keycloak empty realm":    stepuptest.WithKeycloakShape(""),
	} {
		if iss, err := stepuptest.NewIssuer(opt); err == nil {
			iss.Close()
			t.Errorf("%s: NewIssuer succeeded, want an error", name)
		}
	}
}
