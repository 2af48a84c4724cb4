// Package claims is the standard-library-only core of stepup: the typed view
// of a verified access token (Claims), what a route or RPC demands of it
// (Requirement), the one rejection type (*Error) and the WWW-Authenticate
// challenges that tell a client how to recover (Challenge).
//
// The verifier turns a token's payload into *Claims with Parse; middleware
// evaluates a Requirement against it and, on failure, renders the *Error's
// challenge:
//
//	req := claims.Requirement{
//		ACR:    []string{claims.ACRMultiFactor},
//		MaxAge: 5 * time.Minute,
//	}
//	if err := req.Validate(); err != nil { // once, at configuration time
//		log.Fatal(err)
//	}
//	c, err := claims.Parse(payload, claims.Names{})
//	if err != nil {
//		return claims.InvalidToken(err)
//	}
//	if e := req.Evaluate(c, time.Now(), 30*time.Second); e != nil {
//		ch := e.Challenge()
//		ch.Realm = "api"
//		w.Header().Set("WWW-Authenticate", ch.String())
//		// 401 for insufficient_user_authentication, 403 for insufficient_scope
//	}
//
// A client reads challenges back with ParseChallenges and Challenge.Err.
// Callers tell rejections apart with errors.As and Error.Code; an outage of
// the verification keys is ErrUnavailable instead (503, never the client's
// fault).
//
// Codes are the registered OAuth ones, with one documented,
// provider-specific exception: CodeInsufficientClaims, Microsoft Entra ID's
// claims challenge, which package idp builds (Error.Extra carries its
// authorization_uri and claims, and Challenge.String renders them in
// Microsoft's order).
//
// # Choices
//
//   - acr "at least" (ACRMin over ACRLevels) asks, in acr_values, for ACRMin
//     first and then the higher levels, lowest to highest: RFC 9470 lists
//     acr_values in order of preference, and the least sufficient level is
//     what a Keycloak-style step-up flow expects.
//   - max_age in a challenge is the requirement's MaxAge truncated to whole
//     seconds (never more lenient than the requirement); below one second
//     it is max_age=0.
//   - Rendered challenges are printable ASCII only; see Challenge.String for
//     how other characters are dropped or escaped.
//
// # Concurrency
//
// Requirement, Challenge and Names are values, safe for concurrent use once
// built. A *Claims is read-only after Parse and shared by every request that
// presents the same token: do not modify it. A Requirement's Check function
// must itself be safe for concurrent use. *Error values returned by the
// package are fresh per call, except those a Check function returns, which
// are passed through unchanged.
//
// # Standards
//
//   - RFC 6750 (Bearer token usage): https://www.rfc-editor.org/rfc/rfc6750
//   - RFC 9110 §11 (HTTP authentication): https://www.rfc-editor.org/rfc/rfc9110#section-11
//   - RFC 9470 (step-up authentication challenge): https://www.rfc-editor.org/rfc/rfc9470
//   - RFC 9728 (protected resource metadata): https://www.rfc-editor.org/rfc/rfc9728
//   - RFC 7519 (JWT) and RFC 9068 (JWT access tokens): https://www.rfc-editor.org/rfc/rfc7519, https://www.rfc-editor.org/rfc/rfc9068
//   - RFC 8176 (amr values): https://www.rfc-editor.org/rfc/rfc8176
//   - OpenID Connect Core 1.0 (acr, amr, auth_time): https://openid.net/specs/openid-connect-core-1_0.html
package claims
