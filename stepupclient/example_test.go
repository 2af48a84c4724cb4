package stepupclient_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepupclient"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// A client with a password login posts a transfer that needs a
// multi-factor login: the Transport reads the challenge, the TokenFunc
// logs in again with its acr_values, and the retried request succeeds. The
// application writes no challenge handling.
func ExampleNewTransport() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	api := exampleAPI(iss, claims.Requirement{ACR: []string{claims.ACRMultiFactor}, MaxAge: 5 * time.Minute})
	defer api.Close()

	src, err := stepupclient.New(stepupclient.Config{
		Token: func(ctx context.Context, l stepupclient.Login) (*oauth2.Token, error) {
			if l.Refusal != nil {
				fmt.Printf("server said %s: logging in with acr_values %v\n", l.Refusal.Code, l.ACRValues)
			}
			// A real client runs the code flow with l.AuthCodeOptions();
			// the test issuer logs in without a browser.
			tok, err := iss.Login(ctx, stepuptest.LoginRequest{ACRValues: l.ACRValues, MaxAge: l.MaxAge, Scopes: l.Scopes})
			return &oauth2.Token{AccessToken: tok}, err
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	t, err := stepupclient.NewTransport(src, api.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	client := &http.Client{Transport: t}

	resp, err := client.Post(api.URL+"/transfer", "application/json", strings.NewReader(`{"cents":100}`))
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body))
	// Output:
	// server said insufficient_user_authentication: logging in with acr_values [http://schemas.openid.net/pape/policies/2007/06/multi-factor]
	// 200 OK transfer by alice at http://schemas.openid.net/pape/policies/2007/06/multi-factor
}

// exampleAPI serves POST /transfer behind req, verified with iss's keys.
func exampleAPI(iss *stepuptest.Issuer, req claims.Requirement) *httptest.Server {
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		log.Fatal(err)
	}
	g, err := httpmw.New(v)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /transfer", g.Require(req, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := claims.FromContext(r.Context())
		fmt.Fprintf(w, "transfer by %s at %s", c.Subject, c.ACR)
	})))
	return httptest.NewServer(mux)
}

// The code flow after a challenge: the Login's parameters go into the
// authorization request.
func ExampleLogin_AuthCodeOptions() {
	conf := &oauth2.Config{
		ClientID:    "cli",
		Endpoint:    oauth2.Endpoint{AuthURL: "https://idp.example.com/authorize"},
		RedirectURL: "http://127.0.0.1:8400/callback",
		Scopes:      []string{"openid"},
	}
	l := stepupclient.Login{
		ACRValues: []string{claims.ACRMultiFactor},
		MaxAge:    claims.MaxAgeOf(5 * time.Minute),
		Scopes:    []string{"openid", "payments"},
	}
	fmt.Println(conf.AuthCodeURL("state", l.AuthCodeOptions()...))
	// Output:
	// https://idp.example.com/authorize?acr_values=http%3A%2F%2Fschemas.openid.net%2Fpape%2Fpolicies%2F2007%2F06%2Fmulti-factor&client_id=cli&max_age=300&redirect_uri=http%3A%2F%2F127.0.0.1%3A8400%2Fcallback&response_type=code&scope=openid+payments&state=state
}

// ParseRefusal reads the refusal of an answer, for a client that handles a
// challenge itself (a request whose body cannot be sent again, say) and
// then calls Source.StepUp.
func ExampleParseRefusal() {
	e, err := stepupclient.ParseRefusal(`Basic realm="x", Bearer error="insufficient_user_authentication", acr_values="urn:example:loa:3", max_age=60`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Code, e.ACRValues, e.MaxAge)
	// Output:
	// insufficient_user_authentication [urn:example:loa:3] 1m0s
}

// StepUp is the decision every transport shares: a refusal in, the token
// that meets it out, or ErrNotStepUp for a refusal no login cures.
func ExampleSource_StepUp() {
	src, err := stepupclient.New(stepupclient.Config{
		Scopes: []string{"read"},
		Token: func(_ context.Context, l stepupclient.Login) (*oauth2.Token, error) {
			fmt.Println("login with scopes", l.Scopes)
			return &oauth2.Token{AccessToken: "t-" + strings.Join(l.Scopes, "-")}, nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	old, _ := src.Token(ctx)
	tok, err := src.StepUp(ctx, old, &claims.Error{Code: claims.CodeInsufficientScope, Scope: []string{"write"}})
	fmt.Println(tok.AccessToken, err)
	_, err = src.StepUp(ctx, tok, claims.InvalidToken(nil))
	fmt.Println(err)
	// Output:
	// login with scopes [read]
	// login with scopes [read write]
	// t-read-write <nil>
	// stepupclient: not a step-up challenge
}

// With Config.DPoP the Transport proves possession of the key on every
// request; DPoPProof signs the proofs of the TokenFunc's own token
// requests, so that the authorization server binds the tokens to the same
// key.
func ExampleSource_DPoPProof() {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	src, err := stepupclient.New(stepupclient.Config{
		DPoP: key,
		Token: func(ctx context.Context, l stepupclient.Login) (*oauth2.Token, error) {
			return nil, errors.New("not called here")
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	proof, err := src.DPoPProof("POST", "https://idp.example.com/token?unused=1", "", "")
	if err != nil {
		log.Fatal(err)
	}
	parts := strings.Split(proof, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h struct {
		Typ, Alg string
		JWK      map[string]string
	}
	var c struct{ HTM, HTU string }
	_ = json.Unmarshal(hdr, &h)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(payload, &c)
	fmt.Println(h.Typ, h.Alg, h.JWK["kty"], h.JWK["crv"])
	fmt.Println(c.HTM, c.HTU)
	// Output:
	// dpop+jwt EdDSA OKP Ed25519
	// POST https://idp.example.com/token
}
