// Package metrics exports Prometheus metrics and key-set logs for stepup,
// fed by the observer hooks of the core packages (jwks, verify, httpmw,
// grpcmw). It is the only stepup package that imports Prometheus: the core
// packages know nothing of it.
//
//	m, err := metrics.New(prometheus.DefaultRegisterer, metrics.WithLogger(logger))
//	obs, err := m.JWKSObserver(issuer)
//	keys, err := jwks.Discover(ctx, issuer, jwks.WithObserver(obs))
//	v, err := verify.New(keys, verify.Config{Issuer: issuer, Audience: aud, Observer: m.VerifyObserver()})
//	guard, err := httpmw.New(v, httpmw.WithDecisionHook(m.HTTPDecisionHook()), httpmw.WithLogger(logger))
//	interceptors, err := grpcmw.New(v, methods, grpcmw.WithDecisionHook(m.GRPCDecisionHook()), grpcmw.WithLogger(logger))
//
// This package imports neither httpmw nor gRPC: the decision hooks are
// plain functions.
//
// # Metrics
//
//	stepup_jwks_fetches_total{issuer,result}              counter   result: ok, timeout, network, http_status, invalid_response, error
//	stepup_jwks_fetch_duration_seconds{issuer}            histogram 5ms to 10s
//	stepup_jwks_keys{issuer}                              gauge     usable keys in the current set
//	stepup_jwks_last_success_timestamp_seconds{issuer}    gauge     unix time of the last successful fetch
//	stepup_jwks_serving_stale{issuer}                     gauge     1 while fetches fail and the last good set is served
//	stepup_jwks_unavailable{issuer}                       gauge     1 once the last good set is past the staleness bound
//	stepup_jwks_keys_rejected_total{issuer}               counter   bad keys skipped, per fetch
//	stepup_token_verifications_total{outcome,reason}      counter   outcome: valid, invalid, unavailable, canceled; reason: verify.Reason values
//	stepup_token_verification_duration_seconds{outcome}   histogram 50µs to 1s
//	stepup_token_cache_lookups_total{result}              counter   hit, miss
//	stepup_introspection_requests_total{result}           counter   active, inactive, client_auth, unavailable
//	stepup_introspection_duration_seconds{result}         histogram 5ms to 10s
//	stepup_introspection_cache_lookups_total{result}      counter   hit, miss
//	stepup_http_rejections_total{route,code}              counter
//	stepup_grpc_rejections_total{method,code}             counter
//	stepup_http_allowed_total{route}                      counter   requests the guard let through
//	stepup_grpc_allowed_total{method}                     counter   calls the interceptors let through
//
// The step-up rate of a route is the ratio of two series, for example
//
//	rate(stepup_http_rejections_total{route="POST /transfer",code="insufficient_user_authentication"}[5m])
//	/ (rate(stepup_http_allowed_total{route="POST /transfer"}[5m]) + sum(rate(stepup_http_rejections_total{route="POST /transfer"}[5m])))
//
// Public routes and methods are not decided on and appear in neither.
//
// code is one of the four OAuth error codes (invalid_request,
// invalid_token, insufficient_user_authentication, insufficient_scope),
// Entra ID's insufficient_claims (package idp),
// "none" for a request without a token (a challenge without error code),
// "unavailable" for a key outage (503 / Unavailable), "unlisted" for a gRPC
// method without a rule, "canceled" when the request's own context ended
// during verification (client gone or server deadline), "internal" or
// "other".
//
// # Cardinality
//
// Every label value comes from configuration or from a fixed set, never
// from the request or the token: issuer is the name given to JWKSObserver;
// route is r.Pattern (the ServeMux pattern that routed the request, or
// the rule's name from httpmw.Guard.Route or httpmw.Named on another
// router) or "unmatched", never the URL path; method is the Method of the governing
// rule of the grpcmw method table (a wildcard rule labels every method it
// covers with "/pkg.Service/*") or "unlisted"; reasons, outcomes and codes
// are fixed sets. A token's sub, kid or unverified iss never becomes a
// label, so a flood of forged tokens creates no series.
//
// # Logs
//
// Nothing logs by default. WithLogger logs key-set events (failed fetch and
// rejected key at Warn, changed key set with kid lists at Info, keys
// unavailable at Warn), each message prefixed "jwks: "; httpmw.WithLogger
// and grpcmw.WithLogger log each decision at Debug. No log line holds a token, key material or a claim
// value; sub is deliberately not logged (it is personal data; a handler that
// needs it reads claims.FromContext).
//
// Metrics and everything it returns are safe for concurrent use.
//
// Prometheus naming: https://prometheus.io/docs/practices/naming/.
// Standards behind the labels: RFC 6750 §3.1
// (https://www.rfc-editor.org/rfc/rfc6750#section-3.1), RFC 9470
// (https://www.rfc-editor.org/rfc/rfc9470), RFC 7517
// (https://www.rfc-editor.org/rfc/rfc7517).
package metrics
