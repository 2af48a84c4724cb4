// Package stepupclient is the client half of step-up authentication: an
// http.RoundTripper (and, in package grpcmw, gRPC interceptors) that follows
// a resource server's challenges by itself. When an API answers
// insufficient_user_authentication with acr_values and max_age (RFC 9470),
// insufficient_scope with scope (RFC 6750 §3.1), Entra ID's
// insufficient_claims with claims, or use_dpop_nonce (RFC 9449 §8), the
// client gets a token that meets the challenge and sends the request again,
// once, safely.
//
//	src, err := stepupclient.New(stepupclient.Config{
//		Token: func(ctx context.Context, l stepupclient.Login) (*oauth2.Token, error) {
//			// l.ACRValues, l.MaxAge, l.Scopes, l.Claims: what to ask the
//			// authorization server for; l.AuthCodeOptions() for the code flow.
//			return login(ctx, l)
//		},
//	})
//	...
//	t, err := stepupclient.NewTransport(src, "https://api.example.com", nil)
//	...
//	client := &http.Client{Transport: t}
//	resp, err := client.Post("https://api.example.com/transfer", "application/json", body)
//
// The same Source serves gRPC: grpcmw.UnaryClientStepUp(src) and
// grpcmw.StreamClientStepUp(src).
//
// # Rules
//
// The client follows challenges once and safely (Transport's documentation states
// each case):
//
//   - A Source holds one token for one resource server. A Transport sends it
//     to one origin only (scheme, host, port), and follows challenges from
//     that origin only; requests elsewhere, redirects included, carry no
//     token.
//   - Step-up retries per request are bounded (Config.MaxRetries, default 1).
//     A use_dpop_nonce answer is retried once per token, never with the
//     nonce the server just refused.
//   - A request is sent again only when it can be: no body, or a body with
//     GetBody (http.NewRequest sets it for bytes, strings and their
//     readers). Otherwise the refusal is returned as it is.
//   - Scopes accumulate: the Login after an insufficient_scope asks for the
//     union of every scope asked for so far, so a client stepping through
//     two APIs does not lose the first scope. acr_values are those of the
//     latest challenge; max_age and claims apply to one login only.
//   - Unknown schemes and codes are not followed. A challenge that cannot be
//     read (claims.ParseChallenges, bounded to 64 KiB, 64 challenges, 64
//     parameters) or whose parameters cannot be requested is an error
//     (*ChallengeError), never a retry; so is a failed login (*LoginError).
//   - The TokenFunc runs one call at a time: concurrent refusals do not open
//     several logins, and a request refused while another one stepped up
//     reuses the new token when the refusal asks for nothing more.
//
// # DPoP
//
// With Config.DPoP, every request to the origin carries a fresh proof (RFC
// 9449 §4.2: typ dpop+jwt, the public jwk, htm, htu without query and
// fragment, iat, a random jti, ath the hash of the token, and the origin's
// latest nonce) and the token under the DPoP scheme. Signing goes through
// crypto.Signer, so the key can live in a KMS or a hardware token. The
// authorization server must bind the tokens the TokenFunc returns to that
// key (its thumbprint, Login.DPoPJKT, is their cnf.jkt): the TokenFunc
// signs its token requests' proofs (RFC 9449 §5) with Source.DPoPProof, and
// Login.AuthCodeOptions sends dpop_jkt (§10). Over gRPC, the grpcmw
// interceptors make the proofs with grpcmw.WithClientDPoP.
//
// # Concurrency
//
// Source and Transport are safe for concurrent use. Login is a value.
//
// # Standards
//
//   - RFC 9470, step-up authentication challenge:
//     https://www.rfc-editor.org/rfc/rfc9470
//   - RFC 6750 §3, the Bearer challenge: https://www.rfc-editor.org/rfc/rfc6750#section-3
//   - RFC 9449, DPoP: https://www.rfc-editor.org/rfc/rfc9449
//   - OpenID Connect Core 1.0 §3.1.2.1 (acr_values, max_age) and §5.5 (claims):
//     https://openid.net/specs/openid-connect-core-1_0.html
//   - Entra ID claims challenges:
//     https://learn.microsoft.com/entra/identity-platform/claims-challenge
package stepupclient
