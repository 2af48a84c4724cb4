package jwks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
)

// The RFC 7517 Appendix A.1 example set: an EC encryption key (skipped)
// and an RSA signing key.
const rfc7517A1 = `{"keys":[
 {"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM","use":"enc","kid":"1"},
 {"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}]}`

func ExampleNewStatic() {
	set, err := jwks.NewStatic([]byte(rfc7517A1))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range set.Keys() {
		fmt.Println("usable:", k.ID)
	}
	for _, r := range set.Rejected() {
		fmt.Printf("skipped %q: %s\n", r.KID, r.Reason)
	}
	k, err := set.Key(context.Background(), "https://any-issuer.example/", "2011-04-29")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k.KeyType, k.Algorithm)
	_, err = set.Key(context.Background(), "", "1")
	fmt.Println(errors.Is(err, jwks.ErrUnknownKey))
	// Output:
	// usable: 2011-04-29
	// skipped "1": use is not sig
	// RSA RS256
	// true
}

func ExampleNewMulti() {
	tenantA, err := jwks.NewStatic([]byte(rfc7517A1))
	if err != nil {
		fmt.Println(err)
		return
	}
	keys, err := jwks.NewMulti(map[string]jwks.Source{
		"https://tenant-a.example.com/": tenantA,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	k, err := keys.Key(ctx, "https://tenant-a.example.com/", "2011-04-29")
	fmt.Println(k.ID, err)
	_, err = keys.Key(ctx, "https://attacker.example.com/", "2011-04-29")
	fmt.Println(err)
	// Output:
	// 2011-04-29 <nil>
	// jwks: unknown issuer
}

func ExampleNewRemote() {
	// A loopback JWKS endpoint stands in for the issuer.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=600")
		fmt.Fprint(w, rfc7517A1)
	}))
	defer srv.Close()

	keys, err := jwks.NewRemote(srv.URL + "/jwks.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer keys.Close()
	// Optional: fail fast at start-up instead of on the first lookup.
	if err := keys.Refresh(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	k, err := keys.Key(context.Background(), "", "2011-04-29")
	fmt.Println(k.ID, err)

	srv.Close() // the issuer goes away; cached keys keep serving
	k, err = keys.Key(context.Background(), "", "2011-04-29")
	fmt.Println(k.ID, err, errors.Is(err, claims.ErrUnavailable))
	// Output:
	// 2011-04-29 <nil>
	// 2011-04-29 <nil> false
}

// ExampleDiscover finds an issuer's keys through its OpenID Connect
// discovery document; the in-process stepuptest issuer on 127.0.0.1
// stands in for the real one.
func ExampleDiscover() {
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer iss.Close()

	keys, err := jwks.Discover(context.Background(), iss.Issuer())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer keys.Close()

	fmt.Println("bound to the issuer:", slices.Equal(keys.Issuers(), []string{iss.Issuer()}))
	fmt.Println("jwks_uri discovered:", keys.URL() == iss.JWKSURL())
	k, err := keys.Key(context.Background(), iss.Issuer(), iss.KeyID(""))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(k.KeyType, k.Algorithm)
	_, err = keys.Key(context.Background(), "https://other.example/", iss.KeyID(""))
	fmt.Println(errors.Is(err, jwks.ErrUnknownIssuer))
	// Output:
	// bound to the issuer: true
	// jwks_uri discovered: true
	// EC ES256
	// true
}
