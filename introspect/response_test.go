package introspect_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
)

// introspectBody introspects token once against a server answering body,
// with cfg edited by edit.
func introspectBody(t *testing.T, body string, edit func(*introspect.Config)) (*claims.Claims, error) {
	t.Helper()
	s := newServer(t, answer(body))
	cfg := config(s, newClock())
	if edit != nil {
		edit(&cfg)
	}
	return mustNew(t, cfg).Introspect(ctx, token)
}

func TestActive(t *testing.T) {
	tests := []struct {
		body string
		want string // reason, "" for accepted
	}{
		{`{"active":true}`, ""},
		{` {"active" : true} `, ""},
		{`{"active":false}`, introspect.ReasonInactive},
		{`{"active":false,"sub":"x","exp":"junk"}`, introspect.ReasonInactive}, // nothing else of an inactive answer is read
		{`{"active":"true"}`, introspect.ReasonMalformed},
		{`{"active":1}`, introspect.ReasonMalformed},
		{`{"active":null}`, introspect.ReasonMalformed},
		{`{"active":[true]}`, introspect.ReasonMalformed},
		{`{"sub":"x"}`, introspect.ReasonMalformed},
		{`{"active":true,"active":true}`, introspect.ReasonMalformed},
		{`{"active":false,"active":true}`, introspect.ReasonMalformed},
		{`{"active":true,"\u0061ctive":false}`, introspect.ReasonMalformed}, // a duplicate in disguise
		{`{"active":true,"exp":"soon"}`, introspect.ReasonMalformed},        // a registered member of the wrong type
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			c, err := introspectBody(t, tt.body, nil)
			if tt.want == "" {
				if err != nil || c == nil {
					t.Fatalf("got %v, %v; want claims", c, err)
				}
				return
			}
			if c != nil {
				t.Errorf("got claims for %s", tt.body)
			}
			if got := reason(t, err); got != tt.want {
				t.Errorf("reason %q, want %q", got, tt.want)
			}
			noToken(t, err)
		})
	}
}

func TestIssuer(t *testing.T) {
	iss := func(c *introspect.Config) { c.Issuer = "https://as.example.net" }
	req := func(c *introspect.Config) { iss(c); c.RequireIssuer = true }
	tests := []struct {
		name string
		body string
		edit func(*introspect.Config)
		ok   bool
	}{
		{"equal", `{"active":true,"iss":"https://as.example.net"}`, iss, true},
		{"different", `{"active":true,"iss":"https://evil.example"}`, iss, false},
		{"trailing slash differs", `{"active":true,"iss":"https://as.example.net/"}`, iss, false},
		{"empty", `{"active":true,"iss":""}`, iss, false},
		{"absent", `{"active":true}`, iss, true},
		{"absent required", `{"active":true}`, req, false},
		{"not configured", `{"active":true,"iss":"https://any.example"}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := introspectBody(t, tt.body, tt.edit)
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v, want claims", err)
				}
				return
			}
			if c != nil || reason(t, err) != introspect.ReasonIssuer {
				t.Fatalf("got %v, %v; want reason issuer", c, err)
			}
		})
	}
}

func TestAudience(t *testing.T) {
	aud := func(c *introspect.Config) { c.Audience = "https://rs.example.com" }
	req := func(c *introspect.Config) { aud(c); c.RequireAudience = true }
	tests := []struct {
		name string
		body string
		edit func(*introspect.Config)
		ok   bool
	}{
		{"string", `{"active":true,"aud":"https://rs.example.com"}`, aud, true},
		{"array", `{"active":true,"aud":["other","https://rs.example.com"]}`, aud, true},
		{"string mismatch", `{"active":true,"aud":"https://other.example.com"}`, aud, false},
		{"array mismatch", `{"active":true,"aud":["a","b"]}`, aud, false},
		{"empty array", `{"active":true,"aud":[]}`, aud, false},
		{"absent", `{"active":true}`, aud, true},
		{"absent required", `{"active":true}`, req, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := introspectBody(t, tt.body, tt.edit)
			if tt.ok {
				if err != nil {
					t.Fatalf("got %v, want claims", err)
				}
				return
			}
			if c != nil || reason(t, err) != introspect.ReasonAudience {
				t.Fatalf("got %v, %v; want reason audience", c, err)
			}
		})
	}
}

func TestTimes(t *testing.T) {
	now := t0.Unix()
	at := func(name string, d int64) string {
		return `{"active":true,"` + name + `":` + strconv.FormatInt(now+d, 10) + `}`
	}
	noLeeway := func(c *introspect.Config) { c.NoLeeway = true }
	leeway := func(c *introspect.Config) { c.Leeway = 5 * time.Second }
	tests := []struct {
		name string
		body string
		edit func(*introspect.Config)
		want string // reason, "" for accepted
	}{
		{"exp ahead", at("exp", 60), nil, ""},
		{"exp past beyond leeway", at("exp", -31), nil, introspect.ReasonExpired},
		{"exp past within leeway", at("exp", -29), nil, ""},
		{"exp now without leeway", at("exp", 0), noLeeway, introspect.ReasonExpired},
		{"exp past with 5s leeway", at("exp", -6), leeway, introspect.ReasonExpired},
		{"nbf past", at("nbf", -60), nil, ""},
		{"nbf ahead beyond leeway", at("nbf", 31), nil, introspect.ReasonNotYetValid},
		{"nbf ahead within leeway", at("nbf", 29), nil, ""},
		{"nbf ahead without leeway", at("nbf", 1), noLeeway, introspect.ReasonNotYetValid},
		{"iat past", at("iat", -60), nil, ""},
		{"iat ahead beyond leeway", at("iat", 31), nil, introspect.ReasonIssuedInFuture},
		{"iat ahead without leeway", at("iat", 1), noLeeway, introspect.ReasonIssuedInFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := introspectBody(t, tt.body, tt.edit)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want claims", err)
				}
				return
			}
			if c != nil {
				t.Error("got claims")
			}
			if got := reason(t, err); got != tt.want {
				t.Errorf("reason %q, want %q", got, tt.want)
			}
		})
	}
}

// The RFC 9470 §6.2 example response, with the RFC 7662 §2.2 members
// token_type and username added.
const rfc9470Example = `{
  "active": true,
  "client_id": "s6BhdRkqt3",
  "scope": "purchase",
  "sub": "someone@example.net",
  "aud": "https://rs.example.com",
  "iss": "https://as.example.net",
  "exp": 1639528912,
  "iat": 1618354090,
  "auth_time": 1646340198,
  "acr": "myACR",
  "token_type": "Bearer",
  "username": "someone"
}`

func TestRFC9470Example(t *testing.T) {
	c, err := introspectBody(t, rfc9470Example, func(c *introspect.Config) {
		c.Issuer, c.RequireIssuer = "https://as.example.net", true
		c.Audience, c.RequireAudience = "https://rs.example.com", true
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ACR != "myACR" {
		t.Errorf("ACR %q, want myACR", c.ACR)
	}
	if want := time.Unix(1646340198, 0); !c.AuthTime.Equal(want) {
		t.Errorf("AuthTime %v, want %v", c.AuthTime, want)
	}
	if c.Subject != "someone@example.net" || c.ClientID != "s6BhdRkqt3" || c.Issuer != "https://as.example.net" {
		t.Errorf("sub %q client_id %q iss %q", c.Subject, c.ClientID, c.Issuer)
	}
	if !slices.Equal(c.Scopes, []string{"purchase"}) || !slices.Equal(c.Audience, []string{"https://rs.example.com"}) {
		t.Errorf("scopes %q aud %q", c.Scopes, c.Audience)
	}
	if !c.Expiry.Equal(time.Unix(1639528912, 0)) || !c.IssuedAt.Equal(time.Unix(1618354090, 0)) {
		t.Errorf("exp %v iat %v", c.Expiry, c.IssuedAt)
	}
	for name, want := range map[string]string{"active": "true", "token_type": `"Bearer"`, "username": `"someone"`} {
		if got, _ := c.Claim(name); string(got) != want {
			t.Errorf("Claim(%q) = %s, want %s", name, got, want)
		}
	}
	// The claims meet a step-up requirement as a JWT's would.
	req := claims.Requirement{ACR: []string{"myACR"}}
	if e := req.Evaluate(c, t0, 0); e != nil {
		t.Errorf("Evaluate: %v", e)
	}
}

func TestNames(t *testing.T) {
	c, err := introspectBody(t, `{"active":true,"https://x/acr":"gold","https://x/amr":["pwd","otp"],"acr":"bronze"}`, func(c *introspect.Config) {
		c.Names = claims.Names{ACR: "https://x/acr", AMR: "https://x/amr"}
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.ACR != "gold" || !slices.Equal(c.AMR, []string{"pwd", "otp"}) {
		t.Errorf("ACR %q AMR %q, want gold [pwd otp]", c.ACR, c.AMR)
	}
}
