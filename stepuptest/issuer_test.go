package stepuptest_test

import (
	"crypto"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

func TestDiscovery(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		wantSuffix string // issuer minus base URL
	}{
		{"no path", "", ""},
		{"trailing slash", "/", "/"},
		{"tenant path", "/tenant/v2.0", "/tenant/v2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []stepuptest.Option
			if tt.path != "" {
				opts = append(opts, stepuptest.WithIssuerPath(tt.path))
			}
			iss := newIssuer(t, append(opts, stepuptest.WithAlgorithms("ES256", "EdDSA"))...)
			if got, want := iss.Issuer(), iss.URL()+tt.wantSuffix; got != want {
				t.Fatalf("Issuer() = %q, want %q", got, want)
			}
			trimmed := strings.TrimSuffix(iss.Issuer(), "/")
			if got, want := iss.DiscoveryURL(), trimmed+"/.well-known/openid-configuration"; got != want {
				t.Errorf("DiscoveryURL() = %q, want %q", got, want)
			}
			if got, want := iss.MetadataURL(), iss.URL()+"/.well-known/oauth-authorization-server"+strings.TrimSuffix(tt.path, "/"); got != want {
				t.Errorf("MetadataURL() = %q, want %q", got, want)
			}
			for _, url := range []string{iss.DiscoveryURL(), iss.MetadataURL()} {
				resp, b := get(t, iss, url)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: status %d, want 200", url, resp.StatusCode)
				}
				if got := resp.Header.Get("Content-Type"); got != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", got)
				}
				if got := resp.Header.Get("Cache-Control"); got != "public, max-age=300" {
					t.Errorf("Cache-Control = %q, want %q", got, "public, max-age=300")
				}
				var doc struct {
					Issuer   string   `json:"issuer"`
					JWKSURI  string   `json:"jwks_uri"`
					Token    string   `json:"token_endpoint"`
					Algs     []string `json:"id_token_signing_alg_values_supported"`
					ACRs     []string `json:"acr_values_supported"`
					Grants   []string `json:"grant_types_supported"`
					AuthMeth []string `json:"token_endpoint_auth_methods_supported"`
				}
				if err := json.Unmarshal(b, &doc); err != nil {
					t.Fatalf("discovery JSON: %v", err)
				}
				want := struct {
					Issuer   string   `json:"issuer"`
					JWKSURI  string   `json:"jwks_uri"`
					Token    string   `json:"token_endpoint"`
					Algs     []string `json:"id_token_signing_alg_values_supported"`
					ACRs     []string `json:"acr_values_supported"`
					Grants   []string `json:"grant_types_supported"`
					AuthMeth []string `json:"token_endpoint_auth_methods_supported"`
				}{
					Issuer:   iss.Issuer(),
					JWKSURI:  trimmed + "/jwks",
					Token:    trimmed + "/token",
					Algs:     []string{"ES256", "EdDSA"},
					ACRs:     []string{stepuptest.ACRPassword, claims.ACRMultiFactor},
					Grants:   []string{"urn:stepuptest:grant-type:login"},
					AuthMeth: []string{"none"},
				}
				if !reflect.DeepEqual(doc, want) {
					t.Errorf("GET %s:\n got %+v\nwant %+v", url, doc, want)
				}
				if doc.JWKSURI != iss.JWKSURL() || doc.Token != iss.TokenURL() {
					t.Errorf("jwks_uri %q / token_endpoint %q disagree with JWKSURL %q / TokenURL %q",
						doc.JWKSURI, doc.Token, iss.JWKSURL(), iss.TokenURL())
				}
			}
			if got := iss.Requests().Discovery; got != 2 {
				t.Errorf("Requests().Discovery = %d, want 2", got)
			}
			// The JWKS at the discovered URL parses.
			if got := servedKeys(t, iss).Len(); got != 2 {
				t.Errorf("JWKS has %d keys, want 2", got)
			}
		})
	}
}

func TestDiscoveryOptions(t *testing.T) {
	iss := newIssuer(t,
		stepuptest.WithAlgorithms("ES256"),
		stepuptest.WithoutOpenIDConfiguration(),
		stepuptest.WithMetadata(map[string]any{"issuer": "https://evil.example", "claims_supported": nil, "x": 1}),
		stepuptest.WithCacheControl(""),
		stepuptest.WithACR("urn:example:loa:1", "pwd"),
		stepuptest.WithACR("urn:example:loa:2", "pwd", "hwk"),
	)
	if resp, _ := get(t, iss, iss.DiscoveryURL()); resp.StatusCode != http.StatusNotFound {
		t.Errorf("OIDC discovery status = %d, want 404", resp.StatusCode)
	}
	resp, b := get(t, iss, iss.MetadataURL())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("RFC 8414 status = %d, want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Cache-Control"); got != "" {
		t.Errorf("Cache-Control = %q, want none", got)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc["issuer"]; got != "https://evil.example" {
		t.Errorf("issuer = %v, want the override", got)
	}
	if _, ok := doc["claims_supported"]; ok {
		t.Errorf("claims_supported present, want removed")
	}
	if got := doc["x"]; got != 1.0 {
		t.Errorf("x = %v, want 1", got)
	}
	if got, want := doc["acr_values_supported"], []any{"urn:example:loa:1", "urn:example:loa:2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("acr_values_supported = %v, want %v", got, want)
	}
}

func TestNewIssuerErrors(t *testing.T) {
	tests := []struct {
		name string
		opt  stepuptest.Option
	}{
		{"unknown algorithm", stepuptest.WithAlgorithms("XS256")},
		{"hmac algorithm", stepuptest.WithAlgorithms("HS256")},
		{"no algorithm", stepuptest.WithAlgorithms()},
		{"duplicate algorithm", stepuptest.WithAlgorithms("ES256", "ES256")},
		{"path without slash", stepuptest.WithIssuerPath("tenant")},
		{"path with brace", stepuptest.WithIssuerPath("/{x}")},
		{"path with double slash", stepuptest.WithIssuerPath("//x")},
		{"empty audience", stepuptest.WithAudience("")},
		{"empty client id", stepuptest.WithClientID("")},
		{"zero ttl", stepuptest.WithTokenTTL(0)},
		{"negative slow delay", stepuptest.WithSlowDelay(-time.Second)},
		{"empty content type", stepuptest.WithJWKSContentType("")},
		{"nil clock", stepuptest.WithClock(nil)},
		{"empty acr", stepuptest.WithACR("")},
		{"default acr unknown", stepuptest.WithDefaultACR("urn:nope")},
		{"metadata not JSON", stepuptest.WithMetadata(map[string]any{"x": make(chan int)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := stepuptest.NewIssuer(tt.opt)
			if err == nil {
				iss.Close()
				t.Fatal("NewIssuer succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), "stepuptest: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	if _, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("XS256")); !errors.Is(err, stepuptest.ErrUnsupportedAlgorithm) {
		t.Errorf("unknown algorithm: got %v, want ErrUnsupportedAlgorithm", err)
	}
}

// TestNilOption: a nil Option is a mistake (an option built conditionally
// and left unset), reported instead of skipped, wherever it is.
func TestNilOption(t *testing.T) {
	for _, opts := range [][]stepuptest.Option{
		{nil},
		{stepuptest.WithAlgorithms("ES256"), nil},
		{nil, stepuptest.WithAlgorithms("ES256")},
	} {
		iss, err := stepuptest.NewIssuer(opts...)
		if err == nil {
			iss.Close()
			t.Fatalf("NewIssuer(%d options with a nil one) succeeded, want an error", len(opts))
		}
		if got, want := err.Error(), "stepuptest: nil option"; got != want {
			t.Errorf("NewIssuer with a nil option: got %q, want %q", got, want)
		}
	}
}

// TestDefaults: the defaults the option docs state.
func TestDefaults(t *testing.T) {
	iss := newIssuer(t)
	if got, want := iss.Audience(), "https://api.example.com"; got != want {
		t.Errorf("Audience() = %q, want %q", got, want)
	}
	if got, want := iss.ClientID(), "stepuptest-client"; got != want {
		t.Errorf("ClientID() = %q, want %q", got, want)
	}
	if got, want := iss.Algorithms(), []string{"RS256", "ES256", "EdDSA"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Algorithms() = %v, want %v", got, want)
	}
	tok, err := iss.Mint(stepuptest.Token{})
	if err != nil {
		t.Fatal(err)
	}
	if _, c := decode(t, tok); c["exp"].(float64)-c["iat"].(float64) != 300 || c["sub"] != stepuptest.DefaultSubject {
		t.Errorf("exp - iat = %v, sub %v; want 300 s, %q", c["exp"].(float64)-c["iat"].(float64), c["sub"], stepuptest.DefaultSubject)
	}
}

func TestJWKS(t *testing.T) {
	iss := newIssuer(t)
	resp, b := get(t, iss, iss.JWKSURL())
	if got := resp.Header.Get("Content-Type"); got != "application/jwk-set+json" {
		t.Errorf("Content-Type = %q, want %q", got, "application/jwk-set+json")
	}
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("Cache-Control = %q, want public, max-age=300", got)
	}
	if got, want := string(b), string(iss.JWKS()); got != want {
		t.Errorf("served JWKS differs from JWKS()")
	}
	set, err := jwk.Parse(b)
	if err != nil {
		t.Fatalf("jwk.Parse: %v", err)
	}
	want := map[string]struct {
		alg string
		kty jwa.KeyType
	}{
		iss.KeyID("RS256"): {"RS256", jwa.RSA()},
		iss.KeyID("ES256"): {"ES256", jwa.EC()},
		iss.KeyID("EdDSA"): {"EdDSA", jwa.OKP()},
	}
	if set.Len() != len(want) {
		t.Fatalf("JWKS has %d keys, want %d", set.Len(), len(want))
	}
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		w, ok := want[kid]
		if !ok {
			t.Errorf("unexpected kid %q", kid)
			continue
		}
		if alg, _ := k.Algorithm(); alg.String() != w.alg {
			t.Errorf("kid %s: alg = %s, want %s", kid, alg, w.alg)
		}
		if k.KeyType() != w.kty {
			t.Errorf("kid %s: kty = %s, want %s", kid, k.KeyType(), w.kty)
		}
		if use, _ := k.KeyUsage(); use != "sig" {
			t.Errorf("kid %s: use = %q, want sig", kid, use)
		}
		if tp, err := k.Thumbprint(crypto.SHA256); err != nil || len(tp) == 0 {
			t.Errorf("kid %s: thumbprint: %v", kid, err)
		}
		if _, err := jwk.PublicKeyOf(k); err != nil {
			t.Errorf("kid %s: not a public key: %v", kid, err)
		}
		var raw map[string]any
		kb, _ := json.Marshal(k)
		_ = json.Unmarshal(kb, &raw)
		for _, priv := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := raw[priv]; ok {
				t.Errorf("kid %s: private member %q published", kid, priv)
			}
		}
	}
	if got := iss.KeyID(""); got != iss.KeyID("RS256") {
		t.Errorf("KeyID() = %q, want the RS256 kid", got)
	}
	if got := iss.KeyID("ES512"); got != "" {
		t.Errorf("KeyID(ES512) = %q, want empty", got)
	}
	if got := iss.Requests().JWKS; got != 1 {
		t.Errorf("Requests().JWKS = %d, want 1", got)
	}
}

func TestJWKSContentType(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithAlgorithms("EdDSA"),
		stepuptest.WithJWKSContentType("application/json; charset=utf-8"),
		stepuptest.WithCacheControl("max-age=60"))
	resp, _ := get(t, iss, iss.JWKSURL())
	if got := resp.Header.Get("Content-Type"); got != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := resp.Header.Get("Cache-Control"); got != "max-age=60" {
		t.Errorf("Cache-Control = %q", got)
	}
}

func TestRotate(t *testing.T) {
	for _, removeOld := range []bool{false, true} {
		name := "graceful"
		opts := []stepuptest.Option{stepuptest.WithAlgorithms("ES256", "EdDSA")}
		if removeOld {
			name = "abrupt"
			opts = append(opts, stepuptest.WithRotateRemovesOld())
		}
		t.Run(name, func(t *testing.T) {
			iss := newIssuer(t, opts...)
			oldKID := iss.KeyID("")
			oldTok, err := iss.Mint(stepuptest.Token{})
			if err != nil {
				t.Fatal(err)
			}
			before := string(iss.JWKS())
			newKID, err := iss.Rotate("")
			if err != nil {
				t.Fatal(err)
			}
			if newKID == oldKID || newKID != iss.KeyID("") {
				t.Fatalf("Rotate() = %q, KeyID() = %q, old %q: want a new current kid", newKID, iss.KeyID(""), oldKID)
			}
			if string(iss.JWKS()) == before {
				t.Fatal("JWKS unchanged by Rotate")
			}
			got := kids(servedKeys(t, iss))
			want := []string{oldKID, iss.KeyID("EdDSA"), newKID}
			if removeOld {
				want = want[1:]
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("kids = %v, want %v", got, want)
			}
			tok, err := iss.Mint(stepuptest.Token{})
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := decode(t, tok); h["kid"] != newKID {
				t.Errorf("new token kid = %v, want %q", h["kid"], newKID)
			}
			if !verifies(t, iss, tok) {
				t.Error("new-key token does not verify")
			}
			if got := verifies(t, iss, oldTok); got != !removeOld {
				t.Errorf("old-key token verifies = %v, want %v", got, !removeOld)
			}
			// The old key can still sign on request.
			again, err := iss.Mint(stepuptest.Token{KeyID: oldKID})
			if err != nil {
				t.Fatal(err)
			}
			if h, _ := decode(t, again); h["kid"] != oldKID {
				t.Errorf("KeyID token kid = %v, want %q", h["kid"], oldKID)
			}
		})
	}
	// Rotate(alg) rotates the key of alg only.
	iss := newIssuer(t, stepuptest.WithAlgorithms("ES256", "EdDSA"))
	es, ed := iss.KeyID("ES256"), iss.KeyID("EdDSA")
	kid, err := iss.Rotate("EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	if kid == ed || iss.KeyID("EdDSA") != kid || iss.KeyID("ES256") != es || iss.KeyID("") != es {
		t.Errorf("Rotate(EdDSA) = %q: KeyID(EdDSA) %q (was %q), KeyID(ES256) %q (was %q), KeyID(\"\") %q",
			kid, iss.KeyID("EdDSA"), ed, iss.KeyID("ES256"), es, iss.KeyID(""))
	}
	if _, err := iss.Rotate("RS256"); !errors.Is(err, stepuptest.ErrUnsupportedAlgorithm) {
		t.Errorf("Rotate(RS256) without an RS256 key: got %v, want ErrUnsupportedAlgorithm", err)
	}
}

func TestRemoveRestoreAddKey(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithAlgorithms("ES256", "EdDSA"))
	es, ed := iss.KeyID("ES256"), iss.KeyID("EdDSA")
	tok, err := iss.Mint(stepuptest.Token{})
	if err != nil {
		t.Fatal(err)
	}
	if err := iss.RemoveKey(es); err != nil {
		t.Fatal(err)
	}
	if err := iss.RemoveKey(es); err != nil {
		t.Errorf("second RemoveKey: %v, want nil", err)
	}
	if got, want := kids(servedKeys(t, iss)), []string{ed}; !reflect.DeepEqual(got, want) {
		t.Errorf("after RemoveKey kids = %v, want %v", got, want)
	}
	if verifies(t, iss, tok) {
		t.Error("token of a removed key verifies")
	}
	if err := iss.RestoreKey(es); err != nil {
		t.Fatal(err)
	}
	if !verifies(t, iss, tok) {
		t.Error("token of a restored key does not verify")
	}
	if err := iss.RemoveKey("nope"); !errors.Is(err, stepuptest.ErrUnknownKey) {
		t.Errorf("RemoveKey(nope) = %v, want ErrUnknownKey", err)
	}
	if err := iss.RestoreKey("nope"); !errors.Is(err, stepuptest.ErrUnknownKey) {
		t.Errorf("RestoreKey(nope) = %v, want ErrUnknownKey", err)
	}

	bad := `{"kty":"RSA","kid":"small","use":"enc","n":"AQAB","e":"AQAB"}`
	if err := iss.AddRawKey([]byte(bad)); err != nil {
		t.Fatal(err)
	}
	if err := iss.AddRawKey([]byte(`[1]`)); err == nil {
		t.Error("AddRawKey of a non-object succeeded")
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	_, b := get(t, iss, iss.JWKSURL())
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if got := len(doc.Keys); got != 3 {
		t.Fatalf("served %d keys, want 3", got)
	}
	if got := string(doc.Keys[2]); got != bad {
		t.Errorf("raw key served as %s, want %s", got, bad)
	}
}

func TestAccessors(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithAlgorithms("EdDSA", "ES256"),
		stepuptest.WithAudience("https://api.test"), stepuptest.WithClientID("cli"))
	if got := iss.Algorithms(); !slices.Equal(got, []string{"EdDSA", "ES256"}) {
		t.Errorf("Algorithms() = %v", got)
	}
	if iss.Audience() != "https://api.test" || iss.ClientID() != "cli" {
		t.Errorf("Audience() = %q, ClientID() = %q", iss.Audience(), iss.ClientID())
	}
	if got, ok := iss.AMR(claims.ACRMultiFactor); !ok || !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Errorf("AMR(multi-factor) = %v, %v", got, ok)
	}
	if _, ok := iss.AMR("urn:nope"); ok {
		t.Error("AMR(urn:nope) ok, want false")
	}
	if !strings.HasPrefix(iss.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q, want loopback", iss.URL())
	}
}
