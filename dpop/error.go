package dpop

import (
	"errors"
	"strings"

	"github.com/stepupauth/stepup/claims"
)

// The reasons of a refused proof, Error.Reason. Their text is stable and
// meant for logs and metrics; the client only sees the Code.
const (
	ReasonMalformed = "malformed" // not one compact JWS of strict base64url and strict JSON, or a claim of the wrong type
	ReasonMultiple  = "multiple"  // a list of values (a comma or white space): more than one proof
	ReasonSize      = "size"      // longer than the size cap
	ReasonHeader    = "header"    // a header parameter that is refused: crit, b64, jku, x5u, x5c
	ReasonType      = "typ"       // typ is not dpop+jwt
	ReasonAlgorithm = "alg"       // alg missing, not asymmetric, or not allowed
	ReasonKey       = "jwk"       // jwk missing, private, unsupported, or not fitting alg
	ReasonSignature = "signature" // the signature does not verify with jwk
	ReasonMethod    = "htm"       // htm missing or not the request's method
	ReasonURI       = "htu"       // htu missing or not the request's URI
	ReasonIssuedAt  = "iat"       // iat missing, too old, or in the future
	ReasonID        = "jti"       // jti missing, empty, or too long
	ReasonReplay    = "replay"    // the jti was used before
	ReasonTokenHash = "ath"       // ath missing or not the hash of the access token
	ReasonNonce     = "nonce"     // nonce missing or stale (Code is claims.CodeUseDPoPNonce)
)

// Error is a refused proof. Every refusal Verify makes is an *Error (an
// outage of the replay store aside, see Verify); callers rely on errors.As,
// Code and Reason.
//
// Code is claims.CodeInvalidDPoPProof or claims.CodeUseDPoPNonce. Reason is one of the Reason
// constants. Nonce, for claims.CodeUseDPoPNonce, is a fresh nonce to send in the
// DPoP-Nonce response header. Err, the cause, is for logs only and never
// reaches a client.
type Error struct {
	Code   claims.Code // claims.CodeInvalidDPoPProof or claims.CodeUseDPoPNonce
	Reason string
	Nonce  string
	Err    error
}

// Error returns "dpop: <reason>", followed by ": " and the cause when Err is
// not nil. It never contains the proof, the access token or any value taken
// from them.
func (e *Error) Error() string {
	if e == nil {
		return "dpop: <nil>"
	}
	var b strings.Builder
	b.WriteString("dpop: ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// ErrConfig is wrapped by every error New and NewNonces return for a bad
// configuration.
var ErrConfig = errors.New("dpop: invalid config")

// ErrRequest is wrapped by the error Verify returns when the Request itself
// is unusable (no Method, no AccessToken, a URL that is not an absolute
// http or https URI): a bug of the caller, not of the client, to be answered
// as an internal error.
var ErrRequest = errors.New("dpop: invalid request description")

// refuse returns an invalid_dpop_proof *Error with a fixed cause.
func refuse(reason string, cause error) *Error {
	return &Error{Code: claims.CodeInvalidDPoPProof, Reason: reason, Err: cause}
}
