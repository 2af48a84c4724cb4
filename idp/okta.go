package idp

import (
	"fmt"
	"strings"
)

// Okta's predefined acr values for step-up
// (https://developer.okta.com/docs/guides/step-up-authentication/main/).
// A client sends one as acr_values on /authorize; the access token's acr
// claim reports the one satisfied.
const (
	// OktaLoA1FAAny: any one factor.
	OktaLoA1FAAny = "urn:okta:loa:1fa:any"
	// OktaLoA1FAPwd: a password, as the one factor.
	OktaLoA1FAPwd = "urn:okta:loa:1fa:pwd"
	// OktaLoA2FAAny: any two factors.
	OktaLoA2FAAny = "urn:okta:loa:2fa:any"
	// OktaLoA2FAAnyIfPossible: two factors when the user has a second
	// one enrolled, else one. Not a guarantee of two factors: the
	// profile's ACRLevels leave it out.
	OktaLoA2FAAnyIfPossible = "urn:okta:loa:2fa:any:ifpossible"
	// OktaPhishingResistant (phr, OpenID EAP ACR Values): phishing
	// resistant factors.
	OktaPhishingResistant = "phr"
	// OktaPhishingResistantHardware (phrh): phishing-resistant factors
	// bound to hardware.
	OktaPhishingResistantHardware = "phrh"
)

// oktaLevels orders Okta's acr values for "at least" requirements
// (claims.Requirement ACRMin), lowest first: one factor, two factors,
// phishing-resistant, hardware-protected phishing-resistant. Profile.ACRLevels
// holds a copy.
func oktaLevels() []string {
	return []string{OktaLoA1FAAny, OktaLoA2FAAny, OktaPhishingResistant, OktaPhishingResistantHardware}
}

// OktaOptions are the optional settings of the Okta profile.
type OktaOptions struct {
	// AuthorizationServer is the custom authorization server's ID, the
	// last segment of its issuer (https://DOMAIN/oauth2/ID), such as
	// "aus1a2b3c4d5e6f7g8h9"; empty means "default", Okta's default custom
	// authorization server.
	AuthorizationServer string
}

// Okta returns the profile of an Okta custom authorization server
// (https://developer.okta.com/docs/concepts/auth-servers/): domain is the
// Okta domain ("example.okta.com") and opts.AuthorizationServer the
// server's ID. The issuer is https://DOMAIN/oauth2/SERVER without a
// trailing slash; keys come from ISSUER/v1/keys (http for a loopback
// domain, for local test issuers). ACRLevels orders one factor, two
// factors, phishing-resistant and hardware-bound phishing-resistant
// (OktaLoA1FAAny, OktaLoA2FAAny, OktaPhishingResistant,
// OktaPhishingResistantHardware).
// The org authorization server (issuer https://DOMAIN) is
// not supported: its access tokens are meant for Okta's own APIs only.
//
// Okta access tokens
// (https://developer.okta.com/docs/reference/api/oidc/#access-token) carry
// no typ header, so the profile accepts a missing typ and relies on cid
// (the client ID, instead of RFC 9068's client_id), which only access
// tokens carry, to keep Okta ID tokens out: those carry jti too ("ID."
// where access tokens have "AT."), and their aud is the client ID rather
// than the API's audience. jti is required as RFC 9068 asks, not to tell
// the two apart. uid is the user's Okta ID; scopes are the scp array; acr
// and auth_time describe the login. Okta honours acr_values (see the
// Okta... constants) and max_age natively, with RFC 9470 semantics, so a
// challenged client simply sends them on its next /authorize request.
func Okta(domain string, opts OktaOptions) (Profile, error) {
	base, err := origin("okta", "domain", domain)
	if err != nil {
		return Profile{}, err
	}
	as := opts.AuthorizationServer
	if as == "" {
		as = "default"
	}
	if s, ok := strings.CutPrefix(strings.Trim(as, "/"), "oauth2/"); ok {
		return Profile{}, &Error{Provider: "okta", Param: "authorization_server",
			Msg: fmt.Sprintf("%q is a path: give the server ID alone, %q", as, s)}
	}
	if err := segment("okta", "authorization_server", as); err != nil {
		return Profile{}, err
	}
	iss := base + "/oauth2/" + as
	return Profile{
		Provider:                 "okta",
		Issuers:                  []string{iss},
		DiscoveryURL:             iss + "/.well-known/openid-configuration",
		JWKSURI:                  iss + "/v1/keys",
		TokenTypes:               []string{"at+jwt", "JWT"},
		InsecureAllowMissingType: true,
		RequiredClaims:           []string{"iss", "exp", "aud", "sub", "iat", "jti", "cid"},
		ACRLevels:                oktaLevels(),
		Docs:                     "https://developer.okta.com/docs/guides/validate-access-tokens/",
	}, nil
}
