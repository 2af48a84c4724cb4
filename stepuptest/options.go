package stepuptest

import (
	"fmt"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// Values a test may need to assert on.
const (
	// DefaultSubject is the sub of minted tokens and logins that name
	// none.
	DefaultSubject = "alice"
	// ACRPassword is the acr of a password-only login at this issuer (amr
	// ["pwd"]); it is the default acr of a login that asks for none.
	ACRPassword = "urn:stepuptest:acr:password"
)

// Defaults of the options, stated in each option's doc.
const (
	defaultAudience     = "https://api.example.com"
	defaultClientID     = "stepuptest-client"
	defaultTokenTTL     = 5 * time.Minute
	defaultCacheControl = "public, max-age=300"
	defaultSlowDelay    = 10 * time.Second
	jwksContentType     = "application/jwk-set+json" // RFC 7517 §8.5
	// grantTypeLogin is the grant_type of the token endpoint's
	// non-interactive login (LoginRequest.Form sends it); the endpoint
	// also accepts requests without grant_type.
	grantTypeLogin = "urn:stepuptest:grant-type:login"
)

// RFC 8176 amr values the default acr mapping uses.
const (
	amrPwd = "pwd"
	amrOTP = "otp"
	amrMFA = "mfa"
)

// acrLevel is one entry of the acr -> amr mapping.
type acrLevel struct {
	acr string
	amr []string
}

// config is what the options set; NewIssuer validates it once.
type config struct {
	now           func() time.Time
	algs          []string
	path          string
	audience      string
	clientID      string
	ttl           time.Duration
	cacheControl  string
	contentType   string
	slowDelay     time.Duration
	acrs          []acrLevel
	defaultACR    string
	removeOld     bool
	metadata      map[string]any
	noOIDC        bool
	loginHook     func(*Token)
	shape         shape
	customACRs    bool
	errs          []error
	defaultACRSet bool
}

func defaultConfig() config {
	return config{
		now:          time.Now,
		algs:         []string{"RS256", "ES256", "EdDSA"},
		audience:     defaultAudience,
		clientID:     defaultClientID,
		ttl:          defaultTokenTTL,
		cacheControl: defaultCacheControl,
		contentType:  jwksContentType,
		slowDelay:    defaultSlowDelay,
		acrs: []acrLevel{
			{acr: ACRPassword, amr: []string{amrPwd}},
			{acr: claims.ACRMultiFactor, amr: []string{amrPwd, amrOTP, amrMFA}},
		},
		defaultACR: ACRPassword,
	}
}

// An Option configures an Issuer in NewIssuer. Invalid values, and a nil
// Option, make NewIssuer return an error.
type Option func(*config)

// WithClock sets the clock used for the iat, exp and auth_time defaults of
// minted tokens and logins. Default time.Now. It must be safe for
// concurrent use.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now == nil {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithClock: nil clock"))
			return
		}
		c.now = now
	}
}

// WithAlgorithms sets the signing keys generated at start, one per
// algorithm, named as in JOSE ("RS256", "RS384", "RS512", "PS256", "PS384",
// "PS512", "ES256", "ES384", "ES512", "EdDSA"); the first is the default
// signing algorithm. Default "RS256", "ES256", "EdDSA". Fewer algorithms make NewIssuer faster (RSA key generation costs
// the most).
func WithAlgorithms(algs ...string) Option {
	return func(c *config) {
		if len(algs) == 0 {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithAlgorithms: no algorithm"))
			return
		}
		seen := map[string]bool{}
		for _, a := range algs {
			switch family(a) {
			case "", "HMAC", "none":
				c.errs = append(c.errs, fmt.Errorf("%w: %q", errUnsupportedAlgorithm, a))
				return
			}
			if seen[a] {
				c.errs = append(c.errs, fmt.Errorf("stepuptest: WithAlgorithms: %q twice", a))
				return
			}
			seen[a] = true
		}
		c.algs = append([]string(nil), algs...)
	}
}

// WithIssuerPath sets the path part of the issuer identifier. By default
// the identifier is the base URL without a trailing slash
// ("http://127.0.0.1:PORT"); "/" gives "http://127.0.0.1:PORT/" (Auth0
// style) and "/tenant/v2.0" gives "http://127.0.0.1:PORT/tenant/v2.0"
// (Entra style). Discovery is then served at the issuer with
// "/.well-known/openid-configuration" appended (OpenID Connect Discovery
// §4) and at "/.well-known/oauth-authorization-server" with the path
// appended (RFC 8414 §3); the JWKS and token endpoints live under the path.
// The path must start with "/" and hold only letters, digits and "-._~/".
func WithIssuerPath(path string) Option {
	return func(c *config) {
		if !validPath(path) {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithIssuerPath: invalid path %q", path))
			return
		}
		c.path = path
	}
}

func validPath(p string) bool {
	if p == "" {
		return true
	}
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "//") {
		return false
	}
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-._~/", r):
		default:
			return false
		}
	}
	return true
}

// WithAudience sets the default aud of minted tokens and logins (see
// Issuer.Audience). Default "https://api.example.com".
func WithAudience(aud string) Option {
	return func(c *config) {
		if aud == "" {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithAudience: empty audience"))
			return
		}
		c.audience = aud
	}
}

// WithClientID sets the default client_id of minted tokens and logins (see
// Issuer.ClientID). Default "stepuptest-client".
func WithClientID(id string) Option {
	return func(c *config) {
		if id == "" {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithClientID: empty client id"))
			return
		}
		c.clientID = id
	}
}

// WithTokenTTL sets the default lifetime (exp - iat) of minted tokens and
// logins. Default five minutes.
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithTokenTTL: non-positive ttl %v", d))
			return
		}
		c.ttl = d
	}
}

// WithCacheControl sets the Cache-Control header value of the JWKS and
// discovery responses, verbatim (for example "max-age=60", "no-store", or
// a malformed value to test a client). "" sends no Cache-Control header.
// Default "public, max-age=300".
func WithCacheControl(v string) Option {
	return func(c *config) { c.cacheControl = v }
}

// WithJWKSContentType sets the Content-Type of the JWKS response, verbatim
// (for example "application/json" or "application/jwk-set+json;
// charset=utf-8"). Default "application/jwk-set+json" (RFC 7517 §8.5).
func WithJWKSContentType(ct string) Option {
	return func(c *config) {
		if ct == "" {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithJWKSContentType: empty content type"))
			return
		}
		c.contentType = ct
	}
}

// WithSlowDelay sets how long FaultSlow holds each JWKS or discovery
// response before sending it. Default ten seconds. A held request ends
// early when its client goes away or the Issuer is closed.
func WithSlowDelay(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithSlowDelay: negative delay %v", d))
			return
		}
		c.slowDelay = d
	}
}

// WithACR declares an acr value the token endpoint can satisfy and the amr
// values (RFC 8176) a login at that level carries. Options apply in order;
// the first WithACR replaces the default mapping (ACRPassword -> [pwd],
// claims.ACRMultiFactor -> [pwd otp mfa]) and later ones add to it. The
// order is the order of acr_values_supported in discovery.
func WithACR(acr string, amr ...string) Option {
	return func(c *config) {
		if acr == "" {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithACR: empty acr"))
			return
		}
		if !c.customACRs {
			c.acrs = nil
			c.customACRs = true
		}
		for i := range c.acrs {
			if c.acrs[i].acr == acr {
				c.acrs[i].amr = append([]string(nil), amr...)
				return
			}
		}
		c.acrs = append(c.acrs, acrLevel{acr: acr, amr: append([]string(nil), amr...)})
	}
}

// WithDefaultACR sets the acr of a login that sends no acr_values; it must
// be one WithACR declared (or a default one). Without this option the
// default is ACRPassword, or the first WithACR value when WithACR is used.
func WithDefaultACR(acr string) Option {
	return func(c *config) {
		c.defaultACR = acr
		c.defaultACRSet = true
	}
}

// WithRotateRemovesOld makes Rotate remove the key it replaces from the
// JWKS (an abrupt rotation). By default the old key stays published next
// to the new one (a graceful rotation).
func WithRotateRemovesOld() Option {
	return func(c *config) { c.removeOld = true }
}

// WithMetadata overrides or adds members of the discovery documents; a nil
// value removes the member. Use it to serve a mismatched "issuer", drop
// "jwks_uri", point jwks_uri elsewhere and so on.
func WithMetadata(m map[string]any) Option {
	return func(c *config) {
		if c.metadata == nil {
			c.metadata = map[string]any{}
		}
		for k, v := range m {
			c.metadata[k] = v
		}
	}
}

// WithoutOpenIDConfiguration makes /.well-known/openid-configuration answer
// 404, so only the RFC 8414 document is served (to test discovery
// fallback).
func WithoutOpenIDConfiguration() Option {
	return func(c *config) { c.noOIDC = true }
}

// WithLoginHook sets a function that may edit every Token the token
// endpoint is about to mint, after the login parameters are applied (for
// example to move acr and amr to namespaced claims as Auth0 does, or to set
// the typ header to "JWT"). It runs on the server's goroutines and must be
// safe for concurrent use.
func WithLoginHook(f func(*Token)) Option {
	return func(c *config) { c.loginHook = f }
}

// validate checks the options once.
func (c *config) validate() error {
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	if len(c.acrs) == 0 {
		return fmt.Errorf("stepuptest: no acr configured")
	}
	if c.customACRs && !c.defaultACRSet {
		c.defaultACR = c.acrs[0].acr
	}
	found := false
	for _, l := range c.acrs {
		if l.acr == c.defaultACR {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("stepuptest: default acr %q is not a configured acr", c.defaultACR)
	}
	return nil
}
