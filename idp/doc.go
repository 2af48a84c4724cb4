// Package idp holds identity-provider profiles: what Auth0, Okta, Microsoft
// Entra ID and Keycloak need from a verifier, so that nobody hand-writes the
// glue. A profile knows the provider's issuer form, where its keys and
// discovery document are, which typ its access tokens carry, the claims
// they always have (so that its ID tokens are refused), where acr, amr and
// auth_time live, and its well-known acr values.
//
//	prof, err := idp.Okta("example.okta.com", idp.OktaOptions{}) // server "default"
//	keys, err := prof.Keys(ctx)                                  // jwks.Discover on the issuer
//	v, err := verify.New(keys, prof.Config("api://default"))
//	guard, err := httpmw.New(v)
//	mux.Handle("POST /refunds", guard.Require(claims.Requirement{
//		ACRMin: idp.OktaLoA2FAAny, ACRLevels: prof.ACRLevels, MaxAge: 15 * time.Minute}, refunds))
//
// Auth0, Okta and Keycloak follow RFC 9470: a requirement on acr, amr or
// auth_time answers insufficient_user_authentication with acr_values and
// max_age, which the client sends to the provider on its next login.
//
// Entra ID does not: its access tokens carry Conditional Access
// authentication contexts (c1..c99) in acrs, and an API asks for one with a
// claims challenge (error="insufficient_claims" and a base64 claims
// request), sent only to clients whose token says in xms_cc that they can
// handle one (cp1). Profile.AuthContext builds that requirement, and the
// middleware renders it byte for byte as Microsoft documents it.
// insufficient_claims is not a registered OAuth error code; it is the one
// provider-specific exception the library makes to sending registered codes
// only. Entra ID multi-tenant APIs accept the issuer
// https://login.microsoftonline.com/{tid}/v2.0 bound to the token's own tid
// (verify.Config IssuerTemplates).
//
// The package imports claims, jwks and verify, never a transport: arrows
// point toward claims. Profiles are plain values, safe for concurrent use.
//
// Provider documentation:
//
//   - Auth0: https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles
//   - Okta: https://developer.okta.com/docs/guides/step-up-authentication/main/
//   - Entra ID: https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
//     and https://learn.microsoft.com/entra/identity-platform/claims-challenge
//   - Keycloak: https://www.keycloak.org/docs/latest/server_admin/#_step-up-flow
//
// Standards: RFC 9470 (step-up challenge), RFC 9068 (JWT access tokens),
// RFC 8725 (explicit typing), OpenID Connect Core §5.5 (claims request).
//
//   - https://www.rfc-editor.org/rfc/rfc9470
//   - https://www.rfc-editor.org/rfc/rfc9068
//   - https://openid.net/specs/openid-connect-core-1_0.html#ClaimsParameter
package idp
