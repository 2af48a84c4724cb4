package verify

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Reason names why a token was rejected, from a fixed set so that metrics can
// use it as a label without a cardinality blow-up. TokenError carries it, and
// Observer.Verified receives it.
type Reason string

// The reasons a Verifier gives. ReasonNone means the token is valid,
// ReasonUnavailable a key outage and ReasonCanceled a request that went
// away; every other reason is an invalid token (a *TokenError).
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
	ReasonInactive       Reason = "inactive"         // introspection: the authorization server says the token is not active
)

// Reasons lists every Reason a Verifier reports, for pre-declaring metric
// label values.
func Reasons() []Reason {
	return []Reason{
		ReasonNone, ReasonInactive, ReasonTooLarge, ReasonMalformed, ReasonAlgorithm, ReasonType,
		ReasonHeader, ReasonKeyID, ReasonClaims, ReasonIssuer, ReasonUnknownKey,
		ReasonKeyMismatch, ReasonSignature, ReasonAudience, ReasonMissingClaim,
		ReasonExpired, ReasonNotYetValid, ReasonIssuedInFuture, ReasonUnavailable,
		ReasonCanceled,
	}
}

// The causes of a rejection, one per Reason: the Err of a *TokenError (or
// the start of its chain). Unexported, so that Reason is the one way to ask
// why a token failed; their text is the stable text of TokenError.Error.
var (
	errTooLarge       = errors.New("verify: token too large")
	errMalformed      = errors.New("verify: malformed token")
	errAlgorithm      = errors.New("verify: algorithm not allowed")
	errType           = errors.New("verify: token type not accepted")
	errHeader         = errors.New("verify: unsupported header parameter")
	errKeyID          = errors.New("verify: invalid key id")
	errClaims         = errors.New("verify: invalid claim set")
	errIssuer         = errors.New("verify: issuer not accepted")
	errUnknownKey     = errors.New("verify: unknown key")
	errKeyMismatch    = errors.New("verify: key does not match algorithm")
	errSignature      = errors.New("verify: invalid signature")
	errAudience       = errors.New("verify: audience not accepted")
	errMissingClaim   = errors.New("verify: required claim missing")
	errExpired        = errors.New("verify: token expired")
	errNotYetValid    = errors.New("verify: token not yet valid")
	errIssuedInFuture = errors.New("verify: token issued in the future")
)

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("verify: invalid config")

// TokenError is the cause of an invalid_token rejection: the Err of the
// *claims.Error that Verify returns. Get it with errors.As and test its
// Reason, one of the Reason constants: that is how to ask why a token
// failed. Err holds the detail for the logs (for a key lookup, it wraps the
// key source's error, such as jwks.ErrUnknownKey).
//
// For ReasonType, ReasonIssuer and ReasonAudience, Received and Hint say
// what the token carried and what the verifier accepts, for the logs of
// whoever configures the verifier. They never reach a client: the
// *claims.Error's Description stays fixed text, and Error does not include
// them.
type TokenError struct {
	Reason Reason
	Err    error

	// received is the refused value, at most maxReceived+1 bytes of it
	// (the extra byte tells that it was cut); hasReceived is false when
	// the token had no such value at all.
	received    string
	hasReceived bool
	v           *Verifier // for Hint; nil when not made by a Verifier
}

// maxReceived caps the bytes of a refused value that Received shows.
const maxReceived = 64

// Received returns the refused value as a Go-quoted string, such as
// "\"JWT\"" for a typ the verifier does not accept: control characters and
// invalid UTF-8 are escaped, and a value longer than 64 bytes is cut and
// followed by "...". It is set for ReasonType (the typ header), ReasonIssuer
// (iss) and ReasonAudience (aud, its values space-separated), and is ""
// for other reasons or when the token had no such value. It is for server
// logs (httpmw and grpcmw log it at debug), never for the client.
func (e *TokenError) Received() string {
	if !e.hasReceived {
		return ""
	}
	s := e.received
	if len(s) <= maxReceived {
		return strconv.Quote(s)
	}
	cut := maxReceived
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// Hint returns how to fix the configuration if the rejection is the
// verifier's fault rather than the token's: for ReasonType the accepted
// types and the TokenTypes setting, for ReasonIssuer the configured
// issuers, for ReasonAudience the configured audience. It is "" for other
// reasons. It holds configuration only, no token content, and is for
// server logs.
func (e *TokenError) Hint() string {
	v := e.v
	if v == nil {
		return ""
	}
	switch e.Reason {
	case ReasonType:
		if !e.hasReceived {
			return "the token has no typ header; for an issuer that sends none, set InsecureAllowMissingType (an idp profile sets it where its provider needs it)"
		}
		return "accepted typ values: " + quoteList(v.pol.types) + "; allow " + e.Received() +
			" with Config.TokenTypes (Auth0's default profile and Entra ID send \"JWT\"), or use the provider's profile from package idp"
	case ReasonIssuer:
		if !e.hasReceived {
			return "the token has no iss claim (or a duplicate one, or not a string)"
		}
		h := "configured issuers: " + quoteList(v.issuers)
		if len(v.templates) > 0 {
			tpls := make([]string, len(v.templates))
			for i, t := range v.templates {
				tpls[i] = t.prefix + "{" + t.claim + "}" + t.suffix
			}
			h += "; issuer templates: " + quoteList(tpls)
		}
		return h + "; iss is compared byte for byte, trailing slash included: set Config.Issuer to the iss the issuer's tokens carry"
	case ReasonAudience:
		return "configured audience: " + strconv.Quote(v.audience) + "; aud must contain it exactly: set Config.Audience to the API identifier the issuer puts in aud"
	}
	return ""
}

func quoteList(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// Error returns the text of Err, or "verify: invalid token (<reason>)"
// when Err is nil. The text of a rejection by a Verifier is fixed for each
// Reason, such as "verify: token expired", followed for some reasons by a
// detail after ": " (the missing claim, the key source's error).
func (e *TokenError) Error() string {
	if e.Err == nil {
		return "verify: invalid token (" + string(e.Reason) + ")"
	}
	return e.Err.Error()
}

// Unwrap returns Err.
func (e *TokenError) Unwrap() error { return e.Err }

// rejection is an internal failure: the reason and its cause, and for
// some reasons the refused value (see TokenError.Received).
type rejection struct {
	reason      Reason
	err         error
	received    string
	hasReceived bool
}

func reject(reason Reason, err error) *rejection { return &rejection{reason: reason, err: err} }

// rejectValue is reject with the refused value, of which it keeps at most
// maxReceived+1 bytes.
func rejectValue(reason Reason, err error, received string) *rejection {
	if len(received) > maxReceived+1 {
		received = received[:maxReceived+1]
	}
	return &rejection{reason: reason, err: err, received: strings.Clone(received), hasReceived: true}
}

// Preallocated rejections for the causes that carry no detail, so that the
// cheap failures do not allocate twice.
var (
	rejTooLarge       = reject(ReasonTooLarge, errTooLarge)
	rejMalformed      = reject(ReasonMalformed, errMalformed)
	rejAlgorithm      = reject(ReasonAlgorithm, errAlgorithm)
	rejType           = reject(ReasonType, errType)
	rejHeader         = reject(ReasonHeader, errHeader)
	rejKeyID          = reject(ReasonKeyID, errKeyID)
	rejIssuer         = reject(ReasonIssuer, errIssuer)
	rejKeyMismatch    = reject(ReasonKeyMismatch, errKeyMismatch)
	rejSignature      = reject(ReasonSignature, errSignature)
	rejExpired        = reject(ReasonExpired, errExpired)
	rejNotYetValid    = reject(ReasonNotYetValid, errNotYetValid)
	rejIssuedInFuture = reject(ReasonIssuedInFuture, errIssuedInFuture)
)
