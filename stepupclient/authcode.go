package stepupclient

import (
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// AuthCodeOptions returns the authorization request parameters of l for
// oauth2.Config.AuthCodeURL (the code flow, RFC 6749 §4.1.1): acr_values
// (space-separated, in preference order) and max_age (seconds) as OpenID
// Connect Core §3.1.2.1 and RFC 9470 §4 ask, scope (space-separated; it
// replaces the one AuthCodeURL takes from oauth2.Config.Scopes, so the
// request asks for the union the challenges accumulated) and claims (OpenID
// Connect Core §5.5, Entra ID's claims challenge) and dpop_jkt (RFC 9449
// §10, binding the code to the DPoP key). A parameter l does not
// have is not sent.
func (l Login) AuthCodeOptions() []oauth2.AuthCodeOption {
	var opts []oauth2.AuthCodeOption
	if len(l.ACRValues) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", strings.Join(l.ACRValues, " ")))
	}
	if secs, ok := l.MaxAge.Seconds(); ok {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(secs, 10)))
	}
	if len(l.Scopes) > 0 {
		opts = append(opts, oauth2.SetAuthURLParam("scope", strings.Join(l.Scopes, " ")))
	}
	if l.Claims != "" {
		opts = append(opts, oauth2.SetAuthURLParam("claims", l.Claims))
	}
	if l.DPoPJKT != "" {
		opts = append(opts, oauth2.SetAuthURLParam("dpop_jkt", l.DPoPJKT))
	}
	return opts
}
