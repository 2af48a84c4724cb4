// Package stepup is the root of a library that protects Go APIs with
// step-up authentication: net/http middleware and gRPC interceptors that
// verify bearer JWT access tokens (RFC 6750, RFC 9068, RFC 8725), check
// acr, amr, auth_time and scopes per route or per method, and answer a
// shortfall with the standard challenge that tells the client how to
// re-authenticate (RFC 9470 insufficient_user_authentication, RFC 9728
// resource_metadata). This package holds no code; start from one of these.
//
// # Where to start
//
// Behind Auth0, Okta, Microsoft Entra ID or Keycloak, start from the
// provider's profile: it knows the issuer URL, the token type, the claims
// the provider sends and the names it gives acr and amr, which a bare
// verify.Config does not (Auth0 access tokens, for example, have typ JWT,
// no client_id and a namespaced acr, and fail at request time against the
// RFC 9068 defaults).
//
//	prof, err := idp.Auth0("tenant.eu.auth0.com", idp.Auth0Options{Namespace: "https://example.com/"})
//	keys, err := prof.Keys(ctx)                  // fetches the key set once: fails at start-up
//	v, err := verify.New(keys, prof.Config("https://api.example.com"))
//	guard, err := httpmw.New(v)                  // net/http: Require, RequireFunc, Mux, Check, Reject
//	interceptors, err := grpcmw.New(v, methods)  // gRPC: Unary, Stream, Reject
//
// That is idp → verify → httpmw or grpcmw. For any other OpenID Provider
// or OAuth authorization server, find the keys with jwks (jwks.Discover,
// or jwks.NewRemote for a JWKS URL, or jwks.NewStatic) and write the
// verify.Config yourself: jwks → verify → httpmw or grpcmw.
//
// # The packages
//
//   - claims: the verified claims, claims.Requirement (what a route
//     demands), the one error type *claims.Error and the WWW-Authenticate
//     challenge. Standard library only.
//   - jwks: key sources: discovery, cached and refreshed JWKS, rotation,
//     outages, floods of unknown kids.
//   - verify: a raw token to verified claims, and the one authorization
//     path behind every transport; introspect asks the authorization
//     server about opaque tokens (RFC 7662) for it.
//   - httpmw, grpcmw: the transports. They make the same decision by the
//     same code and give the same answers (HTTP 401 is gRPC
//     Unauthenticated, and so on).
//   - dpop, mtls: sender-constrained tokens (DPoP proofs, client
//     certificates), which httpmw and grpcmw check for every bound token;
//     the separate module redisstore shares DPoP replay protection across
//     a fleet.
//   - idp: provider profiles. policy: requirements from a YAML or JSON
//     file. metrics: Prometheus metrics and key-set logs. stepuptest: an
//     in-process OpenID Provider for tests.
//
// Each rule is documented once, in the package that applies it; the
// package docs link to each other rather than repeat.
package stepup
