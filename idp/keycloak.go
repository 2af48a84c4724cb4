package idp

import (
	"fmt"
	"strings"

	"github.com/stepupauth/stepup/claims"
)

// keycloakLevels are the default levels (see KeycloakOptions.Levels).
func keycloakLevels() []string { return []string{"0", "1", "2"} }

// KeycloakOptions say which Keycloak realm the profile is for.
type KeycloakOptions struct {
	// BaseURL is the server's URL, "https://sso.example.com", or
	// "https://sso.example.com/auth" for a server still under the legacy
	// context path: without /realms/. Required.
	BaseURL string
	// Realm is the realm's name, "bank" for the issuer
	// BASE/realms/bank. Required.
	Realm string
	// Levels orders the realm's acr values lowest first. A realm whose
	// "ACR to LoA Mapping" names its levels (silver = 1, gold = 2) puts
	// those names in the acr claim: list them here. Empty means
	// Keycloak's default levels "0", "1", "2"
	// (https://www.keycloak.org/docs/latest/server_admin/#_step-up-flow):
	// "0" for a session resumed from the SSO cookie without
	// authenticating, then the levels of the step-up browser flow
	// (usually password, then a second factor).
	Levels []string
}

// Keycloak returns the profile of the Keycloak realm opts.Realm on the
// server at opts.BaseURL. The issuer is BASE/realms/REALM; keys come from
// ISSUER/protocol/openid-connect/certs.
//
// Keycloak access tokens have typ "JWT" in the header and typ "Bearer" in
// the payload (its ID tokens say "ID", refresh tokens "Refresh"): the
// profile requires the latter. azp is the client; acr is the level reached
// (see opts.Levels) and auth_time the login time. A client that receives
// an acr_values / max_age challenge sends them on its next authorization
// request; Keycloak's step-up flow honours both
// (https://www.keycloak.org/docs/latest/server_admin/#_step-up-flow).
// The audience is whatever an Audience mapper puts into aud: without one
// Keycloak sends only "account".
func Keycloak(opts KeycloakOptions) (Profile, error) {
	b, err := baseURL("keycloak", "base_url", opts.BaseURL)
	if err != nil {
		return Profile{}, err
	}
	if before, after, ok := strings.Cut(b, "/realms/"); ok {
		realm, _, _ := strings.Cut(after, "/")
		return Profile{}, &Error{Provider: "keycloak", Param: "base_url",
			Msg: fmt.Sprintf("%q names a realm: give the server URL %q and the realm %q separately", opts.BaseURL, before, realm)}
	}
	realm := opts.Realm
	if realm == "" {
		return Profile{}, &Error{Provider: "keycloak", Param: "realm", Msg: "required: the realm's name, as in BASE/realms/NAME"}
	}
	if strings.Contains(realm, "://") {
		return Profile{}, &Error{Provider: "keycloak", Param: "realm",
			Msg: fmt.Sprintf("%q is a URL: give the server URL as base_url and the realm's name alone", realm)}
	}
	if err := segment("keycloak", "realm", realm); err != nil {
		return Profile{}, err
	}
	levels := opts.Levels
	if len(levels) == 0 {
		levels = keycloakLevels()
	}
	// The levels become Requirement.ACRLevels: claims' own rules apply
	// (non-empty, printable ASCII without spaces, no repeats).
	if err := (claims.Requirement{ACRLevels: levels}).Validate(); err != nil {
		return Profile{}, &Error{Provider: "keycloak", Param: "levels", Msg: err.Error()}
	}
	iss := b + "/realms/" + realm
	return Profile{
		Provider:       "keycloak",
		Issuers:        []string{iss},
		DiscoveryURL:   iss + "/.well-known/openid-configuration",
		JWKSURI:        iss + "/protocol/openid-connect/certs",
		TokenTypes:     []string{"JWT"},
		RequiredClaims: []string{"iss", "exp", "aud", "sub", "iat", "jti", "azp", "typ"},
		RequiredValues: map[string]string{"typ": "Bearer"},
		ACRLevels:      clone(levels),
		Docs:           "https://www.keycloak.org/docs/latest/server_admin/#_step-up-flow",
	}, nil
}
