package stepuptest

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"
)

// DPoPKey is a DPoP client's key pair (RFC 9449), the client half of
// DPoP-bound tokens: JKT names the key for a token's cnf claim (mint the
// token with Token.Claims {"cnf": {"jkt": key.JKT()}}), and Proof signs the
// proof a request carries in its DPoP header.
//
// A DPoPKey is immutable and safe for concurrent use.
type DPoPKey struct {
	alg     string
	priv    crypto.Signer
	pub     json.RawMessage // the public JWK, as proofs carry it
	private []byte          // the private JWK
	jkt     string
}

// NewDPoPKey generates a key for alg, one of "RS256", "RS384", "RS512",
// "PS256", "PS384", "PS512", "ES256", "ES384", "ES512" and "EdDSA"; ""
// means "ES256".
func NewDPoPKey(alg string) (*DPoPKey, error) {
	if alg == "" {
		alg = "ES256"
	}
	k, err := newSigningKey(alg)
	if err != nil {
		return nil, err
	}
	pub, err := jwk.PublicKeyOf(k.priv.Public())
	if err != nil {
		return nil, fmt.Errorf("stepuptest: import %s key: %w", alg, err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("stepuptest: thumbprint: %w", err)
	}
	pb, err := json.Marshal(pub)
	if err != nil {
		return nil, fmt.Errorf("stepuptest: marshal jwk: %w", err)
	}
	priv, err := jwk.Import(k.priv)
	if err != nil {
		return nil, fmt.Errorf("stepuptest: import %s key: %w", alg, err)
	}
	if sa, ok := jwa.LookupSignatureAlgorithm(alg); ok {
		if err := priv.Set(jwk.AlgorithmKey, sa); err != nil {
			return nil, fmt.Errorf("stepuptest: set alg: %w", err)
		}
	}
	privJSON, err := json.Marshal(priv)
	if err != nil {
		return nil, fmt.Errorf("stepuptest: marshal jwk: %w", err)
	}
	return &DPoPKey{alg: alg, priv: k.priv, pub: pb, private: privJSON,
		jkt: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// Algorithm returns the alg of the key's proofs.
func (k *DPoPKey) Algorithm() string { return k.alg }

// JKT returns the base64url SHA-256 JWK thumbprint (RFC 7638) of the
// public key: the cnf.jkt of a token bound to it (RFC 9449 §6.1).
func (k *DPoPKey) JKT() string { return k.jkt }

// PrivateJWK returns the key pair as a JWK (RFC 7517), private members
// included, for a tool that signs more proofs. A copy.
func (k *DPoPKey) PrivateJWK() []byte { return append([]byte(nil), k.private...) }

// DPoPProof describes a proof to sign (RFC 9449 §4.2). The zero IssuedAt
// and JTI get defaults; Method and URL are written as given.
type DPoPProof struct {
	Method      string    // htm, such as "POST"
	URL         string    // htu: the server's public URL and the request's path
	AccessToken string    // ath is its base64url SHA-256; omitted when empty
	Nonce       string    // nonce, from a DPoP-Nonce header; omitted when empty
	IssuedAt    time.Time // iat; default time.Now
	JTI         string    // jti; default 16 random bytes, base64url
}

// Proof signs p with the key and returns the compact JWS for the DPoP
// header: header {"typ": "dpop+jwt", "alg", "jwk"}, claims jti, htm, htu,
// iat and, when set, ath and nonce. A verifier accepts each proof once.
func (k *DPoPKey) Proof(p DPoPProof) (string, error) {
	hdr, err := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": k.alg, "jwk": k.pub})
	if err != nil {
		return "", fmt.Errorf("stepuptest: marshal header: %w", err)
	}
	iat := p.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	jti := p.JTI
	if jti == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		jti = base64.RawURLEncoding.EncodeToString(b[:])
	}
	enc := base64.RawURLEncoding
	c := map[string]any{"jti": jti, "htm": p.Method, "htu": p.URL, "iat": iat.Unix()}
	if p.AccessToken != "" {
		sum := sha256.Sum256([]byte(p.AccessToken))
		c["ath"] = enc.EncodeToString(sum[:])
	}
	if p.Nonce != "" {
		c["nonce"] = p.Nonce
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("stepuptest: marshal claims: %w", err)
	}
	input := enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload)
	sig, err := jwsbb.Sign(k.priv, k.alg, []byte(input), nil)
	if err != nil {
		return "", fmt.Errorf("stepuptest: sign: %w", err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}
