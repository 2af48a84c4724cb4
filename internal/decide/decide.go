// Package decide is the one authorization decision behind every transport
// (httpmw: Require, RequireFunc, Mux, Check, Reject; grpcmw: unary and every
// stream kind, Reject) and its classification into the kinds of answer, the
// code label metrics counts and the log attributes the transports print.
//
// A transport extracts the bearer token and matches the rule; Decide does
// the rest: token in, requirement chosen, verified claims or one error out.
// Outcome then tells every transport the same thing about that error, so
// that an HTTP 503 and a gRPC Unavailable, or a 401 and an Unauthenticated,
// can never disagree.
package decide

import (
	"context"
	"errors"
	"fmt"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/verify"
)

// Chooser picks the requirement of a request once its token has verified
// (httpmw.RequireFunc, grpcmw.Rule.Choose). The transport binds the request
// in a closure.
type Chooser func(c *claims.Claims) (claims.Requirement, error)

// Decide authorizes the bearer token raw against req, or against what
// choose returns when choose is not nil.
//
// tokenErr is the transport's failure to extract a token (two Authorization
// headers, malformed credentials): it is answered invalid_request unless it
// already is a *claims.Error. An empty raw is claims.MissingToken(). With a
// chooser the token is verified first, choose runs with the verified
// claims, and its requirement is validated and evaluated; an error from
// choose is returned as it is (Outcome classifies it), an invalid chosen
// requirement is a server fault.
//
// The claims are returned with a nil error when the request is allowed; on
// an unmet requirement they are returned too, with the *claims.Error.
//
// A panic in the decision (a chooser's, a Requirement.Check's) fails
// closed as an Internal error instead of taking the server down, and a
// chooser's error that is a nil *claims.Error is Internal too.
func Decide(ctx context.Context, v *verify.Verifier, raw string, tokenErr error, req claims.Requirement, choose Chooser) (c *claims.Claims, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, fmt.Errorf("%w: %.200v", errPanic, p)
		}
	}()
	if tokenErr != nil {
		var ce *claims.Error
		if errors.As(tokenErr, &ce) {
			return nil, tokenErr
		}
		return nil, claims.InvalidRequest(tokenErr)
	}
	if choose == nil {
		return v.Authorize(ctx, raw, req)
	}
	if raw == "" {
		return nil, claims.MissingToken()
	}
	c, err = v.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	chosen, err := choose(c)
	if err != nil {
		return nil, Normalize(err)
	}
	if err := chosen.Validate(); err != nil {
		return nil, fmt.Errorf("chosen requirement is invalid: %w", err)
	}
	if err := v.Evaluate(c, chosen); err != nil {
		return c, err
	}
	return c, nil
}

// ErrUnlisted is grpcmw.ErrUnlistedMethod, here so that package metrics
// can tell a call to a method without a rule from other refusals without
// importing gRPC.
var ErrUnlisted = errors.New("grpcmw: method not in the method table")

// errPanic is the cause of a decision that panicked.
var errPanic = errors.New("authorization panicked")

// errNilClaimsError replaces an error that is a nil *claims.Error.
var errNilClaimsError = errors.New("a nil *claims.Error was given as the refusal")

// Normalize returns err, or a plain internal error when err is (or wraps) a
// nil *claims.Error, so that no hook ever finds a nil *claims.Error with
// errors.As. Every refusal passes through it before it is reported.
func Normalize(err error) error {
	var ce *claims.Error
	if errors.As(err, &ce) && ce == nil {
		return errNilClaimsError
	}
	return err
}

// Kind is the class of a refusal, the same on every transport.
type Kind int

// The kinds of refusal.
const (
	// Challenge: a *claims.Error, answered with its challenge (HTTP 400,
	// 401 or 403, gRPC InvalidArgument, Unauthenticated or
	// PermissionDenied, by answer.For).
	Challenge Kind = iota
	// Unavailable: the keys are unavailable (claims.ErrUnavailable), or a
	// context of the server's own (a chooser's lookup) ended: HTTP 503,
	// gRPC Unavailable, no challenge.
	Unavailable
	// Canceled: the request's own context ended during the decision (the
	// client went away or its deadline passed): nobody's token problem.
	// HTTP 503 (nobody reads it), gRPC Canceled or DeadlineExceeded.
	Canceled
	// Internal: any other error (a chooser's, an invalid chosen
	// requirement): HTTP 500, gRPC Internal, no details.
	Internal
)

// Outcome classifies err, a refusal of a request whose context is ctx. The
// *claims.Error is set for Challenge only.
func Outcome(ctx context.Context, err error) (Kind, *claims.Error) {
	ctxErr := errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	if ctxErr && ctx.Err() != nil {
		return Canceled, nil
	}
	if ctxErr || errors.Is(err, claims.ErrUnavailable) {
		return Unavailable, nil
	}
	var ce *claims.Error
	if errors.As(err, &ce) && ce != nil {
		return Challenge, ce
	}
	return Internal, nil
}

// Code labels of refusals without an OAuth error code, as metrics counts
// them and the logs print them (besides the registered codes).
const (
	CodeNone        = "none"        // no token: a challenge without error code
	CodeUnavailable = "unavailable" // Unavailable
	CodeCanceled    = "canceled"    // Canceled
	CodeInternal    = "internal"    // Internal
	CodeOther       = "other"       // a *claims.Error with a code stepup does not emit
	CodeUnlisted    = "unlisted"    // gRPC: no rule governs the method
)

// Code is the fixed label of a refusal: the OAuth error code of a
// challenge the library emits, or one of the Code constants, never a
// client-chosen string.
func Code(k Kind, ce *claims.Error) string {
	switch k {
	case Unavailable:
		return CodeUnavailable
	case Canceled:
		return CodeCanceled
	case Internal:
		return CodeInternal
	}
	switch ce.Code {
	case "":
		return CodeNone
	case claims.CodeInvalidRequest, claims.CodeInvalidToken,
		claims.CodeInsufficientUserAuthentication, claims.CodeInsufficientScope,
		claims.CodeInsufficientClaims, claims.CodeInvalidDPoPProof, claims.CodeUseDPoPNonce:
		return string(ce.Code)
	}
	return CodeOther
}
