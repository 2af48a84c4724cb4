// Package verify turns a raw bearer token into verified claims: it checks a
// JWT access token (RFC 9068) carried as a compact JWS (RFC 7515) against the
// keys of its issuer and the rules of RFC 8725, and evaluates step-up
// requirements (RFC 9470) on the result. It is the one verification path
// behind the HTTP middleware and the gRPC interceptors.
//
//	keys, _ := jwks.Discover(ctx, "https://tenant.example.com/")
//	v, err := verify.New(keys, verify.Config{
//		Issuer:   "https://tenant.example.com/",
//		Audience: "https://api.example.com",
//	})
//	...
//	c, err := v.Authorize(ctx, raw, claims.Requirement{ACR: []string{claims.ACRMultiFactor}})
//
// # Rules
//
//   - Size cap first (Config.MaxTokenSize, 8 KiB by default): a larger token
//     is refused before any decoding.
//   - Compact serialization only: exactly three parts of strict base64url
//     (no padding, nothing outside the alphabet, no line breaks, zero
//     trailing bits). The JSON serialization and 5-part JWE are refused.
//   - Header: one strict JSON object (UTF-8 only, no lone surrogate
//     escapes, RFC 8259 §8) without duplicate members; alg a
//     string from the allowlist (asymmetric only; "none" in any spelling and
//     HS256/384/512 can never be enabled); typ "at+jwt" or
//     "application/at+jwt", case-insensitively, unless Config.TokenTypes
//     says otherwise; kid, when present, a string of at most 256 bytes
//     without control characters.
//   - Header parameters refused outright: crit (no extension is understood,
//     so any crit is unmet, RFC 7515 §4.1.11), b64 (RFC 7797 unencoded
//     payloads are not supported), and jwk, jku, x5u, x5c: the key always
//     comes from the issuer's configured set, so a token naming or embedding
//     its own key is refused rather than silently ignored, and nothing in a
//     token ever causes a request. Other members (x5t, cty, ...) are ignored.
//   - Before the signature only what choosing the key needs is read from
//     the payload: iss (and the claims Config.IssuerTemplates name), in one
//     strict pass that keeps nothing else. The unverified iss must be a
//     configured issuer before any key lookup: an unknown issuer never
//     causes a fetch. Config.IssuerTemplates accept issuers of a pattern
//     bound to a claim of the token itself (Entra ID's multi-tenant
//     https://login.microsoftonline.com/{tid}/v2.0). The key is then the
//     kid's key in that issuer's own set (jwks.Source).
//   - Key binding (RFC 8725 §3.1): the header alg must equal the JWK's alg
//     when it has one (EdDSA and Ed25519, RFC 9864's fully-specified name
//     for it, count as equal), and fit the key type: RSA (2048 to 8192
//     bits, e = 65537, see the jwks package doc) for RS*/PS*, EC on the
//     alg's curve with a valid point for ES256/384/512, OKP Ed25519 for
//     EdDSA and Ed25519.
//     Which keys are usable for signatures (use, key_ops) is decided
//     by the jwks package when it loads the set.
//   - Signature: RS256/384/512 by RSASSA-PKCS1-v1_5 encode-and-compare
//     (RFC 8017 §8.2.2) with the key's modulus prepared once per key
//     (package internal/rsapkcs1, gated by the Wycheproof vectors and a
//     differential fuzz against crypto/rsa); everything else, PS256/384/512
//     included, through the typed verifiers of github.com/lestrrat-go/dsig:
//     an ECDSA signature must be exactly r||s of the curve's size, and
//     crypto/ecdsa rejects r or s outside [1, N-1] (CVE-2022-21449).
//   - Only once the signature holds is the claim set parsed in full
//     (claims.Parse: strict JSON, no duplicate members, typed registered
//     claims), so that a forged token costs about what a valid one does
//     whatever its payload holds; its iss must be the one the key was
//     chosen by.
//   - Registered claims: aud contains Config.Audience; exp required and now
//     before exp + leeway; nbf and iat, when present, not after now +
//     leeway; the RFC 9068 required claims (iss exp aud sub client_id iat
//     jti by default, Config.RequiredClaims), and the exact string values
//     of Config.RequiredValues (Keycloak's payload typ "Bearer").
//
// An OpenID Connect ID token presented as an access token is refused by
// explicit typing (its typ is "JWT" or absent) and, when "JWT" is accepted
// for an issuer that does not follow RFC 9068, by the required claims
// (client_id and jti) and the audience. No rule looks at nonce or at_hash.
//
// # Errors
//
// Every rejection is a *claims.Error with Code claims.CodeInvalidToken and a
// fixed description; its Err is a *TokenError whose Reason, one of a fixed
// set (ReasonSignature, ReasonExpired, ...), says why: test it with
// errors.As. A key outage is not a rejection: the error then wraps
// claims.ErrUnavailable, to be answered with 503 / Unavailable. Nor is a
// request whose own context ends during the key lookup (the client went
// away): that error wraps ctx.Err() only, and the observer sees
// ReasonCanceled.
//
// # Issuers and key sources
//
// New refuses a key source that would let one configured issuer's keys
// verify another's tokens: see Config.Issuers and
// Config.InsecureSharedKeys. It also refuses a plain http issuer on a host
// other than a loopback IP literal unless Config.InsecureAllowHTTPIssuer
// is set.
//
// # Configuration problems seen at request time
//
// Some mistakes show only in the tokens: a typ, iss or aud the
// configuration does not accept (TokenError.Received and Hint say what the
// token carried and what to change), or a requirement on acr, amr or
// auth_time whose claim is absent from most tokens, because the verifier
// reads another name (Config.ClaimNames) or the issuer does not send it
// (AbsentClaimError, on at least 24 of a window of 32 tokens, at most once
// per claim and 10 minutes of Config.Now). The verifier never logs; the
// loggers of httpmw and grpcmw report both, never a token.
//
// # Speed
//
// Verification does its own parsing (no reflection on the header, one
// allocation for the decoded parts, no hash allocation for the signature)
// so that first-sight verification costs little more than the signature
// check itself; see BenchmarkVerify and BenchmarkRawSignature, and the bench
// module (BENCHMARKS.md) for the comparison with peers.
//
// A verified-token cache, on by default (Config.TokenCacheSize,
// Config.TokenCacheBytes; Config.NoTokenCache turns it off), turns a token
// seen again into a map lookup keyed by its exact bytes. A token is
// admitted on its second verification (a small doorkeeper of fingerprints
// remembers the first), so it hits from its third request, and a flood of
// tokens each seen once neither fills the cache nor evicts from it. On
// every hit the verifier still checks exp, nbf and iat with its clock and
// leeway, and asks the key source for the token's (iss, kid) again: the
// entry stands only if the source returns the very *jwks.Key that verified
// the signature (a jwks source keeps the same pointer while a key is
// unchanged), so a key removed or replaced at the issuer stops its tokens
// at the next refresh; the entry is dropped at that lookup or when
// eviction reaches it. Entries never outlive exp plus the leeway; failures
// are never cached; requirements are evaluated on every Authorize. The
// cache is sharded and bounded in entries and approximate bytes; a full
// shard evicts an expired entry if it meets one, otherwise a random one.
// Observer.TokenCache reports hits and misses.
//
// The *claims.Claims that Verify and Authorize return may be shared by every
// request presenting the same token: treat it as read-only.
//
// References: RFC 7515 (JWS), RFC 7518 (JWA), RFC 7519 (JWT), RFC 8037
// (EdDSA), RFC 8725 (JWT best current practices), RFC 9068 (JWT access
// tokens), RFC 9470 (step-up authentication challenge), RFC 9864
// (fully-specified algorithms: Ed25519).
//
//   - https://www.rfc-editor.org/rfc/rfc7515
//   - https://www.rfc-editor.org/rfc/rfc9864
//   - https://www.rfc-editor.org/rfc/rfc8725
//   - https://www.rfc-editor.org/rfc/rfc9068
//   - https://www.rfc-editor.org/rfc/rfc9470
package verify
