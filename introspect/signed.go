package introspect

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/jsonscan"
	"github.com/stepupauth/stepup/internal/rsapkcs1"
	"github.com/stepupauth/stepup/jwks"
)

// mediaTypeJWT is the media type of a JWT introspection response, asked
// for in Accept and required as the Content-Type of the answer (RFC 9701
// §4, §5, §10.2).
const mediaTypeJWT = "application/token-introspection+jwt"

// typJWT is the typ header of a JWT introspection response (RFC 9701 §5),
// the media type without its "application/" prefix (RFC 7515 §4.1.9).
const typJWT = "token-introspection+jwt"

// ErrSignedResponse is wrapped, beside claims.ErrUnavailable, by the error
// of a call whose answer was refused because Config.SignedResponses is set
// and the answer is not a JWT response that passes the RFC 9701 checks: an
// unsigned (application/json) answer, or a JWT with the wrong typ, a
// refused alg, an unknown kid, a bad signature, or wrong iss, aud or iat.
// Such an answer cannot be trusted, and says nothing about the token: it is
// an outage (503), never invalid_token.
var ErrSignedResponse = errors.New("introspect: signed response refused")

// respAlg is a JWS algorithm a response may be signed with (RFC 7518
// §3.1, RFC 8037, RFC 9864).
type respAlg struct {
	name    string
	keyType string         // JWK kty
	hash    crypto.Hash    // 0 for EdDSA
	pss     bool           // RSASSA-PSS rather than PKCS #1 v1.5
	curve   elliptic.Curve // ECDSA only
}

// respAlgs is every algorithm ResponseAlgorithms may name. "none" and the
// HS* algorithms are absent on purpose: a response is verified with the
// authorization server's public keys, and a shared secret would let any
// holder of it forge answers.
var respAlgs = map[string]*respAlg{
	"RS256":   {name: "RS256", keyType: "RSA", hash: crypto.SHA256},
	"RS384":   {name: "RS384", keyType: "RSA", hash: crypto.SHA384},
	"RS512":   {name: "RS512", keyType: "RSA", hash: crypto.SHA512},
	"PS256":   {name: "PS256", keyType: "RSA", hash: crypto.SHA256, pss: true},
	"PS384":   {name: "PS384", keyType: "RSA", hash: crypto.SHA384, pss: true},
	"PS512":   {name: "PS512", keyType: "RSA", hash: crypto.SHA512, pss: true},
	"ES256":   {name: "ES256", keyType: "EC", hash: crypto.SHA256, curve: elliptic.P256()},
	"ES384":   {name: "ES384", keyType: "EC", hash: crypto.SHA384, curve: elliptic.P384()},
	"ES512":   {name: "ES512", keyType: "EC", hash: crypto.SHA512, curve: elliptic.P521()},
	"EdDSA":   {name: "EdDSA", keyType: "OKP"},
	"Ed25519": {name: "Ed25519", keyType: "OKP"}, // RFC 9864's fully-specified EdDSA on Ed25519
}

// defaultResponseAlgorithms is the allowlist when ResponseAlgorithms is
// empty: every algorithm of respAlgs.
var defaultResponseAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}

// responseAlgorithms checks the ResponseAlgorithms of a Config and returns
// them as a set (a copy: later changes to names do not matter).
func responseAlgorithms(names []string) (map[string]*respAlg, error) {
	if len(names) == 0 {
		names = defaultResponseAlgorithms
	}
	set := make(map[string]*respAlg, len(names))
	for _, n := range names {
		a, ok := respAlgs[n]
		switch {
		case ok:
			set[n] = a
		case strings.EqualFold(n, "none"):
			return nil, configErr(`ResponseAlgorithms holds "none"; an unsigned response proves nothing (RFC 8725 §3.1)`)
		case strings.HasPrefix(strings.ToUpper(n), "HS"):
			return nil, configErr("ResponseAlgorithms holds the symmetric %q; responses are verified with the authorization server's public keys only", n)
		default:
			return nil, configErr("ResponseAlgorithms holds %q, which is not an asymmetric JWS algorithm this package verifies (%s)", n, strings.Join(defaultResponseAlgorithms, ", "))
		}
	}
	return set, nil
}

// Limits on the JWS header.
const (
	maxKIDLen        = 256 // bytes
	maxHeaderMembers = 64
)

// b64Strict is the base64url decoding of RFC 7515 §2: no padding, nothing
// outside the alphabet, zero trailing bits.
var b64Strict = base64.RawURLEncoding.Strict()

// signedRefusal is the outage for a JWT response that fails a check.
func signedRefusal(format string, args ...any) outcome {
	return outcome{err: &endpointError{status: http.StatusOK,
		err: fmt.Errorf("%w: "+format, append([]any{ErrSignedResponse}, args...)...)}}
}

// signedResponse judges the body of a 200 application/token-introspection+jwt
// answer (RFC 9701 §5) at now: a compact JWS signed by the authorization
// server, whose token_introspection member is then judged as a plain RFC
// 7662 answer by response.
func (s *settings) signedResponse(ctx context.Context, body []byte, now time.Time) outcome {
	// Surrounding white space is not part of the JWS; inside it, CR and
	// LF (which encoding/base64 skips even in strict mode) are refused.
	raw := bytes.Trim(body, " \t\r\n")
	if bytes.Count(raw, []byte{'.'}) != 2 || bytes.ContainsAny(raw, "\r\n") {
		return signedRefusal("not a compact JWS")
	}
	d1 := bytes.IndexByte(raw, '.')
	d2 := d1 + 1 + bytes.IndexByte(raw[d1+1:], '.')
	hdr, err1 := b64Strict.DecodeString(string(raw[:d1]))
	payload, err2 := b64Strict.DecodeString(string(raw[d1+1 : d2]))
	sig, err3 := b64Strict.DecodeString(string(raw[d2+1:]))
	if err1 != nil || err2 != nil || err3 != nil {
		return signedRefusal("not a compact JWS: bad base64url")
	}
	if len(sig) == 0 {
		return signedRefusal("no signature")
	}

	alg, kid, err := s.header(hdr)
	if err != nil {
		return signedRefusal("%w", err)
	}
	key, err := s.keys.Key(ctx, s.issuer, kid)
	if err != nil {
		return signedRefusal("key %q: %w", kid, err)
	}
	if err := checkKey(alg, key); err != nil {
		return signedRefusal("key %q: %w", kid, err)
	}
	if err := verifySignature(alg, key, raw[:d2], sig); err != nil {
		return signedRefusal("bad signature (%s, key %q): %w", alg.name, kid, err)
	}

	// RFC 9701 §5: the claims of the response itself. Parsed strictly,
	// with no renaming: Names applies to the introspected token's claims.
	cl, err := claims.Parse(payload, claims.Names{})
	if err != nil {
		return signedRefusal("%w", err)
	}
	switch _, ok := cl.Claim("iss"); {
	case !ok:
		return signedRefusal("no iss")
	case cl.Issuer != s.issuer:
		return signedRefusal("iss %q, want %q", cl.Issuer, s.issuer)
	}
	if _, ok := cl.Claim("aud"); !ok || !slices.Contains(cl.Audience, s.clientID) {
		return signedRefusal("aud %q lacks the client id %q", cl.Audience, s.clientID)
	}
	switch _, ok := cl.Claim("iat"); {
	case !ok:
		return signedRefusal("no iat")
	case cl.IssuedAt.After(now.Add(s.leeway)):
		return signedRefusal("iat %d is in the future", cl.IssuedAt.Unix())
	}
	// exp and nbf are not required by RFC 9701, but a JWT that has them
	// is not valid outside them (RFC 7519 §4.1.4, §4.1.5).
	if _, ok := cl.Claim("exp"); ok && !now.Before(cl.Expiry.Add(s.leeway)) {
		return signedRefusal("expired at %d", cl.Expiry.Unix())
	}
	if _, ok := cl.Claim("nbf"); ok && cl.NotBefore.After(now.Add(s.leeway)) {
		return signedRefusal("not valid before %d", cl.NotBefore.Unix())
	}
	inner, ok := cl.Claim("token_introspection")
	switch {
	case !ok:
		return signedRefusal("no token_introspection")
	case len(inner) == 0 || inner[0] != '{':
		return signedRefusal("token_introspection is not an object")
	}
	return s.response(inner, now)
}

// header checks the protected header of a response (RFC 7515 §4.1, RFC
// 9701 §5, RFC 8725 §3.11) and returns its algorithm and kid ("" when
// absent). Duplicate members are refused.
func (s *settings) header(hdr []byte) (*respAlg, string, error) {
	var (
		alg, typ, kid []byte
		seen          = make([]string, 0, 8)
	)
	err := jsonscan.Members(hdr, func(m jsonscan.Member) error {
		name := jsonscan.Unquote(hdr[m.Name.Start:m.Name.End])
		if slices.Contains(seen, name) {
			return fmt.Errorf("duplicate header member %q", name)
		}
		if len(seen) >= maxHeaderMembers {
			return errors.New("too many header members")
		}
		seen = append(seen, name)
		v := hdr[m.Value.Start:m.Value.End]
		switch name {
		case "alg":
			alg = v
		case "typ":
			typ = v
		case "kid":
			kid = v
		case "crit":
			// RFC 7515 §4.1.11: extensions we do not understand
			// must make the JWS invalid; we understand none.
			return errors.New("crit header present")
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("header: %w", err)
	}
	str := func(name string, v []byte) (string, error) {
		if len(v) == 0 || v[0] != '"' {
			return "", fmt.Errorf("header: %s is not a string", name)
		}
		return jsonscan.Unquote(v), nil
	}
	if typ == nil {
		return nil, "", errors.New("header: no typ")
	}
	t, err := str("typ", typ)
	if err != nil {
		return nil, "", err
	}
	if !typIs(t) {
		return nil, "", fmt.Errorf("header: typ %q, want %q", t, typJWT)
	}
	if alg == nil {
		return nil, "", errors.New("header: no alg")
	}
	a, err := str("alg", alg)
	if err != nil {
		return nil, "", err
	}
	ra, ok := s.respAlgs[a]
	if !ok {
		return nil, "", fmt.Errorf("header: alg %q not allowed", a)
	}
	var k string
	if kid != nil {
		if k, err = str("kid", kid); err != nil {
			return nil, "", err
		}
		if len(k) > maxKIDLen {
			return nil, "", errors.New("header: kid too long")
		}
	}
	return ra, k, nil
}

// typIs reports whether typ names the JWT introspection response:
// compared case-insensitively, with or without "application/" (RFC 7515
// §4.1.9).
func typIs(typ string) bool {
	if len(typ) > len("application/") && strings.EqualFold(typ[:len("application/")], "application/") {
		typ = typ[len("application/"):]
	}
	return strings.EqualFold(typ, typJWT)
}

// checkKey binds key to alg (RFC 8725 §3.1): the JWK's alg when it has
// one, the key type, the curve. RSA keys must be within the bounds of the
// jwks package (2048 to 8192 bits, e = 65537), since a custom Source can
// hand over any key.
func checkKey(alg *respAlg, key *jwks.Key) error {
	if key == nil || key.Public == nil {
		return errors.New("no public key")
	}
	if key.Algorithm != "" && key.Algorithm != alg.name &&
		!(alg.keyType == "OKP" && (key.Algorithm == "EdDSA" || key.Algorithm == "Ed25519")) {
		return fmt.Errorf("key is for %s, not %s", key.Algorithm, alg.name)
	}
	if key.KeyType != "" && key.KeyType != alg.keyType {
		return fmt.Errorf("key type %s does not fit %s", key.KeyType, alg.name)
	}
	switch alg.keyType {
	case "RSA":
		pub, ok := key.Public.(*rsa.PublicKey)
		if !ok || pub == nil || pub.N == nil || pub.N.BitLen() < rsapkcs1.MinBits ||
			pub.N.BitLen() > rsapkcs1.MaxBits || pub.E != rsapkcs1.Exponent {
			return fmt.Errorf("not a usable RSA key for %s", alg.name)
		}
	case "EC":
		pub, ok := key.Public.(*ecdsa.PublicKey)
		//lint:ignore SA1019 checking for nil, the coordinates are not used
		if !ok || pub == nil || pub.Curve != alg.curve || pub.X == nil || pub.Y == nil {
			return fmt.Errorf("not a %s key on the curve of %s", "EC", alg.name)
		}
	case "OKP":
		if pub, ok := key.Public.(ed25519.PublicKey); !ok || len(pub) != ed25519.PublicKeySize {
			return fmt.Errorf("not an Ed25519 key for %s", alg.name)
		}
	}
	return nil
}

// verifySignature checks sig over input with key by alg, with the
// primitives of jwx's jws/jwsbb over the standard library. checkKey must
// have accepted the key.
func verifySignature(alg *respAlg, key *jwks.Key, input, sig []byte) error {
	switch alg.keyType {
	case "RSA":
		return jwsbb.VerifyRSA(key.Public.(*rsa.PublicKey), input, sig, alg.hash, alg.pss)
	case "EC":
		return jwsbb.VerifyECDSA(key.Public.(*ecdsa.PublicKey), input, sig, alg.hash)
	case "OKP":
		return jwsbb.VerifyEdDSA(key.Public.(ed25519.PublicKey), input, sig)
	}
	return errors.New("unsupported algorithm")
}
