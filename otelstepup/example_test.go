package otelstepup_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/otelstepup"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// Example traces a key set and an HTTP guard. The server span here stands
// for the one otelhttp.NewHandler starts; the recorder, for an exporter.
func Example() {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())

	t, err := otelstepup.New(tp)
	if err != nil {
		log.Fatal(err)
	}
	idp, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"))
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()
	keys, err := jwks.Discover(context.Background(), idp.Issuer(), jwks.WithObserver(t.JWKSObserver("idp")))
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	v, err := verify.New(keys, verify.Config{Issuer: idp.Issuer(), Audience: idp.Audience()})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := httpmw.New(v, httpmw.WithDecisionHook(t.HTTPDecisionHook()))
	if err != nil {
		log.Fatal(err)
	}
	mux, err := guard.Mux([]httpmw.Route{
		{Pattern: "GET /profile", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})},
		{Pattern: "POST /transfer", Requirement: claims.Requirement{ACR: []string{claims.ACRMultiFactor}},
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})},
	})
	if err != nil {
		log.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("example").Start(r.Context(), r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		mux.ServeHTTP(w, r.WithContext(ctx))
	})

	token, err := idp.Mint(stepuptest.Token{})
	if err != nil {
		log.Fatal(err)
	}
	for _, call := range []struct{ method, path, auth string }{
		{"GET", "/profile", ""},
		{"GET", "/profile", "Bearer " + token},
		{"POST", "/transfer", "Bearer " + token},
		{"GET", "/profile", "Bearer not-a-jwt"},
	} {
		r := httptest.NewRequest(call.method, call.path, nil)
		if call.auth != "" {
			r.Header.Set("Authorization", call.auth)
		}
		api.ServeHTTP(httptest.NewRecorder(), r)
	}

	for _, s := range sr.Ended() {
		fmt.Print(s.Name())
		for _, kv := range s.Attributes() {
			fmt.Printf(" %s=%s", kv.Key, kv.Value.String())
		}
		fmt.Println()
		for _, e := range s.Events() {
			fmt.Print("  ", e.Name)
			for _, kv := range e.Attributes {
				fmt.Printf(" %s=%s", kv.Key, kv.Value.String())
			}
			fmt.Println()
		}
	}
	// Output:
	// stepup.jwks.fetch stepup.issuer=idp stepup.result=ok
	//   stepup.jwks.keys_changed stepup.keys_added=1 stepup.keys_removed=0
	// GET /profile
	//   stepup.decision stepup.rule=GET /profile stepup.outcome=none
	// GET /profile
	//   stepup.decision stepup.rule=GET /profile stepup.outcome=allowed
	// POST /transfer
	//   stepup.decision stepup.rule=POST /transfer stepup.outcome=insufficient_user_authentication
	// GET /profile
	//   stepup.decision stepup.rule=GET /profile stepup.outcome=invalid_token stepup.reason=malformed
}
