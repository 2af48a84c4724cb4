// Package interop is stepup's interoperability suite: its tests run the
// library and the example servers against software nobody on the stepup
// team wrote, all on 127.0.0.1.
//
//   - A certified OpenID Provider, panva's oidc-provider (provider.mjs, run
//     with Node), issuing RFC 9068 JWT access tokens for the API through
//     resource indicators (RFC 8707), with acr, amr and auth_time of the login
//     copied into them, client credentials, and authorization code with PKCE
//     (RFC 7636), and sender-constrained tokens: DPoP-bound (RFC 9449) when
//     the token request carries a proof, certificate-bound (RFC 8705) for a
//     client registered for them, over HTTPS; with an option, opaque access
//     tokens for the API, read at its introspection endpoint (RFC 7662),
//     which revocation (RFC 7009) turns inactive. A login driver in the script
//     completes logins at the level a test asks for; the test is the
//     browser.
//   - Clients: golang.org/x/oauth2 (authorization code with PKCE, its
//     transport, client credentials), grpc-go with grpcmw's client
//     interceptor, grpcurl built from its pinned release, an @grpc/grpc-js
//     client (grpc-client.mjs), and a DPoP client on panva's jose
//     (dpop-client.mjs) that gets DPoP-bound tokens and makes the proofs.
//   - Servers: examples/httpapi and examples/grpcapi, built from this checkout
//     with the race detector and run as subprocesses with a policy file
//     naming the provider as issuer; for the sender-constrained tests, an
//     httpmw Guard and a grpcmw server built in the test process with DPoP
//     and client certificates, and for the introspection tests with an
//     introspect.Client as the verifier's Introspector.
//
// The scenarios: discovery and code-flow tokens verified by the library
// directly; client credentials tokens; the provider's ID token presented as
// an access token; the RFC 9470 step-up loop over HTTP, grpc-go, grpcurl and
// grpc-js; a stale login and its max_age challenge; a signing-key rotation;
// DPoP-bound tokens over HTTP and gRPC (refusals, replay, nonces, the
// step-up loop over DPoP); certificate-bound tokens over mutual TLS;
// opaque tokens through introspection (the step-up loop over HTTP and gRPC,
// revocation with and without the cache, an outage, refused client
// credentials, discovery of the endpoint).
// See README.md for how to run the suite.
//
// The module is separate from github.com/stepupauth/stepup so that its
// dependencies (golang.org/x/oauth2) never enter the library's go.mod; it
// has no non-test code besides this comment.
//
// Standards exercised:
//   - RFC 9470 OAuth 2.0 Step Up Authentication Challenge Protocol:
//     https://www.rfc-editor.org/rfc/rfc9470
//   - RFC 9449 OAuth 2.0 Demonstrating Proof of Possession (DPoP):
//     https://www.rfc-editor.org/rfc/rfc9449
//   - RFC 8705 OAuth 2.0 Mutual-TLS Client Authentication and
//     Certificate-Bound Access Tokens: https://www.rfc-editor.org/rfc/rfc8705
//   - RFC 7662 OAuth 2.0 Token Introspection:
//     https://www.rfc-editor.org/rfc/rfc7662
//   - RFC 7009 OAuth 2.0 Token Revocation:
//     https://www.rfc-editor.org/rfc/rfc7009
//   - RFC 8414 OAuth 2.0 Authorization Server Metadata:
//     https://www.rfc-editor.org/rfc/rfc8414
//   - RFC 9068 JWT Profile for OAuth 2.0 Access Tokens:
//     https://www.rfc-editor.org/rfc/rfc9068
//   - RFC 8707 Resource Indicators for OAuth 2.0:
//     https://www.rfc-editor.org/rfc/rfc8707
//   - RFC 7636 Proof Key for Code Exchange: https://www.rfc-editor.org/rfc/rfc7636
//   - RFC 6750 Bearer Token Usage: https://www.rfc-editor.org/rfc/rfc6750
//   - OpenID Connect Core 1.0 and Discovery 1.0:
//     https://openid.net/specs/openid-connect-core-1_0.html
package interop
