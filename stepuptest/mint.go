package stepuptest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// Token describes an access token to mint. The zero Token mints a valid
// RFC 9068 access token from this issuer: header {"alg", "kid", "typ":
// "at+jwt"}, claims iss, sub, aud, client_id, iat, exp (iat plus the TTL),
// jti (random). Each non-zero field replaces a default or adds a claim; an
// issuer made with a provider shape (WithAuth0Shape, WithOktaShape,
// WithEntraShape, WithKeycloakShape) then lays the token out as that
// provider does; Claims and Header override anything, for tokens no honest
// issuer would mint.
type Token struct {
	Subject   string    // sub; default DefaultSubject
	Audience  []string  // aud; default the issuer's audience. One value is a JSON string, several an array.
	ClientID  string    // client_id; default the issuer's client id
	Scopes    []string  // scope, space-separated; omitted when empty
	ACR       string    // acr; omitted when empty
	AMR       []string  // amr; omitted when empty
	AuthTime  time.Time // auth_time; omitted when zero
	IssuedAt  time.Time // iat; default the issuer's clock
	Expiry    time.Time // exp; default IssuedAt plus the token TTL
	NotBefore time.Time // nbf; omitted when zero
	JTI       string    // jti; default 16 random bytes, base64url
	ACRS      []string  // acrs (Entra ID authentication contexts); omitted when empty

	// Claims adds or replaces claims after the fields above are applied,
	// namespaced ones included ("https://example.com/acr"). A nil value
	// removes the claim (for example "exp"); write json.RawMessage("null")
	// for a JSON null.
	Claims map[string]any

	// Algorithm is the signing algorithm: one the issuer holds a key for
	// (see Algorithms), another of the same key family (PS256 with an RS256
	// key, to test alg/key binding), HS256/HS384/HS512 with HMACKey, or
	// "none" for an unsigned token with an empty signature. Default: the
	// algorithm of KeyID's key, or the issuer's default algorithm.
	Algorithm string
	// KeyID picks the signing key by kid, including a key removed from the
	// JWKS or replaced by Rotate. Default: the current key for Algorithm.
	KeyID string
	// HMACKey is the secret for the HS* algorithms (for example a public
	// key's PEM bytes, to test algorithm confusion).
	HMACKey []byte
	// Header adds or replaces protected header parameters after the
	// defaults (alg, kid, typ "at+jwt"); a nil value removes one (for
	// example "typ"). Values of any JSON type are kept as given (a numeric
	// "kid", an embedded "jwk", "crit", "jku", "x5u"). An "alg" different
	// from Algorithm is written as given while the signature is still made
	// with Algorithm.
	Header map[string]any
}

// Mint signs t with the issuer's keys and returns the compact JWS.
//
// Signing goes through jwx: jws.Sign with the protected headers when every
// header value is one jwx accepts and "alg" names the signing algorithm,
// otherwise jwsbb.Sign over the header exactly as given.
func (iss *Issuer) Mint(t Token) (string, error) {
	now := iss.cfg.now()
	alg, key, kid, err := iss.signer(t)
	if err != nil {
		return "", err
	}

	iat := t.IssuedAt
	if iat.IsZero() {
		iat = now
	}
	exp := t.Expiry
	if exp.IsZero() {
		exp = iat.Add(iss.cfg.ttl)
	}
	jti := t.JTI
	if jti == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		jti = base64.RawURLEncoding.EncodeToString(b[:])
	}
	c := map[string]any{
		"iss":       iss.issuer,
		"sub":       orDefault(t.Subject, DefaultSubject),
		"client_id": orDefault(t.ClientID, iss.cfg.clientID),
		"iat":       iat.Unix(),
		"exp":       exp.Unix(),
		"jti":       jti,
	}
	switch len(t.Audience) {
	case 0:
		c["aud"] = iss.cfg.audience
	case 1:
		c["aud"] = t.Audience[0]
	default:
		c["aud"] = append([]string(nil), t.Audience...)
	}
	if len(t.Scopes) > 0 {
		c["scope"] = strings.Join(t.Scopes, " ")
	}
	if t.ACR != "" {
		c["acr"] = t.ACR
	}
	if len(t.AMR) > 0 {
		c["amr"] = append([]string(nil), t.AMR...)
	}
	if !t.AuthTime.IsZero() {
		c["auth_time"] = t.AuthTime.Unix()
	}
	if !t.NotBefore.IsZero() {
		c["nbf"] = t.NotBefore.Unix()
	}
	if len(t.ACRS) > 0 {
		c["acrs"] = append([]string(nil), t.ACRS...)
	}
	hdr := map[string]any{"alg": alg, "typ": "at+jwt"}
	if kid != "" {
		hdr["kid"] = kid
	}
	if iss.cfg.shape != nil {
		iss.cfg.shape(c, hdr)
	}
	override(c, t.Claims)
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("stepuptest: marshal claims: %w", err)
	}
	override(hdr, t.Header)
	return sign(alg, key, hdr, payload)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func override(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		dst[k] = v
	}
}

// signer resolves t's algorithm and key: the signing key material and the
// default kid header ("" for HMAC and none).
func (iss *Issuer) signer(t Token) (alg string, key any, kid string, err error) {
	alg = t.Algorithm
	switch family(alg) {
	case "none":
		return alg, nil, "", nil
	case "HMAC":
		if len(t.HMACKey) == 0 {
			return "", nil, "", fmt.Errorf("%w: %s needs Token.HMACKey", errUnsupportedAlgorithm, alg)
		}
		return alg, t.HMACKey, "", nil
	}

	iss.mu.RLock()
	defer iss.mu.RUnlock()
	var k *signingKey
	if t.KeyID != "" {
		for _, c := range iss.keys {
			if c.kid == t.KeyID {
				k = c
				break
			}
		}
		if k == nil {
			return "", nil, "", fmt.Errorf("%w: %q", errUnknownKey, t.KeyID)
		}
		if alg == "" {
			alg = k.alg
		}
		if family(alg) != k.fam {
			return "", nil, "", fmt.Errorf("%w: key %q cannot sign %q", errUnsupportedAlgorithm, k.kid, alg)
		}
		return alg, k.priv, k.kid, nil
	}
	if alg == "" {
		alg = iss.cfg.algs[0]
	}
	k = iss.current[alg]
	if k == nil {
		fam := family(alg)
		for _, a := range iss.cfg.algs {
			if fam != "" && family(a) == fam {
				k = iss.current[a]
				break
			}
		}
	}
	if k == nil {
		return "", nil, "", fmt.Errorf("%w: no key for %q", errUnsupportedAlgorithm, alg)
	}
	return alg, k.priv, k.kid, nil
}

// sign produces the compact JWS of payload under hdr, signed with alg and
// key (nil for "none").
func sign(alg string, key any, hdr map[string]any, payload []byte) (string, error) {
	if alg == "none" {
		hb, err := json.Marshal(hdr)
		if err != nil {
			return "", fmt.Errorf("stepuptest: marshal header: %w", err)
		}
		enc := base64.RawURLEncoding
		return enc.EncodeToString(hb) + "." + enc.EncodeToString(payload) + ".", nil
	}
	sa, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		return "", fmt.Errorf("%w: %q", errUnsupportedAlgorithm, alg)
	}
	if h, ok := jwsHeaders(alg, hdr); ok {
		out, err := jws.Sign(payload, jws.WithKey(sa, key, jws.WithProtectedHeaders(h)))
		if err != nil {
			return "", fmt.Errorf("stepuptest: sign: %w", err)
		}
		return string(out), nil
	}
	// The header holds something jwx will not carry (a non-string kid, an
	// alg that differs from the signing algorithm, ...): sign the header
	// bytes as given with jwx's building blocks.
	hb, err := json.Marshal(hdr)
	if err != nil {
		return "", fmt.Errorf("stepuptest: marshal header: %w", err)
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(payload)
	sig, err := jwsbb.Sign(key, alg, []byte(input), nil)
	if err != nil {
		return "", fmt.Errorf("stepuptest: sign: %w", err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// jwsHeaders converts hdr to jws.Headers, reporting false when jws.Sign
// would not reproduce hdr exactly: alg missing or different from the
// signing algorithm, or a value of a type jwx refuses.
func jwsHeaders(alg string, hdr map[string]any) (jws.Headers, bool) {
	if a, ok := hdr["alg"].(string); !ok || a != alg {
		return nil, false
	}
	if b, ok := hdr["b64"]; ok && b != true {
		return nil, false // unencoded payloads change the wire format
	}
	h := jws.NewHeaders()
	for k, v := range hdr {
		if k == "alg" {
			continue
		}
		if err := h.Set(k, v); err != nil {
			return nil, false
		}
	}
	return h, true
}
