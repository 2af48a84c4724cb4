package introspect

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"time"
)

// clientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long an assertion is valid: it is made for one
// request.
const assertionLifetime = 60 * time.Second

var b64 = base64.RawURLEncoding

// assertion returns a fresh private_key_jwt client assertion (RFC 7523
// §3): iss and sub the client id, aud the endpoint, a random jti, iat now
// and exp a minute later.
func (s *settings) assertion(now time.Time) (string, error) {
	header := struct {
		Alg string `json:"alg"`
		Kid string `json:"kid,omitempty"`
	}{s.alg, s.keyID}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	payload := struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud string `json:"aud"`
		Jti string `json:"jti"`
		Iat int64  `json:"iat"`
		Exp int64  `json:"exp"`
	}{s.clientID, s.clientID, s.endpoint, b64.EncodeToString(jti[:]), now.Unix(), now.Add(assertionLifetime).Unix()}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	sig, err := s.sign([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// sign signs input with the configured key by s.alg (RFC 7518 §3).
func (s *settings) sign(input []byte) ([]byte, error) {
	var (
		hash   crypto.Hash
		digest []byte
	)
	switch s.alg {
	case "EdDSA":
		return s.key.Sign(rand.Reader, input, crypto.Hash(0))
	case "RS256", "ES256":
		d := sha256.Sum256(input)
		hash, digest = crypto.SHA256, d[:]
	case "ES384":
		d := sha512.Sum384(input)
		hash, digest = crypto.SHA384, d[:]
	case "ES512":
		d := sha512.Sum512(input)
		hash, digest = crypto.SHA512, d[:]
	default:
		return nil, errors.New("introspect: unsupported algorithm " + s.alg)
	}
	sig, err := s.key.Sign(rand.Reader, digest, hash)
	if err != nil || s.alg == "RS256" {
		return sig, err
	}
	// crypto.Signer gives ECDSA signatures in ASN.1 DER; JWS wants r||s,
	// each left-padded to the curve's size (RFC 7518 §3.4).
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) != 0 {
		return nil, errors.New("introspect: the signer returned a malformed ECDSA signature")
	}
	size := (s.key.Public().(*ecdsa.PublicKey).Curve.Params().BitSize + 7) / 8
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > size*8 || rs.S.BitLen() > size*8 {
		return nil, errors.New("introspect: the signer returned an ECDSA signature out of range")
	}
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}
