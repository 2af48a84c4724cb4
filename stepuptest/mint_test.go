package stepuptest_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClock() time.Time { return t0 }

func TestMintDefaultsVerify(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithClock(fixedClock))
	set := servedKeys(t, iss)
	for _, alg := range []string{"", "RS256", "ES256", "EdDSA"} {
		t.Run("alg="+alg, func(t *testing.T) {
			tok, err := iss.Mint(stepuptest.Token{Algorithm: alg})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := jws.Verify([]byte(tok), jws.WithKeySet(set)); err != nil {
				t.Fatalf("jws.Verify: %v", err)
			}
			wantAlg := alg
			if wantAlg == "" {
				wantAlg = "RS256"
			}
			h, c := decode(t, tok)
			wantH := map[string]any{"alg": wantAlg, "typ": "at+jwt", "kid": iss.KeyID(wantAlg)}
			if !reflect.DeepEqual(h, wantH) {
				t.Errorf("header = %v, want %v", h, wantH)
			}
			jti, _ := c["jti"].(string)
			if len(jti) < 16 {
				t.Errorf("jti = %q, want a random value", jti)
			}
			delete(c, "jti")
			wantC := map[string]any{
				"iss":       iss.Issuer(),
				"sub":       stepuptest.DefaultSubject,
				"aud":       "https://api.example.com",
				"client_id": "stepuptest-client",
				"iat":       float64(t0.Unix()),
				"exp":       float64(t0.Add(5 * time.Minute).Unix()),
			}
			if !reflect.DeepEqual(c, wantC) {
				t.Errorf("claims = %v, want %v", c, wantC)
			}
		})
	}
	a, _ := iss.Mint(stepuptest.Token{})
	b, _ := iss.Mint(stepuptest.Token{})
	if _, ca := decode(t, a); ca["jti"] == mustClaims(t, b)["jti"] {
		t.Error("two tokens share a jti")
	}
}

func mustClaims(t *testing.T, tok string) map[string]any {
	t.Helper()
	_, c := decode(t, tok)
	return c
}

func TestMintClaims(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithClock(fixedClock), stepuptest.WithAlgorithms("ES256"),
		stepuptest.WithTokenTTL(time.Hour))
	auth := t0.Add(-10 * time.Minute)
	tests := []struct {
		name string
		tok  stepuptest.Token
		want map[string]any // claims that must have these values; nil value: must be absent
	}{
		{"ttl option", stepuptest.Token{}, map[string]any{"exp": float64(t0.Add(time.Hour).Unix()), "acr": nil, "amr": nil, "auth_time": nil, "scope": nil, "nbf": nil}},
		{"step-up fields", stepuptest.Token{
			Subject: "bob", ClientID: "app", ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "otp"},
			AuthTime: auth, Scopes: []string{"read", "transfer"}, JTI: "j1",
		}, map[string]any{
			"sub": "bob", "client_id": "app", "acr": claims.ACRMultiFactor, "amr": []any{"pwd", "otp"},
			"auth_time": float64(auth.Unix()), "scope": "read transfer", "jti": "j1",
		}},
		{"times", stepuptest.Token{IssuedAt: auth, Expiry: t0.Add(time.Minute), NotBefore: t0}, map[string]any{
			"iat": float64(auth.Unix()), "exp": float64(t0.Add(time.Minute).Unix()), "nbf": float64(t0.Unix()),
		}},
		{"expiry from issued at", stepuptest.Token{IssuedAt: auth}, map[string]any{"exp": float64(auth.Add(time.Hour).Unix())}},
		{"one audience is a string", stepuptest.Token{Audience: []string{"https://a"}}, map[string]any{"aud": "https://a"}},
		{"several audiences are an array", stepuptest.Token{Audience: []string{"https://a", "https://b"}}, map[string]any{"aud": []any{"https://a", "https://b"}}},
		{"claims override and remove", stepuptest.Token{ACR: "x", Claims: map[string]any{
			"acr": nil, "exp": nil, "iss": "https://other", "https://example.com/acr": claims.ACRMultiFactor,
			"scp": []string{"a", "b"}, "n": json.RawMessage("null"),
		}}, map[string]any{
			"acr": nil, "exp": nil, "iss": "https://other", "https://example.com/acr": claims.ACRMultiFactor,
			"scp": []any{"a", "b"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Mint(tt.tok)
			if err != nil {
				t.Fatal(err)
			}
			if !verifies(t, iss, tok) {
				t.Error("token does not verify")
			}
			_, c := decode(t, tok)
			for k, want := range tt.want {
				got, ok := c[k]
				if want == nil {
					if ok {
						t.Errorf("claim %s = %v, want absent", k, got)
					}
					continue
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("claim %s = %#v, want %#v", k, got, want)
				}
			}
		})
	}
	tok, _ := iss.Mint(stepuptest.Token{Claims: map[string]any{"n": json.RawMessage("null")}})
	if v, ok := mustClaims(t, tok)["n"]; !ok || v != nil {
		t.Errorf("json null claim = %v, %v; want present null", v, ok)
	}
}

// pubKey returns the served public key with kid.
func pubKey(t *testing.T, iss *stepuptest.Issuer, kid string) jwk.Key {
	t.Helper()
	k, ok := servedKeys(t, iss).LookupKeyID(kid)
	if !ok {
		t.Fatalf("kid %q not served", kid)
	}
	return k
}

func TestMintHeaders(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithClock(fixedClock), stepuptest.WithAlgorithms("RS256", "ES256"))
	rsKID := iss.KeyID("RS256")
	rsPub := pubKey(t, iss, rsKID)
	var rawRS any
	if err := jwk.Export(rsPub, &rawRS); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		tok       stepuptest.Token
		wantH     map[string]any
		verifyAlg jwa.SignatureAlgorithm // verify with the RSA public key and this alg
		hmacKey   []byte                 // or with this HMAC key
		wantSig   bool                   // false: empty signature
	}{
		{"typ JWT", stepuptest.Token{Header: map[string]any{"typ": "JWT"}},
			map[string]any{"alg": "RS256", "kid": rsKID, "typ": "JWT"}, jwa.RS256(), nil, true},
		{"no typ", stepuptest.Token{Header: map[string]any{"typ": nil}},
			map[string]any{"alg": "RS256", "kid": rsKID}, jwa.RS256(), nil, true},
		{"kid override", stepuptest.Token{Header: map[string]any{"kid": "../../etc/passwd"}},
			map[string]any{"alg": "RS256", "kid": "../../etc/passwd", "typ": "at+jwt"}, jwa.RS256(), nil, true},
		{"numeric kid", stepuptest.Token{Header: map[string]any{"kid": 7}},
			map[string]any{"alg": "RS256", "kid": 7.0, "typ": "at+jwt"}, jwa.RS256(), nil, true},
		{"jku and crit", stepuptest.Token{Header: map[string]any{"jku": "https://evil.example/jwks", "crit": []string{"exp"}, "exp": 1}},
			map[string]any{"alg": "RS256", "kid": rsKID, "typ": "at+jwt", "jku": "https://evil.example/jwks", "crit": []any{"exp"}, "exp": 1.0}, jwa.RS256(), nil, true},
		{"PS256 with the RS256 key", stepuptest.Token{Algorithm: "PS256"},
			map[string]any{"alg": "PS256", "kid": rsKID, "typ": "at+jwt"}, jwa.PS256(), nil, true},
		{"header alg lies", stepuptest.Token{Header: map[string]any{"alg": "RS512"}},
			map[string]any{"alg": "RS512", "kid": rsKID, "typ": "at+jwt"}, jwa.RS256(), nil, true},
		{"HS256 with the public key", stepuptest.Token{Algorithm: "HS256", HMACKey: []byte("pem bytes")},
			map[string]any{"alg": "HS256", "typ": "at+jwt"}, jwa.HS256(), []byte("pem bytes"), true},
		{"alg none", stepuptest.Token{Algorithm: "none"},
			map[string]any{"alg": "none", "typ": "at+jwt"}, jwa.EmptySignatureAlgorithm(), nil, false},
		{"alg None spelling", stepuptest.Token{Algorithm: "none", Header: map[string]any{"alg": "NoNe"}},
			map[string]any{"alg": "NoNe", "typ": "at+jwt"}, jwa.EmptySignatureAlgorithm(), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Mint(tt.tok)
			if err != nil {
				t.Fatal(err)
			}
			h, _ := decode(t, tok)
			if !reflect.DeepEqual(h, tt.wantH) {
				t.Errorf("header = %v, want %v", h, tt.wantH)
			}
			sig := tok[strings.LastIndex(tok, ".")+1:]
			if (sig != "") != tt.wantSig {
				t.Fatalf("signature %q, want present %v", sig, tt.wantSig)
			}
			if !tt.wantSig {
				return
			}
			parts := strings.Split(tok, ".")
			rawSig, err := base64.RawURLEncoding.DecodeString(parts[2])
			if err != nil {
				t.Fatal(err)
			}
			var key any = rawRS
			if tt.hmacKey != nil {
				key = tt.hmacKey
			}
			// Check the signature over the header bytes as sent, whatever
			// they say.
			v, err := jws.VerifierFor(tt.verifyAlg)
			if err != nil {
				t.Fatal(err)
			}
			if err := v.Verify(key, []byte(parts[0]+"."+parts[1]), rawSig); err != nil {
				t.Errorf("signature does not verify with %s: %v", tt.verifyAlg, err)
			}
		})
	}
}

func TestMintErrors(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithAlgorithms("ES256"))
	tests := []struct {
		name string
		tok  stepuptest.Token
		want error
	}{
		{"unknown algorithm", stepuptest.Token{Algorithm: "XS256"}, stepuptest.ErrUnsupportedAlgorithm},
		{"no key for algorithm", stepuptest.Token{Algorithm: "RS256"}, stepuptest.ErrUnsupportedAlgorithm},
		{"other curve", stepuptest.Token{Algorithm: "ES384"}, stepuptest.ErrUnsupportedAlgorithm},
		{"hmac without key", stepuptest.Token{Algorithm: "HS256"}, stepuptest.ErrUnsupportedAlgorithm},
		{"unknown kid", stepuptest.Token{KeyID: "nope"}, stepuptest.ErrUnknownKey},
		{"kid of another family", stepuptest.Token{KeyID: iss.KeyID(""), Algorithm: "EdDSA"}, stepuptest.ErrUnsupportedAlgorithm},
		{"claim not JSON", stepuptest.Token{Claims: map[string]any{"x": make(chan int)}}, nil},
		{"header not JSON", stepuptest.Token{Header: map[string]any{"x": make(chan int)}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Mint(tt.tok)
			if err == nil {
				t.Fatalf("Mint = %q, want an error", tok)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Mint error = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "stepuptest: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}
