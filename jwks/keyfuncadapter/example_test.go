package keyfuncadapter_test

import (
	"context"
	"fmt"

	"github.com/MicahParks/keyfunc/v3"

	"github.com/stepupauth/stepup/jwks/keyfuncadapter"
)

func ExampleFromKeyfunc() {
	// An existing keyfunc (here from JSON; usually keyfunc.NewDefaultCtx
	// with the issuer's JWKS URL).
	k, err := keyfunc.NewJWKSetJSON([]byte(`{"keys":[
	 {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed","alg":"EdDSA"},
	 {"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0","kid":"hmac"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	src := keyfuncadapter.FromKeyfunc(k)
	key, err := src.Key(context.Background(), "", "ed")
	fmt.Println(key.KeyType, key.Algorithm, err)
	_, err = src.Key(context.Background(), "", "hmac")
	fmt.Println(err)
	// Output:
	// OKP EdDSA <nil>
	// jwks: unknown key id: jwks: key "hmac" rejected: symmetric key (kty oct) not accepted from a key set
}
