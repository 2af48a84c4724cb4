package idp

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/stepupauth/stepup/claims"
)

// Auth0Options are the optional settings of the Auth0 profile.
type Auth0Options struct {
	// Namespace prefixes the custom claims a post-login Action writes acr,
	// amr and auth_time to, such as "https://example.com/": Auth0 puts
	// none of them into access tokens by itself, and refuses them as
	// non-namespaced custom claims. It must be an absolute http or https
	// URL (Auth0's rule for namespaces) on a domain that is not Auth0's
	// own; a missing trailing slash is added, so "https://example.com"
	// reads "https://example.com/acr".
	//
	// Empty is for APIs that check scopes only: every acr, amr and
	// max_age requirement then fails for every token (an endless step-up
	// loop), and the middleware's logger warns that the claims are absent.
	Namespace string
	// RFC9068 says the API uses Auth0's "RFC 9068" access token profile:
	// typ at+jwt and the RFC 9068 claims (client_id, jti). Without it the
	// default "Auth0" profile is assumed: typ JWT, azp instead of
	// client_id, no jti.
	RFC9068 bool
}

// Auth0 returns the profile of an Auth0 tenant reached at domain, the
// tenant domain ("example.us.auth0.com") or a custom domain
// ("login.example.com"). Its issuer is "https://" + domain + "/", trailing
// slash included, compared exactly; keys come from
// https://DOMAIN/.well-known/jwks.json. A loopback domain
// ("127.0.0.1:8443") gets http instead, for local test issuers.
//
// Auth0 has two access token profiles
// (https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles):
// the default one (typ "JWT"; iss, sub, aud, azp, exp, iat, scope) and the
// RFC 9068 one (typ "at+jwt"; client_id and jti instead of azp). Neither
// carries acr, amr or auth_time: a post-login Action adds them as custom
// claims under a namespace
// (https://auth0.com/docs/secure/tokens/json-web-tokens/create-custom-claims),
// which opts.Namespace maps; without it no requirement on acr, amr or
// auth_time can ever be met. Auth0 asks for MFA when a client sends
// acr_values=http://schemas.openid.net/pape/policies/2007/06/multi-factor
// (claims.ACRMultiFactor), and reports it in amr as "mfa" (claims.AMRMFA).
func Auth0(domain string, opts Auth0Options) (Profile, error) {
	base, err := origin("auth0", "domain", domain)
	if err != nil {
		return Profile{}, err
	}
	ns, err := auth0Namespace(opts.Namespace)
	if err != nil {
		return Profile{}, err
	}
	p := Profile{
		Provider:       "auth0",
		Issuers:        []string{base + "/"},
		DiscoveryURL:   base + "/.well-known/openid-configuration",
		JWKSURI:        base + "/.well-known/jwks.json",
		TokenTypes:     []string{"JWT"},
		RequiredClaims: []string{"iss", "exp", "aud", "sub", "iat", "azp"},
		Docs:           "https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles",
	}
	if opts.RFC9068 {
		p.TokenTypes = []string{"at+jwt"}
		p.RequiredClaims = []string{"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}
	}
	if ns != "" {
		p.ClaimNames = claims.Names{ACR: ns + "acr", AMR: ns + "amr", AuthTime: ns + "auth_time"}
	}
	return p, nil
}

// auth0Namespace checks a custom-claim namespace and returns it with a
// trailing slash. Auth0 requires namespaces to be http or https URLs and
// refuses its own domains
// (https://auth0.com/docs/secure/tokens/json-web-tokens/create-custom-claims).
func auth0Namespace(ns string) (string, error) {
	if ns == "" {
		return "", nil
	}
	bad := func(msg string) error {
		return &Error{Provider: "auth0", Param: "namespace", Msg: msg}
	}
	if strings.IndexFunc(ns, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return "", bad("not printable ASCII without spaces")
	}
	u, err := url.Parse(ns)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", bad(fmt.Sprintf("%q is not an absolute http or https URL: use the namespace of the post-login Action's setCustomClaim calls, such as \"https://example.com/\"", ns))
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(ns, "#") {
		return "", bad(fmt.Sprintf("%q must not have user info, a query or a fragment: use the namespace of the post-login Action, such as \"https://example.com/\"", ns))
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range []string{"auth0.com", "webtask.io", "webtask.run"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return "", bad(fmt.Sprintf("%q is on Auth0's own domain %s, which Auth0 refuses as a namespace: use a URL you control, such as \"https://example.com/\"", ns, d))
		}
	}
	if !strings.HasSuffix(ns, "/") {
		ns += "/"
	}
	return ns, nil
}
