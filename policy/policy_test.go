package policy_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/verify"
)

const head = "issuer: https://idp.example.com/\naudience: api\n"

// minimal is the smallest valid policy, as code would build it.
func minimal(rules ...policy.Rule) *policy.Policy {
	return &policy.Policy{Issuer: "https://idp.example.com/", Audience: "api", Rules: rules}
}

const mfa = claims.ACRMultiFactor

// fullPolicy is testdata/full.yaml built by hand.
func fullPolicy() *policy.Policy {
	levels := []string{"urn:example:loa:1", "urn:example:loa:2", "urn:example:loa:3"}
	return &policy.Policy{
		Issuer:     "https://idp.example.com/",
		Audience:   "https://api.example.com",
		JWKSURI:    "https://idp.example.com/jwks",
		Algorithms: []string{"RS256", "PS384", "ES256", "EdDSA"},
		TokenTypes: []string{"at+jwt", "application/at+jwt", "JWT"},
		Leeway:     45 * time.Second,
		ClaimNames: claims.Names{
			ACR:      "https://example.com/acr",
			AMR:      "https://example.com/amr",
			AuthTime: "https://example.com/auth_time",
		},
		ResourceMetadata: "https://api.example.com/.well-known/oauth-protected-resource",
		ACRLevels:        levels,
		Rules: []policy.Rule{
			{Index: 0, Line: 12, HTTP: "GET /public", Public: true},
			{Index: 1, Line: 14, HTTP: "GET /profile"},
			{Index: 2, Line: 15, HTTP: "POST /transfer", GRPC: "/bank.v1.Bank/Transfer",
				Requirement: claims.Requirement{ACR: []string{mfa}, MaxAge: 5 * time.Minute}},
			{Index: 3, Line: 19, HTTP: "GET /reports",
				Requirement: claims.Requirement{ACRMin: "urn:example:loa:2", ACRLevels: levels}},
			{Index: 4, Line: 21, HTTP: "GET /admin/", GRPC: "/bank.v1.Admin/*",
				Requirement: claims.Requirement{AMRAll: []string{"hwk"}, AMRACRValues: []string{"urn:example:loa:3"}, Scopes: []string{"admin"}}},
			{Index: 5, Line: 26, GRPC: "/bank.v1.Bank/Audit",
				Requirement: claims.Requirement{AMRAny: []string{"hwk", "swk"}, AMRACRValues: []string{"urn:example:loa:3"}, Binding: claims.BindingAny}},
		},
		DPoP: &policy.DPoP{PublicURL: "https://api.example.com", Algorithms: []string{"ES256", "EdDSA"}, MaxAge: 30 * time.Second, Nonce: true},
		MTLS: &policy.MTLS{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.7/32"), netip.MustParsePrefix("2001:db8::/48")}},
		Introspection: &policy.Introspection{
			Endpoint: "https://idp.example.com/oauth2/introspect", ClientID: "api", ClientSecretEnv: "STEPUP_INTROSPECTION_SECRET",
			Auth: "client_secret_post", CacheTTL: 2 * time.Minute, InactiveTTL: 5 * time.Second, StaleTTL: 30 * time.Second,
			AudienceRequired: true,
		},
	}
}

// withLines returns p with the rule lines replaced, for the same policy
// written in another layout.
func withLines(p *policy.Policy, lines ...int) *policy.Policy {
	for i := range p.Rules {
		p.Rules[i].Line = lines[i]
	}
	return p
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want *policy.Policy
	}{
		{"minimal", head + "rules:\n  - http: GET /a\n",
			minimal(policy.Rule{Line: 4, HTTP: "GET /a"})},
		{"jwks_uri", head + "jwks_uri: https://idp.example.com/keys\nrules: [{http: /a}]\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 4, HTTP: "/a"})
				p.JWKSURI = "https://idp.example.com/keys"
				return p
			}()},
		{"loopback http issuer and jwks_uri", "issuer: http://127.0.0.1:8080\naudience: api\njwks_uri: http://[::1]:9/jwks\nrules: [{http: /a}]\n",
			&policy.Policy{Issuer: "http://127.0.0.1:8080", Audience: "api", JWKSURI: "http://[::1]:9/jwks",
				Rules: []policy.Rule{{Line: 4, HTTP: "/a"}}}},
		{"ipv6 loopback", "issuer: http://[::1]:8080/\naudience: api\nrules: [{http: /a}]\n",
			&policy.Policy{Issuer: "http://[::1]:8080/", Audience: "api", Rules: []policy.Rule{{Line: 3, HTTP: "/a"}}}},
		{"sender_constraint", head + "rules:\n  - http: POST /a\n    sender_constraint: dpop\n  - grpc: /p.S/M\n    sender_constraint: mtls\n  - http: GET /b\n    sender_constraint: any\ndpop: {public_url: https://api.example.com}\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 4, HTTP: "POST /a", Requirement: claims.Requirement{Binding: claims.BindingDPoP}})
				p.Rules = append(p.Rules,
					policy.Rule{Index: 1, Line: 6, GRPC: "/p.S/M", Requirement: claims.Requirement{Binding: claims.BindingMTLS}},
					policy.Rule{Index: 2, Line: 8, HTTP: "GET /b", Requirement: claims.Requirement{Binding: claims.BindingAny}})
				p.DPoP = &policy.DPoP{PublicURL: "https://api.example.com"}
				return p
			}()},
		{"mtls and any need no dpop block", head + "rules:\n  - grpc: /p.S/M\n    sender_constraint: mtls\n  - http: GET /b\n    sender_constraint: any\n",
			minimal(policy.Rule{Line: 4, GRPC: "/p.S/M", Requirement: claims.Requirement{Binding: claims.BindingMTLS}},
				policy.Rule{Index: 1, Line: 6, HTTP: "GET /b", Requirement: claims.Requirement{Binding: claims.BindingAny}})},
		{"dpop and mtls blocks", head + "dpop:\n  public_url: https://example.com/api/\n  algorithms: [ES256, EdDSA, Ed25519, PS256]\n  max_age: 30s\n  nonce: true\n  replay: memory\n" +
			"mtls:\n  trusted_proxies: [10.0.0.7/32, 192.168.0.0/16, \"2001:db8::/32\"]\nrules: [{http: /a}]\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 11, HTTP: "/a"})
				p.DPoP = &policy.DPoP{PublicURL: "https://example.com/api/", Algorithms: []string{"ES256", "EdDSA", "Ed25519", "PS256"}, MaxAge: 30 * time.Second, Nonce: true}
				p.MTLS = &policy.MTLS{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.7/32"), netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("2001:db8::/32")}}
				return p
			}()},
		{"dpop loopback http, nonce false", head + "dpop: {public_url: \"http://127.0.0.1:8080\", nonce: false}\nrules: [{http: /a}]\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 4, HTTP: "/a"})
				p.DPoP = &policy.DPoP{PublicURL: "http://127.0.0.1:8080"}
				return p
			}()},
		{"algorithms", head + "algorithms: [RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA]\nrules: [{http: /a}]\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 4, HTTP: "/a"})
				p.Algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
				return p
			}()},
		{"token_types canonical", head + "token_types: [AT+JWT, Application/At+Jwt, jwt]\nrules: [{http: /a}]\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 4, HTTP: "/a"})
				p.TokenTypes = []string{"at+jwt", "application/at+jwt", "JWT"}
				return p
			}()},
		{"leeway", head + "leeway: 1m30s\nrules: [{http: /a}]\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 4, HTTP: "/a"})
				p.Leeway = 90 * time.Second
				return p
			}()},
		{"claim_names partial", head + "claim_names:\n  amr: https://example.com/amr\nrules: [{http: /a}]\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 5, HTTP: "/a"})
				p.ClaimNames = claims.Names{AMR: "https://example.com/amr"}
				return p
			}()},
		{"resource_metadata", head + "resource_metadata: https://api.example.com/.well-known/oauth-protected-resource/v1\nrules: [{http: /a}]\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 4, HTTP: "/a"})
				p.ResourceMetadata = "https://api.example.com/.well-known/oauth-protected-resource/v1"
				return p
			}()},
		{"quoted numeric acr_levels", head + "acr_levels: [\"0\", \"1\", \"2\"]\nrules:\n  - http: GET /a\n    acr_min: \"1\"\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 5, HTTP: "GET /a",
					Requirement: claims.Requirement{ACRMin: "1", ACRLevels: []string{"0", "1", "2"}}})
				p.ACRLevels = []string{"0", "1", "2"}
				return p
			}()},
		{"acr_levels after rules", head + "rules:\n  - http: GET /a\n    acr_min: gold\nacr_levels: [silver, gold]\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 4, HTTP: "GET /a",
					Requirement: claims.Requirement{ACRMin: "gold", ACRLevels: []string{"silver", "gold"}}})
				p.ACRLevels = []string{"silver", "gold"}
				return p
			}()},
		{"acr with acr_min", head + "acr_levels: [a, b, c]\nrules:\n  - http: GET /a\n    acr: [c, b]\n    acr_min: b\n",
			func() *policy.Policy {
				p := minimal(policy.Rule{Line: 5, HTTP: "GET /a",
					Requirement: claims.Requirement{ACR: []string{"c", "b"}, ACRMin: "b", ACRLevels: []string{"a", "b", "c"}}})
				p.ACRLevels = []string{"a", "b", "c"}
				return p
			}()},
		{"grpc only, wildcard and exact of one service", head + "rules:\n  - grpc: /S/*\n    public: true\n  - grpc: /S/M\n",
			minimal(policy.Rule{Line: 4, GRPC: "/S/*", Public: true}, policy.Rule{Index: 1, Line: 6, GRPC: "/S/M"})},
		{"public exact method overriding a protected wildcard", head + "rules:\n  - grpc: /S/*\n  - grpc: /S/M\n    public: true\n    overrides_protected: true\n",
			minimal(policy.Rule{Line: 4, GRPC: "/S/*"}, policy.Rule{Index: 1, Line: 5, GRPC: "/S/M", Public: true, OverridesProtected: true})},
		{"method-less and method pattern coexist", head + "rules:\n  - http: /a\n  - http: GET /a\n  - http: GET example.com/a\n  - http: \"GET /items/{id}\"\n",
			minimal(policy.Rule{Line: 4, HTTP: "/a"}, policy.Rule{Index: 1, Line: 5, HTTP: "GET /a"},
				policy.Rule{Index: 2, Line: 6, HTTP: "GET example.com/a"}, policy.Rule{Index: 3, Line: 7, HTTP: "GET /items/{id}"})},
		{"standard and extension methods", head + "rules:\n  - http: PATCH /a\n  - http: PROPFIND /dav/\n  - http: M-SEARCH /ssdp\n  - http: PURGE  /cache/\n",
			minimal(policy.Rule{Line: 4, HTTP: "PATCH /a"}, policy.Rule{Index: 1, Line: 5, HTTP: "PROPFIND /dav/"},
				policy.Rule{Index: 2, Line: 6, HTTP: "M-SEARCH /ssdp"}, policy.Rule{Index: 3, Line: 7, HTTP: "PURGE  /cache/"})},
		{"max_age and scopes", head + "rules:\n  - http: POST /t\n    max_age: 1h\n    scopes: [\"read:x\", write]\n",
			minimal(policy.Rule{Line: 4, HTTP: "POST /t",
				Requirement: claims.Requirement{MaxAge: time.Hour, Scopes: []string{"read:x", "write"}}})},
		{"amr without acr_values", head + "rules:\n  - http: /a\n    amr_any: [otp, hwk]\n    amr_all: [mfa]\n",
			minimal(policy.Rule{Line: 4, HTTP: "/a",
				Requirement: claims.Requirement{AMRAny: []string{"otp", "hwk"}, AMRAll: []string{"mfa"}}})},
		{"yaml anchors and aliases", head + "rules:\n  - http: /a\n    acr: &strong [x, y]\n  - http: /b\n    acr: *strong\n",
			minimal(policy.Rule{Line: 4, HTTP: "/a", Requirement: claims.Requirement{ACR: []string{"x", "y"}}},
				policy.Rule{Index: 1, Line: 6, HTTP: "/b", Requirement: claims.Requirement{ACR: []string{"x", "y"}}})},
		{"public tagged true", head + "rules:\n  - http: /a\n    public: !!bool true\n",
			minimal(policy.Rule{Line: 4, HTTP: "/a", Public: true})},
		{"byte order mark", "\ufeff" + head + "rules: [{http: /a}]\n",
			minimal(policy.Rule{Line: 3, HTTP: "/a"})},
		{"full", mustRead(t, "testdata/full.yaml"), fullPolicy()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := policy.Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			// The same document in JSON gives the same policy, lines aside.
			j := toJSON(t, tt.doc)
			got, err = policy.Parse(j)
			if err != nil {
				t.Fatalf("Parse(JSON %s): %v", j, err)
			}
			for i := range got.Rules {
				if got.Rules[i].Line != 1 {
					t.Errorf("JSON on one line: rules[%d].Line = %d, want 1", i, got.Rules[i].Line)
				}
				got.Rules[i].Line = tt.want.Rules[i].Line
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("JSON: got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// toJSON rewrites a YAML document as JSON on one line.
func toJSON(t *testing.T, doc string) []byte {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("yaml: %v", err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	return b
}

func TestLoad(t *testing.T) {
	tests := []struct {
		file string
		want *policy.Policy
	}{
		{"testdata/full.yaml", fullPolicy()},
		{"testdata/full.json", withLines(fullPolicy(), 12, 13, 14, 20, 21, 28)},
		{"testdata/full-sniffed.policy", withLines(fullPolicy(), 12, 13, 14, 20, 21, 28)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := policy.Load(tt.file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte(head+"rules: [{http: /a}]\n"+strings.Repeat("#\n", 1<<19)), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	yamlAsJSON := filepath.Join(t.TempDir(), "p.json")
	if err := os.WriteFile(yamlAsJSON, []byte(head+"rules: [{http: /a}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file             string
		want             string
		line, rule       int
		field, http, rpc string
	}{
		{file: "testdata/bad_acr_min.yaml", line: 7, rule: 1, field: "acr_min", http: "GET /reports",
			want: `policy: testdata/bad_acr_min.yaml:7: rules[1] (http "GET /reports"): acr_min: "platinum" is not in acr_levels`},
		{file: "testdata/bad_unknown.json", line: 9, rule: 1, field: "maxage", rpc: "/pkg.S/M",
			want: `policy: testdata/bad_unknown.json:9: rules[1] (grpc "/pkg.S/M"): maxage: unknown field`},
		{file: "testdata/bad_duplicate.yml", line: 6, rule: 1, field: "grpc", rpc: "/pkg.S/M",
			want: `policy: testdata/bad_duplicate.yml:6: rules[1] (grpc "/pkg.S/M"): grpc: duplicate method, also in rules[0]`},
		{file: "testdata/bad_norule.yaml", line: 5, rule: 1,
			want: `policy: testdata/bad_norule.yaml:5: rules[1]: needs http or grpc`},
		{file: "testdata/bad_duration.yaml", line: 3, rule: -1, field: "leeway",
			want: `policy: testdata/bad_duration.yaml:3: leeway: invalid duration "30 seconds" (want a Go duration such as "30s" or "5m")`},
		{file: "testdata/bad_algorithm.json", line: 3, rule: -1, field: "algorithms",
			want: `policy: testdata/bad_algorithm.json:3: algorithms: "HS256" is symmetric; only asymmetric algorithms work with a JWKS`},
		{file: big, rule: -1, want: "policy: " + big + ": larger than 1048576 bytes"},
		{file: missing, rule: -1, want: "policy: " + missing + ": no such file or directory"},
		{file: yamlAsJSON, line: 1, rule: -1, want: "policy: " + yamlAsJSON + ":1: json: invalid character 'i' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file), func(t *testing.T) {
			p, err := policy.Load(tt.file)
			if err == nil {
				t.Fatalf("Load = %+v, want error %q", p, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\ngot  %s\nwant %s", got, tt.want)
			}
			var e *policy.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not a *policy.Error", err)
			}
			if e.File != tt.file || e.Line != tt.line || e.Rule != tt.rule || e.Field != tt.field || e.HTTP != tt.http || e.GRPC != tt.rpc {
				t.Errorf("got File %q Line %d Rule %d Field %q HTTP %q GRPC %q, want %q %d %d %q %q %q",
					e.File, e.Line, e.Rule, e.Field, e.HTTP, e.GRPC, tt.file, tt.line, tt.rule, tt.field, tt.http, tt.rpc)
			}
		})
	}
	if _, err := policy.Load(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want errors.Is fs.ErrNotExist", err)
	}
}

func TestParseErrors(t *testing.T) {
	const r = "rules: [{http: /a}]\n"
	tests := []struct {
		name  string
		parse func([]byte) (*policy.Policy, error)
		doc   string
		want  string
	}{
		// Documents.
		{"empty", policy.ParseYAML, "", "policy: empty document"},
		{"comments only", policy.ParseYAML, "# nothing\n", "policy: empty document"},
		{"empty json", policy.ParseJSON, " \n", "policy: empty document"},
		{"not a mapping", policy.ParseYAML, "- a\n", "policy: line 1: want a mapping at the top level, got a list"},
		{"scalar", policy.ParseYAML, "hello\n", "policy: line 1: want a mapping at the top level, got a string"},
		{"sniffed list", policy.Parse, "[1]", "policy: line 1: want a mapping at the top level, got a list"},
		{"json list", policy.ParseJSON, "[1]", "policy: line 1: want a mapping at the top level, got a list"},
		{"two documents", policy.ParseYAML, head + r + "---\n" + head + r, "policy: line 4: more than one YAML document"},
		{"yaml syntax", policy.ParseYAML, head + "rules: [\n", "policy: line 3: yaml: did not find expected node content"},
		{"yaml tab", policy.ParseYAML, head + "rules:\n\t- http: /a\n", "policy: line 4: yaml: found character that cannot start any token"},
		{"invalid utf-8", policy.ParseYAML, head + "rules: [{http: \"/\xff\"}]\n", "policy: line 3: not valid UTF-8 (save the file as UTF-8)"},
		{"invalid utf-8 json", policy.ParseJSON, "{\"issuer\": \"https://a/\",\n\"audience\": \"a\xc3\x28\"}", "policy: line 2: not valid UTF-8 (save the file as UTF-8)"},
		{"json lone high surrogate", policy.ParseJSON, "{\"issuer\": \"https://a/\",\n\"audience\": \"a\\ud800\"}", `policy: line 2: json: \ud800 is a lone UTF-16 surrogate, not a character`},
		{"json lone low surrogate in key", policy.ParseJSON, "{\"issuer\": \"https://a/\",\n\n\"a\\uDC00\": 1}", `policy: line 3: json: \udc00 is a lone UTF-16 surrogate, not a character`},
		{"json reversed surrogates", policy.ParseJSON, "{\"audience\": \"\\ude00\\ud83d\"}", `policy: line 1: json: \ude00 is a lone UTF-16 surrogate, not a character`},
		{"json two high surrogates", policy.ParseJSON, "{\"audience\": \"\\ud83d\\ud83d\"}", `policy: line 1: json: \ud83d is a lone UTF-16 surrogate, not a character`},
		{"yaml lone surrogate", policy.ParseYAML, head + "rules: [{http: \"/\\ud800\"}]\n", "policy: line 3: yaml: found invalid Unicode character escape code"},
		{"too large", policy.ParseYAML, head + r + strings.Repeat("#", 1<<20), "policy: larger than 1048576 bytes"},
		{"non-string key", policy.ParseYAML, head + r + "1: x\n", "policy: line 4: mapping key must be a string, got a number"},
		{"merge key", policy.ParseYAML, head + "rules:\n  - <<: {http: /a}\n", "policy: line 4: yaml: merge keys (<<) are not supported"},
		{"alias cycle", policy.ParseYAML, head + "rules: &r [*r]\n", "policy: line 3: document nested too deeply"},
		{"alias bomb", policy.ParseYAML, "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", "policy: line 1: document too large"},
		{"deep json", policy.ParseJSON, `{"rules":` + strings.Repeat("[", 40), "policy: line 1: document nested too deeply"},
		{"json syntax line", policy.ParseJSON, "{\n\"issuer\": \"x\",\n\"audience\" \"api\"}", "policy: line 3: json: invalid character '\"' after object key"},
		{"json truncated", policy.ParseJSON, "{\n\"issuer\": \"x\",\n", "policy: line 2: json: unexpected end of input"},
		{"json trailing data", policy.ParseJSON, "{}\n{}", "policy: line 2: json: data after the top-level value"},
		{"json duplicate key", policy.ParseJSON, "{\"issuer\": \"https://a/\",\n \"issuer\": \"https://b/\"}", "policy: line 2: issuer: duplicate field (first on line 1)"},

		// Top-level fields.
		{"unknown field", policy.ParseYAML, head + "issuers: x\n" + r, "policy: line 3: issuers: unknown field"},
		{"duplicate field", policy.ParseYAML, head + "audience: api2\n" + r, "policy: line 3: audience: duplicate field (first on line 2)"},
		{"profile", policy.ParseYAML, head + "profile: auth0\n" + r, "policy: line 3: profile: want a mapping such as {provider: auth0, domain: example.us.auth0.com}, got a string"},
		{"no issuer", policy.ParseYAML, "audience: api\n" + r, "policy: issuer: required (or a profile)"},
		{"no audience", policy.ParseYAML, "issuer: https://a/\n" + r, "policy: audience: required"},
		{"no rules", policy.ParseYAML, head, "policy: rules: required"},
		{"issuer null", policy.ParseYAML, "issuer:\naudience: api\n" + r, "policy: line 1: issuer: want a string, got null"},
		{"issuer number", policy.ParseYAML, "issuer: 12\naudience: api\n" + r, "policy: line 1: issuer: want a string, got a number"},
		{"issuer empty", policy.ParseYAML, "issuer: ''\naudience: api\n" + r, "policy: line 1: issuer: must not be empty"},
		{"issuer space", policy.ParseYAML, "issuer: ' https://a/'\naudience: api\n" + r, `policy: line 1: issuer: " https://a/" has surrounding white space`},
		{"issuer http", policy.ParseYAML, "issuer: http://idp.example.com/\naudience: api\n" + r, `policy: line 1: issuer: "http://idp.example.com/": http is allowed only for a loopback host; use https`},
		{"issuer http localhost", policy.ParseYAML, "issuer: http://localhost:8080/\naudience: api\n" + r, `policy: line 1: issuer: "http://localhost:8080/": http is allowed only for a loopback host; use https`},
		{"issuer http 127-prefixed name", policy.ParseYAML, "issuer: http://127.attacker.example/\naudience: api\n" + r, `policy: line 1: issuer: "http://127.attacker.example/": http is allowed only for a loopback host; use https`},
		{"issuer not a url", policy.ParseYAML, "issuer: idp\naudience: api\n" + r, `policy: line 1: issuer: "idp" is not an https URL`},
		{"issuer bad url", policy.ParseYAML, "issuer: 'https://a b/%zz'\naudience: api\n" + r, `policy: line 1: issuer: "https://a b/%zz" is not a URL`},
		{"issuer no host", policy.ParseYAML, "issuer: https:///x\naudience: api\n" + r, `policy: line 1: issuer: "https:///x" has no host`},
		{"issuer user info", policy.ParseYAML, "issuer: https://u:p@a/\naudience: api\n" + r, `policy: line 1: issuer: "https://u:p@a/" must not carry user information`},
		{"issuer fragment", policy.ParseYAML, "issuer: 'https://a/#x'\naudience: api\n" + r, `policy: line 1: issuer: "https://a/#x" must not have a fragment`},
		{"audience list", policy.ParseYAML, "issuer: https://a/\naudience: [a, b]\n" + r, "policy: line 2: audience: want a string, got a list"},
		{"audience control", policy.ParseJSON, `{"issuer": "https://a/", "audience": "a\u0000b", "rules": [{"http": "/a"}]}`, `policy: line 1: audience: "a\x00b" contains a control character`},
		{"jwks_uri ftp", policy.ParseYAML, head + "jwks_uri: ftp://a/jwks\n" + r, `policy: line 3: jwks_uri: "ftp://a/jwks" is not an https URL`},
		{"algorithms none", policy.ParseYAML, head + "algorithms: [RS256, none]\n" + r, `policy: line 3: algorithms: "none" is never accepted (RFC 8725 §3.1)`},
		{"algorithms HS256", policy.ParseYAML, head + "algorithms:\n  - HS256\n" + r, `policy: line 4: algorithms: "HS256" is symmetric; only asymmetric algorithms work with a JWKS`},
		{"algorithms unknown", policy.ParseYAML, head + "algorithms: [rs256]\n" + r, `policy: line 3: algorithms: unknown algorithm "rs256" (want one of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA)`},
		{"algorithms ES256K", policy.ParseYAML, head + "algorithms: [ES256K]\n" + r, `policy: line 3: algorithms: unknown algorithm "ES256K" (want one of RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA)`},
		{"algorithms duplicate", policy.ParseYAML, head + "algorithms: [RS256, RS256]\n" + r, `policy: line 3: algorithms: duplicate value "RS256"`},
		{"algorithms empty", policy.ParseYAML, head + "algorithms: []\n" + r, "policy: line 3: algorithms: must not be empty (leave the field out instead)"},
		{"algorithms string", policy.ParseYAML, head + "algorithms: RS256\n" + r, "policy: line 3: algorithms: want a list, got a string"},
		{"token_types unknown", policy.ParseYAML, head + "token_types: [jose]\n" + r, `policy: line 3: token_types: unknown token type "jose" (want at+jwt, application/at+jwt or JWT)`},
		{"token_types duplicate", policy.ParseYAML, head + "token_types: [at+jwt, AT+JWT]\n" + r, `policy: line 3: token_types: duplicate value "AT+JWT"`},
		{"token_types empty", policy.ParseYAML, head + "token_types: []\n" + r, "policy: line 3: token_types: must not be empty (leave the field out instead)"},
		{"token_types map", policy.ParseYAML, head + "token_types: {a: b}\n" + r, "policy: line 3: token_types: want a list, got a mapping"},
		{"leeway bad", policy.ParseYAML, head + "leeway: 30x\n" + r, `policy: line 3: leeway: invalid duration "30x" (want a Go duration such as "30s" or "5m")`},
		{"leeway number", policy.ParseYAML, head + "leeway: 30\n" + r, `policy: line 3: leeway: want a duration such as "30s" or "5m", got a number`},
		{"leeway negative", policy.ParseYAML, head + "leeway: -1s\n" + r, "policy: line 3: leeway: -1s is negative"},
		{"leeway zero", policy.ParseYAML, head + "leeway: 0s\n" + r, "policy: line 3: leeway: 0 would mean the verifier's default (30s); use at least 1s, or leave leeway out"},
		{"leeway large", policy.ParseYAML, head + "leeway: 1h\n" + r, "policy: line 3: leeway: 1h is more than 5m0s"},
		{"claim_names unknown", policy.ParseYAML, head + "claim_names:\n  acr: a\n  scope: s\n" + r, "policy: line 5: claim_names.scope: unknown field (want acr, amr or auth_time)"},
		{"claim_names duplicate", policy.ParseYAML, head + "claim_names:\n  acr: a\n  acr: b\n" + r, "policy: line 5: claim_names.acr: duplicate field (first on line 4)"},
		{"claim_names empty value", policy.ParseYAML, head + "claim_names: {auth_time: ''}\n" + r, "policy: line 3: claim_names.auth_time: must not be empty"},
		{"claim_names list", policy.ParseYAML, head + "claim_names: [acr]\n" + r, "policy: line 3: claim_names: want a mapping, got a list"},
		{"resource_metadata http", policy.ParseYAML, head + "resource_metadata: http://api.example.com/x\n" + r, `policy: line 3: resource_metadata: "http://api.example.com/x": http is allowed only for a loopback host; use https`},
		{"acr_levels duplicate", policy.ParseYAML, head + "acr_levels: [a, b, a]\n" + r, `policy: line 3: acr_levels: duplicate value "a"`},
		{"acr_levels unquoted numbers", policy.ParseYAML, head + "acr_levels: [0, 1]\n" + r, "policy: line 3: acr_levels: want a string, got a number (quote it)"},
		{"acr_levels space", policy.ParseYAML, head + "acr_levels: ['level one']\n" + r, `policy: line 3: acr_levels: "level one" is not printable ASCII without spaces`},
		{"dpop string", policy.ParseYAML, head + "dpop: https://api.example.com\n" + r, "policy: line 3: dpop: want a mapping such as {public_url: https://api.example.com}, got a string"},
		{"dpop no public_url", policy.ParseYAML, head + "dpop:\n  nonce: true\n" + r, "policy: line 4: dpop.public_url: required: the URL clients address the API by, the prefix of every proof's htu"},
		{"dpop empty", policy.ParseYAML, head + "dpop: {}\n" + r, "policy: line 3: dpop.public_url: required: the URL clients address the API by, the prefix of every proof's htu"},
		{"dpop unknown field", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  htu: https://a/\n" + r, "policy: line 5: dpop.htu: unknown field (want public_url, algorithms, max_age, nonce or replay)"},
		{"dpop duplicate field", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  public_url: https://b/\n" + r, "policy: line 5: dpop.public_url: duplicate field (first on line 4)"},
		{"dpop duplicate block", policy.ParseYAML, head + "dpop: {public_url: https://a/}\ndpop: {public_url: https://a/}\n" + r, "policy: line 4: dpop: duplicate field (first on line 3)"},
		{"dpop public_url http", policy.ParseYAML, head + "dpop: {public_url: http://api.example.com}\n" + r, `policy: line 3: dpop.public_url: "http://api.example.com": http is allowed only for a loopback host; use https`},
		{"dpop public_url relative", policy.ParseYAML, head + "dpop: {public_url: /api}\n" + r, `policy: line 3: dpop.public_url: "/api" is not an https URL`},
		{"dpop public_url query", policy.ParseYAML, head + "dpop: {public_url: \"https://a/api?v=1\"}\n" + r, `policy: line 3: dpop.public_url: "https://a/api?v=1" must not have a query (it is the prefix of every proof's htu)`},
		{"dpop public_url empty query", policy.ParseYAML, head + "dpop: {public_url: \"https://a/api?\"}\n" + r, `policy: line 3: dpop.public_url: "https://a/api?" must not have a query (it is the prefix of every proof's htu)`},
		{"dpop public_url fragment", policy.ParseYAML, head + "dpop: {public_url: \"https://a/#x\"}\n" + r, `policy: line 3: dpop.public_url: "https://a/#x" must not have a fragment`},
		{"dpop public_url user info", policy.ParseYAML, head + "dpop: {public_url: \"https://u@a/\"}\n" + r, `policy: line 3: dpop.public_url: "https://u@a/" must not carry user information`},
		{"dpop public_url non-ascii", policy.ParseYAML, head + "dpop: {public_url: \"https://a/straße\"}\n" + r, `policy: line 3: dpop.public_url: "https://a/straße" is not printable ASCII (percent-encode the path, punycode the host)`},
		{"dpop public_url number", policy.ParseYAML, head + "dpop: {public_url: 8080}\n" + r, "policy: line 3: dpop.public_url: want a string, got a number"},
		{"dpop algorithms none", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  algorithms: [ES256, none]\n" + r, `policy: line 5: dpop.algorithms: "none" is never accepted: an unsigned proof proves nothing (RFC 9449 §11.6)`},
		{"dpop algorithms HS256", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  algorithms: [HS256]\n" + r, `policy: line 5: dpop.algorithms: "HS256" is symmetric; a proof needs an asymmetric signature (RFC 9449 §4.2)`},
		{"dpop algorithms unknown", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  algorithms: [es256]\n" + r, `policy: line 5: dpop.algorithms: unknown algorithm "es256" (want one of ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519)`},
		{"dpop algorithms duplicate", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  algorithms: [ES256, ES256]\n" + r, `policy: line 5: dpop.algorithms: duplicate value "ES256"`},
		{"dpop algorithms empty", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  algorithms: []\n" + r, "policy: line 5: dpop.algorithms: must not be empty (leave the field out instead)"},
		{"dpop algorithms string", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  algorithms: ES256\n" + r, "policy: line 5: dpop.algorithms: want a list, got a string"},
		{"dpop max_age bad", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  max_age: a minute\n" + r, `policy: line 5: dpop.max_age: invalid duration "a minute" (want a Go duration such as "30s" or "5m")`},
		{"dpop max_age number", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  max_age: 60\n" + r, `policy: line 5: dpop.max_age: want a duration such as "30s" or "5m", got a number`},
		{"dpop max_age zero", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  max_age: 0s\n" + r, "policy: line 5: dpop.max_age: 0 would mean the default (1m0s); leave max_age out for it"},
		{"dpop max_age negative", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  max_age: -1m\n" + r, "policy: line 5: dpop.max_age: -1m is negative"},
		{"dpop max_age under a second", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  max_age: 500ms\n" + r, "policy: line 5: dpop.max_age: 500ms is under 1s (a proof's iat is in whole seconds)"},
		{"dpop max_age large", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  max_age: 1h\n" + r, "policy: line 5: dpop.max_age: 1h is more than 5m0s (a client makes a proof per request, RFC 9449 §11.1)"},
		{"dpop nonce yes", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  nonce: yes\n" + r, `policy: line 5: dpop.nonce: want true or false, got the string "yes"`},
		{"dpop nonce quoted", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  nonce: \"true\"\n" + r, `policy: line 5: dpop.nonce: want true or false, got the string "true"`},
		{"dpop nonce json number", policy.ParseJSON, `{"issuer": "https://a/", "audience": "api", "dpop": {"public_url": "https://a/", "nonce": 1}, "rules": [{"http": "/a"}]}`, "policy: line 1: dpop.nonce: want true or false, got the number 1"},
		{"dpop replay redis", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  replay: redis\n" + r, "policy: line 5: dpop.replay: the Redis store lives in the separate module github.com/stepupauth/stepup/redisstore and must be wired in code (dpop.Config.Replay); leave replay out here"},
		{"dpop replay unknown", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  replay: memcached\n" + r, `policy: line 5: dpop.replay: "memcached" is not memory, the only store a policy file can name`},
		{"dpop replay list", policy.ParseYAML, head + "dpop:\n  public_url: https://a/\n  replay: [memory]\n" + r, "policy: line 5: dpop.replay: want a string, got a list"},
		{"mtls list", policy.ParseYAML, head + "mtls: [10.0.0.7/32]\n" + r, "policy: line 3: mtls: want a mapping such as {trusted_proxies: [10.0.0.7/32]}, got a list"},
		{"mtls empty", policy.ParseYAML, head + "mtls: {}\n" + r, "policy: line 3: mtls.trusted_proxies: required (without proxies, leave the mtls block out: the TLS connection is always read)"},
		{"mtls unknown field", policy.ParseYAML, head + "mtls:\n  trusted_proxies: [10.0.0.7/32]\n  trust_any: true\n" + r, "policy: line 5: mtls.trust_any: unknown field (want trusted_proxies)"},
		{"mtls duplicate field", policy.ParseYAML, head + "mtls:\n  trusted_proxies: [10.0.0.7/32]\n  trusted_proxies: [10.0.0.8/32]\n" + r, "policy: line 5: mtls.trusted_proxies: duplicate field (first on line 4)"},
		{"mtls proxies empty", policy.ParseYAML, head + "mtls: {trusted_proxies: []}\n" + r, "policy: line 3: mtls.trusted_proxies: must not be empty (leave the mtls block out instead)"},
		{"mtls proxies string", policy.ParseYAML, head + "mtls: {trusted_proxies: 10.0.0.7/32}\n" + r, "policy: line 3: mtls.trusted_proxies: want a list, got a string"},
		{"mtls proxy address", policy.ParseYAML, head + "mtls:\n  trusted_proxies:\n    - 10.0.0.7\n" + r, `policy: line 5: mtls.trusted_proxies: "10.0.0.7" is not a CIDR prefix (want an address and a length, such as "10.0.0.7/32")`},
		{"mtls proxy name", policy.ParseYAML, head + "mtls:\n  trusted_proxies: [proxy.internal/32]\n" + r, `policy: line 4: mtls.trusted_proxies: "proxy.internal/32" is not a CIDR prefix (want an address and a length, such as "10.0.0.7/32")`},
		{"mtls proxy zone", policy.ParseYAML, head + "mtls:\n  trusted_proxies: [\"fe80::1%eth0/128\"]\n" + r, `policy: line 4: mtls.trusted_proxies: "fe80::1%eth0/128" is not a CIDR prefix (want an address and a length, such as "10.0.0.7/32")`},
		{"mtls proxy any", policy.ParseYAML, head + "mtls:\n  trusted_proxies: [10.0.0.0/8, 0.0.0.0/0]\n" + r, `policy: line 4: mtls.trusted_proxies: "0.0.0.0/0" trusts every address; list the proxies' own networks`},
		{"mtls proxy any ipv6", policy.ParseYAML, head + "mtls:\n  trusted_proxies: [\"::/0\"]\n" + r, `policy: line 4: mtls.trusted_proxies: "::/0" trusts every address; list the proxies' own networks`},
		{"mtls proxy host bits", policy.ParseYAML, head + "mtls:\n  trusted_proxies: [10.0.0.7/24]\n" + r, `policy: line 4: mtls.trusted_proxies: "10.0.0.7/24" has bits set past its length (want "10.0.0.0/24")`},
		{"mtls proxy duplicate", policy.ParseYAML, head + "mtls:\n  trusted_proxies: [10.0.0.7/32, 10.0.0.7/32]\n" + r, `policy: line 4: mtls.trusted_proxies: duplicate value "10.0.0.7/32"`},
		{"mtls proxy number", policy.ParseYAML, head + "mtls:\n  trusted_proxies: [10]\n" + r, "policy: line 4: mtls.trusted_proxies: want a string, got a number"},
		{"rules mapping", policy.ParseYAML, head + "rules: {http: /a}\n", "policy: line 3: rules: want a list, got a mapping"},
		{"rules empty", policy.ParseYAML, head + "rules: []\n", "policy: line 3: rules: must not be empty"},

		// Rules.
		{"rule not a mapping", policy.ParseYAML, head + "rules:\n  - GET /a\n", "policy: line 4: rules[0]: want a mapping, got a string"},
		{"rule unknown field", policy.ParseYAML, head + "rules:\n  - http: GET /a\n    acrs: [c1]\n", `policy: line 5: rules[0] (http "GET /a"): acrs: unknown field`},
		{"rule profile", policy.ParseYAML, head + "rules:\n  - http: GET /a\n    profile: entra\n", `policy: line 5: rules[0] (http "GET /a"): profile: identity-provider profiles are set at the top level`},
		{"rule duplicate field", policy.ParseYAML, head + "rules:\n  - http: GET /a\n    grpc: /S/M\n    http: GET /b\n", `policy: line 6: rules[0] (http "GET /b", grpc "/S/M"): http: duplicate field (first on line 4)`},
		{"rule without route", policy.ParseYAML, head + "rules:\n  - acr: [x]\n", "policy: line 4: rules[0]: needs http or grpc"},
		{"rule empty", policy.ParseJSON, `{"issuer": "https://a/", "audience": "api", "rules": [{}]}`, "policy: line 1: rules[0]: needs http or grpc"},
		{"http empty", policy.ParseYAML, head + "rules:\n  - http: ''\n", "policy: line 4: rules[0]: http: must not be empty"},
		{"http bad method", policy.ParseYAML, head + "rules:\n  - http: GET\n", `policy: line 4: rules[0] (http "GET"): http: invalid ServeMux pattern: parsing "GET": at offset 0: host/path missing /`},
		{"http bad wildcard", policy.ParseYAML, head + "rules:\n  - http: GET /{x\n", `policy: line 4: rules[0] (http "GET /{x"): http: invalid ServeMux pattern: parsing "GET /{x": at offset 5: bad wildcard segment (must end with '}')`},
		{"http lower-case method", policy.ParseYAML, head + "rules:\n  - http: get /admin/\n", `policy: line 4: rules[0] (http "get /admin/"): http: method "get" must be upper case, e.g. GET`},
		{"http mixed-case method", policy.ParseYAML, head + "rules:\n  - http: Post /a\n", `policy: line 4: rules[0] (http "Post /a"): http: method "Post" must be upper case, e.g. POST`},
		{"http lower-case custom method", policy.ParseYAML, head + "rules:\n  - http: purge /cache/\n", `policy: line 4: rules[0] (http "purge /cache/"): http: method "purge" must be upper case, e.g. PURGE`},
		{"http number", policy.ParseYAML, head + "rules:\n  - http: 404\n", "policy: line 4: rules[0]: http: want a string, got a number"},
		{"http duplicate", policy.ParseYAML, head + "rules:\n  - http: GET /a\n  - http: GET /a\n    grpc: /S/M\n", `policy: line 5: rules[1] (http "GET /a", grpc "/S/M"): http: duplicate pattern, also in rules[0]`},
		{"http conflict", policy.ParseYAML, head + "rules:\n  - http: GET /a\n  - http: GET /b\n  - http: GET  /b\n", `policy: line 6: rules[2] (http "GET  /b"): http: pattern conflicts with rules[1] (http "GET /b")`},
		{"http wildcard conflict", policy.ParseYAML, head + "rules:\n  - http: \"GET /{x}/b\"\n  - http: \"GET /a/{y}\"\n", `policy: line 5: rules[1] (http "GET /a/{y}"): http: pattern conflicts with rules[0] (http "GET /{x}/b")`},
		{"grpc no slash", policy.ParseYAML, head + "rules:\n  - grpc: pkg.S/M\n", `policy: line 4: rules[0] (grpc "pkg.S/M"): grpc: "pkg.S/M" is not a full method (want "/package.Service/Method" or "/package.Service/*")`},
		{"grpc no method", policy.ParseYAML, head + "rules:\n  - grpc: /pkg.S\n", `policy: line 4: rules[0] (grpc "/pkg.S"): grpc: "/pkg.S" is not a full method (want "/package.Service/Method" or "/package.Service/*")`},
		{"grpc empty method", policy.ParseYAML, head + "rules:\n  - grpc: /pkg.S/\n", `policy: line 4: rules[0] (grpc "/pkg.S/"): grpc: "/pkg.S/" is not a full method (want "/package.Service/Method" or "/package.Service/*")`},
		{"grpc three parts", policy.ParseYAML, head + "rules:\n  - grpc: /pkg.S/M/x\n", `policy: line 4: rules[0] (grpc "/pkg.S/M/x"): grpc: "/pkg.S/M/x" is not a full method (want "/package.Service/Method" or "/package.Service/*")`},
		{"grpc service wildcard", policy.ParseYAML, head + "rules:\n  - grpc: /*\n", `policy: line 4: rules[0] (grpc "/*"): grpc: "/*" is not a full method (want "/package.Service/Method" or "/package.Service/*")`},
		{"grpc partial wildcard", policy.ParseYAML, head + "rules:\n  - grpc: /pkg.S/Get*\n", `policy: line 4: rules[0] (grpc "/pkg.S/Get*"): grpc: "/pkg.S/Get*" is not a full method (want "/package.Service/Method" or "/package.Service/*")`},
		{"grpc empty package part", policy.ParseYAML, head + "rules:\n  - grpc: /pkg..S/M\n", `policy: line 4: rules[0] (grpc "/pkg..S/M"): grpc: "/pkg..S/M" is not a full method (want "/package.Service/Method" or "/package.Service/*")`},
		{"grpc digit first", policy.ParseYAML, head + "rules:\n  - grpc: /1pkg.S/M\n", `policy: line 4: rules[0] (grpc "/1pkg.S/M"): grpc: "/1pkg.S/M" is not a full method (want "/package.Service/Method" or "/package.Service/*")`},
		{"grpc duplicate", policy.ParseYAML, head + "rules:\n  - grpc: /S/*\n  - grpc: /S/*\n", `policy: line 5: rules[1] (grpc "/S/*"): grpc: duplicate method, also in rules[0]`},
		// A boolean is exactly true or false: YAML 1.1 spellings, tagged or
		// not, are errors rather than a silent "not public".
		{"public quoted yes", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: 'yes'\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got the string "yes"`},
		{"public yes", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: yes\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got the string "yes"`},
		{"public on", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: on\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got the string "on"`},
		{"public 1", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: 1\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got the number 1`},
		{"public tagged yes", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: !!bool yes\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got "yes"`},
		{"public tagged 1", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: !!bool 1\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got "1"`},
		{"public tagged no", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: !<tag:yaml.org,2002:bool> no\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got "no"`},
		{"public tagged empty", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: !!bool\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got ""`},
		{"public True", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: True\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got "True"`},
		{"public quoted true", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: \"true\"\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got the string "true"`},
		{"public null", policy.ParseYAML, head + "rules:\n  - http: /a\n    public:\n", `policy: line 5: rules[0] (http "/a"): public: want true or false, got null`},
		{"public json string", policy.ParseJSON, `{"issuer": "https://a/", "audience": "api", "rules": [{"http": "/a", "public": "true"}]}`, `policy: line 1: rules[0] (http "/a"): public: want true or false, got the string "true"`},
		{"public json number", policy.ParseJSON, `{"issuer": "https://a/", "audience": "api", "rules": [{"http": "/a", "public": 1}]}`, `policy: line 1: rules[0] (http "/a"): public: want true or false, got the number 1`},
		{"sender_constraint dpop without dpop block", policy.ParseYAML, head + "rules:\n  - http: POST /a\n    sender_constraint: dpop\n", `policy: line 5: rules[0] (http "POST /a"): sender_constraint: dpop needs a dpop block at the top level (with public_url): without one no proof is checked, and no request could meet this rule`},
		{"sender_constraint dpop, dpop block invalid", policy.ParseYAML, head + "dpop: {nonce: true}\nrules:\n  - http: POST /a\n    sender_constraint: dpop\n", "policy: line 3: dpop.public_url: required: the URL clients address the API by, the prefix of every proof's htu"},
		{"sender_constraint unknown", policy.ParseYAML, head + "rules:\n  - http: /a\n    sender_constraint: bearer\n", `policy: line 5: rules[0] (http "/a"): sender_constraint: "bearer" is not dpop, mtls or any`},
		{"public with sender_constraint", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: true\n    sender_constraint: dpop\n", `policy: line 6: rules[0] (http "/a"): sender_constraint: a public rule takes no requirement`},
		{"public with acr", policy.ParseYAML, head + "rules:\n  - http: /a\n    public: true\n    acr: [x]\n", `policy: line 6: rules[0] (http "/a"): acr: a public rule takes no requirement`},
		{"public with scopes first", policy.ParseYAML, head + "rules:\n  - scopes: [x]\n    http: /a\n    public: true\n", `policy: line 4: rules[0] (http "/a"): scopes: a public rule takes no requirement`},
		{"public with max_age", policy.ParseYAML, head + "rules:\n  - http: /a\n    max_age: 5m\n    public: true\n", `policy: line 5: rules[0] (http "/a"): max_age: a public rule takes no requirement`},
		{"acr empty", policy.ParseYAML, head + "rules:\n  - http: /a\n    acr: []\n", `policy: line 5: rules[0] (http "/a"): acr: must not be empty (leave the field out instead)`},
		{"acr space", policy.ParseYAML, head + "rules:\n  - http: /a\n    acr: ['a b']\n", `policy: line 5: rules[0] (http "/a"): acr: "a b" is not printable ASCII without spaces`},
		{"acr non-ascii", policy.ParseYAML, head + "rules:\n  - http: /a\n    acr: [niveau-élevé]\n", `policy: line 5: rules[0] (http "/a"): acr: "niveau-élevé" is not printable ASCII without spaces`},
		{"acr duplicate", policy.ParseYAML, head + "rules:\n  - http: /a\n    acr:\n      - x\n      - x\n", `policy: line 7: rules[0] (http "/a"): acr: duplicate value "x"`},
		{"acr_min without levels", policy.ParseYAML, head + "rules:\n  - http: /a\n    acr_min: gold\n", `policy: line 5: rules[0] (http "/a"): acr_min: needs acr_levels at the top level`},
		{"acr_min not in levels", policy.ParseYAML, head + "acr_levels: [silver, gold]\nrules:\n  - grpc: /S/M\n    acr_min: bronze\n", `policy: line 6: rules[0] (grpc "/S/M"): acr_min: "bronze" is not in acr_levels`},
		{"acr_min list", policy.ParseYAML, head + "acr_levels: [silver]\nrules:\n  - grpc: /S/M\n    acr_min: [silver]\n", `policy: line 6: rules[0] (grpc "/S/M"): acr_min: want a string, got a list (quote it)`},
		{"acr and acr_min disjoint", policy.ParseYAML, head + "acr_levels: [a, b]\nrules:\n  - http: /a\n    acr: [a]\n    acr_min: b\n", `policy: line 6: rules[0] (http "/a"): acr: claims: invalid requirement: ACR: no value is also at least ACRMin`},
		{"acr_values without amr", policy.ParseYAML, head + "rules:\n  - http: /a\n    acr: [x]\n    acr_values: [x]\n", `policy: line 6: rules[0] (http "/a"): acr_values: is what a challenge asks for when amr_all or amr_any fails, and needs one of them (for an acr requirement use acr)`},
		{"acr_values refused by acr", policy.ParseYAML, head + "rules:\n  - http: /a\n    acr: [x]\n    amr_all: [hwk]\n    acr_values: [y]\n", `policy: line 7: rules[0] (http "/a"): acr_values: claims: invalid requirement: AMRACRValues[0]: not acceptable to the acr condition`},
		{"amr_all string", policy.ParseYAML, head + "rules:\n  - http: /a\n    amr_all: hwk\n", `policy: line 5: rules[0] (http "/a"): amr_all: want a list, got a string`},
		{"amr_any empty value", policy.ParseYAML, head + "rules:\n  - http: /a\n    amr_any: ['']\n", `policy: line 5: rules[0] (http "/a"): amr_any: empty value`},
		{"max_age bad", policy.ParseYAML, head + "rules:\n  - http: /a\n    max_age: five minutes\n", `policy: line 5: rules[0] (http "/a"): max_age: invalid duration "five minutes" (want a Go duration such as "30s" or "5m")`},
		{"max_age zero", policy.ParseYAML, head + "rules:\n  - http: /a\n    max_age: 0s\n", `policy: line 5: rules[0] (http "/a"): max_age: 0s is not positive`},
		{"max_age negative", policy.ParseYAML, head + "rules:\n  - http: /a\n    max_age: -5m\n", `policy: line 5: rules[0] (http "/a"): max_age: -5m is not positive`},
		{"max_age fraction", policy.ParseYAML, head + "rules:\n  - http: /a\n    max_age: 1500ms\n", `policy: line 5: rules[0] (http "/a"): max_age: 1500ms is not a whole number of seconds (max_age is sent in seconds)`},
		{"max_age number", policy.ParseYAML, head + "rules:\n  - http: /a\n    max_age: 300\n", `policy: line 5: rules[0] (http "/a"): max_age: want a duration such as "30s" or "5m", got a number`},
		{"scopes quote", policy.ParseYAML, head + "rules:\n  - http: /a\n    scopes: ['a\"b']\n", `policy: line 5: rules[0] (http "/a"): scopes: "a\"b" is not a scope-token (RFC 6749 §3.3)`},
		{"scopes backslash", policy.ParseYAML, head + "rules:\n  - http: /a\n    scopes: ['a\\b']\n", `policy: line 5: rules[0] (http "/a"): scopes: "a\\b" is not a scope-token (RFC 6749 §3.3)`},
		{"scopes bool", policy.ParseYAML, head + "rules:\n  - http: /a\n    scopes: [true]\n", `policy: line 5: rules[0] (http "/a"): scopes: want a string, got a boolean (quote it)`},
		{"yaml timestamp", policy.ParseYAML, head + "rules:\n  - http: /a\n    acr: [2001-12-14]\n", `policy: line 5: rules[0] (http "/a"): acr: want a string, got a non-string scalar (quote it)`},
		{"json number", policy.ParseJSON, "{\"issuer\": \"https://a/\", \"audience\": \"api\",\n\"rules\": [{\"http\": \"/a\",\n \"max_age\": 300}]}", `policy: line 3: rules[0] (http "/a"): max_age: want a duration such as "30s" or "5m", got a number`},
		{"second rule line", policy.ParseYAML, head + "rules:\n  - http: /a\n  - http: /b\n    scopes: [x]\n    amr: [hwk]\n", `policy: line 7: rules[1] (http "/b"): amr: unknown field`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", p, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\ngot  %s\nwant %s", got, tt.want)
			}
			var e *policy.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not a *policy.Error", err)
			}
			if strings.Contains(tt.want, "rules[") != (e.Rule >= 0) {
				t.Errorf("Rule = %d, inconsistent with %q", e.Rule, tt.want)
			}
		})
	}
}

// TestEquivalentToCode checks that the demo policy file produces exactly the
// values a program would write by hand, and that they decide alike.
func TestEquivalentToCode(t *testing.T) {
	p, err := policy.Load(filepath.Join("..", "examples", "policies", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantConfig := verify.Config{Issuer: "https://idp.example.com/", Audience: "https://api.example.com"}
	if got := p.VerifyConfig(); !reflect.DeepEqual(got, wantConfig) {
		t.Errorf("VerifyConfig() = %+v, want %+v", got, wantConfig)
	}
	transfer := claims.Requirement{ACR: []string{claims.ACRMultiFactor}, MaxAge: 5 * time.Minute}
	admin := claims.Requirement{
		AMRAll:       []string{"hwk"},
		AMRACRValues: []string{"http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"},
		Scopes:       []string{"admin"},
	}
	type route struct {
		public bool
		req    claims.Requirement
	}
	wantHTTP := map[string]route{
		"GET /public":    {public: true},
		"GET /profile":   {},
		"POST /transfer": {req: transfer},
		"GET /admin/":    {req: admin},
	}
	wantGRPC := map[string]route{
		"/bank.v1.Bank/GetBalance":        {},
		"/bank.v1.Bank/WatchTransactions": {},
		"/bank.v1.Bank/Transfer":          {req: transfer},
		"/bank.v1.Admin/*":                {req: admin},
	}
	gotHTTP := map[string]route{}
	for _, r := range p.HTTPRules() {
		gotHTTP[r.HTTP] = route{r.Public, r.Requirement}
	}
	gotGRPC := map[string]route{}
	for _, r := range p.GRPCRules() {
		gotGRPC[r.GRPC] = route{r.Public, r.Requirement}
	}
	if !reflect.DeepEqual(gotHTTP, wantHTTP) {
		t.Errorf("HTTP rules\ngot  %+v\nwant %+v", gotHTTP, wantHTTP)
	}
	if !reflect.DeepEqual(gotGRPC, wantGRPC) {
		t.Errorf("gRPC rules\ngot  %+v\nwant %+v", gotGRPC, wantGRPC)
	}

	// Identical values decide identically; check it on tokens that pass and
	// fail each condition.
	now := time.Unix(1_800_000_000, 0)
	tokens := []*claims.Claims{
		{Subject: "pwd", ACR: "pwd", AMR: []string{"pwd"}, AuthTime: now.Add(-time.Minute)},
		{Subject: "mfa", ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "otp"}, AuthTime: now.Add(-time.Minute)},
		{Subject: "stale", ACR: claims.ACRMultiFactor, AuthTime: now.Add(-time.Hour)},
		{Subject: "hwk", AMR: []string{"hwk"}, Scopes: []string{"admin"}, AuthTime: now},
		{Subject: "hwk without scope", AMR: []string{"hwk"}, AuthTime: now},
	}
	for _, r := range p.Rules {
		want := wantHTTP[r.HTTP].req
		if r.HTTP == "" {
			want = wantGRPC[r.GRPC].req
		}
		for _, c := range tokens {
			got, exp := r.Requirement.Evaluate(c, now, 0), want.Evaluate(c, now, 0)
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("rules[%d] on %s: file gives %v, code gives %v", r.Index, c.Subject, got, exp)
			}
		}
	}
}

func TestFullEquivalentToCode(t *testing.T) {
	p, err := policy.Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := verify.Config{
		Issuer:     "https://idp.example.com/",
		Audience:   "https://api.example.com",
		Algorithms: []string{"RS256", "PS384", "ES256", "EdDSA"},
		TokenTypes: []string{"at+jwt", "application/at+jwt", "JWT"},
		Leeway:     45 * time.Second,
		ClaimNames: claims.Names{ACR: "https://example.com/acr", AMR: "https://example.com/amr", AuthTime: "https://example.com/auth_time"},
	}
	got := p.VerifyConfig()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("VerifyConfig() = %+v, want %+v", got, want)
	}
	// The config owns its slices.
	got.Algorithms[0] = "PS512"
	got.TokenTypes[0] = "JWT"
	if p.Algorithms[0] != "RS256" || p.TokenTypes[0] != "at+jwt" {
		t.Errorf("VerifyConfig shares slices with the policy: %v %v", p.Algorithms, p.TokenTypes)
	}
	// Each acr_min rule has its own copy of the levels.
	p.Rules[3].Requirement.ACRLevels[0] = "changed"
	if p.ACRLevels[0] != "urn:example:loa:1" {
		t.Errorf("rule ACRLevels shares the policy's slice")
	}
	for _, r := range p.Rules {
		if err := r.Requirement.Validate(); err != nil {
			t.Errorf("rules[%d]: Validate() = %v", r.Index, err)
		}
	}
}

func TestHTTPAndGRPCRules(t *testing.T) {
	p := fullPolicy()
	var gotHTTP, gotGRPC []int
	for _, r := range p.HTTPRules() {
		gotHTTP = append(gotHTTP, r.Index)
	}
	for _, r := range p.GRPCRules() {
		gotGRPC = append(gotGRPC, r.Index)
	}
	if want := []int{0, 1, 2, 3, 4}; !reflect.DeepEqual(gotHTTP, want) {
		t.Errorf("HTTPRules indexes = %v, want %v", gotHTTP, want)
	}
	if want := []int{2, 4, 5}; !reflect.DeepEqual(gotGRPC, want) {
		t.Errorf("GRPCRules indexes = %v, want %v", gotGRPC, want)
	}
}

// TestExamplePolicies loads every file shipped in examples/policies.
func TestExamplePolicies(t *testing.T) {
	dir := filepath.Join("..", "examples", "policies")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		seen[e.Name()] = true
		t.Run(e.Name(), func(t *testing.T) {
			p, err := policy.Load(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Rules) == 0 {
				t.Errorf("no rules")
			}
		})
	}
	for _, name := range []string{"auth0.yaml", "okta.yaml", "entra.yaml", "keycloak.yaml", "demo.yaml", "dpop.yaml", "introspection.yaml"} {
		if !seen[name] {
			t.Errorf("examples/policies/%s is missing", name)
		}
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *policy.Error
		want string
	}{
		{&policy.Error{Rule: -1}, "policy: invalid"},
		{&policy.Error{File: "p.yaml", Rule: -1, Err: errors.New("x")}, "policy: p.yaml: x"},
		{&policy.Error{Line: 3, Rule: 2, Field: "acr", Err: errors.New("x")}, "policy: line 3: rules[2]: acr: x"},
		{&policy.Error{File: "p.yaml", Line: 3, Rule: 0, GRPC: "/S/M", Err: errors.New("x")}, `policy: p.yaml:3: rules[0] (grpc "/S/M"): x`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

// TestParseJSONEscapes checks that the JSON reader keeps escapes that are
// characters, U+FFFD included, and refuses only lone surrogates.
func TestParseJSONEscapes(t *testing.T) {
	tests := []struct{ name, audience, want string }{
		{"surrogate pair", `\ud83d\ude00`, "\U0001F600"},
		{"replacement character escaped", `a\ufffd`, "a\ufffd"},
		{"replacement character literal", "a\ufffd", "a\ufffd"},
		{"escaped backslash before u", `\\ud800`, `\ud800`},
		{"pair after replacement", "\ufffd\\ud83d\\ude00", "\ufffd\U0001F600"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"issuer": "https://a/", "audience": "` + tt.audience + `", "rules": [{"http": "/a"}]}`
			p, err := policy.Parse([]byte(doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Audience != tt.want {
				t.Errorf("Audience = %q, want %q", p.Audience, tt.want)
			}
		})
	}
}

// TestSyntax checks the Syntax rule of the package documentation: Load
// goes by the extension, Parse (and Load of another extension) by the
// first non-blank character.
func TestSyntax(t *testing.T) {
	const flow = "\n {issuer: 'https://a/', audience: api, rules: [{http: /a}]}\n" // YAML, not JSON
	const jsonDoc = `{"issuer": "https://a/", "audience": "api", "rules": [{"http": "/a"}]}`
	dir := t.TempDir()
	for _, tt := range []struct {
		file, doc string
		ok        bool
	}{
		{"flow.yaml", flow, true},
		{"flow.yml", flow, true},
		{"flow.policy", flow, false},
		{"doc.json", jsonDoc, true},
		{"doc.policy", jsonDoc, true},
		{"yaml.json", "issuer: https://a/\naudience: api\nrules: [{http: /a}]\n", false},
	} {
		path := filepath.Join(dir, tt.file)
		if err := os.WriteFile(path, []byte(tt.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := policy.Load(path); (err == nil) != tt.ok {
			t.Errorf("Load(%s): got %v, want success %v", tt.file, err, tt.ok)
		}
	}
	if _, err := policy.Parse([]byte(flow)); err == nil || !strings.Contains(err.Error(), "json: ") {
		t.Errorf("Parse(flow YAML): got %v, want a JSON syntax error", err)
	}
	if _, err := policy.Parse([]byte(jsonDoc)); err != nil {
		t.Errorf("Parse(JSON): %v", err)
	}
}
