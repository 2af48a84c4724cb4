package claims_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

const fullPayload = `{
	"iss": "https://idp.example.com/",
	"sub": "user-1",
	"aud": ["https://api.example.com", "other"],
	"exp": 1700000300,
	"nbf": 1699999990,
	"iat": 1700000000.25,
	"jti": "id-1",
	"client_id": "client-1",
	"scope": "read write",
	"auth_time": 1699999900,
	"acr": "urn:example:loa:2",
	"amr": ["pwd", "otp"],
	"acrs": ["c1", "c2"],
	"cnf": {"jkt": "abc"},
	"custom": {"x": 1}
}`

func TestParseFull(t *testing.T) {
	c, err := claims.Parse([]byte(fullPayload), claims.Names{})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := &claims.Claims{
		Issuer:       "https://idp.example.com/",
		Subject:      "user-1",
		Audience:     []string{"https://api.example.com", "other"},
		Expiry:       time.Unix(1700000300, 0).UTC(),
		NotBefore:    time.Unix(1699999990, 0).UTC(),
		IssuedAt:     time.Unix(1700000000, 250_000_000).UTC(),
		ID:           "id-1",
		ClientID:     "client-1",
		Scopes:       []string{"read", "write"},
		AuthTime:     time.Unix(1699999900, 0).UTC(),
		ACR:          "urn:example:loa:2",
		AMR:          []string{"pwd", "otp"},
		ACRS:         []string{"c1", "c2"},
		Confirmation: json.RawMessage(`{"jkt": "abc"}`),
	}
	if got := claims.Typed(c); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\ngot  %+v\nwant %+v", got, want)
	}
	var names []string
	for k := range c.All() {
		names = append(names, k)
	}
	slices.Sort(names)
	wantNames := []string{"acr", "acrs", "amr", "aud", "auth_time", "client_id", "cnf", "custom", "exp", "iat", "iss", "jti", "nbf", "scope", "sub"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("Raw names: got %v, want %v", names, wantNames)
	}
	if got, _ := c.Claim("custom"); string(got) != `{"x": 1}` {
		t.Errorf("Claim(custom): got %s, want %s", got, `{"x": 1}`)
	}
	if got, ok := c.Claim("absent"); ok || got != nil {
		t.Errorf("Claim(absent): got %s, %v; want nil, false", got, ok)
	}
}

func TestParseRegistered(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		check   func(*claims.Claims) (got, want any)
	}{
		{"aud string", `{"aud":"https://api.example.com"}`, func(c *claims.Claims) (any, any) {
			return c.Audience, []string{"https://api.example.com"}
		}},
		{"aud array", `{"aud":["a","b"]}`, func(c *claims.Claims) (any, any) { return c.Audience, []string{"a", "b"} }},
		{"aud empty array", `{"aud":[]}`, func(c *claims.Claims) (any, any) { return c.Audience, []string{} }},
		{"exp integer", `{"exp":1700000000}`, func(c *claims.Claims) (any, any) { return c.Expiry, time.Unix(1700000000, 0).UTC() }},
		{"exp fraction", `{"exp":1700000000.123456789}`, func(c *claims.Claims) (any, any) {
			return c.Expiry, time.Unix(1700000000, 123456789).UTC()
		}},
		{"exp fraction below ns truncated", `{"exp":1700000000.1234567899}`, func(c *claims.Claims) (any, any) {
			return c.Expiry, time.Unix(1700000000, 123456789).UTC()
		}},
		{"exp exponent", `{"exp":1.7e9}`, func(c *claims.Claims) (any, any) { return c.Expiry, time.Unix(1700000000, 0).UTC() }},
		{"nbf negative fraction", `{"nbf":-1.5}`, func(c *claims.Claims) (any, any) {
			return c.NotBefore, time.Unix(-2, 500_000_000).UTC()
		}},
		{"iat zero", `{"iat":0}`, func(c *claims.Claims) (any, any) { return c.IssuedAt, time.Unix(0, 0).UTC() }},
		{"escaped string", `{"sub":"a\u00e9\"b"}`, func(c *claims.Claims) (any, any) { return c.Subject, "aé\"b" }},
		{"absent claims zero", `{}`, func(c *claims.Claims) (any, any) {
			return [3]any{c.Issuer, c.Expiry, c.Audience}, [3]any{"", time.Time{}, []string(nil)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := claims.Parse([]byte(tt.payload), claims.Names{})
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.payload, err)
			}
			got, want := tt.check(c)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%s): got %v, want %v", tt.payload, got, want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, payload, claim string
	}{
		{"empty", ``, ""},
		{"array", `[]`, ""},
		{"string", `"x"`, ""},
		{"null", `null`, ""},
		{"truncated", `{"sub":"a"`, ""},
		{"two objects", `{} {}`, ""},
		{"trailing garbage", `{"sub":"a"} x`, ""},
		{"duplicate member", `{"sub":"a","sub":"b"}`, "sub"},
		{"duplicate after unescaping", `{"sub":"a","s\u0075b":"b"}`, "sub"},
		{"duplicate custom member", `{"x":1,"y":2,"x":1}`, "x"},
		{"iss number", `{"iss":1}`, "iss"},
		{"sub null", `{"sub":null}`, "sub"},
		{"jti array", `{"jti":["a"]}`, "jti"},
		{"client_id bool", `{"client_id":true}`, "client_id"},
		{"exp string", `{"exp":"1700000000"}`, "exp"},
		{"nbf null", `{"nbf":null}`, "nbf"},
		{"iat huge", `{"iat":1e300}`, "iat"},
		{"exp beyond int64", `{"exp":99999999999999999999}`, "exp"},
		{"exp year 10000", `{"exp":253402300800}`, "exp"},
		{"aud number", `{"aud":1}`, "aud"},
		{"aud array with number", `{"aud":["a",1]}`, "aud"},
		{"aud array with null", `{"aud":["a",null]}`, "aud"},
		{"aud null", `{"aud":null}`, "aud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := claims.Parse([]byte(tt.payload), claims.Names{})
			if err == nil {
				t.Fatalf("Parse(%s): got %+v, want error", tt.payload, c)
			}
			var pe *claims.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%s): error %T %v, want *claims.ParseError", tt.payload, err, err)
			}
			if pe.Claim != tt.claim {
				t.Errorf("Parse(%s): ParseError.Claim %q, want %q (%v)", tt.payload, pe.Claim, tt.claim, err)
			}
		})
	}
}

func TestParseMalformedOptional(t *testing.T) {
	tests := []struct {
		name, payload string
		malformed     []string
	}{
		{"acr number", `{"acr":2}`, []string{"acr"}},
		{"acr null", `{"acr":null}`, []string{"acr"}},
		{"amr string", `{"amr":"pwd"}`, []string{"amr"}},
		{"amr with number", `{"amr":["pwd",1]}`, []string{"amr"}},
		{"amr with null", `{"amr":["pwd",null]}`, []string{"amr"}},
		{"amr object", `{"amr":{"pwd":true}}`, []string{"amr"}},
		{"auth_time string", `{"auth_time":"1700000000"}`, []string{"auth_time"}},
		{"auth_time out of range", `{"auth_time":1e20}`, []string{"auth_time"}},
		{"acrs string", `{"acrs":"c1"}`, []string{"acrs"}},
		{"scope array", `{"scope":["read"]}`, []string{"scope"}},
		{"scp number", `{"scp":1}`, []string{"scp"}},
		{"cnf string", `{"cnf":"x"}`, []string{"cnf"}},
		{"several", `{"acr":1,"amr":"x","auth_time":true}`, []string{"acr", "amr", "auth_time"}},
		{"well-formed", `{"acr":"a","amr":[],"auth_time":1,"acrs":[],"scope":"","cnf":{}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := claims.Parse([]byte(tt.payload), claims.Names{})
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.payload, err)
			}
			if !slices.Equal(c.Malformed, tt.malformed) {
				t.Errorf("Parse(%s).Malformed: got %q, want %q", tt.payload, c.Malformed, tt.malformed)
			}
			if c.ACR != "" && slices.Contains(tt.malformed, "acr") || c.AMR != nil && slices.Contains(tt.malformed, "amr") ||
				!c.AuthTime.IsZero() && slices.Contains(tt.malformed, "auth_time") {
				t.Errorf("Parse(%s): malformed claim has a typed value: %+v", tt.payload, c)
			}
		})
	}
}

func TestParseNames(t *testing.T) {
	// Auth0 puts acr/amr in access tokens only as namespaced custom claims.
	payload := `{
		"acr": "standard-acr",
		"amr": ["pwd"],
		"https://example.com/acr": "` + claims.ACRMultiFactor + `",
		"https://example.com/amr": ["pwd", "otp"],
		"https://example.com/auth_time": 1700000000
	}`
	names := claims.Names{ACR: "https://example.com/acr", AMR: "https://example.com/amr", AuthTime: "https://example.com/auth_time"}
	c, err := claims.Parse([]byte(payload), names)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.ACR != claims.ACRMultiFactor {
		t.Errorf("ACR: got %q, want %q", c.ACR, claims.ACRMultiFactor)
	}
	if want := []string{"pwd", "otp"}; !slices.Equal(c.AMR, want) {
		t.Errorf("AMR: got %q, want %q", c.AMR, want)
	}
	if want := time.Unix(1700000000, 0).UTC(); !c.AuthTime.Equal(want) {
		t.Errorf("AuthTime: got %v, want %v", c.AuthTime, want)
	}
	if got, _ := c.Claim("acr"); string(got) != `"standard-acr"` {
		t.Errorf("Claim(acr): got %s, want the standard claim", got)
	}

	// A malformed remapped claim is reported under its canonical name.
	c, err = claims.Parse([]byte(`{"https://example.com/amr":"pwd"}`), names)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if want := []string{"amr"}; !slices.Equal(c.Malformed, want) {
		t.Errorf("Malformed: got %q, want %q", c.Malformed, want)
	}
}

func TestParseScopes(t *testing.T) {
	tests := []struct {
		name, payload string
		want          []string
	}{
		{"scope string", `{"scope":"read  write"}`, []string{"read", "write"}},
		{"scp array", `{"scp":["read","write"]}`, []string{"read", "write"}},
		{"scp string", `{"scp":"read write"}`, []string{"read", "write"}},
		{"scope wins over scp", `{"scope":"read","scp":["admin"]}`, []string{"read"}},
		{"malformed scope does not fall back to scp", `{"scope":1,"scp":["admin"]}`, nil},
		{"empty scope", `{"scope":""}`, []string{}},
		{"none", `{}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := claims.Parse([]byte(tt.payload), claims.Names{})
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.payload, err)
			}
			if !slices.Equal(c.Scopes, tt.want) {
				t.Errorf("Parse(%s).Scopes: got %q, want %q", tt.payload, c.Scopes, tt.want)
			}
		})
	}
}

func TestParseErrorString(t *testing.T) {
	_, err := claims.Parse([]byte(`{"sub":"a","sub":"b"}`), claims.Names{})
	if got, want := err.Error(), `claims: parse: "sub": duplicate member`; got != want {
		t.Errorf("Error(): got %q, want %q", got, want)
	}
	_, err = claims.Parse([]byte(`[]`), claims.Names{})
	if got, want := err.Error(), `claims: parse: not a json object`; got != want {
		t.Errorf("Error(): got %q, want %q", got, want)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		fullPayload, `{}`, `[]`, `{"a":1,"a":2}`, `{"exp":1.5e9}`, `{"exp":-0.5}`,
		`{"aud":["a",1]}`, `{"amr":"x"}`, `{"scp":"a b"}`, `{"x":{"y":[1,2,{"z":null}]}}`,
		`{"exp":1700000000.0000000001}`, `{"auth_time":-62135596801}`, "{\"sub\":\"\xff\"}",
		`{"amr":["a\"b","\u00e9", "x" ] , "k" : [ {"a":"]"} , "}" ] }`, `{"a":"\\","b":1}`, `{"amr":[]}`, ` {"a" : {"b":"}"}} `,
	} {
		f.Add([]byte(s))
	}
	known := []string{"acr", "amr", "auth_time", "acrs", "scope", "scp", "cnf"}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := claims.Parse(payload, claims.Names{})
		if err != nil {
			var pe *claims.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T, want *claims.ParseError", err)
			}
			return
		}
		raw := claims.RawOf(c)
		if raw == nil {
			t.Fatal("All, Claim and Len disagree")
		}
		for _, m := range c.Malformed {
			if !slices.Contains(known, m) {
				t.Fatalf("Malformed holds %q", m)
			}
		}
		if !json.Valid(payload) {
			t.Fatalf("accepted invalid json %q", payload)
		}
		// Differential check against encoding/json.
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(payload, &ref); err != nil {
			t.Fatalf("Parse accepted what json.Unmarshal refuses: %v", err)
		}
		if len(ref) != len(raw) {
			t.Fatalf("%d claims, json.Unmarshal %d", len(raw), len(ref))
		}
		for k, v := range ref {
			if string(raw[k]) != string(v) {
				t.Fatalf("claim %q = %s, json.Unmarshal %s", k, raw[k], v)
			}
		}
		if s, err := json.Marshal(c.AMR); err == nil && c.AMR != nil {
			var want []string
			if json.Unmarshal(raw["amr"], &want) != nil || string(s) != mustMarshal(want) {
				t.Fatalf("AMR %s, raw %s", s, raw["amr"])
			}
		}
	})
}

func mustMarshal(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func BenchmarkParse(b *testing.B) {
	payload := []byte(fullPayload)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := claims.Parse(payload, claims.Names{}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParseKeepsOneCopy: the bytes Parse allocates for a payload made of a
// few large claims stay near one copy of it (a second copy, say a string
// beside the bytes Raw points into, would double them).
func TestParseKeepsOneCopy(t *testing.T) {
	big := strings.Repeat("abcdefgh", 16<<10) // 128 KiB per claim
	payload := []byte(`{"iss":"https://issuer.example.com","sub":"` + big + `","x":"` + big + `","scope":"` + big + `"}`)
	if _, err := claims.Parse(payload, claims.Names{}); err != nil {
		t.Fatal(err)
	}
	const runs = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := claims.Parse(payload, claims.Names{}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perParse := (after.TotalAlloc - before.TotalAlloc) / runs
	if limit := uint64(len(payload)) * 5 / 4; perParse > limit {
		t.Errorf("got %d bytes allocated per Parse of a %d-byte payload, want at most %d (one copy)", perParse, len(payload), limit)
	}
}

// TestClaimLookup: Claim compares names after unescaping, All yields the
// decoded names in the token's order, and a Claims built by hand has none.
func TestClaimLookup(t *testing.T) {
	c, err := claims.Parse([]byte(`{"a\u0062":1, "":"e", "x\\y":[true], "roles":["admin"]}`), claims.Names{})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"ab": "1", "": `"e"`, `x\y`: "[true]", "roles": `["admin"]`} {
		if got, ok := c.Claim(name); !ok || string(got) != want {
			t.Errorf("Claim(%q) = %s, %v; want %s", name, got, ok, want)
		}
	}
	for _, name := range []string{`a\u0062`, "a", "abc", "Roles", "x"} {
		if got, ok := c.Claim(name); ok {
			t.Errorf("Claim(%q) = %s, want absent", name, got)
		}
	}
	var order []string
	for name := range c.All() {
		order = append(order, name)
		if name == "" {
			break // All stops when the loop does
		}
	}
	if want := []string{"ab", ""}; !slices.Equal(order, want) {
		t.Errorf("All order: got %q, want %q", order, want)
	}
	if c.Len() != 4 {
		t.Errorf("Len = %d, want 4", c.Len())
	}
	var empty claims.Claims
	if _, ok := empty.Claim("sub"); ok || empty.Len() != 0 {
		t.Error("a Claims not built by Parse has claims")
	}
	for range empty.All() {
		t.Error("All yields for a Claims not built by Parse")
	}
	// Duplicates are refused after unescaping, below and above the pairwise limit.
	for _, n := range []int{2, 24, 25, 300} {
		var b strings.Builder
		b.WriteString(`{"dup":0`)
		for i := range n - 2 {
			fmt.Fprintf(&b, `,"m%d":%d`, i, i)
		}
		b.WriteString(`,"d\u0075p":1}`)
		var pe *claims.ParseError
		if _, err := claims.Parse([]byte(b.String()), claims.Names{}); !errors.As(err, &pe) || pe.Msg != "duplicate member" || pe.Claim != "dup" {
			t.Errorf("%d members with a duplicate: got %v, want duplicate member dup", n, err)
		}
	}
}
