package introspect_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws/jwsbb"

	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
)

// An authorization server answering with signed JWT responses (RFC 9701),
// and a Client that accepts nothing else.
func Example_signedResponses() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	enc := base64.RawURLEncoding
	pt, _ := key.PublicKey.Bytes()
	jwksJSON := fmt.Sprintf(`{"keys":[{"kty":"EC","crv":"P-256","kid":"as-1","use":"sig","x":%q,"y":%q}]}`,
		enc.EncodeToString(pt[1:33]), enc.EncodeToString(pt[33:]))

	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := `{"alg":"ES256","kid":"as-1","typ":"token-introspection+jwt"}`
		claims, _ := json.Marshal(map[string]any{
			"iss": "https://as.example.net",
			"aud": "rs", // the resource server's client id
			"iat": 1618354100,
			"token_introspection": map[string]any{
				"active": true, "sub": "someone@example.net", "acr": "myACR", "auth_time": 1618354090,
			},
		})
		input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(claims)
		sig, _ := jwsbb.Sign(key, "ES256", []byte(input), nil)
		w.Header().Set("Content-Type", "application/token-introspection+jwt")
		io.WriteString(w, input+"."+enc.EncodeToString(sig))
	}))
	defer as.Close()

	keys, err := jwks.NewStatic([]byte(jwksJSON)) // in production: jwks.Discover(ctx, issuer)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := introspect.New(introspect.Config{
		Endpoint:        as.URL + "/introspect",
		ClientID:        "rs",
		ClientSecret:    "secret",
		Issuer:          "https://as.example.net",
		SignedResponses: true,
		Keys:            keys,
		Now:             func() time.Time { return time.Unix(1618354100, 0) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	cl, err := c.Introspect(context.Background(), "2YotnFZFEjr1zCsicMWpAA")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cl.Subject, cl.ACR, cl.AuthTime.Unix())
	// Output:
	// someone@example.net myACR 1618354090
}
