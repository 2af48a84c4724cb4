// Package dpop verifies DPoP proofs (RFC 9449) at a resource server: the
// JWT a client signs with its own key for each request, sent in the DPoP
// header field next to an access token bound to that key (cnf.jkt). A
// verified proof shows that the presenter of the token holds the key the
// token was issued for, for this method and URI, now, and only once.
//
//	v, err := dpop.New(dpop.Config{}) // default algorithms, MaxAge, Leeway, in-memory replay store
//	...
//	p, err := v.Verify(ctx, r.Header.Get("DPoP"), dpop.Request{
//		Method:      r.Method,
//		URL:         "https://api.example.com" + r.URL.Path,
//		AccessToken: token,
//	})
//	var perr *dpop.Error
//	switch {
//	case errors.As(err, &perr):
//		// 401, WWW-Authenticate: DPoP error=perr.Code, algs=v.Algorithms();
//		// and DPoP-Nonce: perr.Nonce when perr.Code is dpop.claims.CodeUseDPoPNonce.
//	case errors.Is(err, claims.ErrUnavailable):
//		// 503: the replay store cannot answer.
//	case err != nil:
//		// 500: the Request was unusable (ErrRequest) or ctx ended.
//	case p.JKT != tokenClaims.CnfJKT:
//		// 401 invalid_token: the token is bound to another key.
//	}
//
// Verify does not look at the access token beyond hashing it: verify the
// token first (package verify) and compare Proof.JKT with its cnf.jkt
// afterwards (RFC 9449 §6.1, §4.3 step 12).
//
// # Rules
//
// Verify applies every check of RFC 9449 §4.3, cheapest first; the replay
// store comes last, so only a proof otherwise valid consumes its jti:
//
//   - One value of at most maxProofSize bytes, checked before decoding. A
//     comma or white space (a list: two header fields folded into one) is
//     refused as "multiple"; any other byte outside base64url and the dot
//     as "malformed". Exactly three parts of strict base64url (RFC 7515
//     §2: no padding, zero trailing bits).
//   - Header and claim set are each one strict JSON object (UTF-8 only, no
//     lone surrogate escapes, no duplicate member names, package
//     internal/jsonscan, the reader of the rest of the library).
//   - typ names application/dpop+jwt (RFC 9449 §4.2): "dpop+jwt", or
//     "application/dpop+jwt", compared case-insensitively as media types
//     are (RFC 7515 §4.1.9).
//   - alg is in Config.Algorithms, which can hold only asymmetric
//     signature algorithms: "none" and HS* are refused by New (RFC 9449
//     §4.2, §11.6).
//   - jwk is present and a public key fitting alg: RSA of 2048 to 8192 bits
//     with e = 65537 (the bounds of the jwks package) for RS* and PS*, EC
//     on the alg's curve with a point on it for ES256/384/512, OKP Ed25519
//     for EdDSA and Ed25519; a jwk alg member, when present, names the
//     same alg. A jwk with a private or symmetric member (d, p, q, dp, dq,
//     qi, oth, k) is refused (RFC 9449 §4.2). Key material must be
//     canonical (strict base64url, no leading zero octets, EC coordinates
//     of full size), so one key has one thumbprint.
//   - crit (no extension is understood, RFC 7515 §4.1.11), b64, jku, x5u
//     and x5c are refused: the key comes from jwk only. kid and other
//     members are ignored.
//   - Claims: jti a non-empty string of at most 256 bytes; htm equal to
//     Request.Method (case-sensitive, RFC 9110 §9.1); htu equal to
//     Request.URL after normalisation (below); iat within
//     [now−MaxAge−Leeway, now+Leeway]; ath equal to the base64url SHA-256
//     of Request.AccessToken (RFC 9449 §4.2). Other claims are ignored.
//   - The signature verifies with jwk (RFC 9449 §4.3 step 6).
//   - With Config.Nonces set, nonce is one the Nonces issued in the current
//     or the previous window; a missing or stale one is refused with
//     claims.CodeUseDPoPNonce and a fresh Error.Nonce (RFC 9449 §9, §8).
//   - Last, the jti: ReplayStore.Use with the key JKT+":"+jti until
//     iat+MaxAge+Leeway, the last moment the proof could be accepted (RFC
//     9449 §11.1). Keying by the thumbprint keeps one client from burning
//     another's jti values.
//
// The htu and the request's URI are compared after the normalisations of
// RFC 3986 §6.2.2 and §6.2.3, as RFC 9449 §4.3 recommends: scheme and host
// lower-cased, percent-encodings upper-cased and those of unreserved
// characters decoded, dot segments removed, the default port and an empty
// port removed, an empty path made "/". The request's query and fragment
// are dropped; an htu with a query or fragment (which RFC 9449 §4.2 says it
// has not) matches nothing; userinfo matches nothing.
//
// # Errors
//
// A refused proof is an *Error whose Code is claims.CodeInvalidDPoPProof or
// claims.CodeUseDPoPNonce (RFC 9449 §7.1, §9) and whose Reason is one of the Reason
// constants: test with errors.As. An outage of the replay store is not a
// refusal: the error wraps claims.ErrUnavailable, to be answered with 503 /
// Unavailable. Error texts never contain the proof or the token.
//
// # Concurrency
//
// A Verifier, a Nonces and a MemoryStore are safe for concurrent use.
// New copies Config.Algorithms; the Replay store and the Nonces it is given
// are shared, not copied, and take the Verifier's clock (Config.Now).
//
// # References
//
//   - RFC 9449, OAuth 2.0 Demonstrating Proof of Possession (DPoP):
//     https://www.rfc-editor.org/rfc/rfc9449
//   - RFC 7638, JSON Web Key (JWK) Thumbprint:
//     https://www.rfc-editor.org/rfc/rfc7638
//   - RFC 3986 §6, URI normalisation and comparison:
//     https://www.rfc-editor.org/rfc/rfc3986#section-6
//   - RFC 7515 (JWS), RFC 7517 (JWK), RFC 7518 (JWA), RFC 8037 (OKP),
//     RFC 9864 (Ed25519 as a fully-specified alg).
package dpop
