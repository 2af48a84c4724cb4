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
// Accept: application/json (RFC 7662 §2.1), or Accept:
// application/token-introspection+jwt with SignedResponses (RFC 9701 §4),
// authenticated by exactly one
// of client_secret_basic (id and secret form-urlencoded before Basic, RFC
// 6749 §2.3.1), client_secret_post, or private_key_jwt (RFC 7523 §2.2: a
// fresh assertion per request). The endpoint is https (RFC 7662 §4); plain
// http only on a loopback IP literal. Redirects are never followed.
//
// # Rules
//
//   - A 200 answer must be application/json (application/token-introspection+jwt
//     with SignedResponses, see Signed responses) and one strict JSON object
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
// # Signed responses
//
// With Config.SignedResponses, the endpoint must answer with a JWT signed
// by the authorization server (RFC 9701 §5), checked in this order; any
// failure is an outage wrapping claims.ErrUnavailable and
// ErrSignedResponse:
//
//   - The Content-Type is application/token-introspection+jwt. An
//     application/json answer is refused, not read: accepting it would let
//     anyone who can answer in the server's place strip the signature,
//     which is what SignedResponses guards against (no downgrade; RFC 9701
//     leaves the fallback to the resource server). Error answers (4xx,
//     5xx) are read as without SignedResponses.
//   - The body, surrounding white space aside, is one compact JWS (RFC
//     7515 §7.1: three parts, strict base64url, no line breaks) whose
//     protected header is a strict JSON object without duplicate members
//     and without crit.
//   - typ is token-introspection+jwt, compared case-insensitively, with or
//     without "application/" (RFC 9701 §5, RFC 7515 §4.1.9). This keeps
//     other JWTs of the same server, ID tokens or JWT access tokens, from
//     being passed off as introspection responses (RFC 9701 §8.1, RFC 8725
//     §3.11). A missing typ is refused.
//   - alg is in Config.ResponseAlgorithms (default: every asymmetric JWS
//     algorithm; none and HS* can never be allowed, RFC 8725 §3.1).
//   - The key is Keys.Key(ctx, Issuer, kid); without a kid, a key set of
//     one key gives that key (RFC 8725 §3.10). The key must fit alg (kty,
//     curve, the JWK's alg when it has one; RSA 2048 to 8192 bits with e =
//     65537) and verify the signature. An unknown kid is an outage too:
//     the server signs with a key we do not have, which says nothing about
//     the token; a jwks.Remote refetches its set for it.
//   - The claims are one strict JSON object without duplicate members;
//     iss equals Config.Issuer; aud (a string or an array) contains
//     Config.ClientID, our client id, the audience RFC 9701 §5 names; iat
//     is present and not later than now plus the leeway; exp and nbf, not
//     required by RFC 9701, are honoured when present (RFC 7519 §4.1.4,
//     §4.1.5).
//   - token_introspection is present and a JSON object; it is then judged
//     by the Rules above exactly as a plain answer, so that active false,
//     a malformed member, or the token's own iss and aud failing Issuer
//     and Audience are refusals of the token (invalid_token). Config.Names
//     applies to it, not to the JWT's claims.
//
// The JWT proves that the answer comes from the authorization server and
// was made for us; unlike a failure of the token, a failure of the JWT is
// an outage (503), not cached, and served stale with StaleTTL, because the
// answer cannot be trusted and says nothing about the token. Check
// exercises the whole chain, keys included. Responses are not decrypted
// (no JWE, which RFC 9701 §5 lets a server send) and iat is not bounded in
// the past: TLS already protects against replay on the wire.
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
//   - RFC 9701 (JWT response for token introspection): https://www.rfc-editor.org/rfc/rfc9701
//   - RFC 7515 (JWS) and RFC 8725 (JWT best current practices): https://www.rfc-editor.org/rfc/rfc7515, https://www.rfc-editor.org/rfc/rfc8725
//   - RFC 9470 §6.2 (acr and auth_time in introspection): https://www.rfc-editor.org/rfc/rfc9470#section-6.2
//   - RFC 6749 §2.3.1 (client password authentication): https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
//   - RFC 7523 §2.2 and §3 (JWT client authentication): https://www.rfc-editor.org/rfc/rfc7523
//   - RFC 8414 (authorization server metadata): https://www.rfc-editor.org/rfc/rfc8414
//   - OpenID Connect Discovery 1.0: https://openid.net/specs/openid-connect-discovery-1_0.html
package introspect
