package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"

	"github.com/stepupauth/stepup/internal/jsonscan"
	"github.com/stepupauth/stepup/internal/rsapkcs1"
)

// family is the signature scheme behind a JOSE alg.
type family uint8

const (
	famRSA family = iota + 1
	famRSAPSS
	famECDSA
	famEdDSA
)

// algInfo binds a JOSE alg (RFC 7518 §3.1, RFC 8037, RFC 9864) to the key
// it needs and the way it is checked.
type algInfo struct {
	name   string
	family family
	hash   crypto.Hash
	kty    string
	crv    string         // EC and OKP
	curve  elliptic.Curve // EC
}

// knownAlgs is every alg a proof may use: the asymmetric signature
// algorithms of RFC 7518 and RFC 8037, and RFC 9864's Ed25519. "none" and
// the MACs (HS256/384/512) are absent: RFC 9449 §4.2 and §11.6 forbid them.
var knownAlgs = map[string]*algInfo{
	"RS256":   {name: "RS256", family: famRSA, hash: crypto.SHA256, kty: "RSA"},
	"RS384":   {name: "RS384", family: famRSA, hash: crypto.SHA384, kty: "RSA"},
	"RS512":   {name: "RS512", family: famRSA, hash: crypto.SHA512, kty: "RSA"},
	"PS256":   {name: "PS256", family: famRSAPSS, hash: crypto.SHA256, kty: "RSA"},
	"PS384":   {name: "PS384", family: famRSAPSS, hash: crypto.SHA384, kty: "RSA"},
	"PS512":   {name: "PS512", family: famRSAPSS, hash: crypto.SHA512, kty: "RSA"},
	"ES256":   {name: "ES256", family: famECDSA, hash: crypto.SHA256, kty: "EC", crv: "P-256", curve: elliptic.P256()},
	"ES384":   {name: "ES384", family: famECDSA, hash: crypto.SHA384, kty: "EC", crv: "P-384", curve: elliptic.P384()},
	"ES512":   {name: "ES512", family: famECDSA, hash: crypto.SHA512, kty: "EC", crv: "P-521", curve: elliptic.P521()},
	"EdDSA":   {name: "EdDSA", family: famEdDSA, kty: "OKP", crv: "Ed25519"},
	"Ed25519": {name: "Ed25519", family: famEdDSA, kty: "OKP", crv: "Ed25519"},
}

// defaultAlgorithms is Config.Algorithms when it is empty.
var defaultAlgorithms = []string{"ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA", "Ed25519"}

const (
	maxMembers = 64 // members of the header, of the jwk, and of the claim set
	// The RSA bounds of the rest of the library (internal/rsapkcs1 states
	// them once, the jwks package doc says why). They matter more here: the
	// client, not an issuer, picks the key, and an 8192-bit key costs 16
	// times a 2048-bit one to check.
	minRSABits  = rsapkcs1.MinBits
	maxRSABits  = rsapkcs1.MaxBits
	rsaExponent = rsapkcs1.Exponent
)

// b64 is the strict base64url of RFC 7515 §2: no padding, nothing outside
// the alphabet, zero trailing bits.
var b64 = base64.RawURLEncoding.Strict()

// errStop ends a jsonscan walk whose callback has decided.
var errStop = errors.New("dpop: stop")

// Fixed causes, for logs.
var (
	errForm        = errors.New("not a compact jws of three base64url parts")
	errHeaderJSON  = errors.New("header is not one strict json object without duplicate members")
	errClaimsJSON  = errors.New("claim set is not one strict json object without duplicate members")
	errRefusedHdr  = errors.New("header has crit, b64, jku, x5u or x5c")
	errNoSignature = errors.New("empty signature")
	errBadSig      = errors.New("signature does not verify with the jwk")
)

// splitCompact decodes the three parts of the compact JWS raw, which holds
// only base64url characters and two dots (the caller checked).
func splitCompact(raw string) (hdr, payload, sig []byte, input string, ok bool) {
	d1 := strings.IndexByte(raw, '.')
	if d1 <= 0 {
		return nil, nil, nil, "", false
	}
	d2 := d1 + 1 + strings.IndexByte(raw[d1+1:], '.')
	if d2 <= d1 || strings.IndexByte(raw[d2+1:], '.') >= 0 {
		return nil, nil, nil, "", false
	}
	var err error
	if hdr, err = b64.DecodeString(raw[:d1]); err != nil {
		return nil, nil, nil, "", false
	}
	if payload, err = b64.DecodeString(raw[d1+1 : d2]); err != nil {
		return nil, nil, nil, "", false
	}
	if sig, err = b64.DecodeString(raw[d2+1:]); err != nil {
		return nil, nil, nil, "", false
	}
	return hdr, payload, sig, raw[:d2], true
}

// content returns the content of the string token b[sp], which jsonscan
// accepted.
func content(b []byte, sp jsonscan.Span, esc bool) string {
	if !esc {
		return string(b[sp.Start+1 : sp.End-1])
	}
	return jsonscan.Unquote(b[sp.Start:sp.End])
}

// isString reports whether the value b[sp] is a string token.
func isString(b []byte, sp jsonscan.Span) bool { return b[sp.Start] == '"' }

// members walks the strict JSON object b, refusing duplicate member names
// (after unescaping) and more than maxMembers members, and calls fn with
// each member and its unescaped name.
func members(b []byte, fn func(name string, m jsonscan.Member) error) error {
	var names [maxMembers]string
	n := 0
	errDup := errors.New("duplicate")
	err := jsonscan.Members(b, func(m jsonscan.Member) error {
		if n == maxMembers {
			return errDup
		}
		name := content(b, m.Name, m.NameEsc)
		for _, o := range names[:n] {
			if o == name {
				return errDup
			}
		}
		names[n] = name
		n++
		return fn(name, m)
	})
	return err
}

// parseHeader reads the JOSE header of a proof (RFC 9449 §4.2) and checks
// typ, alg and jwk, in that order, against algs. It returns the alg, the
// public key and its thumbprint, or the refusal.
func parseHeader(b []byte, algs map[string]*algInfo) (*algInfo, crypto.PublicKey, string, *Error) {
	var (
		typ, alg       string
		hasTyp, hasAlg bool
		jwk            []byte
		rej            *Error
	)
	err := members(b, func(name string, m jsonscan.Member) error {
		switch name {
		case "typ", "alg":
			if !isString(b, m.Value) {
				rej = refuse(ReasonMalformed, errors.New(name+" is not a string"))
				return errStop
			}
			if name == "typ" {
				typ, hasTyp = content(b, m.Value, m.ValueEsc), true
			} else {
				alg, hasAlg = content(b, m.Value, m.ValueEsc), true
			}
		case "jwk":
			if b[m.Value.Start] != '{' {
				rej = refuse(ReasonKey, errors.New("jwk is not an object"))
				return errStop
			}
			jwk = b[m.Value.Start:m.Value.End]
		case "crit", "b64", "jku", "x5u", "x5c":
			// crit: no extension is understood, so any crit is unmet
			// (RFC 7515 §4.1.11); b64 (RFC 7797) needs crit. jku, x5u
			// and x5c would name a key other than jwk: the key comes
			// only from jwk (RFC 9449 §4.3 step 6), and a proof that
			// points elsewhere is refused rather than half-read.
			rej = refuse(ReasonHeader, errRefusedHdr)
			return errStop
		}
		// kid, x5t and anything else are ignored (RFC 7515 §4): they
		// never choose the key.
		return nil
	})
	if rej != nil {
		return nil, nil, "", rej
	}
	if err != nil {
		return nil, nil, "", refuse(ReasonMalformed, errHeaderJSON)
	}
	if !hasTyp || !typeOK(typ) {
		return nil, nil, "", refuse(ReasonType, errors.New("typ is not dpop+jwt"))
	}
	if !hasAlg {
		return nil, nil, "", refuse(ReasonAlgorithm, errors.New("no alg"))
	}
	a := algs[alg]
	if a == nil {
		return nil, nil, "", refuse(ReasonAlgorithm, errors.New("alg not accepted"))
	}
	if jwk == nil {
		return nil, nil, "", refuse(ReasonKey, errors.New("no jwk"))
	}
	key, jkt, kerr := parseJWK(jwk, a)
	if kerr != nil {
		return nil, nil, "", refuse(ReasonKey, kerr)
	}
	return a, key, jkt, nil
}

// typeOK reports whether typ names the media type application/dpop+jwt
// (RFC 9449 §4.2). Media types are case-insensitive and typ may omit the
// "application/" prefix (RFC 7515 §4.1.9), so "dpop+jwt",
// "application/dpop+jwt" and "DPoP+JWT" are the same type.
func typeOK(typ string) bool {
	const prefix = "application/"
	if len(typ) > len(prefix) && strings.EqualFold(typ[:len(prefix)], prefix) {
		typ = typ[len(prefix):]
	}
	return strings.EqualFold(typ, "dpop+jwt")
}

// privateMembers are the JWK members that hold private or symmetric key
// material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
var privateMembers = map[string]bool{"d": true, "p": true, "q": true, "dp": true, "dq": true, "qi": true, "oth": true, "k": true}

// parseJWK reads the jwk header parameter (RFC 7517) as a public key fitting
// alg, and computes its RFC 7638 thumbprint. Key material must be canonical
// (strict base64url; RSA values without leading zero octets, RFC 7518
// §2 Base64urlUInt; EC coordinates of the curve's full size, RFC 7518
// §6.2.1.2), so that one key has one thumbprint.
func parseJWK(b []byte, a *algInfo) (crypto.PublicKey, string, error) {
	var (
		kty, crv, x, y, n, e, alg string
		private, badType          bool
	)
	err := members(b, func(name string, m jsonscan.Member) error {
		if privateMembers[name] {
			private = true
			return errStop
		}
		var dst *string
		switch name {
		case "kty":
			dst = &kty
		case "crv":
			dst = &crv
		case "x":
			dst = &x
		case "y":
			dst = &y
		case "n":
			dst = &n
		case "e":
			dst = &e
		case "alg":
			dst = &alg
		default:
			return nil // kid, use, key_ops, ext, ...: not key material
		}
		if !isString(b, m.Value) {
			badType = true
			return errStop
		}
		*dst = content(b, m.Value, m.ValueEsc)
		return nil
	})
	switch {
	case private:
		return nil, "", errors.New("jwk holds a private or symmetric key")
	case badType, err != nil:
		return nil, "", errors.New("jwk is malformed")
	case kty != a.kty:
		return nil, "", errors.New("jwk kty does not fit alg")
	case alg != "" && alg != a.name && (a.family != famEdDSA || (alg != "EdDSA" && alg != "Ed25519")):
		return nil, "", errors.New("jwk alg is not the proof's alg")
	}
	switch a.family {
	case famRSA, famRSAPSS:
		nb, err1 := b64.DecodeString(n)
		eb, err2 := b64.DecodeString(e)
		if err1 != nil || err2 != nil || len(nb) == 0 || nb[0] == 0 || len(eb) == 0 || eb[0] == 0 {
			return nil, "", errors.New("jwk rsa material is not canonical base64url")
		}
		if e != "AQAB" { // 65537, the only exponent of the library
			return nil, "", errors.New("jwk rsa exponent is not 65537")
		}
		mod := new(big.Int).SetBytes(nb)
		if bits := mod.BitLen(); bits < minRSABits || bits > maxRSABits {
			return nil, "", errors.New("jwk rsa modulus not of 2048 to 8192 bits")
		}
		return &rsa.PublicKey{N: mod, E: rsaExponent}, thumbprint(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`), nil
	case famECDSA:
		if crv != a.crv {
			return nil, "", errors.New("jwk crv does not fit alg")
		}
		size := (a.curve.Params().BitSize + 7) / 8
		xb, err1 := b64.DecodeString(x)
		yb, err2 := b64.DecodeString(y)
		if err1 != nil || err2 != nil || len(xb) != size || len(yb) != size {
			return nil, "", errors.New("jwk ec coordinates are not canonical base64url")
		}
		pt := make([]byte, 0, 1+2*size)
		pt = append(append(append(pt, 4), xb...), yb...)
		pub, err := ecdsa.ParseUncompressedPublicKey(a.curve, pt)
		if err != nil {
			return nil, "", errors.New("jwk ec point is not on the curve")
		}
		return pub, thumbprint(`{"crv":"` + crv + `","kty":"EC","x":"` + x + `","y":"` + y + `"}`), nil
	case famEdDSA:
		if crv != a.crv {
			return nil, "", errors.New("jwk crv does not fit alg")
		}
		xb, err := b64.DecodeString(x)
		if err != nil || len(xb) != ed25519.PublicKeySize {
			return nil, "", errors.New("jwk okp x is not a canonical ed25519 key")
		}
		return ed25519.PublicKey(xb), thumbprint(`{"crv":"Ed25519","kty":"OKP","x":"` + x + `"}`), nil
	}
	return nil, "", errors.New("unsupported alg")
}

// thumbprint is the base64url SHA-256 of the canonical JWK members (RFC 7638
// §3.2; RFC 8037 §2 for OKP). The members are built by the caller from
// values already checked to be base64url or a known curve name, so they
// need no escaping.
func thumbprint(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// verifySignature checks sig over input with key, by alg (RFC 7518 §3).
// An ECDSA signature is r||s of the curve's size (RFC 7518 §3.4); crypto/ecdsa
// refuses r or s outside [1, N-1].
func verifySignature(a *algInfo, key crypto.PublicKey, input string, sig []byte) error {
	if len(sig) == 0 {
		return errNoSignature
	}
	var buf [sha512.Size]byte
	var ok bool
	switch a.family {
	case famRSA:
		ok = rsa.VerifyPKCS1v15(key.(*rsa.PublicKey), a.hash, digest(buf[:0], a.hash, input), sig) == nil
	case famRSAPSS:
		// RFC 7518 §3.5: the salt is as long as the hash.
		ok = rsa.VerifyPSS(key.(*rsa.PublicKey), a.hash, digest(buf[:0], a.hash, input), sig,
			&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.hash}) == nil
	case famECDSA:
		size := (a.curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return errBadSig
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		ok = ecdsa.Verify(key.(*ecdsa.PublicKey), digest(buf[:0], a.hash, input), r, s)
	case famEdDSA:
		ok = ed25519.Verify(key.(ed25519.PublicKey), []byte(input), sig)
	}
	if !ok {
		return errBadSig
	}
	return nil
}

// digest appends the hash h of msg to dst.
func digest(dst []byte, h crypto.Hash, msg string) []byte {
	switch h {
	case crypto.SHA256:
		d := sha256.Sum256([]byte(msg))
		return append(dst, d[:]...)
	case crypto.SHA384:
		d := sha512.Sum384([]byte(msg))
		return append(dst, d[:]...)
	default:
		d := sha512.Sum512([]byte(msg))
		return append(dst, d[:]...)
	}
}
