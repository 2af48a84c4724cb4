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
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

func Example() {
	iss, err := stepuptest.NewIssuer() // a local test issuer; use jwks.Discover in production
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

	const transfer = "/bank.v1.Bank/Transfer"
	methods, err := grpcmw.NewMethods(grpcmw.Rule{Method: transfer, Requirement: claims.Requirement{ACR: []string{"mfa"}}})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := connectstepup.New(v, methods, connectstepup.WithRealm("bank"))
	if err != nil {
		log.Fatal(err)
	}
	handler := connect.NewUnaryHandler(transfer,
		func(ctx context.Context, req *connect.Request[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
			c, _ := claims.FromContext(ctx)
			return connect.NewResponse(wrapperspb.String("sent by " + c.Subject)), nil
		},
		connect.WithInterceptors(guard))
	mux := http.NewServeMux()
	mux.Handle(transfer, handler)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	client := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](srv.Client(), srv.URL+transfer)
	call := func(acr string) {
		token, err := iss.Mint(stepuptest.Token{ACR: acr})
		if err != nil {
			log.Fatal(err)
		}
		req := connect.NewRequest(wrapperspb.String("100 EUR"))
		req.Header().Set("Authorization", "Bearer "+token)
		res, err := client.CallUnary(context.Background(), req)
		var ce *connect.Error
		if errors.As(err, &ce) {
			fmt.Println(ce.Code(), ce.Meta().Get("WWW-Authenticate"))
			return
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(res.Msg.GetValue())
	}
	call("pwd")
	call("mfa")
	// Output:
	// unauthenticated Bearer realm="bank", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="mfa"
	// sent by alice
}
