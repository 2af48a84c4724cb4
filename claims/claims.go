package claims

import (
	"context"
	"encoding/json"
	"time"
)

// Claims is the typed view of a verified access token's claim set, built by
// Parse.
//
// A Claims value is produced by the verifier after the token's signature and
// registered claims were checked; handlers read it with FromContext. Treat it
// as read-only: it is shared by every request that presents the same token.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub
	Audience  []string  // aud, a string or an array in the token
	Expiry    time.Time // exp; zero when absent
	NotBefore time.Time // nbf; zero when absent
	IssuedAt  time.Time // iat; zero when absent
	ID        string    // jti
	ClientID  string    // client_id
	Scopes    []string  // scope (space-separated string) or scp (array or string)
	AuthTime  time.Time // auth_time (or its mapped name); zero when absent
	ACR       string    // acr (or its mapped name)
	AMR       []string  // amr (or its mapped name)
	ACRS      []string  // acrs: Entra ID authentication context class references

	// Confirmation is the raw cnf claim (RFC 7800), nil when absent.
	Confirmation json.RawMessage

	// Raw holds every claim of the token by name, for custom checks.
	Raw map[string]json.RawMessage

	// Malformed names the optional claims (acr, amr, auth_time, acrs, scope,
	// scp, cnf) that were present with a type other than the one their
	// specification gives. Their typed fields above are left empty, so a
	// requirement on them fails rather than trusting a value of the wrong
	// shape. Names are the standard ones even when Names remaps the claim.
	Malformed []string
}

// Names maps the user-authentication claims to the names an issuer uses.
// An empty field means the standard name. Auth0, for example, sets acr and
// amr in access tokens only as namespaced custom claims:
//
//	claims.Names{ACR: "https://example.com/acr", AMR: "https://example.com/amr"}
type Names struct {
	ACR      string // default "acr"
	AMR      string // default "amr"
	AuthTime string // default "auth_time"
}

type contextKey struct{}

// NewContext returns a copy of ctx that carries c.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// FromContext returns the verified claims stored in ctx by the middleware or
// interceptor, and whether there were any.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(contextKey{}).(*Claims)
	return c, ok && c != nil
}
