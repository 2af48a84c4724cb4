// Package answer holds what the HTTP middleware and the gRPC interceptors
// must answer identically: the mapping of an OAuth error code to the kind
// of answer (the tables of the httpmw and grpcmw package docs; RFC 6750
// §3.1, RFC 9470 §3), and the checks of the
// challenge parameters both let the application configure (realm, RFC 6750
// §3; resource_metadata, RFC 9728 §5.1).
//
// It imports neither net/http handlers nor gRPC: each transport turns a
// Kind into its own status.
package answer

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/loopback"
)

// Kind is the transport-neutral answer to a *claims.Error.
type Kind int

// The kinds of answer to a rejection with a challenge.
const (
	// Unauthenticated: HTTP 401, gRPC Unauthenticated. No token, a bad
	// token, a step-up (insufficient_user_authentication), Entra ID's
	// insufficient_claims, and any code the library does not know (fail
	// closed towards "log in again", the same on both transports).
	Unauthenticated Kind = iota
	// BadRequest: HTTP 400, gRPC InvalidArgument (invalid_request).
	BadRequest
	// Forbidden: HTTP 403, gRPC PermissionDenied (insufficient_scope).
	Forbidden
)

// table is the one code -> answer mapping of both transports.
var table = map[claims.Code]Kind{
	"":                        Unauthenticated,
	claims.CodeInvalidRequest: BadRequest,
	claims.CodeInvalidToken:   Unauthenticated,
	claims.CodeInsufficientUserAuthentication: Unauthenticated,
	claims.CodeInsufficientClaims:             Unauthenticated,
	claims.CodeInsufficientScope:              Forbidden,
}

// For returns the answer to a rejection with code c. A code outside the
// table (a custom one) is Unauthenticated.
func For(c claims.Code) Kind {
	if k, ok := table[c]; ok {
		return k
	}
	return Unauthenticated
}

// HTTPStatus is the HTTP status of k.
func (k Kind) HTTPStatus() int {
	switch k {
	case BadRequest:
		return 400
	case Forbidden:
		return 403
	}
	return 401
}

// CheckRealm reports an error when realm has a character outside printable
// ASCII (quotes and backslashes are escaped by the challenge renderer, RFC
// 9110 §5.6.4; control characters and non-ASCII cannot be sent).
func CheckRealm(realm string) error {
	if i := strings.IndexFunc(realm, notPrintable); i >= 0 {
		return fmt.Errorf("realm has a character outside printable ASCII at byte %d", i)
	}
	return nil
}

// CheckURL accepts an absolute https URL (http only for a loopback host)
// with a host, printable ASCII only, no user info and no fragment; a query
// is allowed only when query is true. It is the check of every URL the
// library puts in a challenge or a metadata document.
func CheckURL(s string, query bool) error {
	if s == "" {
		return errors.New("empty URL")
	}
	u, err := url.Parse(s)
	if err != nil || strings.IndexFunc(s, notPrintable) >= 0 {
		return errors.New("not a URL of printable ASCII")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback.Is(u.Hostname()):
	default:
		return errors.New("scheme must be https (http only for loopback)")
	}
	if u.Host == "" || u.User != nil || u.Opaque != "" {
		return errors.New("must be an absolute URL with a host and no user info")
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return errors.New("must not have a fragment")
	}
	if !query && (u.RawQuery != "" || u.ForceQuery) {
		return errors.New("must not have a query")
	}
	return nil
}

func notPrintable(r rune) bool { return r < 0x20 || r > 0x7e }

// Challenge is the challenge that answers e, with the realm and
// resource_metadata the application configured. A challenge whose Extra
// names realm fixes its own realm (Entra ID's claims challenge: an empty
// realm with the common authorize endpoint, the tenant with the tenant's),
// and keeps it: the configured realm would no longer match its
// authorization_uri.
func Challenge(e *claims.Error, realm, resourceMetadata string) claims.Challenge {
	ch := e.Challenge()
	ch.ResourceMetadata = resourceMetadata
	for _, p := range ch.Extra {
		if strings.EqualFold(p.Name, "realm") {
			ch.Realm = p.Value
			return ch
		}
	}
	ch.Realm = realm
	return ch
}

// Header is the WWW-Authenticate value that answers e (RFC 9110 §11.6.1):
// Challenge's, with the algs auth-param of a DPoP challenge (RFC 9449
// §7.1) when algs, the space-separated accepted proof algorithms, is not
// empty. A request without any token (Code "") to a resource that accepts
// DPoP gets two challenges in the one value, Bearer and DPoP, as RFC 9449
// §7.2 shows, so that the client may use either.
func Header(e *claims.Error, realm, resourceMetadata, algs string) string {
	ch := Challenge(e, realm, resourceMetadata)
	if algs == "" {
		return ch.String()
	}
	if strings.EqualFold(ch.Scheme, "DPoP") {
		return withAlgs(ch, algs).String()
	}
	if e.Code != "" {
		return ch.String()
	}
	dp := ch
	dp.Scheme = "DPoP"
	return ch.String() + ", " + withAlgs(dp, algs).String()
}

// withAlgs adds algs to a DPoP challenge, unless it names its own.
func withAlgs(ch claims.Challenge, algs string) claims.Challenge {
	for _, p := range ch.Extra {
		if strings.EqualFold(p.Name, "algs") {
			return ch
		}
	}
	ch.Extra = append(append([]claims.Param(nil), ch.Extra...), claims.Param{Name: "algs", Value: algs})
	return ch
}
