package httpmw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// exampleVerifier trusts the keys of an in-process test issuer.
func exampleVerifier(iss *stepuptest.Issuer) *verify.Verifier {
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		log.Fatal(err)
	}
	return v
}

// call sends a request to h and returns the response.
func call(h http.Handler, method, path, token, body string) *http.Response {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

// A transfer needs a multi-factor login at most five minutes old. A client
// with a password login is challenged, logs in again with the acr_values the
// challenge names, and retries.
func ExampleGuard_Require() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()

	guard, err := httpmw.New(exampleVerifier(iss), httpmw.WithRealm("bank"))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /transfer", guard.Require(claims.Requirement{
		ACR:    []string{claims.ACRMultiFactor},
		MaxAge: 5 * time.Minute,
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := claims.FromContext(r.Context())
		fmt.Fprintf(w, "transfer by %s", c.Subject)
	})))

	res := call(mux, "POST", "/transfer", "", "")
	fmt.Println(res.Status, res.Header.Get("WWW-Authenticate"))

	ctx := context.Background()
	password, err := iss.Login(ctx, stepuptest.LoginRequest{})
	if err != nil {
		log.Fatal(err)
	}
	res = call(mux, "POST", "/transfer", password, "")
	fmt.Println(res.Status, res.Header.Get("WWW-Authenticate"))

	// The client reads the challenge and logs in again as it asks.
	challenges, err := claims.ParseChallenges(res.Header.Values("WWW-Authenticate")...)
	if err != nil {
		log.Fatal(err)
	}
	stepUp, err := iss.Login(ctx, stepuptest.LoginRequest{
		ACRValues: challenges[0].ACRValues,
		MaxAge:    challenges[0].MaxAge,
	})
	if err != nil {
		log.Fatal(err)
	}
	res = call(mux, "POST", "/transfer", stepUp, "")
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.Status, string(body))
	// Output:
	// 401 Unauthorized Bearer realm="bank"
	// 401 Unauthorized Bearer realm="bank", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="http://schemas.openid.net/pape/policies/2007/06/multi-factor"
	// 200 OK transfer by alice
}

// A route table keeps every requirement in one place, as a policy file
// would. Unlisted paths are not served.
func ExampleGuard_Mux() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	guard, err := httpmw.New(exampleVerifier(iss))
	if err != nil {
		log.Fatal(err)
	}

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	})
	mux, err := guard.Mux([]httpmw.Route{
		{Pattern: "GET /public", Public: true, Handler: hello},
		{Pattern: "GET /profile", Handler: hello},
		{Pattern: "GET /admin/", Requirement: claims.Requirement{Scopes: []string{"admin"}}, Handler: hello},
	})
	if err != nil {
		log.Fatal(err)
	}

	token, err := iss.Mint(stepuptest.Token{Scopes: []string{"profile"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"/public", "/profile", "/admin/users", "/elsewhere"} {
		res := call(mux, "GET", path, token, "")
		fmt.Println(strings.TrimSpace(fmt.Sprint(path, " ", res.StatusCode, " ", res.Header.Get("WWW-Authenticate"))))
	}

	// A bad table is an error, not a panic.
	_, err = guard.Mux([]httpmw.Route{{Pattern: "GET /reports", Requirement: claims.Requirement{ACRMin: "urn:example:loa:2"}, Handler: hello}})
	fmt.Println(err)
	// Output:
	// /public 200
	// /profile 200
	// /admin/users 403 Bearer error="insufficient_scope", error_description="The access token does not grant the required scope", scope="admin"
	// /elsewhere 404
	// httpmw: route "GET /reports": invalid requirement: claims: invalid requirement: ACRMin: not one of ACRLevels
}

// The requirement depends on the request: transfers above 1,000 need a
// multi-factor login. The chooser reads the body and puts it back for the
// handler.
func ExampleGuard_RequireFunc() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	guard, err := httpmw.New(exampleVerifier(iss))
	if err != nil {
		log.Fatal(err)
	}

	byAmount := func(r *http.Request, c *claims.Claims) (claims.Requirement, error) {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
		if err != nil {
			return claims.Requirement{}, claims.InvalidRequest(err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var t struct{ Amount int }
		if err := json.Unmarshal(body, &t); err != nil {
			return claims.Requirement{}, claims.InvalidRequest(err)
		}
		if t.Amount > 1000 {
			return claims.Requirement{ACR: []string{claims.ACRMultiFactor}}, nil
		}
		return claims.Requirement{}, nil
	}
	transfer := guard.RequireFunc(byAmount, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "sent %s", body)
	}))

	password, err := iss.Mint(stepuptest.Token{ACR: stepuptest.ACRPassword, AMR: []string{"pwd"}, AuthTime: time.Now()})
	if err != nil {
		log.Fatal(err)
	}
	for _, body := range []string{`{"Amount": 50}`, `{"Amount": 5000}`, `{"Amount": `} {
		res := call(transfer, "POST", "/transfer", password, body)
		out, _ := io.ReadAll(res.Body)
		fmt.Println(res.StatusCode, string(out))
	}
	// Output:
	// 200 sent {"Amount": 50}
	// 401 {"error":"insufficient_user_authentication","error_description":"A different authentication level is required","acr_values":"http://schemas.openid.net/pape/policies/2007/06/multi-factor"}
	// 400 {"error":"invalid_request","error_description":"The request is malformed"}
}

// A handler that decides inside, after reading the body, checks the
// request itself and answers a refusal with Reject: the same status,
// challenge and body as Require, and the same hooks and logs.
func ExampleGuard_Reject() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	guard, err := httpmw.New(exampleVerifier(iss), httpmw.WithRealm("bank"))
	if err != nil {
		log.Fatal(err)
	}
	export := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<10))
		if err != nil {
			guard.Reject(w, r, claims.InvalidRequest(err))
			return
		}
		req := claims.Requirement{}
		if string(body) == "all accounts" {
			req.Scopes = []string{"export:all"}
		}
		c, err := guard.Check(r, req)
		if err != nil {
			guard.Reject(w, r, err)
			return
		}
		fmt.Fprintf(w, "%s exported %s", c.Subject, body)
	})

	tok, err := iss.Mint(stepuptest.Token{Scopes: []string{"export:own"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, body := range []string{"own account", "all accounts"} {
		res := call(export, "POST", "/export", tok, body)
		out, _ := io.ReadAll(res.Body)
		fmt.Println(res.StatusCode, res.Header.Get("WWW-Authenticate"), string(out))
	}
	// Output:
	// 200  alice exported own account
	// 403 Bearer realm="bank", error="insufficient_scope", error_description="The access token does not grant the required scope", scope="export:all" {"error":"insufficient_scope","error_description":"The access token does not grant the required scope","scope":"export:all"}
}

// The RFC 9728 metadata document of a resource with a path, at its
// well-known location, and the challenge parameter that points to it.
func ExampleMetadataHandler() {
	const resource = "https://api.example.com/v1"
	h, err := httpmw.MetadataHandler(httpmw.ResourceMetadata{
		Resource:               resource,
		AuthorizationServers:   []string{"https://idp.example.com/"},
		ScopesSupported:        []string{"profile", "transfer"},
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "Example bank API",
	})
	if err != nil {
		log.Fatal(err)
	}
	path, _ := httpmw.MetadataPath(resource)
	metadataURL, _ := httpmw.MetadataURL(resource)
	mux := http.NewServeMux()
	mux.Handle("GET "+path, h)

	res := call(mux, "GET", path, "", "")
	doc, _ := io.ReadAll(res.Body)
	fmt.Println(path)
	fmt.Println(string(doc))
	fmt.Println(metadataURL) // for httpmw.WithResourceMetadata
	// Output:
	// /.well-known/oauth-protected-resource/v1
	// {"resource":"https://api.example.com/v1","authorization_servers":["https://idp.example.com/"],"scopes_supported":["profile","transfer"],"bearer_methods_supported":["header"],"resource_name":"Example bank API"}
	// https://api.example.com/.well-known/oauth-protected-resource/v1
}

// A router other than ServeMux sets no r.Pattern: Named gives the decisions
// of a RequireFunc handler the rule's name, which the decision hooks (and
// package metrics, otelstepup and the logger) read instead of "".
func ExampleNamed() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()

	guard, err := httpmw.New(exampleVerifier(iss), httpmw.WithDecisionHook(func(r *http.Request, err error) {
		fmt.Printf("rule %q refused: %v\n", r.Pattern, err != nil)
	}))
	if err != nil {
		log.Fatal(err)
	}
	choose := func(r *http.Request, c *claims.Claims) (claims.Requirement, error) {
		return claims.Requirement{ACR: []string{claims.ACRMultiFactor}}, nil
	}
	h := httpmw.Named("POST /transfers/{id}", guard.RequireFunc(choose, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))

	// h mounted on chi, gorilla/mux, echo or gin: called with r.Pattern "".
	res := call(h, "POST", "/transfers/7", "", "")
	fmt.Println(res.Status)
	// Output:
	// rule "POST /transfers/{id}" refused: true
	// 401 Unauthorized
}
