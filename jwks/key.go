package jwks

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/stepupauth/stepup/internal/rsapkcs1"
)

// RSA key bounds (see the package doc). Keys under 2048 bits are weak (NIST
// SP 800-131A). The cost of checking a signature grows with the square of
// the modulus and with the bit length of the exponent, and a forged token
// costs as much to refuse as a genuine one to accept: larger moduli and
// other exponents only let whoever publishes a key burn our CPU. They are
// the keys internal/rsapkcs1 prepares, whose constants state them once.
const (
	minRSABits  = rsapkcs1.MinBits
	maxRSABits  = rsapkcs1.MaxBits
	rsaExponent = rsapkcs1.Exponent
)

// algsFor lists the JWS algorithms a key of the given kty (and crv) may
// declare in its alg member (RFC 7518 §3.1, RFC 8037 §3.1, RFC 9864).
func algsFor(kty, crv string) []string {
	switch kty {
	case "RSA":
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case "EC":
		switch crv {
		case "P-256":
			return []string{"ES256"}
		case "P-384":
			return []string{"ES384"}
		case "P-521":
			return []string{"ES512"}
		}
	case "OKP":
		if crv == "Ed25519" {
			return []string{"EdDSA", "Ed25519"}
		}
	}
	return nil
}

// jwkMembers are the members checked before the key material is parsed.
type jwkMembers struct {
	Kty    string    `json:"kty"`
	Use    *string   `json:"use"`
	KeyOps *[]string `json:"key_ops"`
	Alg    *string   `json:"alg"`
	Kid    *string   `json:"kid"`
	Crv    string    `json:"crv"`
	N      string    `json:"n"`
	E      string    `json:"e"`
	X      string    `json:"x"`
	Y      string    `json:"y"`
}

// precheck gives precise reasons for weak RSA keys and invalid EC points
// before jwx parses the material (jwx refuses them too, with less precise
// errors). It returns "" when the material may be parsed.
func precheck(m *jwkMembers) string {
	switch m.Kty {
	case "RSA":
		n, err1 := b64decode(m.N)
		e, err2 := b64decode(m.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 8 {
			return "malformed key material"
		}
		switch bits := new(big.Int).SetBytes(n).BitLen(); {
		case bits < minRSABits:
			return "rsa key shorter than 2048 bits"
		case bits > maxRSABits:
			return "rsa key longer than 8192 bits"
		}
		if ev := new(big.Int).SetBytes(e); !ev.IsInt64() || ev.Int64() != rsaExponent {
			return "rsa public exponent not 65537"
		}
	case "EC":
		x, err1 := b64decode(m.X)
		y, err2 := b64decode(m.Y)
		c := ecdhCurve(m.Crv)
		size := (curveOf(m.Crv).Params().BitSize + 7) / 8
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return "malformed key material"
		}
		if _, err := c.NewPublicKey(append(append([]byte{4}, x...), y...)); err != nil {
			return "ec point not on curve"
		}
	}
	return ""
}

// b64decode decodes base64url, tolerating trailing padding as jwx does.
func b64decode(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func ecdhCurve(crv string) ecdh.Curve {
	switch crv {
	case "P-256":
		return ecdh.P256()
	case "P-384":
		return ecdh.P384()
	}
	return ecdh.P521()
}

// ParseKey parses one JWK (RFC 7517 §4) into a verification Key, applying
// the same rules as a key set:
//
//   - kty must be RSA, EC (P-256, P-384, P-521) or OKP (Ed25519); symmetric
//     "oct" keys are rejected (never HS* from a JWKS, RFC 8725 §3.1);
//   - use, when present, must be "sig"; key_ops, when present, must
//     contain "verify";
//   - alg, when present, must be a JWS algorithm that fits the key type and
//     curve;
//   - RSA keys need a modulus of 2048 to 8192 bits and the public exponent
//     65537 (see the package doc for why); EC points must lie on their
//     curve;
//   - private members (d, p, q, ...) are dropped: only the public part is
//     kept.
//
// The error is a *KeyError.
func ParseKey(jwkJSON []byte) (*Key, error) {
	var m jwkMembers
	if err := json.Unmarshal(jwkJSON, &m); err != nil {
		return nil, &KeyError{Reason: "malformed jwk"}
	}
	kid := ""
	if m.Kid != nil {
		kid = *m.Kid
	}
	reject := func(reason string) (*Key, error) { return nil, &KeyError{KID: kid, Reason: reason} }

	switch m.Kty {
	case "RSA", "EC", "OKP":
	case "oct":
		return reject("symmetric key (kty oct) not accepted from a key set")
	case "":
		return reject("missing kty")
	default:
		return reject("unsupported kty")
	}
	if m.Use != nil && *m.Use != "sig" {
		return reject("use is not sig")
	}
	if m.KeyOps != nil && !slices.Contains(*m.KeyOps, "verify") {
		return reject("key_ops does not allow verify")
	}
	allowed := algsFor(m.Kty, m.Crv)
	if allowed == nil {
		return reject("unsupported curve")
	}
	alg := ""
	if m.Alg != nil {
		alg = *m.Alg
		if !slices.Contains(allowed, alg) {
			return reject("alg does not fit the key type")
		}
	}

	if reason := precheck(&m); reason != "" {
		return reject(reason)
	}
	parsed, err := jwk.ParseKey(jwkJSON)
	if err != nil {
		return reject("malformed key material")
	}
	pubJWK, err := parsed.PublicKey()
	if err != nil {
		return reject("malformed key material")
	}
	var raw any
	if err := jwk.Export(pubJWK, &raw); err != nil {
		return reject("malformed key material")
	}

	var pub crypto.PublicKey
	switch k := raw.(type) {
	case *rsa.PublicKey:
		if m.Kty != "RSA" {
			return reject("key material does not fit kty")
		}
		if bits := k.N.BitLen(); bits < minRSABits || bits > maxRSABits || k.E != rsaExponent {
			return reject("malformed key material")
		}
		pub = k
	case *ecdsa.PublicKey:
		if m.Kty != "EC" || k.Curve != curveOf(m.Crv) {
			return reject("key material does not fit kty")
		}
		if _, err := k.ECDH(); err != nil {
			return reject("malformed key material")
		}
		pub = k
	case ed25519.PublicKey:
		if m.Kty != "OKP" || len(k) != ed25519.PublicKeySize {
			return reject("key material does not fit kty")
		}
		pub = k
	default:
		return reject("unsupported key material")
	}
	return &Key{ID: kid, Algorithm: alg, KeyType: m.Kty, Public: pub}, nil
}

func curveOf(crv string) elliptic.Curve {
	switch crv {
	case "P-256":
		return elliptic.P256()
	case "P-384":
		return elliptic.P384()
	case "P-521":
		return elliptic.P521()
	}
	return nil
}

// sameKey reports whether a and b hold the same verification key.
func sameKey(a, b *Key) bool {
	if a.ID != b.ID || a.Algorithm != b.Algorithm || a.KeyType != b.KeyType {
		return false
	}
	eq, ok := a.Public.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b.Public)
}

// parseSet parses a JWK Set document (RFC 7517 §5). Keys that fail
// ParseKey are skipped and listed in the Set's rejections; every key that
// shares its kid with another usable key is dropped too (an ambiguous kid
// must not verify). A key equal to one in prev keeps prev's *Key pointer.
// The error wraps ErrNoUsableKeys when nothing usable remains.
func parseSet(doc []byte, prev *Set) (*Set, error) {
	var env struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&env); err != nil {
		return nil, errorf("malformed key set: %w", err)
	}
	if dec.More() {
		return nil, errorf("malformed key set: trailing data")
	}
	if env.Keys == nil {
		return nil, errorf("malformed key set: no keys member")
	}

	s := &Set{byID: make(map[string]*Key)}
	var usable []*Key
	for _, raw := range *env.Keys {
		k, err := ParseKey(raw)
		if err != nil {
			s.rejected = append(s.rejected, *err.(*KeyError))
			continue
		}
		usable = append(usable, k)
	}
	count := make(map[string]int, len(usable))
	for _, k := range usable {
		if k.ID != "" {
			count[k.ID]++
		}
	}
	for _, k := range usable {
		if count[k.ID] > 1 {
			s.rejected = append(s.rejected, KeyError{KID: k.ID, Reason: "duplicate kid"})
			continue
		}
		if prev != nil {
			if old := prev.find(k); old != nil {
				k = old
			}
		}
		s.keys = append(s.keys, k)
		if k.ID != "" {
			s.byID[k.ID] = k
		}
	}
	if len(s.keys) == 0 {
		return s, fmt.Errorf("%w in set (%d rejected)", ErrNoUsableKeys, len(s.rejected))
	}
	return s, nil
}
