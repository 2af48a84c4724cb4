package stepuptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// rsaBits is the size of generated RSA keys (RFC 7518 §3.3 minimum).
const rsaBits = 2048

// family names the key type an algorithm needs: "RSA", "EC-P256", "EC-P384",
// "EC-P521", "OKP-Ed25519", "HMAC", "none" or "" when unknown.
func family(alg string) string {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		return "RSA"
	case "ES256":
		return "EC-P256"
	case "ES384":
		return "EC-P384"
	case "ES512":
		return "EC-P521"
	case "EdDSA":
		return "OKP-Ed25519"
	case "HS256", "HS384", "HS512":
		return "HMAC"
	case "none":
		return "none"
	}
	return ""
}

// signingKey is one key pair the issuer holds. Immutable once built, except
// published, which is guarded by Issuer.mu.
type signingKey struct {
	kid       string
	alg       string // the JWK "alg" it was generated for
	fam       string
	priv      crypto.Signer
	pub       jwk.Key
	published bool
}

// newSigningKey generates a fresh key pair for alg with its JWK public half
// (kid = RFC 7638 thumbprint, alg, use=sig).
func newSigningKey(alg string) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch family(alg) {
	case "RSA":
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case "EC-P256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EC-P384":
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "EC-P521":
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "OKP-Ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("%w: %q", errUnsupportedAlgorithm, alg)
	}
	if err != nil {
		return nil, fmt.Errorf("stepuptest: generate %s key: %w", alg, err)
	}
	pub, err := jwk.PublicKeyOf(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("stepuptest: import %s key: %w", alg, err)
	}
	if err := jwk.AssignKeyID(pub); err != nil {
		return nil, fmt.Errorf("stepuptest: key id: %w", err)
	}
	sa, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		return nil, fmt.Errorf("%w: %q", errUnsupportedAlgorithm, alg)
	}
	if err := pub.Set(jwk.AlgorithmKey, sa); err != nil {
		return nil, fmt.Errorf("stepuptest: set alg: %w", err)
	}
	if err := pub.Set(jwk.KeyUsageKey, jwk.ForSignature); err != nil {
		return nil, fmt.Errorf("stepuptest: set use: %w", err)
	}
	kid, _ := pub.KeyID()
	return &signingKey{kid: kid, alg: alg, fam: family(alg), priv: priv, pub: pub, published: true}, nil
}

// buildJWKS renders the published keys plus the raw extra keys as a JWK Set
// document (RFC 7517 §5). Caller holds iss.mu.
func buildJWKS(keys []*signingKey, extra []json.RawMessage) ([]byte, error) {
	out := make([]json.RawMessage, 0, len(keys)+len(extra))
	for _, k := range keys {
		if !k.published {
			continue
		}
		b, err := json.Marshal(k.pub)
		if err != nil {
			return nil, fmt.Errorf("stepuptest: marshal jwk: %w", err)
		}
		out = append(out, b)
	}
	out = append(out, extra...)
	b, err := json.Marshal(struct {
		Keys []json.RawMessage `json:"keys"`
	}{out})
	if err != nil {
		return nil, fmt.Errorf("stepuptest: marshal jwks: %w", err)
	}
	return b, nil
}
