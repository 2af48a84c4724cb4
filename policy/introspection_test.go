package policy_test

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/policy"
)

// introspection is a policy with the given introspection block (YAML
// lines indented by two spaces) and one rule on line 3 + len(block).
func introspection(block ...string) string {
	doc := head + "introspection:\n"
	for _, l := range block {
		doc += "  " + l + "\n"
	}
	return doc + "rules: [{http: /a}]\n"
}

const (
	endpointLine = "endpoint: https://idp.example.com/introspect"
	clientLine   = "client_id: api"
	secretLine   = "client_secret_env: INTROSPECTION_SECRET"
)

func TestParseIntrospection(t *testing.T) {
	basic := func(mod func(*policy.Introspection)) *policy.Introspection {
		in := &policy.Introspection{Endpoint: "https://idp.example.com/introspect", ClientID: "api", ClientSecretEnv: "INTROSPECTION_SECRET", Auth: "client_secret_basic"}
		if mod != nil {
			mod(in)
		}
		return in
	}
	tests := []struct {
		name string
		doc  string
		want *policy.Introspection
	}{
		{"required fields only", introspection(endpointLine, clientLine, secretLine), basic(nil)},
		{"loopback http endpoint", introspection("endpoint: http://127.0.0.1:9000/introspect", clientLine, secretLine),
			basic(func(in *policy.Introspection) { in.Endpoint = "http://127.0.0.1:9000/introspect" })},
		{"discover", introspection("discover: true", clientLine, secretLine),
			basic(func(in *policy.Introspection) { in.Endpoint, in.Discover = "", true })},
		{"discover false with endpoint", introspection(endpointLine, "discover: false", clientLine, secretLine), basic(nil)},
		{"auth basic", introspection(endpointLine, clientLine, secretLine, "auth: client_secret_basic"), basic(nil)},
		{"auth post", introspection(endpointLine, clientLine, secretLine, "auth: client_secret_post"),
			basic(func(in *policy.Introspection) { in.Auth = "client_secret_post" })},
		{"lower-case env name", introspection(endpointLine, clientLine, "client_secret_env: _secret_1"),
			basic(func(in *policy.Introspection) { in.ClientSecretEnv = "_secret_1" })},
		{"ttls", introspection(endpointLine, clientLine, secretLine, "cache_ttl: 1h", "inactive_ttl: 1s", "stale_ttl: 90s"),
			basic(func(in *policy.Introspection) {
				in.CacheTTL, in.InactiveTTL, in.StaleTTL = time.Hour, time.Second, 90*time.Second
			})},
		{"no_cache", introspection(endpointLine, clientLine, secretLine, "no_cache: true"),
			basic(func(in *policy.Introspection) { in.NoCache = true })},
		{"no_cache false with ttls", introspection(endpointLine, clientLine, secretLine, "no_cache: false", "cache_ttl: 1m"),
			basic(func(in *policy.Introspection) { in.CacheTTL = time.Minute })},
		{"audience_required", introspection(endpointLine, clientLine, secretLine, "audience_required: true"),
			basic(func(in *policy.Introspection) { in.AudienceRequired = true })},
		{"issuer_required", introspection(endpointLine, clientLine, secretLine, "issuer_required: true"),
			basic(func(in *policy.Introspection) { in.IssuerRequired = true })},
		{"private_key_jwt", introspection(endpointLine, clientLine, "auth: private_key_jwt", "private_key_file: keys/introspection.pem", "key_id: k1"),
			basic(func(in *policy.Introspection) {
				in.Auth, in.ClientSecretEnv, in.PrivateKeyFile, in.KeyID = "private_key_jwt", "", "keys/introspection.pem", "k1"
			})},
		{"introspect_jwts", introspection(endpointLine, clientLine, secretLine, "introspect_jwts: true"),
			basic(func(in *policy.Introspection) { in.IntrospectJWTs = true })},
		{"switches false", introspection(endpointLine, clientLine, secretLine, "audience_required: false", "introspect_jwts: false"), basic(nil)},
		{"json", `{"issuer": "https://idp.example.com/", "audience": "api", "rules": [{"http": "/a"}],
"introspection": {"discover": true, "client_id": "api", "client_secret_env": "S", "auth": "client_secret_post", "no_cache": true}}`,
			&policy.Introspection{Discover: true, ClientID: "api", ClientSecretEnv: "S", Auth: "client_secret_post", NoCache: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(tt.doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(p.Introspection, tt.want) {
				t.Errorf("Introspection\ngot  %+v\nwant %+v", p.Introspection, tt.want)
			}
		})
	}
	p, err := policy.Parse([]byte(head + "rules: [{http: /a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Introspection != nil {
		t.Errorf("Introspection without a block = %+v, want nil", p.Introspection)
	}
}

func TestParseIntrospectionErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"string", head + "introspection: https://idp.example.com/introspect\nrules: [{http: /a}]\n",
			"policy: line 3: introspection: want a mapping such as {endpoint: https://idp.example.com/introspect, client_id: api, client_secret_env: INTROSPECTION_SECRET}, got a string"},
		{"empty", head + "introspection: {}\nrules: [{http: /a}]\n",
			"policy: line 3: introspection.endpoint: required (or discover: true, to read introspection_endpoint from the issuer's metadata)"},
		{"no endpoint", introspection(clientLine, secretLine),
			"policy: line 4: introspection.endpoint: required (or discover: true, to read introspection_endpoint from the issuer's metadata)"},
		{"discover false, no endpoint", introspection("discover: false", clientLine, secretLine),
			"policy: line 4: introspection.endpoint: required (or discover: true, to read introspection_endpoint from the issuer's metadata)"},
		{"endpoint and discover", introspection(endpointLine, clientLine, secretLine, "discover: true"),
			"policy: line 7: introspection.discover: discover: true reads the endpoint from the issuer's metadata; give endpoint or discover: true, not both"},
		{"no client_id", introspection(endpointLine, secretLine),
			"policy: line 4: introspection.client_id: required: this API's client identifier at the authorization server"},
		{"no client_secret_env", introspection(endpointLine, clientLine),
			"policy: line 4: introspection.client_secret_env: required: the name of the environment variable holding the client secret (or auth: private_key_jwt with private_key_file)"},
		{"private_key_jwt without a key", introspection(endpointLine, clientLine, "auth: private_key_jwt"),
			"policy: line 4: introspection.private_key_file: required with auth: private_key_jwt: the path of the PEM file holding the private key"},
		{"private_key_jwt with a secret", introspection(endpointLine, clientLine, "auth: private_key_jwt", "private_key_file: k.pem", secretLine),
			"policy: line 8: introspection.client_secret_env: auth: private_key_jwt authenticates with private_key_file, not a secret; leave client_secret_env out"},
		{"key file without private_key_jwt", introspection(endpointLine, clientLine, secretLine, "private_key_file: k.pem"),
			"policy: line 7: introspection.private_key_file: private_key_file is the key of auth: private_key_jwt; set auth: private_key_jwt, or leave it out"},
		{"key_id without private_key_jwt", introspection(endpointLine, clientLine, secretLine, "key_id: k1"),
			"policy: line 7: introspection.key_id: key_id names the key of auth: private_key_jwt; leave it out with client_secret_basic"},
		{"client_secret", introspection(endpointLine, clientLine, "client_secret: s3cr3t"),
			"policy: line 6: introspection.client_secret: a secret never belongs in the policy file; put it in an environment variable and name that variable with client_secret_env"},
		{"unknown field", introspection(endpointLine, clientLine, secretLine, "timeout: 5s"),
			"policy: line 7: introspection.timeout: unknown field (want endpoint, discover, client_id, client_secret_env, auth, private_key_file, key_id, cache_ttl, no_cache, inactive_ttl, stale_ttl, issuer_required, audience_required or introspect_jwts)"},
		{"duplicate field", introspection(endpointLine, clientLine, secretLine, "client_id: other"),
			"policy: line 7: introspection.client_id: duplicate field (first on line 5)"},
		{"duplicate block", head + "introspection: {discover: true, client_id: a, client_secret_env: S}\nintrospection: {discover: true, client_id: a, client_secret_env: S}\nrules: [{http: /a}]\n",
			"policy: line 4: introspection: duplicate field (first on line 3)"},
		{"endpoint http", introspection("endpoint: http://idp.example.com/introspect", clientLine, secretLine),
			`policy: line 4: introspection.endpoint: "http://idp.example.com/introspect": http is allowed only for a loopback host; use https`},
		{"endpoint http localhost", introspection("endpoint: http://localhost:9000/introspect", clientLine, secretLine),
			`policy: line 4: introspection.endpoint: "http://localhost:9000/introspect": http is allowed only for a loopback host; use https`},
		{"endpoint relative", introspection("endpoint: /introspect", clientLine, secretLine),
			`policy: line 4: introspection.endpoint: "/introspect" is not an https URL`},
		{"endpoint user info", introspection("endpoint: https://api:secret@idp.example.com/introspect", clientLine, secretLine),
			`policy: line 4: introspection.endpoint: "https://api:secret@idp.example.com/introspect" must not carry user information`},
		{"endpoint fragment", introspection("endpoint: 'https://idp.example.com/introspect#x'", clientLine, secretLine),
			`policy: line 4: introspection.endpoint: "https://idp.example.com/introspect#x" must not have a fragment`},
		{"endpoint number", introspection("endpoint: 9000", clientLine, secretLine),
			"policy: line 4: introspection.endpoint: want a string, got a number"},
		{"discover yes", introspection("discover: yes", clientLine, secretLine),
			`policy: line 4: introspection.discover: want true or false, got the string "yes"`},
		{"client_id empty", introspection(endpointLine, "client_id: ''", secretLine),
			"policy: line 5: introspection.client_id: must not be empty"},
		{"client_id number", introspection(endpointLine, "client_id: 42", secretLine),
			"policy: line 5: introspection.client_id: want a string, got a number"},
		{"client_secret_env a secret", introspection(endpointLine, clientLine, "client_secret_env: 'hunter2!'"),
			`policy: line 6: introspection.client_secret_env: "hunter2!" is not an environment variable name (letters, digits and _, not a digit first); the secret itself never belongs in the file`},
		{"client_secret_env digit first", introspection(endpointLine, clientLine, "client_secret_env: 1SECRET"),
			`policy: line 6: introspection.client_secret_env: "1SECRET" is not an environment variable name (letters, digits and _, not a digit first); the secret itself never belongs in the file`},
		{"client_secret_env dollar", introspection(endpointLine, clientLine, "client_secret_env: $SECRET"),
			`policy: line 6: introspection.client_secret_env: "$SECRET" is not an environment variable name (letters, digits and _, not a digit first); the secret itself never belongs in the file`},
		{"client_secret_env empty", introspection(endpointLine, clientLine, "client_secret_env: ''"),
			"policy: line 6: introspection.client_secret_env: must not be empty"},
		{"auth unknown", introspection(endpointLine, clientLine, secretLine, "auth: basic"),
			`policy: line 7: introspection.auth: "basic" is not client_secret_basic, client_secret_post or private_key_jwt`},
		{"auth list", introspection(endpointLine, clientLine, secretLine, "auth: [client_secret_post]"),
			"policy: line 7: introspection.auth: want a string, got a list"},
		{"cache_ttl zero", introspection(endpointLine, clientLine, secretLine, "cache_ttl: 0s"),
			"policy: line 7: introspection.cache_ttl: 0 would mean the default (5m0s); leave the field out for it, or set no_cache: true to switch the cache off"},
		{"cache_ttl negative", introspection(endpointLine, clientLine, secretLine, "cache_ttl: -1m"),
			"policy: line 7: introspection.cache_ttl: -1m is negative"},
		{"cache_ttl large", introspection(endpointLine, clientLine, secretLine, "cache_ttl: 2h"),
			"policy: line 7: introspection.cache_ttl: 2h is more than 1h0m0s (a token revoked at the authorization server stays accepted that long)"},
		{"cache_ttl bad", introspection(endpointLine, clientLine, secretLine, "cache_ttl: five minutes"),
			`policy: line 7: introspection.cache_ttl: invalid duration "five minutes" (want a Go duration such as "30s" or "5m")`},
		{"cache_ttl number", introspection(endpointLine, clientLine, secretLine, "cache_ttl: 300"),
			`policy: line 7: introspection.cache_ttl: want a duration such as "30s" or "5m", got a number`},
		{"inactive_ttl zero", introspection(endpointLine, clientLine, secretLine, "inactive_ttl: 0s"),
			"policy: line 7: introspection.inactive_ttl: 0 would mean the default (10s); leave the field out for it, or set no_cache: true to switch the cache off"},
		{"inactive_ttl negative", introspection(endpointLine, clientLine, secretLine, "inactive_ttl: -1s"),
			"policy: line 7: introspection.inactive_ttl: -1s is negative"},
		{"inactive_ttl large", introspection(endpointLine, clientLine, secretLine, "inactive_ttl: 61m"),
			"policy: line 7: introspection.inactive_ttl: 61m is more than 1h0m0s (a token revoked at the authorization server stays accepted that long)"},
		{"stale_ttl zero", introspection(endpointLine, clientLine, secretLine, "stale_ttl: 0s"),
			"policy: line 7: introspection.stale_ttl: 0 is the default (nothing stale is served); leave the field out for it"},
		{"stale_ttl negative", introspection(endpointLine, clientLine, secretLine, "stale_ttl: -5s"),
			"policy: line 7: introspection.stale_ttl: -5s is negative"},
		{"stale_ttl large", introspection(endpointLine, clientLine, secretLine, "stale_ttl: 24h"),
			"policy: line 7: introspection.stale_ttl: 24h is more than 1h0m0s (a token revoked at the authorization server stays accepted that long)"},
		{"no_cache with cache_ttl", introspection(endpointLine, clientLine, secretLine, "cache_ttl: 1m", "no_cache: true"),
			"policy: line 7: introspection.cache_ttl: no_cache: true switches the cache off; leave cache_ttl out"},
		{"no_cache with inactive_ttl", introspection(endpointLine, clientLine, secretLine, "no_cache: true", "inactive_ttl: 1s"),
			"policy: line 8: introspection.inactive_ttl: no_cache: true switches the cache off; leave inactive_ttl out"},
		{"no_cache with stale_ttl", introspection(endpointLine, clientLine, secretLine, "no_cache: true", "stale_ttl: 1s"),
			"policy: line 8: introspection.stale_ttl: no_cache: true switches the cache off; leave stale_ttl out"},
		{"no_cache 1", introspection(endpointLine, clientLine, secretLine, "no_cache: 1"),
			"policy: line 7: introspection.no_cache: want true or false, got the number 1"},
		{"audience_required quoted", introspection(endpointLine, clientLine, secretLine, `audience_required: "true"`),
			`policy: line 7: introspection.audience_required: want true or false, got the string "true"`},
		{"introspect_jwts True", introspection(endpointLine, clientLine, secretLine, "introspect_jwts: True"),
			`policy: line 7: introspection.introspect_jwts: want true or false, got "True"`},
		{"discover without a single issuer", "audience: api\nprofile: {provider: entra, tenant_id: organizations}\nintrospection: {discover: true, client_id: api, client_secret_env: S}\nrules: [{http: /a}]\n",
			"policy: line 3: introspection.discover: needs one issuer to read the metadata of; this profile accepts many (set issuer, or give endpoint)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", p.Introspection, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\ngot  %s\nwant %s", got, tt.want)
			}
			var e *policy.Error
			if !errors.As(err, &e) || e.Rule != -1 || !strings.HasPrefix(e.Field, "introspection") {
				t.Errorf("error %#v, want a *policy.Error about an introspection field", err)
			}
		})
	}
}

// TestIntrospectConfig: the config of testdata/full.yaml's block, the
// secret read from the named variable and nothing else.
func TestIntrospectConfig(t *testing.T) {
	p, err := policy.Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	cfg, err := p.IntrospectConfig(func(name string) string {
		asked = append(asked, name)
		return "s3cr3t"
	})
	if err != nil {
		t.Fatal(err)
	}
	want := introspect.Config{
		Endpoint:        "https://idp.example.com/oauth2/introspect",
		ClientID:        "api",
		ClientSecret:    "s3cr3t",
		SecretPost:      true,
		Issuer:          "https://idp.example.com/",
		Audience:        "https://api.example.com",
		RequireAudience: true,
		Leeway:          45 * time.Second,
		CacheTTL:        2 * time.Minute,
		InactiveTTL:     5 * time.Second,
		StaleTTL:        30 * time.Second,
		Names:           claims.Names{ACR: "https://example.com/acr", AMR: "https://example.com/amr", AuthTime: "https://example.com/auth_time"},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("IntrospectConfig\ngot  %+v\nwant %+v", cfg, want)
	}
	if !reflect.DeepEqual(asked, []string{"STEPUP_INTROSPECTION_SECRET"}) {
		t.Errorf("getenv asked for %q, want only STEPUP_INTROSPECTION_SECRET", asked)
	}
	if _, err := introspect.New(cfg); err != nil {
		t.Errorf("introspect.New: %v", err)
	}

	t.Setenv("INTROSPECTION_SECRET", "from-env")
	p, err = policy.Parse([]byte(introspection("discover: true", clientLine, secretLine, "no_cache: true")))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = p.IntrospectConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	want = introspect.Config{ClientID: "api", ClientSecret: "from-env", Issuer: "https://idp.example.com/", Audience: "api", NoCache: true}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("IntrospectConfig(nil) with discover\ngot  %+v\nwant %+v", cfg, want)
	}
}

func TestIntrospectConfigErrors(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	block, err := policy.Parse([]byte(introspection(endpointLine, clientLine, secretLine)))
	if err != nil {
		t.Fatal(err)
	}
	none, err := policy.Parse([]byte(head + "rules: [{http: /a}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		p      *policy.Policy
		getenv func(string) string
		want   string
	}{
		{"no block", none, env("x"), "policy: no introspection block"},
		{"unset", block, env(""), `policy: introspection: $INTROSPECTION_SECRET is unset or empty; it must hold the client secret of client_id "api"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.p.IntrospectConfig(tt.getenv)
			if err == nil || err.Error() != tt.want {
				t.Errorf("IntrospectConfig: %v, want %q", err, tt.want)
			}
			if !reflect.DeepEqual(cfg, introspect.Config{}) {
				t.Errorf("IntrospectConfig with an error = %+v, want the zero Config", cfg)
			}
		})
	}
	t.Setenv("INTROSPECTION_SECRET", "")
	if _, err := block.IntrospectConfig(nil); err == nil || !strings.Contains(err.Error(), "$INTROSPECTION_SECRET is unset or empty") {
		t.Errorf("IntrospectConfig(nil) with an empty variable: %v, want it named", err)
	}
}

// TestVerifyConfigIntrospectJWTs: VerifyConfig copies introspect_jwts and
// never sets the Introspector.
func TestVerifyConfigIntrospectJWTs(t *testing.T) {
	for _, tt := range []struct {
		doc  string
		want bool
	}{
		{head + "rules: [{http: /a}]\n", false},
		{introspection(endpointLine, clientLine, secretLine), false},
		{introspection(endpointLine, clientLine, secretLine, "introspect_jwts: true"), true},
	} {
		p, err := policy.Parse([]byte(tt.doc))
		if err != nil {
			t.Fatal(err)
		}
		cfg := p.VerifyConfig()
		if cfg.IntrospectJWTs != tt.want || cfg.Introspector != nil {
			t.Errorf("VerifyConfig of %q: IntrospectJWTs %v, Introspector %v; want %v, nil", tt.doc, cfg.IntrospectJWTs, cfg.Introspector, tt.want)
		}
	}
}

// TestIntrospectConfigTalks: the config of a block authenticates as the
// block says (client_secret_basic or client_secret_post) at a loopback
// endpoint, and checks the answer's aud against the policy's audience.
func TestIntrospectConfigTalks(t *testing.T) {
	for _, auth := range []string{"client_secret_basic", "client_secret_post"} {
		t.Run(auth, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err != nil {
					t.Error(err)
				}
				id, secret, basic := r.BasicAuth()
				if auth == "client_secret_post" {
					id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
				}
				if id != "api" || secret != "s3cr3t" || basic != (auth == "client_secret_basic") {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				answer := map[string]any{"active": false}
				switch r.PostForm.Get("token") {
				case "good":
					answer = map[string]any{"active": true, "iss": "https://idp.example.com/", "aud": "api", "sub": "alice", "acr": claims.ACRMultiFactor}
				case "other-audience":
					answer = map[string]any{"active": true, "iss": "https://idp.example.com/", "aud": "other", "sub": "alice"}
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(answer)
			}))
			defer srv.Close()
			p, err := policy.Parse([]byte(introspection("endpoint: "+srv.URL, clientLine, secretLine, "auth: "+auth)))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := p.IntrospectConfig(func(string) string { return "s3cr3t" })
			if err != nil {
				t.Fatal(err)
			}
			c, err := introspect.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := c.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if cl, err := c.Introspect(ctx, "good"); err != nil || cl.Subject != "alice" || cl.ACR != claims.ACRMultiFactor {
				t.Errorf("Introspect(good) = %+v, %v; want alice at %s", cl, err, claims.ACRMultiFactor)
			}
			var ie *introspect.Error
			if _, err := c.Introspect(ctx, "other-audience"); !errors.As(err, &ie) || ie.Reason != introspect.ReasonAudience {
				t.Errorf("Introspect(other-audience): %v, want reason %q", err, introspect.ReasonAudience)
			}

			cfg.ClientSecret = "wrong"
			c, err = introspect.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Check(ctx); !errors.Is(err, introspect.ErrClientAuth) {
				t.Errorf("Check with a wrong secret: %v, want ErrClientAuth", err)
			}
		})
	}
}

// writeKey writes key to a PEM file of the given block type in a fresh
// directory and returns its path.
func writeKey(t *testing.T, blockType string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestIntrospectConfigPrivateKeyJWT: private_key_jwt reads the key of
// private_key_file, in each PEM form, and the client signs its assertions
// with it at a loopback endpoint; issuer_required refuses an answer
// without iss.
func TestIntrospectConfigPrivateKeyJWT(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	sec1, err := x509.MarshalECPrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		blockType string
		der       []byte
		alg       jwa.SignatureAlgorithm
		pub       crypto.PublicKey
	}{
		{"PKCS #8 EC", "PRIVATE KEY", pkcs8(ec), jwa.ES256(), ec.Public()},
		{"SEC 1 EC", "EC PRIVATE KEY", sec1, jwa.ES256(), ec.Public()},
		{"PKCS #1 RSA", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey), jwa.RS256(), rsaKey.Public()},
		{"PKCS #8 Ed25519", "PRIVATE KEY", pkcs8(ed), jwa.EdDSA(), ed.Public()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var endpoint string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err != nil {
					t.Error(err)
				}
				if _, _, basic := r.BasicAuth(); basic || r.PostForm.Has("client_secret") {
					t.Error("a secret was sent with private_key_jwt")
				}
				payload, err := jws.Verify([]byte(r.PostForm.Get("client_assertion")), jws.WithKey(tt.alg, tt.pub))
				var a struct{ Iss, Sub, Aud string }
				if err == nil {
					err = json.Unmarshal(payload, &a)
				}
				if err != nil || a.Iss != "api" || a.Sub != "api" || a.Aud != endpoint ||
					r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				answer := map[string]any{"active": true, "iss": "https://idp.example.com/", "aud": "api", "sub": "alice"}
				if r.PostForm.Get("token") == "no-iss" {
					delete(answer, "iss")
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(answer)
			}))
			defer srv.Close()
			endpoint = srv.URL
			p, err := policy.Parse([]byte(introspection("endpoint: "+srv.URL, clientLine, "auth: private_key_jwt",
				"private_key_file: "+writeKey(t, tt.blockType, tt.der), "key_id: k1", "issuer_required: true")))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := p.IntrospectConfig(func(name string) string {
				t.Errorf("getenv(%q) called with private_key_jwt", name)
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.PrivateKey == nil || cfg.KeyID != "k1" || cfg.ClientSecret != "" || !cfg.RequireIssuer {
				t.Fatalf("IntrospectConfig = %+v, want the key, kid k1, no secret and RequireIssuer", cfg)
			}
			c, err := introspect.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := c.Check(ctx); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if cl, err := c.Introspect(ctx, "good"); err != nil || cl.Subject != "alice" {
				t.Errorf("Introspect(good) = %+v, %v; want alice", cl, err)
			}
			var ie *introspect.Error
			if _, err := c.Introspect(ctx, "no-iss"); !errors.As(err, &ie) || ie.Reason != introspect.ReasonIssuer {
				t.Errorf("Introspect(no-iss) with issuer_required: %v, want reason %q", err, introspect.ReasonIssuer)
			}
		})
	}
}

// TestIntrospectConfigKeyFileErrors: a key file that cannot serve is an
// error naming the file and the problem, never the key's bytes.
func TestIntrospectConfigKeyFileErrors(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	xder, err := x509.MarshalPKCS8PrivateKey(x)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	one := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	for _, tt := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "absent.pem"), "no such file or directory"},
		{"not PEM", file("text.pem", "MHcCAQEE"), "no PEM block (want -----BEGIN PRIVATE KEY-----, EC PRIVATE KEY or RSA PRIVATE KEY)"},
		{"two blocks", file("two.pem", one+one), "more than one PEM block: the file must hold the private key only"},
		{"certificate", writeKey(t, "CERTIFICATE", der), `a PEM block of type "CERTIFICATE", not a private key (want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)`},
		{"encrypted PKCS #8", writeKey(t, "ENCRYPTED PRIVATE KEY", der), "the key is encrypted; give the file an unencrypted key (protect it with file permissions)"},
		{"encrypted legacy", file("legacy.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: der}))), "the key is encrypted"},
		{"malformed", writeKey(t, "EC PRIVATE KEY", der[:20]), "EC PRIVATE KEY block: malformed key"},
		{"cannot sign", writeKey(t, "PRIVATE KEY", xder), "a *ecdh.PrivateKey key cannot sign"},
		{"too large", file("big.pem", strings.Repeat("A", 70<<10)), "larger than 65536 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := policy.Parse([]byte(introspection(endpointLine, clientLine, "auth: private_key_jwt", "private_key_file: "+tt.path)))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := p.IntrospectConfig(nil)
			if err == nil || !strings.HasPrefix(err.Error(), "policy: introspection: private_key_file "+tt.path+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("IntrospectConfig: %v, want the file named and %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "MIG") || !reflect.DeepEqual(cfg, introspect.Config{}) {
				t.Errorf("IntrospectConfig: %v, %+v; want no key material and the zero Config", err, cfg)
			}
		})
	}
}
