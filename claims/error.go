package claims

import (
	"errors"
	"strings"
)

// Code is an OAuth 2.0 bearer-token error code (RFC 6750 §3.1, RFC 9470 §3).
// The empty Code is the answer to a request that carried no token at all: its
// challenge has no error attribute (RFC 6750 §3.1).
type Code string

// The registered error codes.
const (
	CodeInvalidRequest                 Code = "invalid_request"
	CodeInvalidToken                   Code = "invalid_token"
	CodeInsufficientScope              Code = "insufficient_scope"
	CodeInsufficientUserAuthentication Code = "insufficient_user_authentication"
)

// The error codes of DPoP (RFC 9449 §7.1, §9, registered by it): a
// refused proof, and a proof without the nonce the server demands (the
// answer then carries a DPoP-Nonce header). Both are answered 401 with a
// DPoP challenge; over gRPC, Unauthenticated.
const (
	CodeInvalidDPoPProof Code = "invalid_dpop_proof"
	CodeUseDPoPNonce     Code = "use_dpop_nonce"
)

// CodeInsufficientClaims is Microsoft Entra ID's error code for a claims
// challenge: the token lacks claims (for step-up, a Conditional Access
// authentication context in acrs) and the client must request a new one
// with the claims request the challenge carries. It is not a registered
// OAuth error code; the library sends it only as the documented,
// provider-specific exception an Entra ID profile asks for (see
// https://learn.microsoft.com/entra/identity-platform/claims-challenge).
// HTTP answers it 401, gRPC Unauthenticated.
const CodeInsufficientClaims Code = "insufficient_claims"

// ErrUnavailable reports that a token cannot be verified for now, through
// no fault of the client: the keys cannot be had (the issuer is down
// beyond the staleness bound), the introspection endpoint does not answer,
// a DPoP replay store cannot answer. Middleware answers 503 / Unavailable,
// never invalid_token. Test for it with errors.Is.
var ErrUnavailable = errors.New("claims: token verification unavailable")

// Error is a rejected request and the challenge that tells the client how to
// recover. Every rejection the library makes is an *Error (outages aside, see
// ErrUnavailable); callers rely on errors.As and Code.
//
// Description is fixed, client-safe text. Err, the underlying cause, is for
// logs only and never reaches a client.
type Error struct {
	// Scheme is the authentication scheme of the challenge: "Bearer" when
	// empty, "DPoP" for a request that presented a DPoP-bound token or
	// that needs one (RFC 9449 §7.1).
	Scheme      string
	Code        Code
	Description string
	ACRValues   []string // acr_values to request, in preference order (RFC 9470)
	// MaxAge is the max_age to request (RFC 9470 §3); the zero MaxAge asks
	// for none.
	MaxAge MaxAge
	Scope  []string // scope needed (RFC 6750 §3)
	// Extra holds provider-specific auth-params of the challenge, such as
	// Entra ID's authorization_uri and claims; Challenge copies them to
	// Challenge.Extra, whose documentation says how they render. Values
	// are client-visible: never put a cause there.
	Extra []Param
	Err   error
}

// Fixed client-safe descriptions. They use only the characters RFC 6750 §3
// allows in error_description.
const (
	descInvalidRequest    = "The request is malformed"
	descInvalidToken      = "The access token is invalid"
	descInsufficientScope = "The access token does not grant the required scope"
	descACR               = "A different authentication level is required"
	descFresh             = "More recent authentication is required"
	descACRFresh          = "A different authentication level and more recent authentication are required"
	descStepUp            = "Stronger authentication is required"
	descBindingDPoP       = "A DPoP-bound access token is required"
	descBindingMTLS       = "A certificate-bound access token is required"
	descBindingAny        = "A sender-constrained access token is required"
)

// MissingToken is the answer to a request that carried no access token: no
// error code and no description, as RFC 6750 §3.1 asks, so its challenge is
// just the scheme plus whatever realm or resource_metadata the caller adds.
func MissingToken() *Error {
	return &Error{}
}

// InvalidRequest is the answer to a malformed request (for example two
// tokens, or two Authorization header fields). cause is kept for logs.
func InvalidRequest(cause error) *Error {
	return &Error{Code: CodeInvalidRequest, Description: descInvalidRequest, Err: cause}
}

// InvalidToken is the answer to a token that cannot be accepted (signature,
// algorithm, type, issuer, audience, expiry, ...). cause is kept for logs;
// the client only sees the fixed description.
func InvalidToken(cause error) *Error {
	return &Error{Code: CodeInvalidToken, Description: descInvalidToken, Err: cause}
}

// Error returns "claims: <code>: <description>", or "claims: no access token"
// for the empty Code, followed by ": " and the cause when Err is not nil.
// The text is stable and meant for logs, never for the client.
func (e *Error) Error() string {
	if e == nil {
		return "claims: <nil>"
	}
	var b strings.Builder
	b.WriteString("claims: ")
	if e.Code == "" {
		b.WriteString("no access token")
	} else {
		b.WriteString(string(e.Code))
		if e.Description != "" {
			b.WriteString(": ")
			b.WriteString(e.Description)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause, for errors.Is and errors.As.
func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// Challenge returns the Bearer challenge that stands for e. Realm and
// ResourceMetadata are left empty for the caller to set. A nil *Error gives
// the zero Challenge.
func (e *Error) Challenge() Challenge {
	if e == nil {
		return Challenge{}
	}
	scheme := e.Scheme
	if scheme == "" {
		scheme = "Bearer"
	}
	return Challenge{
		Scheme:      scheme,
		Error:       e.Code,
		Description: e.Description,
		Scope:       cloneStrings(e.Scope),
		ACRValues:   cloneStrings(e.ACRValues),
		MaxAge:      e.MaxAge,
		Extra:       cloneParams(e.Extra),
	}
}

func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}
