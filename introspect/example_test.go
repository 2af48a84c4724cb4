package introspect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
)

// An authorization server on loopback answering like the RFC 9470 §6.2
// example for one token, and inactive for any other.
func exampleServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		if id != "rs" || secret != "secret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("token") != "2YotnFZFEjr1zCsicMWpAA" {
			io.WriteString(w, `{"active":false}`)
			return
		}
		io.WriteString(w, `{"active":true,"client_id":"s6BhdRkqt3","scope":"purchase",
			"sub":"someone@example.net","aud":"https://rs.example.com","iss":"https://as.example.net",
			"exp":1639528912,"iat":1618354090,"auth_time":1646340198,"acr":"myACR"}`)
	}))
}

func Example() {
	as := exampleServer()
	defer as.Close()

	c, err := introspect.New(introspect.Config{
		Endpoint:     as.URL + "/introspect",
		ClientID:     "rs",
		ClientSecret: "secret",
		Issuer:       "https://as.example.net",
		Audience:     "https://rs.example.com",
		Now:          func() time.Time { return time.Unix(1618354100, 0) },
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
	fmt.Println(cl.Subject, cl.ACR, cl.AuthTime.Unix(), cl.Scopes)

	// The claims meet step-up requirements as a JWT's would.
	req := claims.Requirement{ACR: []string{"myACR"}}
	fmt.Println(req.Evaluate(cl, time.Unix(1618354100, 0), 0) == nil)
	// Output:
	// someone@example.net myACR 1646340198 [purchase]
	// true
}

func ExampleClient_Introspect_refused() {
	as := exampleServer()
	defer as.Close()
	c, _ := introspect.New(introspect.Config{Endpoint: as.URL, ClientID: "rs", ClientSecret: "secret"})

	_, err := c.Introspect(context.Background(), "revoked")
	var ce *claims.Error
	var ie *introspect.Error
	if errors.As(err, &ce) && errors.As(err, &ie) {
		fmt.Println(ce.Code, ie.Reason)
	}
	// Output:
	// invalid_token inactive
}

func ExampleClient_Check() {
	as := exampleServer()
	defer as.Close()
	c, _ := introspect.New(introspect.Config{Endpoint: as.URL, ClientID: "rs", ClientSecret: "wrong"})

	err := c.Check(context.Background())
	fmt.Println(errors.Is(err, introspect.ErrClientAuth), errors.Is(err, claims.ErrUnavailable))
	// Output:
	// true true
}

func ExampleNew() {
	_, err := introspect.New(introspect.Config{
		Endpoint:     "http://as.example.com/introspect",
		ClientID:     "rs",
		ClientSecret: "secret",
	})
	fmt.Println(err)
	// Output:
	// introspect: invalid config: Endpoint "http://as.example.com/introspect" is plain http; RFC 7662 §4 requires TLS (http is accepted only on a loopback IP literal)
}
