package jwks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// More errors of this package, to be tested with errors.Is.
var (
	// ErrClosed is wrapped by the error Key returns after Remote.Close.
	ErrClosed = errors.New("jwks: remote closed")
	// ErrIssuerMismatch reports a discovery document whose issuer differs
	// from the configured one (OIDC Discovery §4.3, RFC 8414 §3.3).
	ErrIssuerMismatch = errors.New("jwks: discovered issuer does not match")
	// ErrNoUsableKeys reports a key set in which no key survived validation.
	ErrNoUsableKeys = errors.New("jwks: no usable keys")
	// ErrDowngrade reports an https issuer whose metadata names a jwks_uri
	// that is not https (see Discover and InsecureAllowHTTP).
	ErrDowngrade = errors.New("jwks: https issuer names a jwks_uri that is not https")
	// ErrHostNotAllowed reports a JWKS URL whose host is not in the
	// WithJWKSHosts list.
	ErrHostNotAllowed = errors.New("jwks: jwks host not allowed")
)

// KeyError describes one JWK left out of a set and why. NewStatic and
// Remote skip such keys; ParseKey returns a *KeyError.
type KeyError struct {
	KID    string // the JWK's kid, possibly empty
	Reason string // fixed, lower-case text such as "rsa key shorter than 2048 bits"
}

// Error returns "jwks: key <quoted kid> rejected: <reason>".
func (e *KeyError) Error() string {
	return "jwks: key " + strconv.Quote(e.KID) + " rejected: " + e.Reason
}

// FetchError reports a failed HTTP fetch of a JWKS or discovery document.
// StatusCode is set when the server answered with a status other than 200.
type FetchError struct {
	URL        string
	StatusCode int
	Err        error
}

// Error returns "jwks: fetch <url>: <cause>", the cause without its own
// "jwks: " prefix; "jwks: fetch <url> failed" when Err is nil.
func (e *FetchError) Error() string {
	if e.Err == nil {
		return "jwks: fetch " + e.URL + " failed"
	}
	return "jwks: fetch " + e.URL + ": " + strings.TrimPrefix(e.Err.Error(), "jwks: ")
}

// Unwrap returns Err, for errors.Is and errors.As.
func (e *FetchError) Unwrap() error { return e.Err }

// UnavailableError is returned by Remote.Key when no key set fresher than
// the staleness bound can be had. It matches claims.ErrUnavailable with
// errors.Is (an outage, rendered as 503 / Unavailable, never invalid_token)
// and also unwraps to the last fetch error.
type UnavailableError struct {
	URL         string
	LastSuccess time.Time // zero when no fetch ever succeeded
	Err         error     // last fetch error, ErrClosed, or nil
}

// Error returns "jwks: keys from <url> unavailable", then when the last
// good set was fetched (or "never fetched") and the cause, if any.
func (e *UnavailableError) Error() string {
	s := "jwks: keys from " + e.URL + " unavailable"
	if e.LastSuccess.IsZero() {
		s += " (never fetched)"
	} else {
		s += " (last success " + e.LastSuccess.UTC().Format(time.RFC3339) + ")"
	}
	if e.Err != nil {
		s += ": " + strings.TrimPrefix(e.Err.Error(), "jwks: ")
	}
	return s
}

// Unwrap returns claims.ErrUnavailable and the cause.
func (e *UnavailableError) Unwrap() []error {
	if e.Err == nil {
		return []error{claims.ErrUnavailable}
	}
	return []error{claims.ErrUnavailable, e.Err}
}

// errorf builds an error with the package prefix.
func errorf(format string, args ...any) error {
	return fmt.Errorf("jwks: "+format, args...)
}
