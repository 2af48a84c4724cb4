package metrics_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/metrics"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// Example wires the metrics into a key set, a verifier and an HTTP guard,
// sends a few requests and reads the metrics as a Prometheus server would.
func Example() {
	idp, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"))
	if err != nil {
		log.Fatal(err)
	}
	defer idp.Close()

	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg)
	if err != nil {
		log.Fatal(err)
	}
	obs, err := m.JWKSObserver(idp.Issuer())
	if err != nil {
		log.Fatal(err)
	}
	keys, err := jwks.Discover(context.Background(), idp.Issuer(), jwks.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	v, err := verify.New(keys, verify.Config{
		Issuer:   idp.Issuer(),
		Audience: idp.Audience(),
		Observer: m.VerifyObserver(),
	})
	if err != nil {
		log.Fatal(err)
	}
	guard, err := httpmw.New(v, httpmw.WithDecisionHook(m.HTTPDecisionHook()))
	if err != nil {
		log.Fatal(err)
	}
	api, err := guard.Mux([]httpmw.Route{
		{Pattern: "GET /profile", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})},
		{Pattern: "POST /transfer", Requirement: claims.Requirement{ACR: []string{claims.ACRMultiFactor}},
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})},
	})
	if err != nil {
		log.Fatal(err)
	}
	api.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	token, err := idp.Mint(stepuptest.Token{})
	if err != nil {
		log.Fatal(err)
	}
	for _, call := range []struct{ method, path, auth string }{
		{"GET", "/profile", ""},
		{"GET", "/profile", "Bearer " + token},
		{"POST", "/transfer", "Bearer " + token},
	} {
		r := httptest.NewRequest(call.method, call.path, nil)
		if call.auth != "" {
			r.Header.Set("Authorization", call.auth)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		fmt.Println(call.method, call.path, rec.Code)
	}

	// Scrape /metrics and print the non-zero request metrics.
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if (strings.HasPrefix(line, "stepup_http_") || strings.HasPrefix(line, "stepup_token_verifications_total")) &&
			!strings.HasSuffix(line, " 0\n") {
			fmt.Print(line)
		}
	}
	// Output:
	// GET /profile 401
	// GET /profile 200
	// POST /transfer 401
	// stepup_http_allowed_total{route="GET /profile"} 1
	// stepup_http_rejections_total{code="insufficient_user_authentication",route="POST /transfer"} 1
	// stepup_http_rejections_total{code="none",route="GET /profile"} 1
	// stepup_token_verifications_total{outcome="valid",reason="none"} 2
}
