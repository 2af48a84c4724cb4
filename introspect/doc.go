// Package introspect accepts opaque access tokens by asking the
// authorization server about them: an OAuth 2.0 Token Introspection client
// (RFC 7662) with a cache, built for the verifier, which calls
// Client.Introspect for tokens that are not JWTs. The answer becomes the
// same *claims.Claims a JWT access token gives, acr, amr and auth_time
// included (RFC 9470 §6.2), so step-up requirements are evaluated alike.
//
//	c, err := introspect.New(introspect.Config{
//		Endpoint:     "https://as.example.com/oauth2/introspect",
//		ClientID:     "api",
//		ClientSecret: secret,
//		Issuer:       "https://as.example.com/",
//		Audience:     "https://api.example.com",
//	})
//	if err != nil {
//		log.Fatal(err) // says what to fix
//	}
//	if err := c.Check(ctx); err != nil {
//		log.Fatal(err) // unreachable, or our credentials refused (ErrClientAuth)
//	}
//	cl, err := c.Introspect(ctx, token)
//
// Discover finds the endpoint in the issuer's metadata (RFC 8414) instead.
//
// # Request
//
// A POST of token and token_type_hint=access_token, form-encoded, with
// Accept: application/json (RFC 7662 §2.1), authenticated by exactly one
// of client_secret_basic (id and secret form-urlencoded before Basic, RFC
// 6749 §2.3.1), client_secret_post, or private_key_jwt (RFC 7523 §2.2: a
// fresh assertion per request). The endpoint is https (RFC 7662 §4); plain
// http only on a loopback IP literal. Redirects are never followed.
//
// # Rules
//
//   - A 200 answer must be application/json and one strict JSON object
//     (UTF-8, no duplicate members: the scanner behind claims.Parse), at
//     most Config.MaxResponseSize bytes. Anything else is an outage.
//   - active must be the JSON literal true. false is ReasonInactive;
//     absent, or "true", 1 or null, is ReasonMalformed. Nothing else of
//     an answer that is not active is read.
//   - The members are read by claims.Parse with Config.Names: a registered
//     member of the wrong type (exp a string, say) is ReasonMalformed;
//     active, token_type, username and any other member land in Raw.
//   - iss must equal Config.Issuer when both are there; aud, a string or
//     an array, must contain Config.Audience when both are there.
//     RequireIssuer and RequireAudience refuse an answer without them.
//   - exp, when present, must be ahead of now minus the leeway; nbf and
//     iat, when present, no later than now plus the leeway.
//
// A refusal is a *claims.Error with code invalid_token whose cause is an
// *Error with a Reason; callers use errors.As. An outage (the endpoint
// unreachable, too slow, a 3xx, 5xx or unexpected 4xx, a malformed or
// oversized body) is an error wrapping claims.ErrUnavailable, answered
// 503 and never invalid_token. A 401 or 403, or a 400 with invalid_client
// or unauthorized_client, means the endpoint refused our own client
// authentication (RFC 7662 §2.3): an outage too, wrapping ErrClientAuth as
// well, which Check reports at start-up. A request whose context ends
// gets an error wrapping ctx.Err() only.
//
// # Cache
//
// Answers are cached under the SHA-256 of the token; the token itself is
// never kept nor put in an error. An active answer is reused until
// min(exp, then + CacheTTL): RFC 7662 §4 leaves to the protected resource
// how long it may trust an answer, and a revoked token stays accepted here
// until its entry ends. A refusal is reused for InactiveTTL, except
// not-yet-valid and issued-in-the-future ones, which are asked again.
// Concurrent Introspect calls for a token not in the cache share one
// request, which runs detached from any one caller's cancellation and
// ends within Timeout. With StaleTTL, an answer known active is still
// served during an outage, for StaleTTL past its entry and never past exp.
// The cache holds at most CacheSize entries. NoCache switches all of this
// off: every call asks the endpoint.
//
// # Concurrency
//
// A *Client is safe for concurrent use. The *claims.Claims it returns are
// shared by every caller presenting the same token and must not be
// modified.
//
// # Standards
//
//   - RFC 7662 (token introspection): https://www.rfc-editor.org/rfc/rfc7662
//   - RFC 9470 §6.2 (acr and auth_time in introspection): https://www.rfc-editor.org/rfc/rfc9470#section-6.2
//   - RFC 6749 §2.3.1 (client password authentication): https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
//   - RFC 7523 §2.2 and §3 (JWT client authentication): https://www.rfc-editor.org/rfc/rfc7523
//   - RFC 8414 (authorization server metadata): https://www.rfc-editor.org/rfc/rfc8414
//   - OpenID Connect Discovery 1.0: https://openid.net/specs/openid-connect-discovery-1_0.html
package introspect
