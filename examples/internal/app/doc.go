// Package app is the wiring shared by the example servers (examples/httpapi,
// examples/grpcapi) and the demo (examples/demo): policy file -> key source ->
// verifier -> httpmw route table or grpcmw method table, the in-process
// development issuer, the example banking service (bankpb) and the JSON
// answers of the example routes.
//
// Open does the policy part: it loads the file with policy.Load, applies the
// -issuer, -audience and -dev overrides, builds the keys (jwks.NewRemote on
// the policy's jwks_uri, else jwks.Discover on its issuer; both fail fast at
// start-up) and the verifier (verify.New with Policy.VerifyConfig), and for
// a policy with a dpop block the DPoP verifier (dpop.New with
// Policy.DPoPConfig, the nonce secret from $STEPUP_DPOP_NONCE_SECRET), for
// one with an mtls block the certificate source (mtls.New), for one with an
// introspection block the introspection client (introspect.New, or
// introspect.Discover with discover: true, from Policy.IntrospectConfig
// with the secret from the variable client_secret_env names), checked
// with Check at start-up and set as the verifier's Introspector. With -dev
// and an introspection block, a small dev introspection endpoint on
// 127.0.0.1 (a fixture; the dev issuer serves none) answers for the opaque
// tokens DevOpaqueToken hands out. The
// resulting App hands out the guard and interceptor options (realm,
// resource_metadata, DPoP and client certificates, an error hook that logs
// refusals with their causes),
// the route and method tables, the RFC 9728 metadata route and a Prometheus
// registry for /metrics.
//
// ServeHTTP and ServeGRPC run a server until their context is done and then
// shut it down gracefully.
//
// Ledger, Bank and Admin are safe for concurrent use; an App is safe for
// concurrent use once Open returned.
package app
