package verify

import (
	"errors"
)

// Reason names why a token was rejected, from a fixed set so that metrics can
// use it as a label without a cardinality blow-up. TokenError carries it, and
// Observer.Verified receives it.
type Reason string

// The reasons a Verifier gives. ReasonNone goes with OutcomeValid,
// ReasonUnavailable with OutcomeUnavailable and ReasonCanceled with
// OutcomeCanceled; every other reason goes with OutcomeInvalid.
const (
	ReasonNone           Reason = "none"             // the token is valid
	ReasonTooLarge       Reason = "too_large"        // longer than Config.MaxTokenSize
	ReasonMalformed      Reason = "malformed"        // not a compact JWS: parts, base64url, header JSON
	ReasonAlgorithm      Reason = "algorithm"        // alg missing or not in the allowlist
	ReasonType           Reason = "type"             // typ missing or not accepted
	ReasonHeader         Reason = "header"           // crit, b64, jwk, jku, x5u or x5c present
	ReasonKeyID          Reason = "key_id"           // kid not a string, too long or with control characters
	ReasonClaims         Reason = "claims"           // the payload is not a valid claim set
	ReasonIssuer         Reason = "issuer"           // iss missing or not configured
	ReasonUnknownKey     Reason = "unknown_key"      // no key with that kid in the issuer's set
	ReasonKeyMismatch    Reason = "key_mismatch"     // the key does not fit alg (JWK alg, key type, curve, size)
	ReasonSignature      Reason = "signature"        // the signature does not verify
	ReasonAudience       Reason = "audience"         // aud does not contain Config.Audience
	ReasonMissingClaim   Reason = "missing_claim"    // a required claim is absent
	ReasonExpired        Reason = "expired"          // now is past exp (+ leeway)
	ReasonNotYetValid    Reason = "not_yet_valid"    // nbf is in the future (beyond leeway)
	ReasonIssuedInFuture Reason = "issued_in_future" // iat is in the future (beyond leeway)
	ReasonUnavailable    Reason = "unavailable"      // the key source reported an outage
	ReasonCanceled       Reason = "canceled"         // the request's context ended during the key lookup
)

// Reasons lists every Reason a Verifier reports, for pre-declaring metric
// label values.
func Reasons() []Reason {
	return []Reason{
		ReasonNone, ReasonTooLarge, ReasonMalformed, ReasonAlgorithm, ReasonType,
		ReasonHeader, ReasonKeyID, ReasonClaims, ReasonIssuer, ReasonUnknownKey,
		ReasonKeyMismatch, ReasonSignature, ReasonAudience, ReasonMissingClaim,
		ReasonExpired, ReasonNotYetValid, ReasonIssuedInFuture, ReasonUnavailable,
		ReasonCanceled,
	}
}

// The causes of a rejection, to be tested with errors.Is on the error
// Verify returns (they sit inside the *claims.Error's Err, in a *TokenError).
// Their text is stable.
var (
	ErrTooLarge       = errors.New("verify: token too large")
	ErrMalformed      = errors.New("verify: malformed token")
	ErrAlgorithm      = errors.New("verify: algorithm not allowed")
	ErrType           = errors.New("verify: token type not accepted")
	ErrHeader         = errors.New("verify: unsupported header parameter")
	ErrKeyID          = errors.New("verify: invalid key id")
	ErrClaims         = errors.New("verify: invalid claim set")
	ErrIssuer         = errors.New("verify: issuer not accepted")
	ErrUnknownKey     = errors.New("verify: unknown key")
	ErrKeyMismatch    = errors.New("verify: key does not match algorithm")
	ErrSignature      = errors.New("verify: invalid signature")
	ErrAudience       = errors.New("verify: audience not accepted")
	ErrMissingClaim   = errors.New("verify: required claim missing")
	ErrExpired        = errors.New("verify: token expired")
	ErrNotYetValid    = errors.New("verify: token not yet valid")
	ErrIssuedInFuture = errors.New("verify: token issued in the future")
)

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("verify: invalid config")

// TokenError is the cause of an invalid_token rejection: the Err of the
// *claims.Error that Verify returns. Reason is one of the Reason constants;
// Err is, or wraps, one of the Err... variables of this package (and, for a
// key lookup, the key source's error). Get it with errors.As.
type TokenError struct {
	Reason Reason
	Err    error
}

// Error returns the text of Err, or "verify: invalid token (<reason>)"
// when Err is nil.
func (e *TokenError) Error() string {
	if e.Err == nil {
		return "verify: invalid token (" + string(e.Reason) + ")"
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *TokenError) Unwrap() error { return e.Err }

// rejection is an internal failure: the reason and its cause.
type rejection struct {
	reason Reason
	err    error
}

func reject(reason Reason, err error) *rejection { return &rejection{reason: reason, err: err} }

// Preallocated rejections for the causes that carry no detail, so that the
// cheap failures do not allocate twice.
var (
	rejTooLarge       = reject(ReasonTooLarge, ErrTooLarge)
	rejMalformed      = reject(ReasonMalformed, ErrMalformed)
	rejAlgorithm      = reject(ReasonAlgorithm, ErrAlgorithm)
	rejType           = reject(ReasonType, ErrType)
	rejHeader         = reject(ReasonHeader, ErrHeader)
	rejKeyID          = reject(ReasonKeyID, ErrKeyID)
	rejIssuer         = reject(ReasonIssuer, ErrIssuer)
	rejKeyMismatch    = reject(ReasonKeyMismatch, ErrKeyMismatch)
	rejSignature      = reject(ReasonSignature, ErrSignature)
	rejAudience       = reject(ReasonAudience, ErrAudience)
	rejExpired        = reject(ReasonExpired, ErrExpired)
	rejNotYetValid    = reject(ReasonNotYetValid, ErrNotYetValid)
	rejIssuedInFuture = reject(ReasonIssuedInFuture, ErrIssuedInFuture)
)
