package verify

import (
	"context"
	"errors"
	"testing"

	"github.com/stepupauth/stepup/jwks"
)

// anyIssuerSource serves the test keys for every issuer, as a
// jwks.NewRemote source does.
type anyIssuerSource struct{ *mapSource }

func (s anyIssuerSource) Key(ctx context.Context, _, kid string) (*jwks.Key, error) {
	return s.mapSource.Key(ctx, testIssuer, kid)
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
	v := newTestVerifier(t, src, func(c *Config) {
		c.IssuerTemplates = []string{"https://login.example.com/{tid}/v2.0"}
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
			if !errors.Is(err, ErrClaims) {
				t.Errorf("error %v does not wrap ErrClaims", err)
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
			if !errors.Is(err, ErrClaims) {
				t.Errorf("error %v does not wrap ErrClaims", err)
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
	if _, err := New(newTestSource(), Config{Audience: testAudience, IssuerTemplates: []string{"https://a.example/{tid}/v2.0"}}); err != nil {
		t.Errorf("template alone: %v, want valid config", err)
	}
}
