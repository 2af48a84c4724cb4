package verify

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/lestrrat-go/dsig"

	"github.com/stepupauth/stepup/internal/jsonscan"
	"github.com/stepupauth/stepup/internal/rsapkcs1"
	"github.com/stepupauth/stepup/jwks"
)

// family is the signature scheme behind a JOSE alg.
type family uint8

const (
	famRSA family = iota + 1
	famRSAPSS
	famECDSA
	famEdDSA
)

// algInfo binds a JOSE alg name (RFC 7518 §3.1, RFC 8037) to the dsig
// primitive that checks it and to the key it needs.
type algInfo struct {
	name    string
	dsig    string // dsig algorithm name, documentation of the mapping
	family  family
	hash    crypto.Hash
	curve   elliptic.Curve // ECDSA only
	keyType string         // JWK kty
}

// joseAlgs is every alg the verifier knows. "none" and the symmetric HS256,
// HS384 and HS512 are absent on purpose: nothing can enable them (a key set
// is public; an HMAC key in it would be a shared secret published).
var joseAlgs = map[string]*algInfo{
	"RS256": {name: "RS256", dsig: dsig.RSAPKCS1v15WithSHA256, family: famRSA, hash: crypto.SHA256, keyType: "RSA"},
	"RS384": {name: "RS384", dsig: dsig.RSAPKCS1v15WithSHA384, family: famRSA, hash: crypto.SHA384, keyType: "RSA"},
	"RS512": {name: "RS512", dsig: dsig.RSAPKCS1v15WithSHA512, family: famRSA, hash: crypto.SHA512, keyType: "RSA"},
	"PS256": {name: "PS256", dsig: dsig.RSAPSSWithSHA256, family: famRSAPSS, hash: crypto.SHA256, keyType: "RSA"},
	"PS384": {name: "PS384", dsig: dsig.RSAPSSWithSHA384, family: famRSAPSS, hash: crypto.SHA384, keyType: "RSA"},
	"PS512": {name: "PS512", dsig: dsig.RSAPSSWithSHA512, family: famRSAPSS, hash: crypto.SHA512, keyType: "RSA"},
	"ES256": {name: "ES256", dsig: dsig.ECDSAWithP256AndSHA256, family: famECDSA, hash: crypto.SHA256, curve: elliptic.P256(), keyType: "EC"},
	"ES384": {name: "ES384", dsig: dsig.ECDSAWithP384AndSHA384, family: famECDSA, hash: crypto.SHA384, curve: elliptic.P384(), keyType: "EC"},
	"ES512": {name: "ES512", dsig: dsig.ECDSAWithP521AndSHA512, family: famECDSA, hash: crypto.SHA512, curve: elliptic.P521(), keyType: "EC"},
	"EdDSA": {name: "EdDSA", dsig: dsig.EdDSA, family: famEdDSA, keyType: "OKP"},
	// Ed25519 is RFC 9864's fully-specified name for EdDSA on Ed25519; it
	// deprecates the polymorphic EdDSA. Both verify with the same key.
	"Ed25519": {name: "Ed25519", dsig: dsig.EdDSA, family: famEdDSA, keyType: "OKP"},
}

// defaultAlgorithms is the allowlist used when Config.Algorithms is empty:
// every asymmetric JWS algorithm of RFC 7518 and RFC 8037, and Ed25519,
// RFC 9864's fully-specified replacement of EdDSA (issuers move from one
// to the other, so both are accepted).
var defaultAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}

const (
	maxKIDLen        = 256 // bytes; longer kids are rejected before any lookup
	maxHeaderMembers = 64  // members of the protected header
)

// The RSA bounds of the jwks package doc, applied by checkKey to keys of
// any Source: the keys rsapkcs1.Prepare accepts, stated once there.
const (
	minRSABits  = rsapkcs1.MinBits
	maxRSABits  = rsapkcs1.MaxBits
	rsaExponent = rsapkcs1.Exponent
)

// policy is the header rule set of the JWS layer.
type policy struct {
	algs map[string]*algInfo
	// checkType: typ must be one of types (normalised, see normType) or,
	// when allowUntyped, absent. Off only in the conformance tests of the
	// bare JWS layer, whose vectors carry no typ.
	checkType    bool
	types        []string
	allowUntyped bool
}

// jwsToken is a decoded compact JWS whose header passed the policy.
type jwsToken struct {
	signingInput []byte // ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
	payload      []byte
	sig          []byte
	alg          *algInfo
	// The kid is not kept here but returned beside the token: the key
	// source keeps it, and a field of the token leaking would make the
	// escape analysis move every part, scratch included, to the heap.
}

// b64 is the strict base64url decoding of RFC 7515 §2: no padding, no
// characters outside the alphabet, zero trailing bits.
var b64 = base64.RawURLEncoding.Strict()

// scratchSize is the stack buffer verifySigned lends parseCompact for the
// decoded parts of a token: a typical access token's header, payload and
// an RSA-4096 signature fit, so its first sight allocates nothing for them.
const scratchSize = 2048

// parseCompact splits, decodes and checks raw against the header rules of
// pol. It neither looks at the payload nor checks the signature. The
// decoded parts go into scratch when they fit (the caller's, which must not
// be used again while tok is), else into one allocation; the signing input
// is raw's own bytes, which nothing writes to.
func parseCompact(raw string, pol *policy, scratch []byte) (tok jwsToken, kid string, rej *rejection) {
	// Exactly two dots (a fourth part is a JWE or garbage). The strict
	// decoder below refuses every byte outside the base64url alphabet
	// except CR and LF, which encoding/base64 silently skips: refuse those
	// here. Count and IndexByte are vectorised.
	if strings.Count(raw, ".") != 2 || strings.IndexByte(raw, '\r') >= 0 || strings.IndexByte(raw, '\n') >= 0 {
		return tok, "", rejMalformed
	}
	d1 := strings.IndexByte(raw, '.')
	d2 := d1 + 1 + strings.IndexByte(raw[d1+1:], '.')
	if d1 == 0 {
		return tok, "", rejMalformed
	}

	// The signing input is read only (hashed, or handed to ed25519), so
	// it is a view of raw's bytes, not a copy. The three decoded parts
	// share scratch, or one allocation when they do not fit.
	in := unsafe.Slice(unsafe.StringData(raw), len(raw))
	tok.signingInput = in[:d2:d2]
	hn, pn, sn := b64.DecodedLen(d1), b64.DecodedLen(d2-d1-1), b64.DecodedLen(len(raw)-d2-1)
	rest := scratch
	if hn+pn+sn > len(rest) {
		rest = make([]byte, hn+pn+sn)
	}
	hdr, ok := decodePart(rest[:hn:hn], in[:d1])
	if !ok {
		return tok, "", rejMalformed
	}
	rest = rest[hn:]
	if tok.payload, ok = decodePart(rest[:pn:pn], in[d1+1:d2]); !ok {
		return tok, "", rejMalformed
	}
	if tok.sig, ok = decodePart(rest[pn:pn+sn:pn+sn], in[d2+1:]); !ok {
		return tok, "", rejMalformed
	}
	if rej := parseHeader(hdr, pol, &tok, &kid); rej != nil {
		return tok, "", rej
	}
	if len(tok.sig) == 0 { // an unsecured JWS, or a stripped signature
		return tok, "", rejSignature
	}
	return tok, kid, nil
}

func decodePart(dst, src []byte) ([]byte, bool) {
	n, err := b64.Decode(dst, src)
	if err != nil {
		return nil, false
	}
	return dst[:n], true
}

// Bits of the header members parseHeader tracks.
const (
	memAlg = 1 << iota
	memTyp
	memKID
)

// parseHeader reads the JOSE header (RFC 7515 §4) of a compact JWS into tok
// and applies pol. The header must be one strict JSON object (package
// internal/jsonscan: UTF-8 only, no lone surrogates); duplicate member names
// (after unescaping) are rejected, alg/typ/kid must be strings, crit, b64,
// jwk, jku, x5u and x5c are refused, and every other member is ignored (RFC
// 7515 §4). It allocates at most once per member, and there are at most
// maxHeaderMembers.
func parseHeader(b []byte, pol *policy, tok *jwsToken, kid *string) *rejection {
	var (
		seen int
		// The other members' names, for the duplicate check: a fixed
		// array filled by index (an append could grow it on the heap, and
		// the header with it, which is the caller's stack scratch).
		others  [maxHeaderMembers][]byte
		nothers int
		alg     []byte
		typ     []byte
		rej     *rejection
	)
	err := jsonscan.Members(b, func(m jsonscan.Member) error {
		if nothers+bits.OnesCount(uint(seen)) >= maxHeaderMembers {
			rej = rejMalformed
			return errStop
		}
		name := content(b, m.Name, m.NameEsc)
		var bit int
		switch string(name) {
		case "alg":
			bit = memAlg
		case "typ":
			bit = memTyp
		case "kid":
			bit = memKID
		case "crit", "b64", "jwk", "jku", "x5u", "x5c":
			// crit: we understand no extension, so any crit is unmet
			// (RFC 7515 §4.1.11); b64 (RFC 7797) only makes sense with
			// crit. jwk, jku, x5u and x5c would let the token choose its
			// own key: never followed, and refused outright (RFC 8725
			// §3.10) rather than silently ignored.
			rej = rejHeader
			return errStop
		default:
			for _, o := range others[:nothers] {
				if bytes.Equal(o, name) {
					rej = rejMalformed
					return errStop
				}
			}
			others[nothers] = name
			nothers++
			return nil
		}
		if seen&bit != 0 {
			rej = rejMalformed
			return errStop
		}
		seen |= bit
		if b[m.Value.Start] != '"' {
			if bit == memKID {
				rej = rejKeyID
			} else {
				rej = rejMalformed
			}
			return errStop
		}
		val := content(b, m.Value, m.ValueEsc)
		switch bit {
		case memAlg:
			alg = val
		case memTyp:
			typ = val
		case memKID:
			if rej = checkKID(val); rej != nil {
				return errStop
			}
			*kid = string(val)
		}
		return nil
	})
	switch {
	case err == errStop:
		return rej
	case err != nil:
		return rejMalformed
	}

	if seen&memAlg == 0 {
		return rejAlgorithm
	}
	if tok.alg = pol.algs[string(alg)]; tok.alg == nil {
		return rejAlgorithm
	}
	if pol.checkType {
		if seen&memTyp == 0 {
			if !pol.allowUntyped {
				return rejType
			}
		} else if !typeAccepted(typ, pol.types) {
			return rejectValue(ReasonType, errType, string(typ[:min(len(typ), maxReceived+1)]))
		}
	}
	return nil
}

// errStop ends a jsonscan.Members walk whose callback has decided.
var errStop = errors.New("verify: stop")

// content returns the content of the string token b[sp], which jsonscan
// accepted: a sub-slice of b when it has no escape.
func content(b []byte, sp jsonscan.Span, esc bool) []byte {
	if !esc {
		return b[sp.Start+1 : sp.End-1]
	}
	tok := b[sp.Start:sp.End]
	return jsonscan.AppendUnquote(make([]byte, 0, len(tok)), tok)
}

// checkKID applies the kid hygiene of RFC 8725 §3.10: a bounded length and
// no control characters. The kid is then only a map key in the issuer's own
// set; it is never a path, URL or query.
func checkKID(s []byte) *rejection {
	if len(s) > maxKIDLen {
		return rejKeyID
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return rejKeyID
		}
	}
	return nil
}

// normType lower-cases a typ value and drops an "application/" prefix when
// no other '/' follows, so that "at+jwt" and "application/at+jwt" compare
// equal (RFC 7515 §4.1.9).
func normType(t string) string {
	t = strings.ToLower(t)
	if rest, ok := strings.CutPrefix(t, "application/"); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return t
}

// typeAccepted compares typ with the normalised accepted types,
// case-insensitively and without allocating.
func typeAccepted(typ []byte, types []string) bool {
	const prefix = "application/"
	if len(typ) > len(prefix) && strings.EqualFold(string(typ[:len(prefix)]), prefix) &&
		bytes.IndexByte(typ[len(prefix):], '/') < 0 {
		typ = typ[len(prefix):]
	}
	for _, t := range types {
		if strings.EqualFold(string(typ), t) {
			return true
		}
	}
	return false
}

// checkKey binds the key to the token's alg (RFC 8725 §3.1): the JWK's alg
// when it has one, the key type, the curve, the RSA size. It also refuses
// key material that would make the signature check fail badly or slowly: a
// jwks.Key is exported, so a custom Source can hand over anything, such as
// an *ecdsa.PublicKey without coordinates (a nil dereference in
// crypto/ecdsa), an RSA exponent of 1, or a 16384-bit RSA key. RSA keys
// need 2048 to 8192 bits and e = 65537 exactly, the bounds of the jwks
// package doc (which says why).
func checkKey(alg *algInfo, key *jwks.Key) *rejection {
	if key == nil || key.Public == nil || !algFits(alg, key.Algorithm) ||
		(key.KeyType != "" && key.KeyType != alg.keyType) {
		return rejKeyMismatch
	}
	switch alg.family {
	case famRSA, famRSAPSS:
		pub, ok := key.Public.(*rsa.PublicKey)
		if !ok || pub == nil || pub.N == nil || pub.N.Sign() <= 0 ||
			pub.N.BitLen() < minRSABits || pub.N.BitLen() > maxRSABits || pub.E != rsaExponent {
			return rejKeyMismatch
		}
	case famECDSA:
		pub, ok := key.Public.(*ecdsa.PublicKey)
		if !ok || pub == nil || pub.Curve != alg.curve {
			return rejKeyMismatch
		}
		// Nil coordinates make crypto/ecdsa (and ECDH) dereference nil;
		// reading them is the only way to tell.
		//lint:ignore SA1019 checking for nil, the coordinates are not used
		if pub.X == nil || pub.Y == nil {
			return rejKeyMismatch
		}
		// A point off the curve (or at infinity) needs no check here:
		// crypto/ecdsa refuses it while verifying (ecdsa.NewPublicKey), so
		// the signature fails. Checking it here as well (pub.ECDH) cost
		// 8 allocations and ~2.4 µs on every first-sight ES256 token.
	case famEdDSA:
		pub, ok := key.Public.(ed25519.PublicKey)
		if !ok || len(pub) != ed25519.PublicKeySize {
			return rejKeyMismatch
		}
	default:
		return rejKeyMismatch
	}
	return nil
}

// algFits reports whether a JWK whose alg member is jwkAlg ("" when
// absent) may verify tokens of alg. The names must be equal, except that
// EdDSA and Ed25519 name the same thing for an Ed25519 key (RFC 9864 §2.2):
// a JWK saying either verifies tokens saying either.
func algFits(alg *algInfo, jwkAlg string) bool {
	if jwkAlg == "" || jwkAlg == alg.name {
		return true
	}
	return alg.family == famEdDSA && (jwkAlg == "EdDSA" || jwkAlg == "Ed25519")
}

// verifySignature checks tok's signature with key. checkKey must have
// accepted the key. RS256/384/512 go through internal/rsapkcs1 with the
// key prepared once and kept in rsaKeys (see rsaKeyCache); everything else,
// PS256/384/512 included, through dsig's typed verifiers over the standard
// library.
func verifySignature(tok *jwsToken, key *jwks.Key, rsaKeys *rsaKeyCache) *rejection {
	var err error
	a := tok.alg
	switch a.family {
	case famRSA:
		var p *rsapkcs1.PublicKey
		if p, err = rsaKeys.get(key.Public.(*rsa.PublicKey)); err == nil {
			d, ok := digest(a.hash, tok.signingInput)
			if !ok {
				return rejKeyMismatch
			}
			err = rsapkcs1.Verify(p, a.hash, d[:a.hash.Size()], tok.sig)
		}
	case famRSAPSS:
		d, ok := digest(a.hash, tok.signingInput)
		if !ok {
			return rejKeyMismatch
		}
		err = dsig.VerifyRSADigest(key.Public.(*rsa.PublicKey), d[:a.hash.Size()], tok.sig, a.hash, true)
	case famECDSA:
		// The r||s length is checked; crypto/ecdsa rejects r or s of 0
		// or >= N (CVE-2022-21449).
		d, ok := digest(a.hash, tok.signingInput)
		if !ok {
			return rejKeyMismatch
		}
		err = verifyECDSA(key.Public.(*ecdsa.PublicKey), d[:a.hash.Size()], tok.sig)
	case famEdDSA:
		err = dsig.VerifyEdDSA(key.Public.(ed25519.PublicKey), tok.signingInput, tok.sig)
	default:
		return rejKeyMismatch
	}
	if err != nil {
		return reject(ReasonSignature, fmt.Errorf("%w: %w", errSignature, err))
	}
	return nil
}

// digest returns the hash of msg by h in d[:h.Size()], for the SHA-2
// functions of the JOSE algorithms (every hash of the alg table, which
// TestDigestCoversAlgs checks), and ok false for any other. It returns
// an array, not a slice of dst: the digest then stays on the caller's
// stack, and so does the msg it is given (a hash.Hash would take both to
// the heap, and the token's decoded parts with them).
func digest(h crypto.Hash, msg []byte) (d [sha512.Size]byte, ok bool) {
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256(msg)
		copy(d[:], s[:])
	case crypto.SHA384:
		s := sha512.Sum384(msg)
		copy(d[:], s[:])
	case crypto.SHA512:
		d = sha512.Sum512(msg)
	default:
		return d, false
	}
	return d, true
}
