package stepupclient

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"
)

var b64 = base64.RawURLEncoding

// dpopKey signs DPoP proofs (RFC 9449 §4.2) with a crypto.Signer.
type dpopKey struct {
	signer crypto.Signer
	alg    string
	hash   crypto.Hash // 0 for EdDSA
	size   int         // ECDSA: bytes of r and of s; 0 otherwise
	header string      // base64url of the JOSE header, the same for every proof
	jkt    string      // RFC 7638 thumbprint of the public key
}

func newDPoPKey(s crypto.Signer) (*dpopKey, error) {
	k := &dpopKey{signer: s}
	var jwk string
	switch pub := s.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			k.alg, k.hash, k.size = "ES256", crypto.SHA256, 32
		case elliptic.P384():
			k.alg, k.hash, k.size = "ES384", crypto.SHA384, 48
		case elliptic.P521():
			k.alg, k.hash, k.size = "ES512", crypto.SHA512, 66
		default:
			return nil, errors.New("stepupclient: Config.DPoP: an ECDSA key must be on P-256, P-384 or P-521")
		}
		pt, err := pub.Bytes() // 0x04 || x || y, each of full size
		if err != nil || len(pt) != 1+2*k.size {
			return nil, errors.New("stepupclient: Config.DPoP: invalid ECDSA public key")
		}
		jwk = fmt.Sprintf(`{"crv":%q,"kty":"EC","x":%q,"y":%q}`, pub.Curve.Params().Name,
			b64.EncodeToString(pt[1:1+k.size]), b64.EncodeToString(pt[1+k.size:]))
	case ed25519.PublicKey:
		k.alg = "EdDSA"
		jwk = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":%q}`, b64.EncodeToString(pub))
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return nil, errors.New("stepupclient: Config.DPoP: an RSA key must have at least 2048 bits")
		}
		k.alg, k.hash = "RS256", crypto.SHA256
		jwk = fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`,
			b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()), b64.EncodeToString(pub.N.Bytes()))
	default:
		return nil, fmt.Errorf("stepupclient: Config.DPoP: unsupported key type %T: use ECDSA (P-256, P-384, P-521), Ed25519 or RSA", pub)
	}
	// The members written above are the required ones of RFC 7638 §3.2, in
	// lexicographic order, without white space: jwk is the thumbprint input.
	sum := sha256.Sum256([]byte(jwk))
	k.jkt = b64.EncodeToString(sum[:])
	hdr := `{"alg":"` + k.alg + `","jwk":` + jwk + `,"typ":"dpop+jwt"}`
	k.header = b64.EncodeToString([]byte(hdr))
	// Sign once now, so that a signer that cannot sign fails at New.
	if _, err := k.proof("GET", "https://example.com/", "", "", time.Now()); err != nil {
		return nil, fmt.Errorf("stepupclient: Config.DPoP: %w", err)
	}
	return k, nil
}

// proofClaims is the claim set of a proof (RFC 9449 §4.2).
type proofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// proof signs a proof for a request with method to htu, presenting
// token (ath, omitted when empty) with nonce (omitted when empty).
func (k *dpopKey) proof(method, htu, token, nonce string, now time.Time) (string, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	c := proofClaims{JTI: b64.EncodeToString(jti[:]), HTM: method, HTU: htu, IAT: now.Unix(), Nonce: nonce}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		c.ATH = b64.EncodeToString(sum[:])
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	input := k.header + "." + b64.EncodeToString(payload)
	sig, err := k.sign([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// sign returns the JWS signature of input (RFC 7518 §3): for ECDSA the
// fixed-width r || s, not the ASN.1 DER crypto.Signer returns.
func (k *dpopKey) sign(input []byte) ([]byte, error) {
	if k.hash == 0 {
		return k.signer.Sign(rand.Reader, input, crypto.Hash(0))
	}
	h := k.hash.New()
	h.Write(input)
	sig, err := k.signer.Sign(rand.Reader, h.Sum(nil), k.hash)
	if err != nil || k.size == 0 {
		return sig, err
	}
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	if err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 ||
		rs.R.BitLen() > 8*k.size || rs.S.BitLen() > 8*k.size {
		return nil, errors.New("the signer's ECDSA signature is not ASN.1 DER")
	}
	out := make([]byte, 2*k.size)
	rs.R.FillBytes(out[:k.size])
	rs.S.FillBytes(out[k.size:])
	return out, nil
}

// htu is the htu of a request to u: its URI without query and fragment
// (RFC 9449 §4.2), and without userinfo. The path of a URL with Opaque
// set (net/http sends Opaque as the request target, "//host/path" or
// "/path") is the one sent.
func htu(u *url.URL) string {
	path := u.EscapedPath()
	if u.Opaque != "" {
		path = u.Opaque
		if rest, ok := strings.CutPrefix(path, "//"); ok { // "//authority/path"
			path = ""
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				path = rest[i:]
			}
		}
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return u.Scheme + "://" + u.Host + path
}
