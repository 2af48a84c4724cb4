package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
)

// anyIssuerSource serves the test keys for every issuer from one set, as a
// jwks.NewRemote source does: it is no jwks.IssuerSource.
type anyIssuerSource struct{ m *mapSource }

func (s anyIssuerSource) Key(ctx context.Context, _, kid string) (*jwks.Key, error) {
	return s.m.Key(ctx, testIssuer, kid)
}

func TestIssuerTemplates(t *testing.T) {
	const tmpl = "https://login.example.com/{tid}/v2.0"
	src := anyIssuerSource{newTestSource()}
	v := newTestVerifier(t, src, func(c *Config) {
		c.Issuer = ""
		c.IssuerTemplates = []string{tmpl}
	})
	tests := []struct {
		name string
		iss  any
		tid  any
		ok   bool
	}{
		{"tenant a", "https://login.example.com/a-1/v2.0", "a-1", true},
		{"tenant b", "https://login.example.com/b-2/v2.0", "b-2", true},
		{"tid of another tenant", "https://login.example.com/a-1/v2.0", "b-2", false},
		{"no tid", "https://login.example.com/a-1/v2.0", nil, false},
		{"tid not a string", "https://login.example.com/1/v2.0", 1, false},
		{"empty tenant", "https://login.example.com//v2.0", "", false},
		{"tenant with a slash", "https://login.example.com/a/b/v2.0", "a/b", false},
		{"other suffix", "https://login.example.com/a-1/v2.0/", "a-1", false},
		{"other host", "https://login.example.org/a-1/v2.0", "a-1", false},
		{"prefix only", "https://login.example.com/", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := mint("RS256", func(c map[string]any) {
				c["iss"] = tt.iss
				if tt.tid == nil {
					delete(c, "tid")
				} else {
					c["tid"] = tt.tid
				}
			})
			_, err := v.Verify(context.Background(), raw)
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify: %v, want valid", err)
				}
				return
			}
			if got := rejectionOf(t, err); got != ReasonIssuer {
				t.Errorf("reason got %q, want %q", got, ReasonIssuer)
			}
		})
	}
}

func TestIssuerTemplatesBeforeKeyLookup(t *testing.T) {
	src := newTestSource()
	v := newTestVerifier(t, anyIssuerSource{src}, func(c *Config) {
		c.IssuerTemplates = []string{"https://login.example.com/{tid}/v2.0"}
		// One test key set serves both here; the binding rule itself is
		// TestNewIssuerBinding's.
		c.InsecureSharedKeys = true
	})
	raw := mint("RS256", func(c map[string]any) { c["iss"] = "https://login.example.com/a/v2.0"; c["tid"] = "b" })
	if got := rejectionOf(t, verifyErr(v, raw)); got != ReasonIssuer {
		t.Errorf("reason got %q, want %q", got, ReasonIssuer)
	}
	if n := src.lookups(); n != 0 {
		t.Errorf("key lookups got %d, want 0 for a refused issuer", n)
	}
	// The exact issuer still works beside the template.
	if _, err := v.Verify(context.Background(), mint("RS256", nil)); err != nil {
		t.Errorf("exact issuer: %v", err)
	}
}

func TestRequiredValues(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), func(c *Config) {
		c.RequiredValues = map[string]string{"typ": "Bearer", "ver": "2.0"}
	})
	tests := []struct {
		name string
		mod  func(map[string]any)
		ok   bool
	}{
		{"both", func(c map[string]any) { c["typ"] = "Bearer"; c["ver"] = "2.0" }, true},
		{"id token", func(c map[string]any) { c["typ"] = "ID"; c["ver"] = "2.0" }, false},
		{"case differs", func(c map[string]any) { c["typ"] = "bearer"; c["ver"] = "2.0" }, false},
		{"number", func(c map[string]any) { c["typ"] = "Bearer"; c["ver"] = 2.0 }, false},
		{"missing", func(c map[string]any) { c["typ"] = "Bearer" }, false},
		{"null", func(c map[string]any) { c["typ"] = "Bearer"; c["ver"] = nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyErr(v, mint("RS256", tt.mod))
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify: %v, want valid", err)
				}
				return
			}
			if got := rejectionOf(t, err); got != ReasonClaims {
				t.Errorf("reason got %q, want %q", got, ReasonClaims)
			}
		})
	}
}

func TestExcludedValues(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), func(c *Config) {
		c.ExcludedValues = map[string][]string{"tid": {"consumer", "other"}, "ver": {"1.0"}}
	})
	tests := []struct {
		name string
		mod  func(map[string]any)
		ok   bool
	}{
		{"none present", func(c map[string]any) {}, true},
		{"allowed value", func(c map[string]any) { c["tid"] = "business"; c["ver"] = "2.0" }, true},
		{"first excluded", func(c map[string]any) { c["tid"] = "consumer" }, false},
		{"second excluded", func(c map[string]any) { c["tid"] = "other" }, false},
		{"other claim excluded", func(c map[string]any) { c["tid"] = "business"; c["ver"] = "1.0" }, false},
		{"longer value", func(c map[string]any) { c["tid"] = "consumers" }, true},
		{"case differs", func(c map[string]any) { c["tid"] = "Consumer" }, true},
		{"not a string", func(c map[string]any) { c["tid"] = []string{"consumer"} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyErr(v, mint("RS256", tt.mod))
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify: %v, want valid", err)
				}
				return
			}
			if got := rejectionOf(t, err); got != ReasonClaims {
				t.Errorf("reason got %q, want %q", got, ReasonClaims)
			}
		})
	}
}

func TestIssuerRulesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no placeholder", Config{IssuerTemplates: []string{"https://a.example/x"}}},
		{"two placeholders", Config{IssuerTemplates: []string{"https://a.example/{a}/{b}"}}},
		{"placeholder in host", Config{IssuerTemplates: []string{"https://{tid}.example.com/"}}},
		{"placeholder right after host", Config{IssuerTemplates: []string{"https://{tid}/v2.0"}}},
		{"no scheme", Config{IssuerTemplates: []string{"login.example.com/{tid}"}}},
		{"bad claim name", Config{IssuerTemplates: []string{"https://a.example/{t-id}"}}},
		{"empty claim name", Config{IssuerTemplates: []string{"https://a.example/{}"}}},
		{"unbalanced", Config{IssuerTemplates: []string{"https://a.example/}tid{"}}},
		{"empty required value name", Config{Issuer: testIssuer, RequiredValues: map[string]string{"": "x"}}},
		{"empty excluded value name", Config{Issuer: testIssuer, ExcludedValues: map[string][]string{"": {"x"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Audience = testAudience
			if _, err := New(newTestSource(), cfg); !errors.Is(err, ErrConfig) {
				t.Errorf("New: %v, want ErrConfig", err)
			}
		})
	}
	if _, err := New(anyIssuerSource{newTestSource()}, Config{Audience: testAudience, IssuerTemplates: []string{"https://a.example/{tid}/v2.0"}}); err != nil {
		t.Errorf("template alone: %v, want valid config", err)
	}
}

// TestTemplateKeySeparation: with one key source holding issuer A's key
// and the template provider's (a keyfunc adapter over both JWKS URLs is
// such a source), whoever holds A's key could sign a token for any tenant
// the template accepts. New refuses that configuration; a Verifier per
// provider refuses the forged token.
func TestTemplateKeySeparation(t *testing.T) {
	const tmpl = "https://login.microsoftonline.com/{tid}/v2.0"
	m := testKeys()
	provider, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyA := &jwks.Key{ID: "a", Algorithm: "ES256", KeyType: "EC", Public: &m.p256.PublicKey}
	keyP := &jwks.Key{ID: "p", Algorithm: "ES256", KeyType: "EC", Public: &provider.PublicKey}
	only := func(keys ...*jwks.Key) anyIssuerSource {
		set := map[string]*jwks.Key{}
		for _, k := range keys {
			set[k.ID] = k
		}
		return anyIssuerSource{&mapSource{keys: map[string]map[string]*jwks.Key{testIssuer: set}}}
	}
	victim := func(c map[string]any) {
		c["iss"] = "https://login.microsoftonline.com/victim-tenant/v2.0"
		c["tid"] = "victim-tenant"
	}
	forged := sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"a"}`, mustJSON(claimSet(victim)))
	genuine := sign("ES256", provider, `{"alg":"ES256","typ":"at+jwt","kid":"p"}`, mustJSON(claimSet(victim)))

	both := Config{Issuer: testIssuer, IssuerTemplates: []string{tmpl}, Audience: testAudience, Now: fixedNow}
	if _, err := New(only(keyA, keyP), both); !errors.Is(err, ErrConfig) {
		t.Fatalf("New with a shared source: got %v, want ErrConfig", err)
	}
	// What the refusal prevents: with the loud switch, the forgery verifies.
	both.InsecureSharedKeys = true
	insecure, err := New(only(keyA, keyP), both)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := insecure.Verify(context.Background(), forged); err != nil {
		t.Fatalf("with InsecureSharedKeys the forgery should verify (that is the danger), got %v", err)
	}

	vA, err := New(only(keyA), Config{Issuer: testIssuer, Audience: testAudience, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	vP, err := New(only(keyP), Config{IssuerTemplates: []string{tmpl}, Audience: testAudience, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if got := rejectionOf(t, verifyErr(vA, forged)); got != ReasonIssuer {
		t.Errorf("A's verifier: got %q, want %q", got, ReasonIssuer)
	}
	if got := rejectionOf(t, verifyErr(vP, forged)); got != ReasonUnknownKey {
		t.Errorf("provider's verifier: got %q, want %q", got, ReasonUnknownKey)
	}
	if _, err := vP.Verify(context.Background(), genuine); err != nil {
		t.Errorf("provider's own token: %v", err)
	}
}

// An http issuer is a copy-paste mistake unless it is a local test issuer
// on a loopback IP literal, or the switch says otherwise.
func TestNewHTTPIssuer(t *testing.T) {
	src := anyIssuerSource{newTestSource()}
	tests := []struct {
		name, want string // want "" for accepted
		cfg        Config
	}{
		{"https", "", Config{Issuer: "https://idp.example.com/"}},
		{"loopback v4", "", Config{Issuer: "http://127.0.0.1:8080/"}},
		{"loopback v6", "", Config{Issuer: "http://[::1]:9000/realms/x"}},
		{"not a url", "", Config{Issuer: "issuer-1"}},
		{"http", `verify: invalid config: Issuer "http://idp.example.com/" is plain http: use the issuer's https URL, spelled exactly as the iss of its tokens (http is accepted only for a loopback IP literal such as 127.0.0.1, or with InsecureAllowHTTPIssuer)`,
			Config{Issuer: "http://idp.example.com/"}},
		{"http upper case", `verify: invalid config: Issuer "HTTP://idp.example.com/" is plain http`, Config{Issuer: "HTTP://idp.example.com/"}},
		{"localhost is a name", `verify: invalid config: Issuer "http://localhost:8080/" is plain http`, Config{Issuer: "http://localhost:8080/"}},
		{"127 prefix is a name", `verify: invalid config: Issuer "http://127.0.0.1.example.com/" is plain http`, Config{Issuer: "http://127.0.0.1.example.com/"}},
		{"in Issuers", `verify: invalid config: Issuers entry "http://b.example.com/" is plain http`,
			Config{Issuer: "https://a.example.com/", Issuers: []string{"http://b.example.com/"}, InsecureSharedKeys: true}},
		{"in IssuerTemplates", `verify: invalid config: IssuerTemplates entry "http://login.example.com/{tid}/v2.0" is plain http`,
			Config{IssuerTemplates: []string{"http://login.example.com/{tid}/v2.0"}}},
		{"switch", "", Config{Issuer: "http://idp.example.com/", InsecureAllowHTTPIssuer: true}},
		{"switch templates", "", Config{IssuerTemplates: []string{"http://login.example.com/{tid}/v2.0"}, InsecureAllowHTTPIssuer: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Audience = testAudience
			_, err := New(src, tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !errors.Is(err, ErrConfig) || !strings.HasPrefix(err.Error(), tt.want)):
				t.Fatalf("got %v, want an ErrConfig starting %q", err, tt.want)
			}
		})
	}
}

// TestNewIssuerBinding: New refuses configurations in which one issuer's
// keys could verify another issuer's tokens.
func TestNewIssuerBinding(t *testing.T) {
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"))
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	ctx := context.Background()
	discovered, err := jwks.Discover(ctx, iss.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	defer discovered.Close()
	remote, err := jwks.NewRemote(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	set, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "https://a.example/", "https://b.example/"
	multi, err := jwks.NewMulti(map[string]jwks.Source{a: set, b: set})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  jwks.Source
		cfg  Config
		ok   bool
	}{
		{"discovered for the issuer", discovered, Config{Issuer: iss.Issuer()}, true},
		{"discovered for another issuer", discovered, Config{Issuer: a}, false},
		{"discovered, second issuer not served", discovered, Config{Issuer: iss.Issuer(), Issuers: []string{a}}, false},
		{"multi serving both", multi, Config{Issuer: a, Issuers: []string{b}}, true},
		{"multi not serving one", multi, Config{Issuer: a, Issuers: []string{"https://c.example/"}}, false},
		{"static set, one issuer", set, Config{Issuer: a}, true},
		{"static set shared by two issuers", set, Config{Issuer: a, Issuers: []string{b}}, false},
		{"static set shared, insecure switch", set, Config{Issuer: a, Issuers: []string{b}, InsecureSharedKeys: true}, true},
		{"static set, same issuer twice", set, Config{Issuer: a, Issuers: []string{a}}, true},
		{"one JWKS URL for two issuers", remote, Config{Issuer: a, Issuers: []string{b}}, true},
		{"static set with an issuer template", set, Config{IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, true},
		{"static set, issuer and template", set, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, false},
		{"static set, issuer and template, insecure switch", set, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}, InsecureSharedKeys: true}, true},
		{"static set, two template prefixes", set, Config{IssuerTemplates: []string{"https://login.example/{tid}/v2.0", "https://other.example/{tid}"}}, false},
		{"static set, one prefix, two suffixes", set, Config{IssuerTemplates: []string{"https://login.example/{tid}/v2.0", "https://login.example/{tid}"}}, true},
		{"one JWKS URL, issuer and template", remote, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, true},
		{"multi with a template", multi, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, false},
		{"discovered with a template", discovered, Config{IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, false},
		{"multi with a template, insecure switch", multi, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}, InsecureSharedKeys: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Audience = testAudience
			_, err := New(tt.src, tt.cfg)
			if tt.ok && err != nil {
				t.Errorf("got %v, want no error", err)
			}
			if !tt.ok && !errors.Is(err, ErrConfig) {
				t.Errorf("got %v, want an error wrapping ErrConfig", err)
			}
		})
	}
}
