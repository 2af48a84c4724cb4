// Package jwks provides the verification keys of token issuers: an inline
// key set (NewStatic), a JWKS URL that is fetched, cached and refreshed
// (NewRemote), OpenID Connect / OAuth metadata discovery (Discover), and
// several issuers at once (NewMulti). Every one is a Source, the interface
// the verifier asks for the key named by a token's kid.
//
//	keys, err := jwks.Discover(ctx, "https://tenant.example.com/")
//	if err != nil { ... }
//	defer keys.Close()
//	k, err := keys.Key(ctx, "https://tenant.example.com/", kid)
//
// Keys are parsed with github.com/lestrrat-go/jwx/v3/jwk and checked by
// ParseKey: only RSA, EC (P-256, P-384, P-521) and Ed25519 public keys
// meant for signatures are kept. Bad keys inside a set are skipped and
// reported (Set.Rejected, Observer.KeyRejected), not fatal;
// symmetric keys are never taken from a key set. A kid shared by several
// usable keys is ambiguous and all of them are dropped. Private members are
// discarded: only public keys are kept.
//
// RSA keys must have a modulus of 2048 to 8192 bits and the public
// exponent 65537, exactly. Under 2048 bits a key is weak (NIST SP
// 800-131A). The upper bounds are about cost: any token naming a kid costs
// one public-key operation to refuse, whose price grows with the square of
// the modulus length and with the length of the exponent, so a key set
// holding a 16384-bit key with e = 2^31-1 made every forged token cost about
// 250 times a 2048-bit one. 65537 is the exponent of the keys that
// identity providers and common libraries generate and the smallest FIPS
// 186-5 allows; smaller ones such as 3 have a history of signature
// forgeries against lax PKCS #1 v1.5 verifiers (Bleichenbacher, 2006), and
// one allowed value leaves nothing to get wrong. Other keys are skipped and
// reported like any unusable key. The verify package applies the same
// bounds to keys handed over by any Source.
//
// Kid hygiene (RFC 8725 §3.10): a token without a kid is matched only when
// the set holds exactly one key.
//
// A Remote refreshes ahead of expiry from Cache-Control max-age (clamped,
// with jitter) without making lookups wait, refetches once on an unknown
// kid (one shared fetch, then a cooldown and a bounded negative cache),
// replaces the whole set on every refresh, and keeps serving its last good
// set through an outage up to a staleness bound, after which lookups fail
// with an error matching claims.ErrUnavailable. Fetches are bounded: a
// timeout, a 1 MiB body, status 200, Content-Type application/json or
// application/jwk-set+json, no redirect to another host, and https except
// for loopback IP literals (not the name localhost: RFC 8252 §8.3). The
// keys of an https issuer come over https: Discover refuses an http
// jwks_uri from it, loopback included, unless InsecureAllowHTTP is set.
// Deployments whose issuers are configured by tenants can restrict the
// hosts keys come from with WithJWKSHosts. A fetch for an unknown kid that
// fails is an outage too, never an unknown key. See Remote for the details.
//
// Set, Remote and Multi are safe for concurrent use.
//
// Users of github.com/MicahParks/keyfunc/v3 can serve keys from their
// existing key storage with the jwks/keyfuncadapter package.
//
// Standards:
//   - RFC 7517 JSON Web Key: https://www.rfc-editor.org/rfc/rfc7517
//   - RFC 7518 JSON Web Algorithms: https://www.rfc-editor.org/rfc/rfc7518
//   - RFC 8037 OKP keys (Ed25519): https://www.rfc-editor.org/rfc/rfc8037
//   - RFC 8725 JWT Best Current Practices: https://www.rfc-editor.org/rfc/rfc8725
//   - RFC 8414 OAuth 2.0 Authorization Server Metadata: https://www.rfc-editor.org/rfc/rfc8414
//   - OpenID Connect Discovery 1.0: https://openid.net/specs/openid-connect-discovery-1_0.html
//   - RFC 9111 HTTP Caching (max-age, Age): https://www.rfc-editor.org/rfc/rfc9111
package jwks
