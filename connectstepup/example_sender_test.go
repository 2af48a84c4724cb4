package connectstepup_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/connectstepup"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// A DPoP-bound token is accepted with a proof by its key for the call's
// URL, and refused when sent as a bearer token. The handlers are mounted
// through guard.Handler, which certificate-bound tokens need.
func ExampleWithDPoP() {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		log.Fatal(err)
	}
	defer iss.Close()
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		log.Fatal(err)
	}
	dv, err := dpop.New(dpop.Config{})
	if err != nil {
		log.Fatal(err)
	}

	const transfer = "/bank.v1.Bank/Transfer"
	methods, err := grpcmw.NewMethods(grpcmw.Rule{Method: transfer})
	if err != nil {
		log.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer srv.Close()
	guard, err := connectstepup.New(v, methods, connectstepup.WithRealm("bank"), connectstepup.WithDPoP(dv, srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(transfer, connect.NewUnaryHandler(transfer,
		func(ctx context.Context, req *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			c, _ := claims.FromContext(ctx)
			return connect.NewResponse(wrapperspb.String("sent by " + c.Subject)), nil
		},
		connect.WithInterceptors(guard)))
	h = guard.Handler(mux)

	key, err := stepuptest.NewDPoPKey("ES256")
	if err != nil {
		log.Fatal(err)
	}
	token, err := iss.Mint(stepuptest.Token{Claims: map[string]any{"cnf": map[string]any{"jkt": key.JKT()}}})
	if err != nil {
		log.Fatal(err)
	}
	proof, err := key.Proof(stepuptest.DPoPProof{Method: "POST", URL: srv.URL + transfer, AccessToken: token})
	if err != nil {
		log.Fatal(err)
	}
	client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](srv.Client(), srv.URL+transfer)
	for _, withProof := range []bool{false, true} {
		req := connect.NewRequest(wrapperspb.String("100 EUR"))
		if withProof {
			req.Header().Set("Authorization", "DPoP "+token)
			req.Header().Set("DPoP", proof)
		} else {
			req.Header().Set("Authorization", "Bearer "+token)
		}
		res, err := client.CallUnary(context.Background(), req)
		var ce *connect.Error
		if errors.As(err, &ce) {
			fmt.Println(ce.Code(), ce.Meta().Get("WWW-Authenticate"))
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(res.Msg.GetValue())
	}
	// Output:
	// unauthenticated DPoP realm="bank", error="invalid_token", error_description="The access token is invalid", algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 RS384 RS512 EdDSA Ed25519"
	// sent by alice
}
