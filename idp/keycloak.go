package idp

import "github.com/stepupauth/stepup/claims"

// KeycloakLevels are Keycloak's default authentication levels as the acr
// claim reports them
// (https://www.keycloak.org/docs/latest/server_admin/#_step-up-flow): "0"
// for a session resumed from the SSO cookie without authenticating, then
// "1", "2", ... for the levels of the step-up browser flow (usually
// password, then a second factor).
var KeycloakLevels = []string{"0", "1", "2"}

// KeycloakOptions are the optional settings of the Keycloak profile.
type KeycloakOptions struct {
	// Levels orders the realm's acr values lowest first. A realm whose
	// "ACR to LoA Mapping" names its levels (silver = 1, gold = 2) puts
	// those names in the acr claim: list them here. Empty means
	// KeycloakLevels.
	Levels []string
}

// Keycloak returns the profile of Keycloak realm realm at base, the
// server's URL ("https://sso.example.com", or ".../auth" for a server
// still under the legacy context path). The issuer is BASE/realms/REALM;
// keys come from ISSUER/protocol/openid-connect/certs.
//
// Keycloak access tokens have typ "JWT" in the header and typ "Bearer" in
// the payload (its ID tokens say "ID", refresh tokens "Refresh"): the
// profile requires the latter. azp is the client; acr is the level reached
// (see KeycloakLevels and opts.Levels) and auth_time the login time. A
// client that receives an acr_values / max_age challenge sends them on its
// next authorization request; Keycloak's step-up flow honours both
// (https://www.keycloak.org/docs/latest/server_admin/#_step-up-flow).
// The audience is whatever an Audience mapper puts into aud: without one
// Keycloak sends only "account".
func Keycloak(base, realm string, opts KeycloakOptions) (Profile, error) {
	b, err := baseURL("keycloak", "base_url", base)
	if err != nil {
		return Profile{}, err
	}
	if err := segment("keycloak", "realm", realm); err != nil {
		return Profile{}, err
	}
	levels := opts.Levels
	if len(levels) == 0 {
		levels = KeycloakLevels
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
