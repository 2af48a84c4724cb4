package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/dsig"

	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
)

// attackerServer counts every request it gets: no token may make the
// verifier (or its key source) contact a URL the token names.
func attackerServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &hits
}

// attackerJWK is the attacker's public key as a JWK.
func attackerJWK() map[string]any {
	pub := &testKeys().attacker.PublicKey
	raw, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]any{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "p256",
		"x": base64.RawURLEncoding.EncodeToString(raw[1:33]),
		"y": base64.RawURLEncoding.EncodeToString(raw[33:]),
	}
}

// attackerCert is a self-signed certificate for the attacker's key, base64
// (standard, as x5c wants).
func attackerCert(t *testing.T) string {
	t.Helper()
	k := testKeys().attacker
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: testIssuer},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// hmacWith signs header.payload with HS256 using key bytes.
func hmacWith(key []byte, header, payload string) string {
	input := enc(header) + "." + enc(payload)
	sig, err := dsig.SignHMAC(key, []byte(input), sha256.New)
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// withSig replaces the signature part of raw.
func withSig(raw string, sig []byte) string {
	return raw[:strings.LastIndexByte(raw, '.')+1] + base64.RawURLEncoding.EncodeToString(sig)
}

func sigOf(raw string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(raw[strings.LastIndexByte(raw, '.')+1:])
	if err != nil {
		panic(err)
	}
	return b
}

// TestAttacks runs the attack list of issue 3: each must be rejected as
// invalid_token with the expected reason, and none may cause a request to
// the attacker's URL.
func TestAttacks(t *testing.T) {
	url, hits := attackerServer(t)
	m := testKeys()
	payload := mustJSON(claimSet(nil))
	rsaPub := &m.rsa.PublicKey
	der, err := x509.MarshalPKIXPublicKey(rsaPub)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwkBytes, err := json.Marshal(map[string]any{
		"kty": "RSA", "kid": "rsa",
		"n": base64.RawURLEncoding.EncodeToString(rsaPub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(rsaPub.E)).Bytes()),
	})
	if err != nil {
		t.Fatal(err)
	}
	hsHeader := `{"alg":"HS256","typ":"at+jwt","kid":"rsa"}`
	attackerSign := func(h map[string]any) string {
		return sign("ES256", m.attacker, mustJSON(h), payload)
	}
	es := mint("ES256", nil)
	rs := mint("RS256", nil)
	esParts := strings.Split(es, ".")
	idToken := mustJSON(map[string]any{
		"iss": testIssuer, "aud": testAudience, "sub": "user-1",
		"iat": testNow.Unix(), "exp": testNow.Add(time.Hour).Unix(),
		"nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "auth_time": testNow.Unix(),
	})

	tests := []struct {
		name    string
		raw     string
		cfg     func(*Config)
		want    Reason
		lookups int // key lookups allowed (-1: don't care)
	}{
		// alg none in every spelling, with and without a signature part.
		{"alg none", enc(`{"alg":"none","typ":"at+jwt"}`) + "." + enc(payload) + ".", nil, ReasonAlgorithm, 0},
		{"alg None", enc(`{"alg":"None","typ":"at+jwt"}`) + "." + enc(payload) + ".", nil, ReasonAlgorithm, 0},
		{"alg NONE", enc(`{"alg":"NONE","typ":"at+jwt"}`) + "." + enc(payload) + ".", nil, ReasonAlgorithm, 0},
		{"alg nOnE", enc(`{"alg":"nOnE","typ":"at+jwt"}`) + "." + enc(payload) + ".", nil, ReasonAlgorithm, 0},
		{"alg none with a signature", enc(`{"alg":"none","typ":"at+jwt","kid":"p256"}`) + "." + enc(payload) + "." + esParts[2], nil, ReasonAlgorithm, 0},
		{"alg none escaped", enc(`{"alg":"\u006eone","typ":"at+jwt"}`) + "." + enc(payload) + ".", nil, ReasonAlgorithm, 0},
		{"alg missing", enc(`{"typ":"at+jwt","kid":"p256"}`) + "." + enc(payload) + "." + esParts[2], nil, ReasonAlgorithm, 0},
		{"alg non-string", enc(`{"alg":["ES256"],"typ":"at+jwt","kid":"p256"}`) + "." + enc(payload) + "." + esParts[2], nil, ReasonMalformed, 0},
		{"alg lower case", enc(`{"alg":"es256","typ":"at+jwt","kid":"p256"}`) + "." + enc(payload) + "." + esParts[2], nil, ReasonAlgorithm, 0},

		// HS256 signed with the RSA public key's bytes (key confusion).
		{"HS256 with public key PEM", hmacWith(pemBytes, hsHeader, payload), nil, ReasonAlgorithm, 0},
		{"HS256 with public key DER", hmacWith(der, hsHeader, payload), nil, ReasonAlgorithm, 0},
		{"HS256 with public key JWK", hmacWith(jwkBytes, hsHeader, payload), nil, ReasonAlgorithm, 0},

		// Keys the token brings itself.
		{"embedded jwk", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "p256", "jwk": attackerJWK()}), nil, ReasonHeader, 0},
		{"embedded jwk without kid", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "jwk": attackerJWK()}), nil, ReasonHeader, 0},
		{"jku", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "attacker", "jku": url + "/jwks.json"}), nil, ReasonHeader, 0},
		{"x5u", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "attacker", "x5u": url + "/cert.pem"}), nil, ReasonHeader, 0},
		{"x5c", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "x5c": []string{attackerCert(t)}}), nil, ReasonHeader, 0},
		{"attacker key under a known kid", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "p256"}), nil, ReasonSignature, 1},

		// kid hygiene.
		{"kid path traversal", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "../../../../etc/passwd"}), nil, ReasonUnknownKey, 1},
		{"kid SQL", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "x' UNION SELECT key FROM keys WHERE '1'='1"}), nil, ReasonUnknownKey, 1},
		{"kid 10 KB", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": strings.Repeat("k", 10<<10)}), nil, ReasonTooLarge, 0},
		{"kid 10 KB, large size cap", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": strings.Repeat("k", 10<<10)}), func(c *Config) { c.MaxTokenSize = 64 << 10 }, ReasonKeyID, 0},
		{"kid with newline", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "p256\n"}), nil, ReasonKeyID, 0},
		{"kid number", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": 1}), nil, ReasonKeyID, 0},
		{"kid object", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": map[string]any{"$ne": ""}}), nil, ReasonKeyID, 0},
		{"kid array", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": []string{"p256"}}), nil, ReasonKeyID, 0},
		{"kid null", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": nil}), nil, ReasonKeyID, 0},

		// crit and b64.
		{"unknown crit", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"p256","crit":["http://example.com/ext"],"http://example.com/ext":true}`, payload), nil, ReasonHeader, 0},
		{"crit exp", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"p256","crit":["exp"],"exp":1}`, payload), nil, ReasonHeader, 0},
		{"b64 false", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"p256","b64":false,"crit":["b64"]}`, payload), nil, ReasonHeader, 0},

		// Key binding.
		{"alg differs from the JWK's alg", sign("PS256", m.rsa, `{"alg":"PS256","typ":"at+jwt","kid":"rsa-rs256"}`, payload), nil, ReasonKeyMismatch, 1},
		{"ES384 header on an ES256 JWK", sign("ES256", m.p256, `{"alg":"ES384","typ":"at+jwt","kid":"p256"}`, payload), nil, ReasonKeyMismatch, 1},
		{"RS256 header on an EC key", sign("ES256", m.p256, `{"alg":"RS256","typ":"at+jwt","kid":"p256"}`, payload), nil, ReasonKeyMismatch, 1},
		{"EdDSA header on an RSA key", sign("EdDSA", m.ed, `{"alg":"EdDSA","typ":"at+jwt","kid":"rsa"}`, payload), nil, ReasonKeyMismatch, 1},
		{"ES256 header on a P-384 key without alg", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"p384-noalg"}`, payload), nil, ReasonKeyMismatch, 1},
		{"RSA key under 2048 bits", sign("RS256", m.rsaSmall, `{"alg":"RS256","typ":"at+jwt","kid":"rsa-small"}`, payload), nil, ReasonKeyMismatch, 1},
		{"kty says oct", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"mislabelled"}`, payload), nil, ReasonKeyMismatch, 1},

		// Signatures.
		{"ES256 r=s=0 (CVE-2022-21449)", withSig(es, make([]byte, 64)), nil, ReasonSignature, 1},
		{"ES256 r=s=0, one byte each", withSig(es, []byte{0, 0}), nil, ReasonSignature, 1},
		{"ES256 truncated signature", withSig(es, sigOf(es)[:63]), nil, ReasonSignature, 1},
		{"ES256 signature with a byte appended", withSig(es, append(sigOf(es), 0)), nil, ReasonSignature, 1},
		{"ES256 DER signature", withSig(es, derSig(t, es)), nil, ReasonSignature, 1},
		{"RS256 truncated signature", withSig(rs, sigOf(rs)[:255]), nil, ReasonSignature, 1},
		{"RS256 flipped bit", withSig(rs, flip(sigOf(rs))), nil, ReasonSignature, 1},
		{"empty signature", strings.Join(esParts[:2], ".") + ".", nil, ReasonSignature, 0},
		{"payload swapped", esParts[0] + "." + enc(mustJSON(claimSet(func(c map[string]any) { c["sub"] = "admin" }))) + "." + esParts[2], nil, ReasonSignature, 1},

		// Serialization.
		{"2 parts", esParts[0] + "." + esParts[1], nil, ReasonMalformed, 0},
		{"1 part", esParts[0], nil, ReasonMalformed, 0},
		{"4 parts", es + "." + esParts[2], nil, ReasonMalformed, 0},
		{"5 parts (JWE)", enc(`{"alg":"RSA-OAEP","enc":"A256GCM","typ":"at+jwt"}`) + ".AAAA.AAAA.AAAA.AAAA", nil, ReasonMalformed, 0},
		{"empty", "", nil, ReasonMalformed, 0},
		{"dots only", "..", nil, ReasonMalformed, 0},
		{"empty header", "." + esParts[1] + "." + esParts[2], nil, ReasonMalformed, 0},
		{"JSON serialization", mustJSON(map[string]any{"payload": esParts[1], "protected": esParts[0], "signature": esParts[2]}), nil, ReasonMalformed, 0},
		{"JSON serialization, general", mustJSON(map[string]any{"payload": esParts[1], "signatures": []any{map[string]any{"protected": esParts[0], "signature": esParts[2]}}}), nil, ReasonMalformed, 0},
		{"padded header", padded(esParts[0]) + "." + esParts[1] + "." + esParts[2], nil, ReasonMalformed, 0},
		{"padded signature", esParts[0] + "." + esParts[1] + "." + esParts[2] + "==", nil, ReasonMalformed, 0},
		{"standard base64 alphabet", esParts[0] + "." + base64.RawStdEncoding.EncodeToString([]byte(mustJSON(claimSet(func(c map[string]any) { c["sub"] = "???>>>" })))) + "." + esParts[2], nil, ReasonMalformed, 0},
		{"line break in payload", esParts[0] + "." + esParts[1][:10] + "\n" + esParts[1][10:] + "." + esParts[2], nil, ReasonMalformed, 0},
		{"CR in signature", esParts[0] + "." + esParts[1] + "." + esParts[2][:10] + "\r" + esParts[2][10:], nil, ReasonMalformed, 0},
		{"space in header", esParts[0][:5] + " " + esParts[0][5:] + "." + esParts[1] + "." + esParts[2], nil, ReasonMalformed, 0},
		{"non-zero trailing bits", esParts[0] + "." + esParts[1] + "." + trailingBits(esParts[2]), nil, ReasonMalformed, 0},
		{"impossible length", esParts[0] + "." + esParts[1] + strings.Repeat("A", (5-len(esParts[1])%4)%4) + "." + esParts[2], nil, ReasonMalformed, 0},
		{"header not JSON", enc(`alg=ES256`) + "." + esParts[1] + "." + esParts[2], nil, ReasonMalformed, 0},
		{"header JSON array", enc(`["ES256"]`) + "." + esParts[1] + "." + esParts[2], nil, ReasonMalformed, 0},
		{"header trailing data", enc(`{"alg":"ES256","typ":"at+jwt","kid":"p256"} {}`) + "." + esParts[1] + "." + esParts[2], nil, ReasonMalformed, 0},
		{"header invalid UTF-8", enc("{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"p256\",\"x\":\"\xff\"}") + "." + esParts[1] + "." + esParts[2], nil, ReasonMalformed, 0},
		{"payload not JSON", sign("ES256", m.p256, stdHeader("ES256"), "not json"), nil, ReasonClaims, 0},

		// Duplicate JSON members.
		{"duplicate alg", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"p256","alg":"ES256"}`, payload), nil, ReasonMalformed, 0},
		{"duplicate alg, escaped", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"p256","\u0061lg":"none"}`, payload), nil, ReasonMalformed, 0},
		{"duplicate kid", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"p256","kid":"rsa"}`, payload), nil, ReasonMalformed, 0},
		{"duplicate typ", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","typ":"JWT","kid":"p256"}`, payload), nil, ReasonMalformed, 0},
		{"duplicate unknown member", sign("ES256", m.p256, `{"alg":"ES256","typ":"at+jwt","kid":"p256","x":1,"x":2}`, payload), nil, ReasonMalformed, 0},
		// Duplicates are found when the claim set is parsed, after the
		// signature (one key lookup); a duplicate iss, which chooses the
		// key, before any lookup.
		{"duplicate payload member", sign("ES256", m.p256, stdHeader("ES256"), strings.Replace(payload, "{", `{"sub":"admin",`, 1)), nil, ReasonClaims, 1},
		{"duplicate payload member, escaped", sign("ES256", m.p256, stdHeader("ES256"), strings.Replace(payload, "{", `{"\u0073ub":"admin",`, 1)), nil, ReasonClaims, 1},
		{"duplicate iss", sign("ES256", m.p256, stdHeader("ES256"), strings.Replace(payload, "{", `{"iss":"https://evil.example/",`, 1)), nil, ReasonClaims, 0},
		{"duplicate iss, escaped", sign("ES256", m.p256, stdHeader("ES256"), strings.Replace(payload, "{", `{"i\u0073s":"https://evil.example/",`, 1)), nil, ReasonClaims, 0},
		{"payload with invalid UTF-8", sign("ES256", m.p256, stdHeader("ES256"), strings.Replace(payload, "{", "{\"x\":\"\xff\",", 1)), nil, ReasonClaims, 0},
		{"payload with a lone surrogate", sign("ES256", m.p256, stdHeader("ES256"), strings.Replace(payload, "{", `{"x":"\ud800",`, 1)), nil, ReasonClaims, 0},

		// Claims.
		{"expired", mint("ES256", func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }), nil, ReasonExpired, 1},
		{"nbf in the future", mint("ES256", func(c map[string]any) { c["nbf"] = testNow.Add(time.Hour).Unix() }), nil, ReasonNotYetValid, 1},
		{"iat in the future", mint("ES256", func(c map[string]any) { c["iat"] = testNow.Add(time.Hour).Unix() }), nil, ReasonIssuedInFuture, 1},
		{"wrong iss", mint("ES256", func(c map[string]any) { c["iss"] = url + "/" }), nil, ReasonIssuer, 0},
		{"wrong aud", mint("ES256", func(c map[string]any) { c["aud"] = url }), nil, ReasonAudience, 1},
		{"missing exp", mint("ES256", func(c map[string]any) { delete(c, "exp") }), nil, ReasonMissingClaim, 1},

		// Explicit typing and ID tokens.
		{"typ JWT", sign("ES256", m.p256, `{"alg":"ES256","typ":"JWT","kid":"p256"}`, payload), nil, ReasonType, 0},
		{"typ absent", sign("ES256", m.p256, `{"alg":"ES256","kid":"p256"}`, payload), nil, ReasonType, 0},
		{"ID token", sign("ES256", m.p256, `{"alg":"ES256","typ":"JWT","kid":"p256"}`, idToken), nil, ReasonType, 0},
		{"ID token without typ", sign("ES256", m.p256, `{"alg":"ES256","kid":"p256"}`, idToken), nil, ReasonType, 0},
		{"ID token, JWT accepted", sign("ES256", m.p256, `{"alg":"ES256","typ":"JWT","kid":"p256"}`, idToken), func(c *Config) { c.TokenTypes = []string{"at+jwt", "JWT"} }, ReasonMissingClaim, 1},

		// Size.
		{"1 MiB token", strings.Repeat("A", 1<<20) + "." + esParts[1] + "." + esParts[2], nil, ReasonTooLarge, 0},
		{"one byte over the cap", es, func(c *Config) { c.MaxTokenSize = len(es) - 1 }, ReasonTooLarge, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newTestSource()
			src.keys[testIssuer]["p384-noalg"] = &jwks.Key{ID: "p384-noalg", KeyType: "EC", Public: &m.p384.PublicKey}
			src.keys[testIssuer]["mislabelled"] = &jwks.Key{ID: "mislabelled", KeyType: "oct", Public: &m.p256.PublicKey}
			v := newTestVerifier(t, src, tt.cfg)
			c, err := v.Verify(context.Background(), tt.raw)
			if c != nil {
				t.Errorf("got claims %+v, want nil", c)
			}
			if got := rejectionOf(t, err); got != tt.want {
				t.Errorf("got reason %q (%v), want %q", got, err, tt.want)
			}
			if n := src.lookups(); tt.lookups >= 0 && n > tt.lookups {
				t.Errorf("got %d key lookups, want at most %d", n, tt.lookups)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("attacker server got %d requests, want 0", n)
	}
}

// TestAttackSymmetricEnabled: even with HS256 forced into the allowlist (as
// the conformance tests do), a token HMAC'ed with an RSA or EC public key's
// bytes fails the key binding: production code knows no HMAC at all.
func TestAttackSymmetricEnabled(t *testing.T) {
	m := testKeys()
	payload := mustJSON(claimSet(nil))
	der, err := x509.MarshalPKIXPublicKey(&m.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ecRaw, err := m.p256.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, newTestSource(), nil)
	v.pol.algs["HS256"] = hmacAlgs["HS256"]
	for _, tc := range []struct {
		name string
		raw  string
	}{
		{"RSA DER", hmacWith(der, `{"alg":"HS256","typ":"at+jwt","kid":"rsa"}`, payload)},
		{"EC point", hmacWith(ecRaw, `{"alg":"HS256","typ":"at+jwt","kid":"p256"}`, payload)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.raw)
			if got := rejectionOf(t, err); got != ReasonKeyMismatch {
				t.Errorf("got %q, want %q", got, ReasonKeyMismatch)
			}
		})
	}
}

func derSig(t *testing.T, raw string) []byte {
	t.Helper()
	i := strings.LastIndexByte(raw, '.')
	digest := sha256.Sum256([]byte(raw[:i]))
	sig, err := ecdsa.SignASN1(rand.Reader, testKeys().p256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func flip(b []byte) []byte {
	b = append([]byte(nil), b...)
	b[len(b)/2] ^= 1
	return b
}

// padded re-encodes a base64url part with '=' padding.
func padded(part string) string {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		panic(err)
	}
	return base64.URLEncoding.EncodeToString(b)
}

// trailingBits sets the unused low bits of the last character of part (a
// 64-byte ES256 signature: 86 characters, 4 unused bits): a lenient
// decoder ignores the change, a strict one refuses it.
func trailingBits(part string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, part[len(part)-1])
	return part[:len(part)-1] + string(alphabet[last^0x01])
}

// TestAttacksRemote runs the attacks that name key locations (jku, x5u,
// embedded jwk, x5c) and kid tricks against a real jwks.Remote on a
// loopback stepuptest issuer: the attacker's server must get no request,
// and the issuer's JWKS at most the one fetch an unknown kid may cause.
func TestAttacksRemote(t *testing.T) {
	url, hits := attackerServer(t)
	e := newE2E(t)
	m := testKeys()
	kid := e.iss.KeyID("")
	payload := mustJSON(claimSet(func(c map[string]any) { c["iss"] = e.iss.Issuer() }))
	attackerSign := func(h map[string]any) string {
		return sign("ES256", m.attacker, mustJSON(h), payload)
	}
	withHeader := func(h map[string]any) string {
		return e.mint(t, stepuptest.Token{Header: h})
	}
	tests := []struct {
		name string
		raw  string
		want Reason
	}{
		{"jku to the attacker", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "attacker", "jku": url + "/jwks.json"}), ReasonHeader},
		{"jku with the issuer's kid", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid, "jku": url + "/jwks.json"}), ReasonHeader},
		{"jku on a token the issuer signed", withHeader(map[string]any{"jku": url + "/jwks.json"}), ReasonHeader},
		{"x5u to the attacker", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "attacker", "x5u": url + "/cert.pem"}), ReasonHeader},
		{"embedded jwk", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid, "jwk": attackerJWK()}), ReasonHeader},
		{"embedded jwk without kid", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "jwk": attackerJWK()}), ReasonHeader},
		{"x5c", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "x5c": []string{attackerCert(t)}}), ReasonHeader},
		{"attacker key under the issuer's kid", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid}), ReasonSignature},
		{"kid is the attacker's URL", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": url + "/jwks.json"}), ReasonUnknownKey},
		{"kid path traversal", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": "../../../../etc/passwd"}), ReasonUnknownKey},
		{"no kid: the only key, wrong signer", attackerSign(map[string]any{"alg": "ES256", "typ": "at+jwt"}), ReasonSignature},
	}
	before := e.iss.Requests().JWKS
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.v.Verify(context.Background(), tt.raw)
			if got := rejectionOf(t, err); got != tt.want {
				t.Errorf("got reason %q (%v), want %q", got, err, tt.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("attacker server got %d requests, want 0", n)
	}
	// Only the first unknown kid may fetch; the others fall in its
	// cooldown (the fake clock does not move).
	if got := e.iss.Requests().JWKS - before; got > 1 {
		t.Errorf("issuer JWKS fetches: got %d, want at most 1", got)
	}
}

// TestAttackEncKey: a kid naming a key the issuer published for
// encryption (use "enc") is unknown: jwks leaves the key out of the set.
func TestAttackEncKey(t *testing.T) {
	m := testKeys()
	raw, err := m.p256.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	x := base64.RawURLEncoding.EncodeToString(raw[1:33])
	y := base64.RawURLEncoding.EncodeToString(raw[33:])
	set, err := jwks.NewStatic([]byte(`{"keys":[
		{"kty":"EC","crv":"P-256","kid":"p256","use":"enc","x":"` + x + `","y":"` + y + `"},
		{"kty":"EC","crv":"P-256","kid":"other","use":"sig","x":"` + x + `","y":"` + y + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if rej := set.Rejected(); len(rej) != 1 || rej[0].KID != "p256" {
		t.Fatalf("rejected keys: got %+v, want the enc key", rej)
	}
	v := newTestVerifier(t, set, nil)
	if got := rejectionOf(t, verifyErr(v, mint("ES256", nil))); got != ReasonUnknownKey {
		t.Errorf("token naming the enc key: got %q, want %q", got, ReasonUnknownKey)
	}
}
