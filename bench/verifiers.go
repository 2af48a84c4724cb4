package bench

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

// Check verifies one token; nil means accepted. A Check is not safe for
// concurrent use.
type Check func(ctx context.Context, raw string) error

// Floor returns the bare standard-library signature check of raw (alg's
// key): hash the signing input and verify. The signature is decoded (and,
// for ES256, converted from r||s to ASN.1) before the returned function
// runs, so the floor excludes even the base64 decoding.
func Floor(k *Keys, alg, raw string) (func() bool, error) { return FloorOf(k.Public(alg), alg, raw) }

// FloorOf is Floor with alg's public key pub.
func FloorOf(pub crypto.PublicKey, alg, raw string) (func() bool, error) {
	i := strings.LastIndexByte(raw, '.')
	input := []byte(raw[:i])
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil {
		return nil, err
	}
	switch alg {
	case "RS256":
		pub, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("bench: RS256 floor: a %T key", pub)
		}
		return func() bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) == nil
		}, nil
	case "ES256":
		der, err := asn1.Marshal(struct{ R, S *big.Int }{
			new(big.Int).SetBytes(sig[:len(sig)/2]), new(big.Int).SetBytes(sig[len(sig)/2:])})
		if err != nil {
			return nil, err
		}
		pub, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("bench: ES256 floor: a %T key", pub)
		}
		return func() bool {
			d := sha256.Sum256(input)
			return ecdsa.VerifyASN1(pub, d[:], der)
		}, nil
	case "EdDSA":
		pub, ok := pub.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("bench: EdDSA floor: a %T key", pub)
		}
		return func() bool { return ed25519.Verify(pub, input, sig) }, nil
	}
	return nil, fmt.Errorf("bench: unknown alg %q", alg)
}

// NewVerifier returns a stepup verifier over the JWKS, with the
// verified-token cache at its default size when cache is true and off
// (Config.NoTokenCache) otherwise.
func NewVerifier(k *Keys, cache bool) (*verify.Verifier, error) {
	set, err := jwks.NewStatic(k.JWKS)
	if err != nil {
		return nil, err
	}
	return verify.New(set, verify.Config{Issuer: Issuer, Audience: Audience, NoTokenCache: !cache})
}

// Stepup is verify.Verifier.Verify.
func Stepup(v *verify.Verifier) Check {
	return func(ctx context.Context, raw string) error {
		_, err := v.Verify(ctx, raw)
		return err
	}
}

// HTTP returns a check that serves one request through a handler protected
// by an httpmw guard (any valid token) into an httptest.ResponseRecorder.
// The request is built once per token and reused, so the figure is the
// middleware's (and the recorder's), not httptest.NewRequest's.
func HTTP(v *verify.Verifier) (Check, error) {
	g, err := httpmw.New(v)
	if err != nil {
		return nil, err
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, found := claims.FromContext(r.Context()); !found {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	h := g.Require(claims.Requirement{}, ok)
	var (
		last string
		r    *http.Request
	)
	return func(_ context.Context, raw string) error {
		if r == nil || raw != last {
			r = httptest.NewRequest(http.MethodGet, "/profile", nil)
			r.Header.Set("Authorization", "Bearer "+raw)
			last = raw
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			return fmt.Errorf("bench: http status %d: %s", w.Code, w.Header().Get("WWW-Authenticate"))
		}
		return nil
	}, nil
}

// GRPCMethod is the method of the unary interceptor benchmark.
const GRPCMethod = "/bench.v1.Bench/Get"

// GRPCUnary returns a check that calls the grpcmw unary interceptor
// directly with the token in incoming metadata.
func GRPCUnary(v *verify.Verifier) (Check, error) {
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: GRPCMethod})
	if err != nil {
		return nil, err
	}
	s, err := grpcmw.New(v, m)
	if err != nil {
		return nil, err
	}
	icpt := s.Unary()
	info := &grpc.UnaryServerInfo{FullMethod: GRPCMethod}
	handler := func(ctx context.Context, _ any) (any, error) {
		if _, found := claims.FromContext(ctx); !found {
			return nil, errors.New("bench: no claims in the handler's context")
		}
		return nil, nil
	}
	return func(ctx context.Context, raw string) error {
		ctx = metadata.NewIncomingContext(ctx, metadata.MD{"authorization": {"Bearer " + raw}})
		_, err := icpt(ctx, nil, info, handler)
		return err
	}, nil
}

// Auth0 is github.com/auth0/go-jwt-middleware/v2's validator.ValidateToken
// with a key function returning alg's key from memory (its JWKS provider
// would fetch over the network; this favours the peer slightly).
func Auth0(k *Keys, alg string) (Check, error) {
	pub := k.Public(alg)
	val, err := validator.New(func(context.Context) (any, error) { return pub, nil },
		validator.SignatureAlgorithm(alg), Issuer, []string{Audience})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, raw string) error {
		_, err := val.ValidateToken(ctx, raw)
		return err
	}, nil
}

// GolangJWT is github.com/golang-jwt/jwt/v5's Parser with the key function
// of github.com/MicahParks/keyfunc/v3 over the same JWKS.
func GolangJWT(k *Keys, alg string) (Check, error) {
	kf, err := keyfunc.NewJWKSetJSON(json.RawMessage(k.JWKS))
	if err != nil {
		return nil, err
	}
	p := gjwt.NewParser(gjwt.WithValidMethods([]string{alg}), gjwt.WithIssuer(Issuer),
		gjwt.WithAudience(Audience), gjwt.WithExpirationRequired(), gjwt.WithIssuedAt())
	return func(_ context.Context, raw string) error {
		_, err := p.Parse(raw, kf.Keyfunc)
		return err
	}, nil
}

// JWX is github.com/lestrrat-go/jwx/v3's jwt.Parse with a jwk.Set of the
// same JWKS.
func JWX(k *Keys) (Check, error) {
	set, err := jwk.Parse(k.JWKS)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, raw string) error {
		_, err := jwxjwt.Parse([]byte(raw), jwxjwt.WithKeySet(set), jwxjwt.WithIssuer(Issuer),
			jwxjwt.WithAudience(Audience), jwxjwt.WithValidate(true))
		return err
	}, nil
}
