package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/lestrrat-go/dsig"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// The issuer and audience of every benchmark token.
const (
	Issuer   = "https://issuer.bench.example/"
	Audience = "https://api.bench.example"
)

// Algs are the algorithms measured.
var Algs = []string{"RS256", "ES256", "EdDSA"}

// Keys is the key material shared by every measured library: one key per
// algorithm and the JWK Set publishing them.
type Keys struct {
	RSA     *rsa.PrivateKey
	P256    *ecdsa.PrivateKey
	Ed25519 ed25519.PrivateKey
	JWKS    []byte // {"keys":[...]} with kid and alg per key
}

// KeyID returns the kid of alg's key in the JWKS.
func KeyID(alg string) string { return "bench-" + alg }

var dsigAlg = map[string]string{
	"RS256": dsig.RSAPKCS1v15WithSHA256,
	"ES256": dsig.ECDSAWithP256AndSHA256,
	"EdDSA": dsig.EdDSA,
}

// LoadKeys generates the keys once per process.
var LoadKeys = sync.OnceValues(func() (*Keys, error) {
	var k Keys
	var err error
	if k.RSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, err
	}
	if k.P256, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if _, k.Ed25519, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return nil, err
	}
	set := jwk.NewSet()
	for _, alg := range Algs {
		key, err := jwk.Import(k.Public(alg))
		if err != nil {
			return nil, err
		}
		if err := key.Set(jwk.KeyIDKey, KeyID(alg)); err != nil {
			return nil, err
		}
		if err := key.Set(jwk.AlgorithmKey, alg); err != nil {
			return nil, err
		}
		if err := key.Set(jwk.KeyUsageKey, "sig"); err != nil {
			return nil, err
		}
		if err := set.AddKey(key); err != nil {
			return nil, err
		}
	}
	if k.JWKS, err = json.Marshal(set); err != nil {
		return nil, err
	}
	return &k, nil
})

// Public returns alg's public key.
func (k *Keys) Public(alg string) crypto.PublicKey {
	switch alg {
	case "RS256":
		return &k.RSA.PublicKey
	case "ES256":
		return &k.P256.PublicKey
	case "EdDSA":
		return k.Ed25519.Public()
	}
	panic("bench: unknown alg " + alg)
}

func (k *Keys) private(alg string) crypto.Signer {
	switch alg {
	case "RS256":
		return k.RSA
	case "ES256":
		return k.P256
	case "EdDSA":
		return k.Ed25519
	}
	panic("bench: unknown alg " + alg)
}

// Mint returns a typical RFC 9068 access token (about 800 bytes with an
// RS256 signature) signed with alg's key, valid from now for an hour; jti
// makes it distinct.
func (k *Keys) Mint(alg, jti string, now time.Time) (string, error) {
	hdr, err := json.Marshal(map[string]string{"alg": alg, "typ": "at+jwt", "kid": KeyID(alg)})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(map[string]any{
		"iss":       Issuer,
		"aud":       Audience,
		"sub":       "248289761001",
		"client_id": "s6BhdRkqt3",
		"iat":       now.Add(-time.Minute).Unix(),
		"nbf":       now.Add(-time.Minute).Unix(),
		"exp":       now.Add(time.Hour).Unix(),
		"jti":       jti,
		"scope":     "openid profile accounts:read transfers:write",
		"acr":       "http://schemas.openid.net/pape/policies/2007/06/multi-factor",
		"amr":       []string{"pwd", "otp"},
		"auth_time": now.Add(-2 * time.Minute).Unix(),
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload)
	sig, err := dsig.Sign(k.private(alg), dsigAlg[alg], []byte(input), nil)
	if err != nil {
		return "", fmt.Errorf("bench: sign %s: %w", alg, err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}
