package introspect

import (
	"errors"
	"strconv"

	"github.com/stepupauth/stepup/claims"
)

// The reasons of an *Error, stable values meant for logs and metric labels.
// Apart from ReasonInactive they have the same text as the verify package's
// reasons of the same name.
const (
	ReasonInactive       = "inactive"         // active is false: revoked, expired or unknown to the server
	ReasonMalformed      = "malformed"        // active absent or not a boolean, or an active response with a registered member of the wrong type
	ReasonIssuer         = "issuer"           // iss differs from Config.Issuer, or is absent with RequireIssuer
	ReasonAudience       = "audience"         // aud lacks Config.Audience, or is absent with RequireAudience
	ReasonExpired        = "expired"          // now is past exp (+ leeway)
	ReasonNotYetValid    = "not_yet_valid"    // nbf is in the future (beyond leeway)
	ReasonIssuedInFuture = "issued_in_future" // iat is in the future (beyond leeway)
)

// Error is why an introspected token is refused: the cause (Err) of the
// *claims.Error with code invalid_token that Introspect returns. Get it
// with errors.As and test Reason, one of the Reason constants. It never
// reaches a client, and its text never holds the token.
type Error struct {
	Reason string
	Err    error // detail for the logs, nil when Reason says it all
}

// Error returns "introspect: token refused: <reason>", followed by ": "
// and the detail when Err is not nil.
func (e *Error) Error() string {
	s := "introspect: token refused: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the detail.
func (e *Error) Unwrap() error { return e.Err }

// ErrClientAuth is wrapped, beside claims.ErrUnavailable, by the error of a
// call the endpoint refused because of our own client authentication: a 401
// or 403, or a 400 with error invalid_client or unauthorized_client (RFC
// 7662 §2.3, RFC 6749 §5.2). The client credentials or the client's right
// to introspect need fixing; Check reports it at start-up.
var ErrClientAuth = errors.New("introspect: client authentication refused by the introspection endpoint")

// ErrConfig is wrapped by every error New and Discover return for a bad
// Config.
var ErrConfig = errors.New("introspect: invalid config")

// endpointError is an outage: the endpoint gave no usable answer. It wraps
// claims.ErrUnavailable and its cause (ErrClientAuth for a refused client
// authentication).
type endpointError struct {
	status int    // HTTP status, 0 when there was no response
	code   string // the OAuth error code of an error response, "" if none
	err    error
}

func (e *endpointError) Error() string {
	s := "introspect: endpoint unavailable"
	if e.status != 0 {
		s += ": status " + strconv.Itoa(e.status)
	}
	if e.code != "" {
		s += ", error " + strconv.Quote(e.code)
	}
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *endpointError) Unwrap() []error {
	if e.err == nil {
		return []error{claims.ErrUnavailable}
	}
	return []error{claims.ErrUnavailable, e.err}
}

// refuse is the *claims.Error for a token refused for reason.
func refuse(reason string, detail error) *claims.Error {
	return claims.InvalidToken(&Error{Reason: reason, Err: detail})
}
