package verify_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/dsig"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

// oneKey is a jwks.Source holding a single key of a single issuer. Real
// programs use jwks.Discover, jwks.NewRemote or jwks.NewStatic.
type oneKey struct {
	issuer string
	key    *jwks.Key
}

func (s oneKey) Key(_ context.Context, issuer, kid string) (*jwks.Key, error) {
	switch {
	case issuer != s.issuer:
		return nil, jwks.ErrUnknownIssuer
	case kid != s.key.ID:
		return nil, jwks.ErrUnknownKey
	}
	return s.key, nil
}

// exampleToken signs an EdDSA access token the way an issuer would.
func exampleToken(priv ed25519.PrivateKey, payload string) string {
	b64 := base64.RawURLEncoding
	input := b64.EncodeToString([]byte(`{"alg":"EdDSA","typ":"at+jwt","kid":"k1"}`)) + "." +
		b64.EncodeToString([]byte(payload))
	sig, err := dsig.Sign(priv, dsig.EdDSA, []byte(input), nil)
	if err != nil {
		panic(err)
	}
	return input + "." + b64.EncodeToString(sig)
}

func ExampleVerifier_Verify() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	keys := oneKey{issuer: "https://idp.example.com/", key: &jwks.Key{
		ID: "k1", Algorithm: "EdDSA", KeyType: "OKP", Public: priv.Public()}}
	now := time.Unix(1_800_000_000, 0)

	v, err := verify.New(keys, verify.Config{
		Issuer:   "https://idp.example.com/",
		Audience: "https://api.example.com",
		Now:      func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}

	raw := exampleToken(priv, `{"iss":"https://idp.example.com/","aud":"https://api.example.com",`+
		`"sub":"alice","client_id":"app","jti":"t1","iat":1799999900,"exp":1800000300,"acr":"urn:example:loa:1"}`)
	c, err := v.Verify(context.Background(), raw)
	fmt.Println(c.Subject, c.ACR, err)

	// A token whose signature does not verify.
	_, err = v.Verify(context.Background(), raw[:len(raw)-4]+"AAAA")
	var ce *claims.Error
	var te *verify.TokenError
	if errors.As(err, &ce) && errors.As(err, &te) {
		fmt.Println(ce.Code, te.Reason)
	}
	// Output:
	// alice urn:example:loa:1 <nil>
	// invalid_token signature
}

func ExampleVerifier_Authorize() {
	priv := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	keys := oneKey{issuer: "https://idp.example.com/", key: &jwks.Key{
		ID: "k1", Algorithm: "EdDSA", KeyType: "OKP", Public: priv.Public()}}
	now := time.Unix(1_800_000_000, 0)
	v, err := verify.New(keys, verify.Config{
		Issuer:   "https://idp.example.com/",
		Audience: "https://api.example.com",
		Now:      func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	raw := exampleToken(priv, `{"iss":"https://idp.example.com/","aud":"https://api.example.com",`+
		`"sub":"alice","client_id":"app","jti":"t1","iat":1799999900,"exp":1800000300,`+
		`"acr":"urn:example:loa:1","auth_time":1799999000}`)

	transfer := claims.Requirement{ACR: []string{claims.ACRMultiFactor}, MaxAge: 5 * time.Minute}
	_, err = v.Authorize(context.Background(), raw, transfer)
	var ce *claims.Error
	if errors.As(err, &ce) {
		fmt.Println(ce.Code, ce.ACRValues, ce.MaxAge)
	}

	_, err = v.Authorize(context.Background(), "", transfer)
	if errors.As(err, &ce) {
		fmt.Printf("no token: code %q\n", ce.Code)
	}

	c, err := v.Authorize(context.Background(), raw, claims.Requirement{})
	fmt.Println(c.Subject, err)
	// Output:
	// insufficient_user_authentication [http://schemas.openid.net/pape/policies/2007/06/multi-factor] 5m0s
	// no token: code ""
	// alice <nil>
}
