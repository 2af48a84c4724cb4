package introspect

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/loopback"
	"github.com/stepupauth/stepup/jwks"
)

// Defaults for the zero values of Config.
const (
	defaultLeeway          = 30 * time.Second
	defaultTimeout         = 5 * time.Second
	defaultMaxResponseSize = 64 << 10
	defaultCacheTTL        = 5 * time.Minute
	defaultInactiveTTL     = 10 * time.Second
	defaultCacheSize       = 10_000
	defaultCacheBytes      = 16 << 20
)

// Config is the security-relevant configuration of a Client, checked once
// by New. Zero values mean the documented defaults; switching something off
// takes a named switch (NoLeeway, NoCache).
type Config struct {
	// Endpoint is the introspection endpoint (RFC 7662 §2): an absolute
	// https URL without fragment or user info; plain http only for a
	// loopback IP literal (127.0.0.1, [::1]), for tests. RFC 7662 §4
	// requires TLS: the request carries the token and our credentials.
	Endpoint string
	// ClientID is our client identifier at the authorization server.
	ClientID string

	// Exactly one client authentication is required (RFC 7662 §2.1):
	// ClientSecret or PrivateKey.

	// ClientSecret authenticates with client_secret_basic (RFC 6749
	// §2.3.1: the form-urlencoded id and secret in an HTTP Basic
	// Authorization header) or, with SecretPost, client_secret_post (both
	// in the request body).
	ClientSecret string
	SecretPost   bool
	// PrivateKey authenticates with private_key_jwt (RFC 7523 §2.2, OpenID
	// Connect Core §9): every request carries a fresh assertion with
	// iss = sub = ClientID, aud = Endpoint, a random jti, iat = now and
	// exp = now + 60s, signed by key type: ES256, ES384 or ES512 for ECDSA
	// P-256, P-384 or P-521; RS256 for RSA (2048 bits or more); EdDSA for
	// Ed25519. Any crypto.Signer with such a public key works (an HSM or a
	// KMS key included).
	PrivateKey crypto.Signer
	// KeyID is the kid of the assertion's header, optional.
	KeyID string

	// Issuer, when set, must equal the response's iss when it has one.
	// RequireIssuer also refuses a response without iss; it needs Issuer.
	Issuer        string
	RequireIssuer bool
	// Audience, when set, must be among the response's aud values (a
	// string or an array) when it has one. RequireAudience also refuses
	// a response without aud; it needs Audience.
	Audience        string
	RequireAudience bool

	// SignedResponses asks for and requires JWT introspection responses
	// (RFC 9701): requests carry Accept: application/token-introspection+jwt,
	// and a 200 answer must be a JWT signed by the authorization server,
	// with typ token-introspection+jwt, iss equal to Issuer, aud containing
	// ClientID and iat not in the future; its token_introspection member
	// is then judged like a plain answer. Anything else, an unsigned
	// application/json answer included, is an outage wrapping
	// ErrSignedResponse. It needs Issuer and Keys. See the package
	// documentation for the rules.
	SignedResponses bool
	// Keys holds the authorization server's signing keys, looked up as
	// Keys.Key(ctx, Issuer, kid) with the kid of each response; required
	// with SignedResponses and refused without it. A jwks.Remote from
	// jwks.Discover(ctx, Issuer) or jwks.NewRemote(jwksURI) follows key
	// rotation; the caller owns it and closes it after the Client's last
	// use. Discover does not build one.
	Keys jwks.Source
	// ResponseAlgorithms is the allowlist of the alg of signed responses;
	// empty means every asymmetric algorithm: RS256, RS384, RS512, PS256,
	// PS384, PS512, ES256, ES384, ES512, EdDSA and Ed25519. "none" and the
	// HS* algorithms cannot be allowed. Needs SignedResponses. The slice is
	// copied by New.
	ResponseAlgorithms []string

	// Leeway is the clock skew allowed on exp, nbf and iat; zero means
	// 30 seconds. NoLeeway compares them with Now exactly (Leeway must
	// then be zero).
	Leeway   time.Duration
	NoLeeway bool
	// Timeout bounds each call to the endpoint; zero means 5 seconds.
	Timeout time.Duration
	// MaxResponseSize caps the response body in bytes; zero means 64 KiB.
	// A larger body is an outage, not a token problem.
	MaxResponseSize int

	// CacheTTL is the longest an active answer is reused (never past the
	// token's exp); zero means 5 minutes. It is also how long a token
	// revoked at the authorization server may still be accepted here: RFC
	// 7662 §4 leaves that trade-off (latency and load against revocation
	// delay) to the protected resource. NoCache switches the cache, the
	// sharing of concurrent calls and stale serving off: every Introspect
	// then calls the endpoint (CacheTTL, InactiveTTL, StaleTTL and
	// CacheSize must be zero).
	CacheTTL time.Duration
	NoCache  bool
	// InactiveTTL is how long a refusal (active false, or a response that
	// fails iss, aud, exp or its format) is reused; zero means 10 seconds.
	InactiveTTL time.Duration
	// StaleTTL is how long past the end of its cache entry an answer known
	// active is still accepted while the endpoint is unavailable (never
	// past the token's exp). Zero, the default, serves nothing stale: an
	// outage is an outage (503). A positive StaleTTL keeps the API up
	// through short outages, at the price of accepting, for up to
	// CacheTTL + StaleTTL, a token that was revoked meanwhile.
	StaleTTL time.Duration
	// CacheSize bounds the cache in entries; zero means 10000. A full
	// cache evicts an outdated entry first, then a refusal, then any.
	CacheSize int
	// CacheBytes bounds the approximate memory of the cache (the answers'
	// claims); zero means 16 MiB. An answer too large for its share of
	// the bound is not cached.
	CacheBytes int

	// Names remaps acr, amr and auth_time, as for JWT access tokens.
	Names claims.Names
	// HTTPClient makes the calls; nil means a client with Timeout.
	// Redirects are never followed, whatever the client says: a redirect
	// is an outage (it would carry the token and the credentials
	// elsewhere).
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observer receives events for metrics. Optional.
	Observer Observer
}

// Observer holds optional hooks, for metrics (metrics.Metrics has one).
// They run on the request path and must be fast and safe for concurrent
// use. They never receive the token.
type Observer struct {
	// Called reports each introspection request with its result, one of
	// "active", "inactive" (any refusal of the token), "client_auth" (our
	// credentials refused) and "unavailable" (any other failure), and how
	// long it took.
	Called func(result string, took time.Duration)
	// Cache reports each lookup in the answer cache: true for an answer
	// served from it. Not called when the cache is off.
	Cache func(hit bool)
}

// settings is a validated Config with its defaults applied.
type settings struct {
	endpoint    string
	clientID    string
	secret      string
	secretPost  bool
	basic       string // the Authorization header of client_secret_basic, "" otherwise
	key         crypto.Signer
	alg         string
	keyID       string
	issuer      string
	requireIss  bool
	audience    string
	requireAud  bool
	signed      bool
	keys        jwks.Source
	respAlgs    map[string]*respAlg
	leeway      time.Duration
	timeout     time.Duration
	maxBody     int
	cache       bool
	cacheTTL    time.Duration
	inactiveTTL time.Duration
	staleTTL    time.Duration
	cacheSize   int
	cacheBytes  int
	names       claims.Names
	httpClient  *http.Client
	now         func() time.Time
	observer    Observer
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// check validates cfg and applies the defaults.
func (cfg *Config) check() (*settings, error) {
	if err := checkEndpoint(cfg.Endpoint); err != nil {
		return nil, err
	}
	s := &settings{
		endpoint:   cfg.Endpoint,
		clientID:   cfg.ClientID,
		issuer:     cfg.Issuer,
		requireIss: cfg.RequireIssuer,
		audience:   cfg.Audience,
		requireAud: cfg.RequireAudience,
		names:      cfg.Names,
		now:        cfg.Now,
		observer:   cfg.Observer,
	}
	if cfg.ClientID == "" {
		return nil, configErr("ClientID is empty; set the client identifier the authorization server gave this resource server")
	}
	switch {
	case cfg.ClientSecret == "" && cfg.PrivateKey == nil:
		return nil, configErr("no client authentication; RFC 7662 §2.1 requires one: set ClientSecret or PrivateKey")
	case cfg.ClientSecret != "" && cfg.PrivateKey != nil:
		return nil, configErr("both ClientSecret and PrivateKey are set; set exactly one")
	case cfg.SecretPost && cfg.ClientSecret == "":
		return nil, configErr("SecretPost is set without ClientSecret")
	case cfg.KeyID != "" && cfg.PrivateKey == nil:
		return nil, configErr("KeyID is set without PrivateKey")
	}
	if cfg.ClientSecret != "" {
		s.secret, s.secretPost = cfg.ClientSecret, cfg.SecretPost
		if !s.secretPost {
			// RFC 6749 §2.3.1: id and secret are encoded with
			// application/x-www-form-urlencoded before HTTP Basic.
			s.basic = "Basic " + base64.StdEncoding.EncodeToString(
				[]byte(url.QueryEscape(cfg.ClientID)+":"+url.QueryEscape(cfg.ClientSecret)))
		}
	}
	if cfg.PrivateKey != nil {
		alg, err := keyAlgorithm(cfg.PrivateKey)
		if err != nil {
			return nil, err
		}
		s.key, s.alg, s.keyID = cfg.PrivateKey, alg, cfg.KeyID
	}
	if cfg.RequireIssuer && cfg.Issuer == "" {
		return nil, configErr("RequireIssuer is set without Issuer")
	}
	if cfg.RequireAudience && cfg.Audience == "" {
		return nil, configErr("RequireAudience is set without Audience")
	}

	if err := s.checkSigned(cfg); err != nil {
		return nil, err
	}

	var err error
	if s.leeway, err = durationOr("Leeway", cfg.Leeway, defaultLeeway, cfg.NoLeeway, "NoLeeway"); err != nil {
		return nil, err
	}
	if s.timeout, err = durationOr("Timeout", cfg.Timeout, defaultTimeout, false, ""); err != nil {
		return nil, err
	}
	switch {
	case cfg.MaxResponseSize < 0:
		return nil, configErr("MaxResponseSize is negative; zero means the default of 64 KiB")
	case cfg.MaxResponseSize == 0:
		s.maxBody = defaultMaxResponseSize
	default:
		s.maxBody = cfg.MaxResponseSize
	}

	if cfg.NoCache {
		if cfg.CacheTTL != 0 || cfg.InactiveTTL != 0 || cfg.StaleTTL != 0 || cfg.CacheSize != 0 || cfg.CacheBytes != 0 {
			return nil, configErr("NoCache is set with CacheTTL, InactiveTTL, StaleTTL, CacheSize or CacheBytes; set NoCache alone")
		}
	} else {
		s.cache = true
		if s.cacheTTL, err = durationOr("CacheTTL", cfg.CacheTTL, defaultCacheTTL, false, ""); err != nil {
			return nil, err
		}
		if s.inactiveTTL, err = durationOr("InactiveTTL", cfg.InactiveTTL, defaultInactiveTTL, false, ""); err != nil {
			return nil, err
		}
		if cfg.StaleTTL < 0 {
			return nil, configErr("StaleTTL is negative; zero serves nothing stale")
		}
		s.staleTTL = cfg.StaleTTL
		switch {
		case cfg.CacheSize < 0:
			return nil, configErr("CacheSize is negative; zero means the default of 10000, NoCache switches the cache off")
		case cfg.CacheSize == 0:
			s.cacheSize = defaultCacheSize
		default:
			s.cacheSize = cfg.CacheSize
		}
		switch {
		case cfg.CacheBytes < 0:
			return nil, configErr("CacheBytes is negative; zero means the default of 16 MiB, NoCache switches the cache off")
		case cfg.CacheBytes == 0:
			s.cacheBytes = defaultCacheBytes
		default:
			s.cacheBytes = cfg.CacheBytes
		}
	}

	if cfg.HTTPClient != nil {
		hc := *cfg.HTTPClient // a shallow copy: the caller's client is left as it is
		s.httpClient = &hc
	} else {
		s.httpClient = &http.Client{Timeout: s.timeout}
	}
	s.httpClient.CheckRedirect = refuseRedirect
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// checkSigned validates SignedResponses, Keys and ResponseAlgorithms.
func (s *settings) checkSigned(cfg *Config) error {
	if !cfg.SignedResponses {
		switch {
		case cfg.Keys != nil:
			return configErr("Keys is set without SignedResponses")
		case len(cfg.ResponseAlgorithms) != 0:
			return configErr("ResponseAlgorithms is set without SignedResponses")
		}
		return nil
	}
	switch {
	case cfg.Keys == nil:
		return configErr("SignedResponses needs Keys, the authorization server's signing keys (for example from jwks.Discover)")
	case cfg.Issuer == "":
		return configErr("SignedResponses needs Issuer, which the responses' iss must equal (RFC 9701 §5)")
	}
	if is, ok := cfg.Keys.(jwks.IssuerSource); ok {
		if iss := is.Issuers(); len(iss) != 0 && !slices.Contains(iss, cfg.Issuer) {
			return configErr("Keys serves the issuers %q, not Issuer %q", iss, cfg.Issuer)
		}
	}
	algs, err := responseAlgorithms(cfg.ResponseAlgorithms)
	if err != nil {
		return err
	}
	s.signed, s.keys, s.respAlgs = true, cfg.Keys, algs
	return nil
}

// refuseRedirect makes the client return a 3xx response as it is.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// durationOr applies the default of a duration setting, refusing negative
// values and a value beside its off switch.
func durationOr(name string, d, def time.Duration, off bool, offName string) (time.Duration, error) {
	switch {
	case d < 0 && offName != "":
		return 0, configErr("%s is negative; set %s to switch it off", name, offName)
	case d < 0:
		return 0, configErr("%s is negative; zero means the default of %v", name, def)
	case off && d != 0:
		return 0, configErr("%s is %v with %s set; set one of them", name, d, offName)
	case off:
		return 0, nil
	case d == 0:
		return def, nil
	}
	return d, nil
}

// checkEndpoint accepts an absolute https URL, or http on a loopback IP
// literal, without fragment or user info.
func checkEndpoint(endpoint string) error {
	if endpoint == "" {
		return configErr("Endpoint is empty; set the introspection endpoint (or use Discover)")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return configErr("Endpoint %q is not a URL: %v", endpoint, err)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return configErr("Endpoint %q is not an absolute URL", endpoint)
	case u.Fragment != "" || strings.Contains(endpoint, "#"):
		return configErr("Endpoint %q has a fragment (RFC 6749 §3.1 forbids one)", endpoint)
	case u.User != nil:
		return configErr("Endpoint %q has user info; set ClientID and ClientSecret instead", endpoint)
	case strings.EqualFold(u.Scheme, "https"):
		return nil
	case strings.EqualFold(u.Scheme, "http") && loopback.Is(u.Hostname()):
		return nil
	case strings.EqualFold(u.Scheme, "http"):
		return configErr("Endpoint %q is plain http; RFC 7662 §4 requires TLS (http is accepted only on a loopback IP literal)", endpoint)
	}
	return configErr("Endpoint %q: scheme %q is not https", endpoint, u.Scheme)
}

// keyAlgorithm is the JWS algorithm of a private_key_jwt assertion signed
// by key.
func keyAlgorithm(key crypto.Signer) (string, error) {
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			return "ES256", nil
		case elliptic.P384():
			return "ES384", nil
		case elliptic.P521():
			return "ES512", nil
		}
		return "", configErr("PrivateKey is an ECDSA key on an unsupported curve; use P-256, P-384 or P-521")
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return "", configErr("PrivateKey is a %d-bit RSA key; RS256 needs at least 2048 bits (RFC 7518 §3.3)", pub.N.BitLen())
		}
		return "RS256", nil
	case ed25519.PublicKey:
		return "EdDSA", nil
	}
	return "", configErr("PrivateKey has an unsupported public key type %T; use ECDSA, RSA or Ed25519", key.Public())
}
