package httpmw_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/idp"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// TestEntraClaimsChallenge checks the Entra ID claims challenge through the
// guard: byte-exact for one and several authentication contexts (several:
// the first, preferred one, in Microsoft's single "value" form), with and
// without a realm, the xms_cc gate both ways, and the JSON body.
func TestEntraClaimsChallenge(t *testing.T) {
	const tenant = "11111111-2222-3333-4444-555555555555"
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	iss, err := stepuptest.NewIssuer(stepuptest.WithEntraShape(tenant), stepuptest.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	prof, err := idp.Entra(tenant, idp.EntraOptions{Authority: iss.URL()})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.NewRemote(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	cfg := prof.Config(iss.Audience())
	cfg.Now = func() time.Time { return now }
	v, err := verify.New(keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := httpmw.New(v)
	if err != nil {
		t.Fatal(err)
	}
	realm, err := httpmw.New(v, httpmw.WithRealm(tenant))
	if err != nil {
		t.Fatal(err)
	}
	// A guard configured with another realm: the Entra challenge keeps the
	// realm that matches its authorization_uri.
	other, err := httpmw.New(v, httpmw.WithRealm("api"))
	if err != nil {
		t.Fatal(err)
	}
	// A single-tenant profile: the tenant is the realm and is in
	// authorization_uri, as Microsoft requires.
	auth := `authorization_uri="` + iss.URL() + `/` + tenant + `/oauth2/authorize"`
	capable := map[string]any{"xms_cc": []string{"cp1"}}
	const notCapable = `Bearer error="insufficient_user_authentication", error_description="Stronger authentication is required, and this client does not declare the cp1 capability needed to answer a claims challenge"`
	tests := []struct {
		name   string
		g      *httpmw.Guard
		ids    []string
		tok    stepuptest.Token
		status int
		want   string
		body   string
	}{
		{"one context", plain, []string{"c1"}, stepuptest.Token{Claims: capable}, 401,
			`Bearer realm="` + tenant + `", ` + auth + `, error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`,
			`{"error":"insufficient_claims"}`},
		{"one context with padding", plain, []string{"c12"}, stepuptest.Token{Claims: capable}, 401,
			`Bearer realm="` + tenant + `", ` + auth + `, error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEyIn19fQ=="`,
			`{"error":"insufficient_claims"}`},
		{"several contexts", plain, []string{"c1", "c2"}, stepuptest.Token{Claims: capable}, 401,
			`Bearer realm="` + tenant + `", ` + auth + `, error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`,
			`{"error":"insufficient_claims"}`},
		{"three contexts", plain, []string{"c3", "c10", "c99"}, stepuptest.Token{ACRS: []string{"c4"}, Claims: capable}, 401,
			`Bearer realm="` + tenant + `", ` + auth + `, error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzMifX19"`,
			`{"error":"insufficient_claims"}`},
		{"realm option", realm, []string{"c1"}, stepuptest.Token{Claims: capable}, 401,
			`Bearer realm="` + tenant + `", ` + auth + `, error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`,
			`{"error":"insufficient_claims"}`},
		{"guard realm does not replace the Entra realm", other, []string{"c1"}, stepuptest.Token{Claims: capable}, 401,
			`Bearer realm="` + tenant + `", ` + auth + `, error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`,
			`{"error":"insufficient_claims"}`},
		{"not capable", plain, []string{"c1"}, stepuptest.Token{}, 401, notCapable,
			`{"error":"insufficient_user_authentication","error_description":"Stronger authentication is required, and this client does not declare the cp1 capability needed to answer a claims challenge"}`},
		{"met", plain, []string{"c1", "c2"}, stepuptest.Token{ACRS: []string{"c2"}}, 200, "", "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := prof.AuthContext(tt.ids...)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := iss.Mint(tt.tok)
			if err != nil {
				t.Fatal(err)
			}
			h := tt.g.Require(req, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
			r := httptest.NewRequest(http.MethodPost, "/approve", nil)
			r.Header.Set("Authorization", "Bearer "+raw)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Errorf("status got %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("WWW-Authenticate"); got != tt.want {
				t.Errorf("WWW-Authenticate\ngot  %s\nwant %s", got, tt.want)
			}
			if got := w.Body.String(); got != tt.body {
				t.Errorf("body got %s, want %s", got, tt.body)
			}
		})
	}
}
