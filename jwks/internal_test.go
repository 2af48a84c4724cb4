package jwks

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestMaxAge(t *testing.T) {
	tests := []struct {
		cc, age string
		want    time.Duration
		ok      bool
	}{
		{"max-age=300", "", 300 * time.Second, true},
		{"public, max-age=300, must-revalidate", "", 300 * time.Second, true},
		{"Max-Age=\"60\"", "", time.Minute, true},
		{"max-age=300", "100", 200 * time.Second, true},
		{"max-age=300", "400", 0, true},
		{"max-age=300", "junk", 300 * time.Second, true},
		{"no-store", "", 0, true},
		{"max-age=300, no-cache", "", 0, true},
		{"max-age=-5", "", 0, false},
		{"max-age=abc", "", 0, false},
		{"public", "", 0, false},
		{"", "", 0, false},
		{"max-age=99999999999999", "", 365 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.cc != "" {
			h.Set("Cache-Control", tt.cc)
		}
		if tt.age != "" {
			h.Set("Age", tt.age)
		}
		got, ok := maxAge(h)
		if got != tt.want || ok != tt.ok {
			t.Errorf("maxAge(%q, Age %q): got (%v, %v), want (%v, %v)", tt.cc, tt.age, got, ok, tt.want, tt.ok)
		}
	}
}

// TestOptionZeroIsDefault: a zero value given to an option means its
// default, and the defaults are the values the option docs state.
func TestOptionZeroIsDefault(t *testing.T) {
	def, err := applyOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	zero, err := applyOptions([]Option{WithTimeout(0), WithRefreshBounds(0, 0), WithCooldown(0),
		WithStaleness(0), WithNegativeCacheSize(0)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []options{def, zero} {
		got := []any{o.timeout, o.minRefresh, o.maxRefresh, o.cooldown, o.staleness, o.negativeLen}
		want := []any{10 * time.Second, 5 * time.Minute, time.Hour, 30 * time.Second, 24 * time.Hour, 1024}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	// One zero bound keeps its default beside a set one.
	o, err := applyOptions([]Option{WithRefreshBounds(0, 2*time.Hour)})
	if err != nil || o.minRefresh != 5*time.Minute || o.maxRefresh != 2*time.Hour {
		t.Errorf("WithRefreshBounds(0, 2h): got [%v, %v] %v, want [5m, 2h]", o.minRefresh, o.maxRefresh, err)
	}
}

func TestInterval(t *testing.T) {
	o, err := applyOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	o.minRefresh, o.maxRefresh = time.Minute, 10*time.Minute
	r := &Remote{o: o}
	tests := []struct {
		lifetime, want time.Duration
	}{
		{-1, 10 * time.Minute},
		{0, time.Minute},
		{5 * time.Minute, 5 * time.Minute},
		{time.Hour, 10 * time.Minute},
	}
	for _, tt := range tests {
		for range 200 {
			got := r.interval(tt.lifetime)
			if got > tt.want || got < tt.want-tt.want/10 {
				t.Fatalf("interval(%v): got %v, want within [%v, %v]", tt.lifetime, got, tt.want-tt.want/10, tt.want)
			}
		}
	}
}

func TestWellKnownURLs(t *testing.T) {
	tests := []struct {
		issuer, oidc, oauth string
	}{
		{"https://a.example", "https://a.example/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server"},
		{"https://a.example/", "https://a.example/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server"},
		{"https://a.example/t/1", "https://a.example/t/1/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server/t/1"},
		{"https://a.example/t/1/", "https://a.example/t/1/.well-known/openid-configuration", "https://a.example/.well-known/oauth-authorization-server/t/1"},
		{"https://a.example:8443/realms/x%2Fy", "https://a.example:8443/realms/x%2Fy/.well-known/openid-configuration", "https://a.example:8443/.well-known/oauth-authorization-server/realms/x%2Fy"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.issuer)
		if err != nil {
			t.Fatal(err)
		}
		if got := oidcURL(tt.issuer); got != tt.oidc {
			t.Errorf("oidcURL(%q): got %q, want %q", tt.issuer, got, tt.oidc)
		}
		if got := oauthURL(u); got != tt.oauth {
			t.Errorf("oauthURL(%q): got %q, want %q", tt.issuer, got, tt.oauth)
		}
	}
}

func TestNegCache(t *testing.T) {
	c := newNegCache(2)
	c.add("a", 1)
	c.add("b", 1)
	if !c.contains("a", 1) { // a becomes most recent
		t.Fatal("contains(a): got false")
	}
	c.add("c", 1) // evicts b
	if c.contains("b", 1) {
		t.Error("contains(b) after eviction: got true")
	}
	if !c.contains("c", 1) || !c.contains("a", 1) {
		t.Error("contains(a/c): got false")
	}
	if c.contains("a", 2) {
		t.Error("contains(a) in a newer generation: got true")
	}
	if got := c.len(); got != 1 {
		t.Errorf("len after stale drop: got %d, want 1", got)
	}
}
