package introspect_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
)

const (
	asIssuer = "https://as.example.net"
	jwtType  = "application/token-introspection+jwt"
)

// signingKey is a key of the fake authorization server.
type signingKey struct {
	kid, alg string
	priv     crypto.Signer
}

func newSigningKey(t testing.TB, alg string) signingKey {
	t.Helper()
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256", "PS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no key for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{kid: "k-" + strings.ToLower(alg), alg: alg, priv: priv}
}

var b64url = base64.RawURLEncoding

// jwk is the public JWK of k.
func (k signingKey) jwk() map[string]string {
	m := map[string]string{"kid": k.kid, "use": "sig"}
	switch pub := k.priv.Public().(type) {
	case *ecdsa.PublicKey:
		b, err := pub.Bytes()
		if err != nil {
			panic(err)
		}
		m["kty"], m["crv"], m["x"], m["y"] = "EC", "P-256", b64url.EncodeToString(b[1:33]), b64url.EncodeToString(b[33:])
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64url.EncodeToString(pub.N.Bytes()), "AQAB"
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64url.EncodeToString(pub)
	}
	return m
}

// keySet is jwks.NewStatic of the public keys.
func keySet(t testing.TB, keys ...signingKey) *jwks.Set {
	t.Helper()
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	for _, k := range keys {
		doc.Keys = append(doc.Keys, k.jwk())
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	set, err := jwks.NewStatic(b)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// signRaw signs the header and payload JSON texts as given, by alg, with
// key (a crypto.Signer, or []byte for HS256).
func signRaw(t testing.TB, key any, alg, header, payload string) string {
	t.Helper()
	input := b64url.EncodeToString([]byte(header)) + "." + b64url.EncodeToString([]byte(payload))
	sig, err := jwsbb.Sign(key, alg, []byte(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64url.EncodeToString(sig)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// header is the header k signs responses with.
func (k signingKey) header() map[string]any {
	return map[string]any{"alg": k.alg, "kid": k.kid, "typ": "token-introspection+jwt"}
}

// responseClaims are the claims of a good response at t0 carrying inner.
func responseClaims(inner any) map[string]any {
	return map[string]any{"iss": asIssuer, "aud": "rs", "iat": t0.Unix(), "token_introspection": inner}
}

// sign is a response signed by k with the header and claims.
func (k signingKey) sign(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	return signRaw(t, k.priv, k.alg, mustJSON(t, header), mustJSON(t, claims))
}

// rfc9470Inner is the RFC 9470 §6.2 introspection response.
var rfc9470Inner = map[string]any{
	"active": true, "client_id": "s6BhdRkqt3", "scope": "purchase",
	"sub": "someone@example.net", "aud": "https://rs.example.com", "iss": asIssuer,
	"exp": 1639528912, "iat": 1618354090, "auth_time": 1646340198, "acr": "myACR",
}

// jwtAnswer answers 200 with the body as application/token-introspection+jwt.
func jwtAnswer(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", jwtType)
		io.WriteString(w, body)
	}
}

// signedConfig is config for s with SignedResponses and the keys.
func signedConfig(s *server, clk *clock, keys jwks.Source) introspect.Config {
	cfg := config(s, clk)
	cfg.Issuer = asIssuer
	cfg.SignedResponses = true
	cfg.Keys = keys
	return cfg
}

func TestSignedResponse(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "PS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k := newSigningKey(t, alg)
			other := newSigningKey(t, "ES256")
			other.kid = "other"
			s := newServer(t, jwtAnswer(k.sign(t, k.header(), responseClaims(rfc9470Inner))))
			cfg := signedConfig(s, newClock(), keySet(t, other, k))
			cfg.Audience = "https://rs.example.com"
			cl, err := mustNew(t, cfg).Introspect(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			if cl.Subject != "someone@example.net" || cl.ACR != "myACR" || cl.AuthTime.Unix() != 1646340198 || cl.Issuer != asIssuer {
				t.Errorf("got sub %q acr %q auth_time %d iss %q; want the token_introspection claims",
					cl.Subject, cl.ACR, cl.AuthTime.Unix(), cl.Issuer)
			}
			if _, ok := cl.Claim("token_introspection"); ok {
				t.Error("the claims are the response's, not the token's")
			}
			if got := s.last().header.Get("Accept"); got != jwtType {
				t.Errorf("Accept %q, want %q", got, jwtType)
			}
		})
	}
}

// Variants of the header and the claims that are accepted.
func TestSignedResponseAccepted(t *testing.T) {
	k := newSigningKey(t, "ES256")
	inner := map[string]any{"active": true, "sub": "alice"}
	tests := []struct {
		name   string
		header func(map[string]any)
		claims func(map[string]any)
	}{
		{"typ with application/", func(h map[string]any) { h["typ"] = "application/token-introspection+jwt" }, nil},
		{"typ in capitals", func(h map[string]any) { h["typ"] = "Application/Token-Introspection+JWT" }, nil},
		{"no kid, one key", func(h map[string]any) { delete(h, "kid") }, nil},
		{"aud an array", nil, func(c map[string]any) { c["aud"] = []string{"other", "rs"} }},
		{"iat within leeway", nil, func(c map[string]any) { c["iat"] = t0.Add(30 * time.Second).Unix() }},
		{"exp ahead", nil, func(c map[string]any) { c["exp"] = t0.Add(time.Minute).Unix() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, c := k.header(), responseClaims(inner)
			if tt.header != nil {
				tt.header(h)
			}
			if tt.claims != nil {
				tt.claims(c)
			}
			s := newServer(t, jwtAnswer(k.sign(t, h, c)))
			cl, err := mustNew(t, signedConfig(s, newClock(), keySet(t, k))).Introspect(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			if cl.Subject != "alice" {
				t.Errorf("sub %q, want alice", cl.Subject)
			}
		})
	}
}

// wantSignedRefused fails unless err is an outage wrapping
// ErrSignedResponse whose text contains want.
func wantSignedRefused(t *testing.T, err error, want string) {
	t.Helper()
	wantUnavailable(t, err)
	if !errors.Is(err, introspect.ErrSignedResponse) {
		t.Fatalf("got %v, want an error wrapping ErrSignedResponse", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to mention %q", err, want)
	}
	noToken(t, err)
}

func TestSignedResponseRefused(t *testing.T) {
	k := newSigningKey(t, "ES256")
	rk := newSigningKey(t, "RS256")
	stranger := newSigningKey(t, "ES256") // same kid as k, not in the set
	inner := map[string]any{"active": true, "sub": "alice"}
	good := func() (map[string]any, map[string]any) { return k.header(), responseClaims(inner) }
	signed := func(edit func(h, c map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string {
			h, c := good()
			edit(h, c)
			return k.sign(t, h, c)
		}
	}
	tests := []struct {
		name string
		body func(t *testing.T) string
		want string
	}{
		{"no typ", signed(func(h, _ map[string]any) { delete(h, "typ") }), "no typ"},
		{"typ JWT", signed(func(h, _ map[string]any) { h["typ"] = "JWT" }), `typ "JWT"`},
		{"typ at+jwt", signed(func(h, _ map[string]any) { h["typ"] = "at+jwt" }), `typ "at+jwt"`},
		{"typ not a string", signed(func(h, _ map[string]any) { h["typ"] = 1 }), "typ is not a string"},
		{"alg none", func(t *testing.T) string {
			h, c := good()
			h["alg"] = "none"
			return b64url.EncodeToString([]byte(mustJSON(t, h))) + "." + b64url.EncodeToString([]byte(mustJSON(t, c))) + ".c2ln"
		}, `alg "none" not allowed`},
		{"alg none, no signature", func(t *testing.T) string {
			h, c := good()
			h["alg"] = "none"
			return b64url.EncodeToString([]byte(mustJSON(t, h))) + "." + b64url.EncodeToString([]byte(mustJSON(t, c))) + "."
		}, "no signature"},
		{"alg HS256", func(t *testing.T) string {
			h, c := good()
			h["alg"] = "HS256"
			return signRaw(t, []byte("a shared secret of thirty-two by"), "HS256", mustJSON(t, h), mustJSON(t, c))
		}, `alg "HS256" not allowed`},
		{"alg not in the allowlist", func(t *testing.T) string {
			h, c := rk.header(), responseClaims(inner)
			return rk.sign(t, h, c) // RS256; the test allows ES256 only
		}, `alg "RS256" not allowed`},
		{"bad signature", func(t *testing.T) string {
			jwt := k.sign(t, k.header(), responseClaims(inner))
			sig, _ := b64url.DecodeString(jwt[strings.LastIndexByte(jwt, '.')+1:])
			sig[5] ^= 1
			return jwt[:strings.LastIndexByte(jwt, '.')+1] + b64url.EncodeToString(sig)
		}, "bad signature"},
		{"signed by a stranger", func(t *testing.T) string {
			return stranger.sign(t, k.header(), responseClaims(inner))
		}, "bad signature"},
		{"claims swapped after signing", func(t *testing.T) string {
			jwt := k.sign(t, k.header(), responseClaims(inner))
			parts := strings.Split(jwt, ".")
			parts[1] = b64url.EncodeToString([]byte(mustJSON(t, responseClaims(map[string]any{"active": true, "sub": "mallory"}))))
			return strings.Join(parts, ".")
		}, "bad signature"},
		{"unknown kid", signed(func(h, _ map[string]any) { h["kid"] = "nope" }), `key "nope"`},
		{"no kid, two keys", signed(func(h, _ map[string]any) { delete(h, "kid") }), `key ""`},
		{"kid not a string", signed(func(h, _ map[string]any) { h["kid"] = 7 }), "kid is not a string"},
		{"crit", signed(func(h, _ map[string]any) { h["crit"] = []string{"exp"}; h["exp"] = 1 }), "crit"},
		{"duplicate header member", func(t *testing.T) string {
			return signRaw(t, k.priv, "ES256", `{"alg":"ES256","kid":"k-es256","typ":"token-introspection+jwt","t\u0079p":"JWT"}`, mustJSON(t, responseClaims(inner)))
		}, "duplicate header member"},
		{"iss mismatch", signed(func(_, c map[string]any) { c["iss"] = "https://evil.example" }), `iss "https://evil.example"`},
		{"iss with a trailing slash", signed(func(_, c map[string]any) { c["iss"] = asIssuer + "/" }), `iss "https://as.example.net/"`},
		{"no iss", signed(func(_, c map[string]any) { delete(c, "iss") }), "no iss"},
		{"aud mismatch", signed(func(_, c map[string]any) { c["aud"] = "other" }), "lacks the client id"},
		{"no aud", signed(func(_, c map[string]any) { delete(c, "aud") }), "lacks the client id"},
		{"no iat", signed(func(_, c map[string]any) { delete(c, "iat") }), "no iat"},
		{"iat in the future", signed(func(_, c map[string]any) { c["iat"] = t0.Add(31 * time.Second).Unix() }), "in the future"},
		{"iat a string", signed(func(_, c map[string]any) { c["iat"] = "now" }), `"iat"`},
		{"expired", signed(func(_, c map[string]any) { c["exp"] = t0.Add(-31 * time.Second).Unix() }), "expired"},
		{"not yet valid", signed(func(_, c map[string]any) { c["nbf"] = t0.Add(31 * time.Second).Unix() }), "not valid before"},
		{"no token_introspection", signed(func(_, c map[string]any) { delete(c, "token_introspection") }), "no token_introspection"},
		{"token_introspection a string", signed(func(_, c map[string]any) { c["token_introspection"] = `{"active":true}` }), "not an object"},
		{"token_introspection null", signed(func(_, c map[string]any) { c["token_introspection"] = nil }), "not an object"},
		{"token_introspection an array", signed(func(_, c map[string]any) { c["token_introspection"] = []any{inner} }), "not an object"},
		{"duplicate claim", func(t *testing.T) string {
			return signRaw(t, k.priv, "ES256", mustJSON(t, k.header()),
				`{"iss":"`+asIssuer+`","aud":"rs","iat":1618354100,"token_introspection":{"active":false},"token_introspection":{"active":true}}`)
		}, "duplicate member"},
		{"not a JWS", func(*testing.T) string { return `{"active":true}` }, "not a compact JWS"},
		{"a JWE", func(*testing.T) string { return "a.b.c.d.e" }, "not a compact JWS"},
		{"padded base64", func(t *testing.T) string {
			jwt := k.sign(t, k.header(), responseClaims(inner))
			return strings.Replace(jwt, ".", "=.", 1)
		}, "bad base64url"},
		{"line break inside", func(t *testing.T) string {
			jwt := k.sign(t, k.header(), responseClaims(inner))
			return jwt[:10] + "\n" + jwt[10:]
		}, "not a compact JWS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, jwtAnswer(tt.body(t)))
			keys := keySet(t, k)
			if tt.name == "no kid, two keys" {
				other := newSigningKey(t, "ES256")
				other.kid = "other"
				keys = keySet(t, k, other)
			}
			cfg := signedConfig(s, newClock(), keys)
			cfg.ResponseAlgorithms = []string{"ES256"}
			cl, err := mustNew(t, cfg).Introspect(ctx, token)
			if cl != nil {
				t.Fatalf("got %d claims, want none", cl.Len())
			}
			wantSignedRefused(t, err, tt.want)
		})
	}
}

// The token_introspection object is judged like a plain answer: its
// refusals are the token's (invalid_token), not outages.
func TestSignedResponseInner(t *testing.T) {
	k := newSigningKey(t, "ES256")
	tests := []struct {
		inner string
		want  string
	}{
		{`{"active":false}`, introspect.ReasonInactive},
		{`{"active":"true"}`, introspect.ReasonMalformed},
		{`{}`, introspect.ReasonMalformed},
		{`{"active":true,"\u0061ctive":true}`, introspect.ReasonMalformed},
		{`{"active":true,"exp":"soon"}`, introspect.ReasonMalformed},
		{`{"active":true,"iss":"https://evil.example"}`, introspect.ReasonIssuer},
		{`{"active":true,"exp":1618354000}`, introspect.ReasonExpired},
	}
	for _, tt := range tests {
		t.Run(tt.inner, func(t *testing.T) {
			payload := `{"iss":"` + asIssuer + `","aud":"rs","iat":1618354100,"token_introspection":` + tt.inner + `}`
			s := newServer(t, jwtAnswer(signRaw(t, k.priv, "ES256", mustJSON(t, k.header()), payload)))
			_, err := mustNew(t, signedConfig(s, newClock(), keySet(t, k))).Introspect(ctx, token)
			if got := reason(t, err); got != tt.want {
				t.Errorf("reason %q, want %q", got, tt.want)
			}
		})
	}
}

// No downgrade: with SignedResponses, an answer that is not
// application/token-introspection+jwt is refused, whatever its body.
func TestSignedResponseContentType(t *testing.T) {
	k := newSigningKey(t, "ES256")
	jwt := k.sign(t, k.header(), responseClaims(map[string]any{"active": true}))
	tests := []struct {
		name, contentType, body string
	}{
		{"plain JSON", "application/json", `{"active":true,"sub":"alice"}`},
		{"a JWT labelled JSON", "application/json", jwt},
		{"application/jwt", "application/jwt", jwt},
		{"no content type", "", jwt},
		{"text", "text/plain", jwt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Content-Type"] = []string{tt.contentType}
				io.WriteString(w, tt.body)
			})
			_, err := mustNew(t, signedConfig(s, newClock(), keySet(t, k))).Introspect(ctx, token)
			wantSignedRefused(t, err, "content type")
		})
	}
	t.Run("with parameters", func(t *testing.T) {
		s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "Application/Token-Introspection+JWT; charset=utf-8")
			io.WriteString(w, jwt)
		})
		if _, err := mustNew(t, signedConfig(s, newClock(), keySet(t, k))).Introspect(ctx, token); err != nil {
			t.Errorf("got %v, want the answer accepted", err)
		}
	})
	t.Run("JWT answer without SignedResponses", func(t *testing.T) {
		s := newServer(t, jwtAnswer(jwt))
		_, err := mustNew(t, config(s, newClock())).Introspect(ctx, token)
		wantUnavailable(t, err)
		if got := s.last().header.Get("Accept"); got != "application/json" {
			t.Errorf("Accept %q, want application/json", got)
		}
	})
	// Error answers stay RFC 7662 §2.3 JSON.
	t.Run("client auth refused", func(t *testing.T) {
		s := newServer(t, status(http.StatusUnauthorized, `{"error":"invalid_client"}`))
		_, err := mustNew(t, signedConfig(s, newClock(), keySet(t, k))).Introspect(ctx, token)
		if !errors.Is(err, introspect.ErrClientAuth) || errors.Is(err, introspect.ErrSignedResponse) {
			t.Errorf("got %v, want ErrClientAuth only", err)
		}
	})
}

// A failed key lookup is an outage: a Source that is unavailable, or one
// that does not serve the issuer.
func TestSignedResponseKeyLookup(t *testing.T) {
	k := newSigningKey(t, "ES256")
	jwt := k.sign(t, k.header(), responseClaims(map[string]any{"active": true}))
	s := newServer(t, jwtAnswer(jwt))
	down := sourceFunc(func(iss, kid string) (*jwks.Key, error) {
		return nil, fmt.Errorf("keys down: %w", claims.ErrUnavailable)
	})
	_, err := mustNew(t, signedConfig(s, newClock(), down)).Introspect(ctx, token)
	wantSignedRefused(t, err, "keys down")

	var gotIss, gotKid string
	spy := sourceFunc(func(iss, kid string) (*jwks.Key, error) {
		gotIss, gotKid = iss, kid
		return keySet(t, k).Key(ctx, iss, kid)
	})
	if _, err := mustNew(t, signedConfig(s, newClock(), spy)).Introspect(ctx, token); err != nil {
		t.Fatal(err)
	}
	if gotIss != asIssuer || gotKid != k.kid {
		t.Errorf("Key(%q, %q), want Key(%q, %q)", gotIss, gotKid, asIssuer, k.kid)
	}

	// A custom Source handing over a key of the wrong type or alg.
	rk := newSigningKey(t, "RS256")
	for name, key := range map[string]*jwks.Key{
		"RSA key for ES256":   {ID: k.kid, KeyType: "RSA", Public: rk.priv.Public()},
		"EC key with kty RSA": {ID: k.kid, KeyType: "RSA", Public: k.priv.Public()},
		"key for ES384":       {ID: k.kid, KeyType: "EC", Algorithm: "ES384", Public: k.priv.Public()},
		"no public key":       {ID: k.kid, KeyType: "EC"},
	} {
		t.Run(name, func(t *testing.T) {
			src := sourceFunc(func(string, string) (*jwks.Key, error) { return key, nil })
			_, err := mustNew(t, signedConfig(s, newClock(), src)).Introspect(ctx, token)
			wantSignedRefused(t, err, "key")
		})
	}
}

// sourceFunc is a jwks.Source made of a function.
type sourceFunc func(iss, kid string) (*jwks.Key, error)

func (f sourceFunc) Key(_ context.Context, iss, kid string) (*jwks.Key, error) { return f(iss, kid) }

func TestNewSignedConfig(t *testing.T) {
	k := newSigningKey(t, "ES256")
	set := keySet(t, k)
	otherIssuer, err := jwks.NewMulti(map[string]jwks.Source{"https://other.example": set})
	if err != nil {
		t.Fatal(err)
	}
	ok := introspect.Config{Endpoint: "https://as.example.net/introspect", ClientID: "rs", ClientSecret: "s",
		Issuer: asIssuer, SignedResponses: true, Keys: set}
	tests := []struct {
		name string
		edit func(*introspect.Config)
		want string // in the message
	}{
		{"no Keys", func(c *introspect.Config) { c.Keys = nil }, "SignedResponses needs Keys"},
		{"no Issuer", func(c *introspect.Config) { c.Issuer = "" }, "SignedResponses needs Issuer"},
		{"Keys of another issuer", func(c *introspect.Config) { c.Keys = otherIssuer }, "not Issuer"},
		{"Keys alone", func(c *introspect.Config) { c.SignedResponses = false }, "Keys is set without SignedResponses"},
		{"ResponseAlgorithms alone", func(c *introspect.Config) {
			c.SignedResponses, c.Keys, c.ResponseAlgorithms = false, nil, []string{"ES256"}
		}, "ResponseAlgorithms is set without SignedResponses"},
		{"none", func(c *introspect.Config) { c.ResponseAlgorithms = []string{"ES256", "none"} }, `"none"`},
		{"None", func(c *introspect.Config) { c.ResponseAlgorithms = []string{"None"} }, `"none"`},
		{"HS256", func(c *introspect.Config) { c.ResponseAlgorithms = []string{"HS256"} }, `symmetric "HS256"`},
		{"HS512", func(c *introspect.Config) { c.ResponseAlgorithms = []string{"ES256", "HS512"} }, `symmetric "HS512"`},
		{"unknown", func(c *introspect.Config) { c.ResponseAlgorithms = []string{"es256"} }, `"es256"`},
		{"empty name", func(c *introspect.Config) { c.ResponseAlgorithms = []string{""} }, `""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.edit(&cfg)
			_, err := introspect.New(cfg)
			if !errors.Is(err, introspect.ErrConfig) {
				t.Fatalf("got %v, want an error wrapping ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := introspect.New(ok); err != nil {
		t.Errorf("the good config: %v", err)
	}
}

// New copies ResponseAlgorithms: changing the caller's slice afterwards
// changes nothing.
func TestResponseAlgorithmsCopied(t *testing.T) {
	k := newSigningKey(t, "ES256")
	s := newServer(t, jwtAnswer(k.sign(t, k.header(), responseClaims(map[string]any{"active": true}))))
	algs := []string{"RS256"}
	cfg := signedConfig(s, newClock(), keySet(t, k))
	cfg.NoCache = true
	cfg.ResponseAlgorithms = algs
	c := mustNew(t, cfg)
	algs[0] = "ES256"
	_, err := c.Introspect(ctx, token)
	wantSignedRefused(t, err, `alg "ES256" not allowed`)
}

// holdJWT is hold for a JWT answer.
func holdJWT(release <-chan struct{}, jwt string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		jwtAnswer(jwt)(w, r)
	}
}

func TestSignedCache(t *testing.T) {
	k := newSigningKey(t, "ES256")
	keys := keySet(t, k)
	exp := t0.Add(time.Minute).Unix()
	active := k.sign(t, k.header(), responseClaims(map[string]any{"active": true, "sub": "alice", "exp": exp}))

	t.Run("hit, bounded by the token's exp", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, jwtAnswer(active))
		c := mustNew(t, signedConfig(s, clk, keys))
		a, err := c.Introspect(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(59 * time.Second)
		b, err := c.Introspect(ctx, token)
		if err != nil || a != b {
			t.Fatalf("second call: %v, same claims %v; want a hit", err, a == b)
		}
		if n := s.requests(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
		if n := requestsAfter(t, c, s, clk, time.Second); n != 2 {
			t.Errorf("at the inner exp: %d requests, want 2", n)
		}
	})
	t.Run("inactive cached", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, jwtAnswer(k.sign(t, k.header(), responseClaims(map[string]any{"active": false}))))
		c := mustNew(t, signedConfig(s, clk, keys))
		for range 2 {
			_, err := c.Introspect(ctx, token)
			if got := reason(t, err); got != introspect.ReasonInactive {
				t.Fatalf("reason %q", got)
			}
		}
		if n := s.requests(); n != 1 {
			t.Errorf("%d requests, want 1 (the refusal cached)", n)
		}
	})
	t.Run("singleflight", func(t *testing.T) {
		const callers = 32
		release := make(chan struct{})
		s := newServer(t, holdJWT(release, active))
		c := mustNew(t, signedConfig(s, newClock(), keys))
		var wg sync.WaitGroup
		got := make([]*claims.Claims, callers)
		errs := make([]error, callers)
		for i := range callers {
			wg.Go(func() { got[i], errs[i] = c.Introspect(ctx, token) })
		}
		waitFor(t, func() bool { return introspect.Waiters(c, token) == callers })
		close(release)
		wg.Wait()
		for i := range callers {
			if errs[i] != nil || got[i] != got[0] || got[0].Subject != "alice" {
				t.Fatalf("caller %d: %v, %v", i, got[i], errs[i])
			}
		}
		if n := s.requests(); n != 1 {
			t.Errorf("%d concurrent first sights made %d requests, want 1", callers, n)
		}
	})
	// A refused JWT is an outage: not cached, and StaleTTL serves the
	// last answer known active through it.
	t.Run("refused JWT not cached, stale served", func(t *testing.T) {
		clk := newClock()
		s := newServer(t, jwtAnswer(active))
		cfg := signedConfig(s, clk, keys)
		cfg.CacheTTL, cfg.StaleTTL = 10*time.Second, 20*time.Second
		c := mustNew(t, cfg)
		if _, err := c.Introspect(ctx, token); err != nil {
			t.Fatal(err)
		}
		forged := newSigningKey(t, "ES256")
		s.set(jwtAnswer(forged.sign(t, k.header(), responseClaims(map[string]any{"active": false}))))
		clk.Add(15 * time.Second)
		cl, err := c.Introspect(ctx, token)
		if err != nil || cl.Subject != "alice" {
			t.Fatalf("within StaleTTL: %v, %v; want the stale answer", cl, err)
		}
		clk.Add(15 * time.Second) // past CacheTTL + StaleTTL
		_, err = c.Introspect(ctx, token)
		wantSignedRefused(t, err, "bad signature")
		_, err = c.Introspect(ctx, token)
		wantSignedRefused(t, err, "bad signature")
		if n := s.requests(); n != 4 {
			t.Errorf("%d requests, want 4 (refused JWTs are not cached)", n)
		}
	})
}

// Discover does not build a key source: SignedResponses without Keys is a
// configuration error, found before any request.
func TestDiscoverSignedNeedsKeys(t *testing.T) {
	s := newServer(t, answer(`{}`))
	_, err := introspect.Discover(ctx, "http://"+s.Listener.Addr().String(), introspect.Config{
		ClientID: "rs", ClientSecret: "secret", SignedResponses: true,
	})
	if !errors.Is(err, introspect.ErrConfig) || !strings.Contains(err.Error(), "needs Keys") {
		t.Fatalf("got %v, want a configuration error about Keys", err)
	}
	if n := s.requests(); n != 0 {
		t.Errorf("%d requests, want none", n)
	}
}
