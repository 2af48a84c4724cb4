package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/cnf"
	"github.com/stepupauth/stepup/jwks"
)

// Defaults applied by New to zero Config fields, stated in their docs.
const (
	defaultLeeway       = 30 * time.Second // Config.Leeway
	defaultMaxTokenSize = 8 << 10          // Config.MaxTokenSize, in bytes
)

// defaultTokenTypes is the typ accepted when Config.TokenTypes is empty
// (RFC 9068 §2.1; "application/at+jwt" is the same type).
var defaultTokenTypes = []string{"at+jwt"}

// defaultRequiredClaims is the claim set RFC 9068 §2.2 requires of an access
// token, used when Config.RequiredClaims is nil.
var defaultRequiredClaims = []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}

// Config is the security-relevant configuration of a Verifier. New checks
// it once and copies it; later changes to the value have no effect.
type Config struct {
	// Issuer is the accepted iss, compared exactly (byte for byte). At
	// least one of Issuer, Issuers and IssuerTemplates is required.
	Issuer string
	// Issuers are further accepted issuers, for a key source serving
	// several (jwks.Multi). A token's iss is checked against Issuer and
	// Issuers before any key lookup, so an unknown issuer never causes a
	// fetch.
	//
	// New checks that the key source keeps issuers apart, so that a token
	// from one issuer cannot verify with another's keys: a source that
	// implements jwks.IssuerSource (jwks.Multi, a jwks.Discover Remote)
	// must serve every issuer of Issuer and Issuers. With more than one
	// such issuer, any other source is refused unless it is a
	// *jwks.Remote made by jwks.NewRemote (one JWKS URL is one key
	// publisher, as with Entra ID's tenants sharing Microsoft's keys) or
	// InsecureSharedKeys is set.
	Issuers []string
	// InsecureSharedKeys lets several issuers (Issuer and Issuers) share
	// one key source that does not keep them apart, such as a jwks.Set
	// holding the keys of all of them or a keyfunc adapter over several
	// URLs: any issuer's key then verifies tokens claiming to be from
	// any other. Set it only when every issuer is the same signer.
	InsecureSharedKeys bool
	// InsecureAllowHTTPIssuer accepts issuers (Issuer, Issuers and
	// IssuerTemplates) with a plain http URL on a host other than a
	// loopback IP literal (127.0.0.0/8, ::1). By default such an issuer is
	// a configuration error: OpenID Connect and RFC 8414 issuers are https
	// URLs, and an http one usually means the wrong URL was copied. Local
	// test issuers on 127.0.0.1 or [::1] need no switch.
	InsecureAllowHTTPIssuer bool
	// Audience is required: the token's aud must contain it.
	Audience string
	// Algorithms is the alg allowlist (case-sensitive JOSE names). The
	// default is every asymmetric algorithm: RS256, RS384, RS512, PS256,
	// PS384, PS512, ES256, ES384, ES512, EdDSA and Ed25519 (RFC 9864's
	// fully-specified name for EdDSA with Ed25519, which deprecates the
	// polymorphic EdDSA; either verifies with an OKP Ed25519 key whose JWK
	// alg is EdDSA, Ed25519 or absent). Only these are accepted: "none"
	// and HS256/384/512 make New fail.
	Algorithms []string
	// TokenTypes are the accepted typ header values, compared
	// case-insensitively with any "application/" prefix dropped; default
	// "at+jwt" (RFC 9068 §2.1). Add "JWT" only for an issuer that does
	// not follow RFC 9068 (Auth0's default profile, Entra ID): it weakens
	// the protection against ID tokens presented as access tokens, which
	// then rests on RequiredClaims and Audience.
	TokenTypes []string
	// InsecureAllowMissingType accepts tokens without a typ header (RFC
	// 8725 §3.11 explicit typing is then lost).
	InsecureAllowMissingType bool
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// the default of 30 seconds; a negative value is a configuration
	// error.
	Leeway time.Duration
	// NoLeeway allows no clock skew at all: exp, nbf and iat are compared
	// with Now exactly. Leeway must then be zero.
	NoLeeway bool
	// MaxTokenSize caps the raw token length in bytes, checked before any
	// decoding. Zero means the default of 8 KiB (8192); a negative value
	// is a configuration error.
	MaxTokenSize int
	// ClaimNames remaps acr, amr and auth_time.
	ClaimNames claims.Names
	// RequiredClaims must be present in every token (JSON null counts as
	// absent). Nil means the RFC 9068 §2.2 set: iss, exp, aud, sub,
	// client_id, iat and jti; an empty non-nil slice requires nothing
	// beyond iss, exp and aud, which are always required. Issuers that
	// omit client_id or jti (Entra ID has azp/appid and uti) list what they
	// do send.
	RequiredClaims []string
	// IssuerTemplates are further accepted issuers, each a URL with one
	// {claim} placeholder in its path that stands for the value of that
	// string claim of the token itself: with
	// "https://login.microsoftonline.com/{tid}/v2.0" (Entra ID's
	// multi-tenant issuer) a token is accepted from any tenant whose
	// issuer matches its own tid claim. The placeholder value must be
	// non-empty and hold no '/'. Like Issuers, templates are checked
	// before any key lookup; the key source must serve the issuers they
	// accept (a jwks.NewRemote source serves any). An API accepting every
	// tenant decides for itself which tenants it serves.
	//
	// A template stands for many issuers of one provider that publishes
	// one key set for all of them (Microsoft documents this for Entra ID),
	// and each token's issuer is bound to its own claim. It counts as one
	// issuer in the shared-key check of Issuers: a template beside a fixed
	// issuer (or beside a template with another prefix) over a source that
	// does not keep issuers apart is refused, unless the source is a
	// *jwks.Remote made by jwks.NewRemote or InsecureSharedKeys is set;
	// otherwise whoever holds one issuer's key could sign tokens for any
	// issuer the template accepts. A source that serves only listed issuers
	// (jwks.Multi, a discovered Remote) can never serve a template, and is
	// refused with one.
	IssuerTemplates []string
	// RequiredValues are claims that every token must carry as a JSON
	// string exactly equal to the value, such as Keycloak's payload typ
	// "Bearer" (its ID and refresh tokens say "ID" and "Refresh") or
	// Entra ID's ver "2.0". A mismatch is invalid_token, reason
	// ReasonClaims.
	RequiredValues map[string]string
	// ExcludedValues are claims that no token may carry as a JSON string
	// exactly equal to one of the values, such as the tid of Microsoft's
	// consumer tenant for an Entra ID API that serves work and school
	// accounts only. A token without the claim, or with a value of
	// another JSON type, passes this rule. A match is invalid_token,
	// reason ReasonClaims.
	ExcludedValues map[string][]string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// TokenCacheSize bounds the verified-token cache, in tokens. Zero
	// means the default of 10000; a negative value is a configuration
	// error (NoTokenCache turns the cache off). The cache keeps tokens
	// that verified, keyed by their exact bytes, and never answers for a
	// token that is expired or whose key left the issuer's set; see Speed
	// in the package documentation for its rules.
	TokenCacheSize int
	// TokenCacheBytes bounds the approximate memory of the cache (tokens
	// and their claims). Zero means the default of 32 MiB; a negative
	// value is a configuration error. A token larger than 1/32 of it is
	// verified but not cached.
	TokenCacheBytes int
	// NoTokenCache turns the verified-token cache off: every token is
	// verified in full, every time. TokenCacheSize and TokenCacheBytes
	// must then be zero.
	NoTokenCache bool
	// Introspector, when set, verifies opaque access tokens by asking the
	// authorization server (OAuth 2.0 Token Introspection, RFC 7662; an
	// *introspect.Client is one). Which tokens go where is fixed by their
	// form, never by a failure: a token that is a JWS compact
	// serialization (three base64url parts, two dots) is a JWT and is
	// verified with the keys, every other token goes to the Introspector.
	// A JWT whose signature fails is refused, never sent to the network.
	// The claims of an introspected token skip the JWT rules of this
	// Config (typ, required claims, audience, issuer templates, the token
	// cache): the Introspector checks the response (see its own Issuer,
	// Audience and cache); requirements and sender constraints apply alike.
	Introspector Introspector
	// IntrospectJWTs sends JWTs to the Introspector too, for an issuer
	// whose JWT access tokens this server has no keys for; the key source
	// given to New may then be nil.
	IntrospectJWTs bool
	// Observer receives the outcome of every Verify call. Optional.
	Observer Observer
}

// Observer holds optional hooks; nil fields are skipped. Hooks run
// synchronously on the request path and must be quick and safe for
// concurrent use. The verifier itself never logs.
type Observer struct {
	// Verified is called once per Verify (and per Authorize that reaches
	// verification) with the reason (ReasonNone when valid,
	// ReasonUnavailable for a key outage, ReasonCanceled when the request's
	// own context ended) and the time verification took.
	Verified func(reason Reason, took time.Duration)
	// TokenCache is called on each lookup in the verified-token cache
	// (see Config.TokenCacheSize) with whether it was a hit. A hit whose
	// entry is then dropped (expired, or its key left the set) is reported
	// as a miss. Not called when the cache is disabled.
	TokenCache func(hit bool)
}

// Verifier turns raw bearer tokens into verified claims. It is safe for
// concurrent use; its configuration is fixed by New.
type Verifier struct {
	keys     jwks.Source
	issuers  []string
	audience string
	required []string // beyond iss, exp, aud
	leeway   time.Duration
	maxSize  int
	names    claims.Names
	now      func() time.Time
	observed func(Reason, time.Duration)
	cacheObs func(hit bool)
	cache    *tokenCache // nil when disabled
	rsaKeys  rsaKeyCache // RSA keys of the Source, prepared (rsakeys.go)
	pol      policy
	// templates, values and excluded: Config.IssuerTemplates,
	// RequiredValues and ExcludedValues; tplClaims: the distinct claims
	// the templates name (issuer.go).
	templates []issuerTemplate
	tplClaims []string
	values    []requiredValue
	excluded  []requiredValue
	// absent counts tokens lacking acr, amr and auth_time (absent.go).
	absent [numClaims]absentCount
	// introspector verifies opaque tokens (introspection.go).
	introspector   Introspector
	introspectJWTs bool
}

// New returns a Verifier that takes keys from keys. It returns an error
// wrapping ErrConfig when cfg is incomplete or unsafe.
func New(keys jwks.Source, cfg Config) (*Verifier, error) {
	if keys == nil && (cfg.Introspector == nil || !cfg.IntrospectJWTs) {
		return nil, fmt.Errorf("%w: nil key source (only a Verifier that sends every token to an Introspector, IntrospectJWTs, needs none)", ErrConfig)
	}
	if cfg.IntrospectJWTs && cfg.Introspector == nil {
		return nil, fmt.Errorf("%w: IntrospectJWTs without an Introspector", ErrConfig)
	}
	v := &Verifier{
		keys:     keys,
		audience: cfg.Audience,
		leeway:   cfg.Leeway,
		maxSize:  cfg.MaxTokenSize,
		names:    cfg.ClaimNames,
		now:      cfg.Now,
		observed: cfg.Observer.Verified,
		cacheObs: cfg.Observer.TokenCache,

		introspector:   cfg.Introspector,
		introspectJWTs: cfg.IntrospectJWTs,
	}
	if cfg.Issuer != "" {
		v.issuers = append(v.issuers, cfg.Issuer)
	}
	if !cfg.InsecureAllowHTTPIssuer {
		if err := checkHTTPIssuers(cfg); err != nil {
			return nil, err
		}
	}
	for _, iss := range cfg.Issuers {
		if iss == "" {
			return nil, fmt.Errorf("%w: empty issuer in Issuers", ErrConfig)
		}
		if !slices.Contains(v.issuers, iss) {
			v.issuers = append(v.issuers, iss)
		}
	}
	if err := v.setIssuerRules(cfg); err != nil {
		return nil, err
	}
	if len(v.issuers) == 0 && len(v.templates) == 0 {
		return nil, fmt.Errorf("%w: issuer required", ErrConfig)
	}
	if keys != nil {
		if err := checkIssuerBinding(keys, v.issuers, v.templates, cfg.InsecureSharedKeys); err != nil {
			return nil, err
		}
	}
	if v.audience == "" {
		return nil, fmt.Errorf("%w: audience required", ErrConfig)
	}
	switch {
	case v.leeway < 0:
		return nil, fmt.Errorf("%w: Leeway is negative; set NoLeeway to verify without clock skew", ErrConfig)
	case cfg.NoLeeway && v.leeway != 0:
		return nil, fmt.Errorf("%w: Leeway is %v with NoLeeway set; set one of them", ErrConfig, v.leeway)
	case v.leeway == 0 && !cfg.NoLeeway:
		v.leeway = defaultLeeway
	}
	switch {
	case v.maxSize == 0:
		v.maxSize = defaultMaxTokenSize
	case v.maxSize < 0:
		return nil, fmt.Errorf("%w: MaxTokenSize is negative; leave it zero for the default of %d bytes", ErrConfig, defaultMaxTokenSize)
	}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case cfg.TokenCacheSize < 0:
		return nil, fmt.Errorf("%w: TokenCacheSize is negative; set NoTokenCache to turn the token cache off", ErrConfig)
	case cfg.TokenCacheBytes < 0:
		return nil, fmt.Errorf("%w: TokenCacheBytes is negative; leave it zero for the default of %d bytes, or set NoTokenCache to turn the token cache off", ErrConfig, defaultTokenCacheBytes)
	case cfg.NoTokenCache && (cfg.TokenCacheSize != 0 || cfg.TokenCacheBytes != 0):
		return nil, fmt.Errorf("%w: TokenCacheSize or TokenCacheBytes set with NoTokenCache; set one of them", ErrConfig)
	}
	if !cfg.NoTokenCache {
		size, bytes := cfg.TokenCacheSize, cfg.TokenCacheBytes
		if size == 0 {
			size = defaultTokenCacheSize
		}
		if bytes == 0 {
			bytes = defaultTokenCacheBytes
		}
		v.cache = newTokenCache(size, bytes)
	}

	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = defaultAlgorithms
	}
	v.pol.algs = make(map[string]*algInfo, len(algs))
	for _, name := range algs {
		a, ok := joseAlgs[name]
		switch {
		case name == "HS256" || name == "HS384" || name == "HS512":
			return nil, fmt.Errorf("%w: symmetric algorithm %q cannot be used with a key set (its key would be a published secret): use an asymmetric algorithm", ErrConfig, name)
		case !ok:
			return nil, fmt.Errorf("%w: unknown algorithm %q (known: %s)", ErrConfig, name, strings.Join(defaultAlgorithms, ", "))
		}
		v.pol.algs[name] = a
	}

	types := cfg.TokenTypes
	if len(types) == 0 {
		types = defaultTokenTypes
	}
	v.pol.checkType = true
	v.pol.allowUntyped = cfg.InsecureAllowMissingType
	for _, t := range types {
		if t == "" {
			return nil, fmt.Errorf("%w: empty token type", ErrConfig)
		}
		v.pol.types = append(v.pol.types, normType(t))
	}

	required := cfg.RequiredClaims
	if required == nil {
		required = defaultRequiredClaims
	}
	for _, name := range required {
		switch name {
		case "":
			return nil, fmt.Errorf("%w: empty required claim name", ErrConfig)
		case "iss", "exp", "aud": // always checked
		default:
			if !slices.Contains(v.required, name) {
				v.required = append(v.required, name)
			}
		}
	}
	return v, nil
}

// Verify checks raw, a compact JWS access token (RFC 9068), and returns its
// claims. Every rejection is a *claims.Error with Code
// claims.CodeInvalidToken whose Err is a *TokenError; when the key source
// reports an outage the error instead wraps claims.ErrUnavailable (and is not
// a *claims.Error). When ctx itself ends during the key lookup (the client
// went away), the error wraps ctx.Err() (context.Canceled or
// context.DeadlineExceeded) and is neither a *claims.Error nor
// claims.ErrUnavailable: there is nobody left to answer. Test with
// errors.As and errors.Is.
//
// The order is: size cap; compact form and strict base64url; header rules
// (alg allowlist, typ, crit, no embedded or remote keys, kid hygiene); iss
// (and the claims issuer templates name) read from the payload and checked
// against the configured issuers; key lookup by kid in the issuer's own set;
// key/alg binding; signature; only then the claim set parsed in full; aud;
// required claims; exp, nbf and iat with leeway. A token that verified before is answered from the
// verified-token cache (see Config.TokenCacheSize) after the size cap, a
// check that its key is still the source's, and the time checks.
//
// The returned claims may be shared with other callers presenting the same
// token (the cache holds them): they must not be modified.
func (v *Verifier) Verify(ctx context.Context, raw string) (*claims.Claims, error) {
	if v.introspects(raw) {
		return v.introspect(ctx, raw)
	}
	var start time.Time
	if v.observed != nil {
		start = time.Now()
	}
	c, rej := v.verify(ctx, raw)
	if v.observed != nil {
		reason := ReasonNone
		if rej != nil {
			reason = rej.reason
		}
		v.observed(reason, time.Since(start))
	}
	if rej != nil {
		if rej.reason == ReasonUnavailable || rej.reason == ReasonCanceled {
			return nil, rej.err
		}
		return nil, claims.InvalidToken(&TokenError{Reason: rej.reason, Err: rej.err,
			received: rej.received, hasReceived: rej.hasReceived, v: v})
	}
	return c, nil
}

// verify runs every check. The verified-token cache sits between the size
// cap and verifySigned: a hit skips verifySigned (whose result depends only
// on raw and the key, which the hit re-checks) and still runs checkTime.
func (v *Verifier) verify(ctx context.Context, raw string) (*claims.Claims, *rejection) {
	if len(raw) > v.maxSize {
		return nil, rejTooLarge
	}
	if v.cache != nil {
		if c, rej, ok := v.cached(ctx, raw); ok {
			return c, rej
		}
	}
	c, key, kid, rej := v.verifySigned(ctx, raw)
	if rej != nil {
		return nil, rej
	}
	now := v.now()
	if rej := v.checkTime(c, now); rej != nil {
		return nil, rej
	}
	if v.cache != nil {
		v.cache.add(raw, c, key, kid, c.Expiry.Add(v.leeway), now)
	}
	return c, nil
}

// cached answers from the verified-token cache. ok is false on a miss, and
// when the entry's key is no longer the one the source returns: the entry
// is then dropped and the caller verifies raw in full. The source lookup
// is for a kid the source knew, so it is a map read and never waits on a
// fetch, unless the key has since left the set, in which case a full
// verification would make the same lookup; its error is returned as such.
func (v *Verifier) cached(ctx context.Context, raw string) (c *claims.Claims, rej *rejection, ok bool) {
	e := v.cache.get(raw)
	if e == nil {
		v.observeCache(false)
		return nil, nil, false
	}
	key, err := v.keys.Key(ctx, e.claims.Issuer, e.kid)
	if err != nil {
		v.cache.remove(raw, e)
		v.observeCache(false)
		return nil, keyLookupRejection(ctx, err), true
	}
	if key != e.key {
		v.cache.remove(raw, e)
		v.observeCache(false)
		return nil, nil, false
	}
	now := v.now()
	if !now.Before(e.expiry) {
		v.cache.remove(raw, e)
		v.observeCache(false)
		return nil, rejExpired, true
	}
	v.observeCache(true)
	if rej := v.checkTime(e.claims, now); rej != nil {
		return nil, rej, true
	}
	return e.claims, nil, true
}

func (v *Verifier) observeCache(hit bool) {
	if v.cacheObs != nil {
		v.cacheObs(hit)
	}
}

// verifySigned does every check that does not depend on the clock. It
// returns the claims and the key (and kid) that verified the signature.
//
// Before the signature is checked it reads only what choosing the key
// needs: the header, and iss (and the claims issuer templates name) in one
// strict pass over the payload that keeps nothing else. The claim set is
// parsed only once the signature holds, so a forged token costs about what
// a valid one does, whatever its payload holds.
func (v *Verifier) verifySigned(ctx context.Context, raw string) (*claims.Claims, *jwks.Key, string, *rejection) {
	var scratch [scratchSize]byte
	tok, kid, rej := parseCompact(raw, &v.pol, scratch[:])
	if rej != nil {
		return nil, nil, "", rej
	}
	ic, rej := v.readIssuer(tok.payload)
	if rej != nil {
		return nil, nil, "", rej
	}
	// An issuer we do not serve is refused before any key lookup.
	if !v.acceptIssuer(&ic) {
		if !ic.hasIss {
			return nil, nil, "", rejIssuer
		}
		return nil, nil, "", rejectValue(ReasonIssuer, errIssuer, ic.iss)
	}
	key, err := v.keys.Key(ctx, ic.iss, kid)
	if err != nil {
		return nil, nil, "", keyLookupRejection(ctx, err)
	}
	if rej := checkKey(tok.alg, key); rej != nil {
		return nil, nil, "", rej
	}
	if rej := verifySignature(&tok, key, &v.rsaKeys); rej != nil {
		return nil, nil, "", rej
	}
	c, err := claims.Parse(tok.payload, v.names)
	if err != nil {
		return nil, nil, "", reject(ReasonClaims, fmt.Errorf("%w: %w", errClaims, err))
	}
	// The same scanner read both, so they agree; checked all the same,
	// since the key was chosen by the unverified read.
	if !v.acceptVerified(c, &ic) {
		return nil, nil, "", rejIssuer
	}
	if !slices.Contains(c.Audience, v.audience) {
		return nil, nil, "", rejectValue(ReasonAudience, errAudience, strings.Join(c.Audience, " "))
	}
	if !present(c, "exp") {
		return nil, nil, "", reject(ReasonMissingClaim, fmt.Errorf("%w: exp", errMissingClaim))
	}
	for _, name := range v.required {
		if !present(c, name) {
			return nil, nil, "", reject(ReasonMissingClaim, fmt.Errorf("%w: %s", errMissingClaim, name))
		}
	}
	if rej := v.checkValues(c); rej != nil {
		return nil, nil, "", rej
	}
	return c, key, kid, nil
}

// keyLookupRejection classifies a key source error. When the request's
// own ctx has ended, the lookup was cut short by the caller: ReasonCanceled,
// wrapping ctx.Err() only (not an outage, not the token's fault). An
// outage, or a lookup cut short by a deadline of the source's own (a
// fetch timeout), is ReasonUnavailable and keeps claims.ErrUnavailable in
// its chain; anything else means no usable key.
func keyLookupRejection(ctx context.Context, err error) *rejection {
	if cerr := ctx.Err(); cerr != nil {
		return reject(ReasonCanceled, fmt.Errorf("verify: key lookup: %w", cerr))
	}
	switch {
	case errors.Is(err, claims.ErrUnavailable):
		return reject(ReasonUnavailable, fmt.Errorf("verify: key lookup: %w", err))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return reject(ReasonUnavailable, fmt.Errorf("verify: key lookup: %w: %w", claims.ErrUnavailable, err))
	case errors.Is(err, jwks.ErrUnknownIssuer):
		return reject(ReasonIssuer, fmt.Errorf("%w: %w", errIssuer, err))
	default:
		return reject(ReasonUnknownKey, fmt.Errorf("%w: %w", errUnknownKey, err))
	}
}

// checkIssuerBinding refuses a key source that would let one configured
// issuer's keys verify another's tokens (see Config.Issuers and
// Config.IssuerTemplates). A template counts as one issuer (one provider)
// per distinct prefix.
func checkIssuerBinding(keys jwks.Source, issuers []string, templates []issuerTemplate, sharedOK bool) error {
	if is, ok := keys.(jwks.IssuerSource); ok {
		if served := is.Issuers(); len(served) > 0 {
			if len(templates) > 0 {
				t := templates[0]
				return fmt.Errorf("%w: issuer template %q can never be served by the key source, which serves only %q (use a source for the template's provider, such as jwks.NewRemote with its JWKS URL, in a Verifier of its own)", ErrConfig, t.prefix+"{"+t.claim+"}"+t.suffix, served)
			}
			for _, iss := range issuers {
				if !slices.Contains(served, iss) {
					return fmt.Errorf("%w: issuer %q is not served by the key source (it serves %q)", ErrConfig, iss, served)
				}
			}
			return nil
		}
	}
	n := len(issuers)
	var prefixes []string
	for _, t := range templates {
		if !slices.Contains(prefixes, t.prefix) {
			prefixes = append(prefixes, t.prefix)
		}
	}
	n += len(prefixes)
	if n <= 1 || sharedOK {
		return nil
	}
	if _, ok := keys.(*jwks.Remote); ok {
		// One JWKS URL: one key publisher for every issuer.
		return nil
	}
	if len(templates) > 0 {
		return fmt.Errorf("%w: %d issuers and issuer templates share a key source that does not keep them apart, so one issuer's keys would verify tokens claiming any issuer the templates accept (give each provider a Verifier of its own, use jwks.NewMulti for fixed issuers, or set InsecureSharedKeys)", ErrConfig, n)
	}
	return fmt.Errorf("%w: %d issuers share a key source that does not keep them apart (use jwks.NewMulti, or set InsecureSharedKeys)", ErrConfig, len(issuers))
}

// present reports whether the claim set has name with a non-null value.
func present(c *claims.Claims, name string) bool {
	v, ok := c.Claim(name)
	return ok && string(v) != "null"
}

// checkTime applies exp, nbf and iat (RFC 7519 §4.1.4-6) at now with the
// leeway.
func (v *Verifier) checkTime(c *claims.Claims, now time.Time) *rejection {
	if !now.Before(c.Expiry.Add(v.leeway)) {
		return rejExpired
	}
	if !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(v.leeway)) {
		return rejNotYetValid
	}
	if !c.IssuedAt.IsZero() && c.IssuedAt.After(now.Add(v.leeway)) {
		return rejIssuedInFuture
	}
	return nil
}

// Authorize authorizes a bearer token outside the middleware (httpmw and
// grpcmw make the same decision with the sender checks): an empty raw
// gives claims.MissingToken(); then raw is verified (see Verify) and req
// evaluated (see Evaluate). A sender-constrained token (a cnf claim: DPoP,
// a client certificate) is refused with invalid_token, since Authorize
// sees neither the proof nor the connection: it fails closed.
//
// When req is not met, Authorize returns the verified claims together with
// the *claims.Error, for logging and for challenges that depend on the
// token; on every other failure the claims are nil.
func (v *Verifier) Authorize(ctx context.Context, raw string, req claims.Requirement) (*claims.Claims, error) {
	if raw == "" {
		return nil, claims.MissingToken()
	}
	c, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if conf, err := cnf.Parse(c.Confirmation); err != nil || conf.Bound() || slices.Contains(c.Malformed, "cnf") {
		return nil, claims.InvalidToken(errBound)
	}
	if err := v.Evaluate(c, req); err != nil {
		return c, err
	}
	return c, nil
}

// errBound is the cause of Authorize's refusal of a sender-constrained
// token.
var errBound = errors.New("verify: a sender-constrained token needs its proof of possession; Authorize checks bearer tokens only")

// errNoClaims is the cause of evaluating nil claims.
var errNoClaims = errors.New("verify: no claims to evaluate")

// Evaluate checks verified claims against req with the verifier's clock and
// leeway. It returns nil (an untyped nil) when req is met, otherwise the
// *claims.Error from req.Evaluate. Nil claims fail as invalid_token.
//
// When acr, amr or auth_time was absent from most recent tokens evaluated
// against a requirement on it (see AbsentClaimError), one refusal per claim
// and 10 minutes of the verifier's clock carries an *AbsentClaimError in
// its Err chain, for the middleware's logger; the *claims.Error is
// otherwise the same.
func (v *Verifier) Evaluate(c *claims.Claims, req claims.Requirement) error {
	if c == nil {
		return claims.InvalidToken(&TokenError{Reason: ReasonClaims, Err: errNoClaims})
	}
	now := v.now()
	e := req.Evaluate(c, now, v.leeway)
	if ae := v.countAbsent(c, &req, e != nil, now); ae != nil {
		withReport := *e
		ae.Err = e.Err
		withReport.Err = ae
		return &withReport
	}
	if e != nil {
		return e
	}
	return nil
}
