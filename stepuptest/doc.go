// Package stepuptest is an in-process OpenID provider for tests and demos
// of APIs protected by step-up authentication.
//
// NewIssuer starts a real HTTP server on 127.0.0.1 at a free port that
// serves what a verifier needs from an issuer:
//
//   - the OpenID Connect discovery document
//     (/.well-known/openid-configuration) and the RFC 8414 authorization
//     server metadata (/.well-known/oauth-authorization-server), with
//     issuer, jwks_uri, token_endpoint, acr_values_supported and
//     id_token_signing_alg_values_supported;
//   - the JWKS (headers: WithJWKSContentType, WithCacheControl) holding
//     keys generated at start, RS256 (2048-bit), ES256 and EdDSA by default
//     (WithAlgorithms), kid = the RFC 7638 thumbprint;
//   - a token endpoint for non-interactive logins: POST a form with sub,
//     acr_values, max_age, prompt, auth_time, scope, audience or resource,
//     client_id, and get an access token back, as a client does after a
//     step-up challenge.
//
// The issuer identifier (the iss of its tokens) is the base URL without a
// trailing slash, "http://127.0.0.1:PORT"; WithIssuerPath("/") gives the
// Auth0 form with the slash.
//
// # Provider shapes
//
// WithAuth0Shape, WithOktaShape, WithEntraShape and WithKeycloakShape make
// the issuer and every token it mints (Mint and the token endpoint) look
// like that provider's: issuer path, typ header, client and token-ID claim
// names, scope layout, Entra ID's tid/ver/uti/acrs, Keycloak's payload typ
// "Bearer". Pair them with the profiles of package idp (whose constructors
// accept a loopback domain or base URL) to test an API against tokens shaped
// as in production; Token.Claims and Token.Header still override anything.
//
// # Testing an API
//
// Point the API's verifier at Issuer() (or JWKSURL()), then mint the tokens
// each test needs:
//
//	iss, err := stepuptest.NewIssuer()
//	if err != nil {
//		t.Fatal(err)
//	}
//	defer iss.Close()
//
//	// ... build the API with issuer iss.Issuer(), audience iss.Audience() ...
//
//	mfa, _ := iss.Mint(stepuptest.Token{
//		ACR:      claims.ACRMultiFactor,
//		AMR:      []string{"pwd", "otp", "mfa"},
//		AuthTime: time.Now(),
//	})
//	stale, _ := iss.Mint(stepuptest.Token{
//		ACR:      claims.ACRMultiFactor,
//		AuthTime: time.Now().Add(-time.Hour),
//	})
//
// Mint's zero Token is a valid RFC 9068 access token (Token lists the
// defaults). Token.Claims and Token.Header override anything, so the same
// call also builds the tokens a verifier must reject: expired, wrong
// audience, no typ, alg "none", HS256 signed with the public key, a kid
// that does not exist, a removed key, acr under a namespaced claim name.
//
// # Logging in
//
// Login posts to the token endpoint over HTTP, so a demo or an end-to-end
// test really logs in again at the issuer when a challenge asks for it:
//
//	tok, err := iss.Login(ctx, stepuptest.LoginRequest{
//		ACRValues: challenge.ACRValues, // e.g. claims.ACRMultiFactor
//		MaxAge:    challenge.MaxAge,
//	})
//
// The issuer logs in at the first requested acr it supports (WithACR
// gives the acr values and their amr, and the default mapping). auth_time
// is now unless the request backdates the session (LoginRequest.AuthTime
// says when the issuer keeps it).
//
// # DPoP clients
//
// NewDPoPKey is the client half of DPoP-bound tokens (RFC 9449): bind a
// token to the key through its cnf claim, and sign a proof per request.
//
//	key, err := stepuptest.NewDPoPKey("ES256")
//	tok, err := iss.Mint(stepuptest.Token{Claims: map[string]any{"cnf": map[string]any{"jkt": key.JKT()}}})
//	proof, err := key.Proof(stepuptest.DPoPProof{Method: "POST", URL: "https://api.example.com/transfer", AccessToken: tok})
//	req.Header.Set("Authorization", "DPoP "+tok)
//	req.Header.Set("DPoP", proof)
//
// # Keys and outages
//
// Rotate(alg) adds a new current key (the old one stays published unless
// WithRotateRemovesOld) and KeyID(alg) names the current one, "" meaning
// the default algorithm for both; RemoveKey and RestoreKey take keys out
// of and back into the JWKS, AddRawKey publishes a JWK verbatim (a bad key
// a client must skip). SetFaults makes the JWKS and discovery endpoints
// fail, each its own way (see Fault): 500, slow, garbage JSON, a body over
// 1 MiB, connection closed (down), or an HTML page. Requests counts the
// requests of each endpoint, so a test can assert how often a client
// fetched.
//
// # Concurrency
//
// An Issuer is safe for concurrent use: Mint, Login, Rotate, SetFaults and
// the accessors may be called from any goroutine while the server answers
// requests. Close ends held requests and waits for every handler, so no
// goroutine of the issuer outlives it.
//
// Standards: OpenID Connect Discovery 1.0
// (https://openid.net/specs/openid-connect-discovery-1_0.html), RFC 8414
// (https://www.rfc-editor.org/rfc/rfc8414), RFC 7517 JWK
// (https://www.rfc-editor.org/rfc/rfc7517), RFC 7515 JWS
// (https://www.rfc-editor.org/rfc/rfc7515), RFC 9068 JWT access tokens
// (https://www.rfc-editor.org/rfc/rfc9068), RFC 9470 step-up
// (https://www.rfc-editor.org/rfc/rfc9470), RFC 8176 amr values
// (https://www.rfc-editor.org/rfc/rfc8176), RFC 6749 §5 token responses
// (https://www.rfc-editor.org/rfc/rfc6749#section-5), RFC 9449 DPoP
// (https://www.rfc-editor.org/rfc/rfc9449), RFC 7638 JWK thumbprints
// (https://www.rfc-editor.org/rfc/rfc7638).
package stepuptest
