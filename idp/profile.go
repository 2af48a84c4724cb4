package idp

import (
	"context"
	"github.com/stepupauth/stepup/internal/loopback"
	"net/url"
	"strings"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

// Profile is what one identity provider needs from a verifier: how its
// issuer is spelled, where its keys are, which typ its access tokens carry,
// which claims they always have and where acr, amr and auth_time live. The
// constructors (Auth0, Okta, Entra, Keycloak) fill it; Config turns it into
// a verify.Config.
//
// A Profile is plain data: safe to copy and to read concurrently. Change a
// field only before calling Config, for example to narrow TokenTypes once an
// Auth0 API has moved to the RFC 9068 profile.
type Profile struct {
	// Provider names the provider: "auth0", "okta", "entra" or "keycloak".
	Provider string
	// Issuers are the accepted iss values, compared exactly.
	Issuers []string
	// IssuerTemplates are accepted iss patterns with one {claim}
	// placeholder bound to that claim of the token (verify.Config
	// IssuerTemplates): Entra ID's multi-tenant
	// "https://login.microsoftonline.com/{tid}/v2.0".
	IssuerTemplates []string
	// DiscoveryURL is the provider's OpenID Connect discovery document,
	// empty when no single document describes every accepted issuer
	// (Entra ID multi-tenant).
	DiscoveryURL string
	// JWKSURI is the key set's URL, the one discovery would find.
	JWKSURI string
	// TokenTypes are the accepted typ header values (verify.Config
	// TokenTypes).
	TokenTypes []string
	// InsecureAllowMissingType accepts access tokens without a typ header
	// (verify.Config InsecureAllowMissingType). Only Okta needs it: its
	// access tokens carry no typ, so RequiredClaims (cid) keeps its ID
	// tokens out instead.
	InsecureAllowMissingType bool
	// RequiredClaims are the claims every access token of the provider
	// has (verify.Config RequiredClaims); never nil.
	RequiredClaims []string
	// RequiredValues are claims that must hold exactly this string
	// (verify.Config RequiredValues): Keycloak's typ "Bearer", Entra ID's
	// ver "2.0".
	RequiredValues map[string]string
	// ExcludedValues are claims that must not hold any of these strings
	// (verify.Config ExcludedValues): for Entra ID's "organizations",
	// tid EntraConsumerTenant.
	ExcludedValues map[string][]string
	// ClaimNames says where acr, amr and auth_time are (Auth0 namespaced
	// custom claims).
	ClaimNames claims.Names
	// ACRLevels orders the provider's acr values from the lowest to the
	// highest, for claims.Requirement ACRMin; nil when its acr values are
	// not levels.
	ACRLevels []string
	// AuthorizationURI is where a client re-authenticates after an Entra
	// ID claims challenge (the challenge's authorization_uri); empty for
	// the other providers. With ChallengeRealm it follows Microsoft's rule
	// for the claims challenge
	// (https://learn.microsoft.com/entra/identity-platform/claims-challenge):
	// an empty realm goes with the common endpoint,
	// AUTHORITY/common/oauth2/authorize, and a realm naming a tenant with
	// that tenant's endpoint, AUTHORITY/TENANT/oauth2/authorize.
	AuthorizationURI string
	// ChallengeRealm is the realm of an Entra ID claims challenge: the
	// tenant ID for a single-tenant profile, empty for any tenant or an
	// allowlist of tenants (which re-authenticate through the common
	// endpoint).
	ChallengeRealm string
	// Docs links the provider's documentation of its access tokens.
	Docs string
}

// Config returns the verify.Config for tokens of p meant for audience:
// Issuer (the first of Issuers), Issuers, IssuerTemplates, Audience,
// TokenTypes, InsecureAllowMissingType, RequiredClaims, RequiredValues,
// ExcludedValues and ClaimNames. Algorithms, Leeway, the cache and the clock keep their
// defaults for the caller to set. Slices and maps are copied.
func (p Profile) Config(audience string) verify.Config {
	cfg := verify.Config{
		Audience:                 audience,
		TokenTypes:               clone(p.TokenTypes),
		InsecureAllowMissingType: p.InsecureAllowMissingType,
		RequiredClaims:           clone(p.RequiredClaims),
		RequiredValues:           cloneMap(p.RequiredValues),
		ExcludedValues:           cloneLists(p.ExcludedValues),
		IssuerTemplates:          clone(p.IssuerTemplates),
		ClaimNames:               p.ClaimNames,
	}
	if len(p.Issuers) > 0 {
		cfg.Issuer = p.Issuers[0]
	}
	if len(p.Issuers) > 1 {
		cfg.Issuers = clone(p.Issuers[1:])
	}
	if cfg.RequiredClaims == nil {
		cfg.RequiredClaims = []string{}
	}
	return cfg
}

// Keys returns a key source for p: jwks.Discover on the issuer when p has
// one issuer and a discovery document (the discovered issuer must match),
// jwks.NewRemote on JWKSURI otherwise, which serves every issuer p
// accepts (Entra ID publishes one key set for all tenants). Either way the
// key set is fetched once before Keys returns, so that an unreachable or
// wrong URL fails at start-up rather than at the first request. The caller
// closes it.
func (p Profile) Keys(ctx context.Context, opts ...jwks.Option) (*jwks.Remote, error) {
	if len(p.Issuers) == 1 && len(p.IssuerTemplates) == 0 && p.DiscoveryURL != "" {
		return jwks.Discover(ctx, p.Issuers[0], opts...)
	}
	r, err := jwks.NewRemote(p.JWKSURI, opts...)
	if err != nil {
		return nil, err
	}
	if err := r.Refresh(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Error reports a profile parameter that cannot be right. Provider and
// Param name it ("entra", "tenant_id"). The constructors and
// Profile.AuthContext return only *Error values; use errors.As to read
// the fields.
type Error struct {
	Provider string // the provider of the profile: "auth0", "okta", "entra" or "keycloak"
	Param    string // the parameter at fault, spelled as in a policy file's profile ("domain", "tenant_id", "auth_context")
	Msg      string // why it is wrong, for people; lower case
}

// Error returns "idp: <provider>: <param>: <msg>".
func (e *Error) Error() string {
	return "idp: " + e.Provider + ": " + e.Param + ": " + e.Msg
}

// origin checks a host name, optionally with a port (what Auth0 and Okta
// call the domain), and returns its https origin; a loopback host
// ("127.0.0.1:8443", "[::1]:8080") gets http, for local test issuers.
func origin(provider, param, s string) (string, error) {
	bad := func(msg string) error { return &Error{Provider: provider, Param: param, Msg: msg} }
	if s == "" {
		return "", bad("required")
	}
	if strings.Contains(s, "://") {
		return "", bad("a host name such as example.com, not a URL")
	}
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host != s || u.Hostname() == "" || strings.ContainsAny(s, "/?#@ ") {
		return "", bad("not a host name")
	}
	if loopback.Is(u.Hostname()) {
		return "http://" + s, nil
	}
	return "https://" + s, nil
}

// baseURL checks an absolute https URL without query or fragment (http
// only for a loopback host), and returns it without a trailing slash.
func baseURL(provider, param, s string) (string, error) {
	bad := func(msg string) error { return &Error{Provider: provider, Param: param, Msg: msg} }
	u, err := url.Parse(s)
	switch {
	case s == "":
		return "", bad("required")
	case err != nil || u.Host == "" || u.Opaque != "" || u.User != nil:
		return "", bad("not an absolute URL")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return "", bad("must not have a query or fragment")
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback.Is(u.Hostname()):
	default:
		return "", bad("must be https (http only for a loopback host)")
	}
	return strings.TrimRight(s, "/"), nil
}

// segment checks one URL path segment of unreserved characters.
func segment(provider, param, s string) error {
	if s == "" {
		return &Error{Provider: provider, Param: param, Msg: "required"}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return &Error{Provider: provider, Param: param, Msg: "not a URL path segment of letters, digits and -._~"}
		}
	}
	return nil
}

func clone(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func cloneLists(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = clone(v)
	}
	return out
}
