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
	"slices"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/cnf"
	"github.com/stepupauth/stepup/verify"
)

// Chooser picks the requirement of a request once its token has verified
// (httpmw.RequireFunc, grpcmw.Rule.Choose). The transport binds the request
// in a closure.
type Chooser func(c *claims.Claims) (claims.Requirement, error)

// Sender is how the request presented its token, for the sender-constraint
// checks (RFC 9449 DPoP, RFC 8705 certificate-bound tokens).
type Sender struct {
	// DPoP: the token came with the DPoP scheme (read only when the
	// transport accepts DPoP).
	DPoP bool
	// Proof verifies the request's DPoP proof for the token and returns the
	// JWK thumbprint of its key; its error is the refusal as the client
	// must get it (a *claims.Error of the DPoP scheme, or an outage). Nil
	// when the transport accepts no DPoP.
	Proof func(ctx context.Context, token string) (jkt string, err error)
	// Cert returns the thumbprint of the client certificate of the
	// request From (ok false when there is none). Nil when the transport
	// has no certificate source. It is called only for a certificate-bound
	// token; a transport sets it to a function made once, and From to the
	// request (an *http.Request, a context.Context), so that building a
	// Sender costs no allocation.
	Cert func(from any) (x5t string, ok bool, err error)
	// From is the request Cert reads.
	From any
}

// Causes of the sender-constraint refusals, all invalid_token.
var (
	errCnf          = errors.New("the token's cnf claim is unreadable")
	errCnfMethod    = errors.New("the token is bound by a confirmation method this server cannot check")
	errNotDPoPBound = errors.New("a token that is not DPoP-bound was presented with the DPoP scheme")
	errBearerBound  = errors.New("a DPoP-bound token was presented with the Bearer scheme")
	errKeyBinding   = errors.New("the DPoP proof's key is not the one the token is bound to")
	errNoCert       = errors.New("a certificate-bound token came without a client certificate")
	errCertBinding  = errors.New("the client certificate is not the one the token is bound to")
)

// Decide authorizes the token raw, presented as sender says, against req,
// or against what choose returns when choose is not nil.
//
// tokenErr is the transport's failure to extract a token (two Authorization
// headers, malformed credentials): it is answered invalid_request unless it
// already is a *claims.Error. An empty raw is claims.MissingToken(). The
// token is verified first; then its binding (a DPoP-bound token needs the
// DPoP scheme and a proof by its key, a certificate-bound one its client
// certificate, and a token bound by any other method is refused); then,
// with a chooser, choose runs with the verified claims and its requirement
// is validated; then the requirement is evaluated. An error from choose is
// returned as it is (Outcome classifies it), an invalid chosen requirement
// is a server fault. A refusal of a request that used the DPoP scheme has a
// DPoP challenge.
//
// The claims are returned with a nil error when the request is allowed; on
// an unmet requirement they are returned too, with the *claims.Error.
//
// A panic in the decision (a chooser's, a Requirement.Check's) fails
// closed as an Internal error instead of taking the server down, and a
// chooser's error that is a nil *claims.Error is Internal too.
func Decide(ctx context.Context, v *verify.Verifier, raw string, tokenErr error, sender Sender, req claims.Requirement, choose Chooser) (c *claims.Claims, err error) {
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
	if raw == "" {
		return nil, claims.MissingToken()
	}
	c, err = v.Verify(ctx, raw)
	if err != nil {
		return nil, sender.scheme(err)
	}
	if err := sender.bind(ctx, c, raw); err != nil {
		return nil, sender.scheme(err)
	}
	chosen := req
	if choose != nil {
		chosen, err = choose(c)
		if err != nil {
			return nil, sender.scheme(Normalize(err))
		}
		if err := chosen.Validate(); err != nil {
			return nil, fmt.Errorf("chosen requirement is invalid: %w", err)
		}
	}
	if err := v.Evaluate(c, chosen); err != nil {
		return c, sender.scheme(err)
	}
	return c, nil
}

// bind checks that c's token came the way it is bound to come.
func (s Sender) bind(ctx context.Context, c *claims.Claims, raw string) error {
	conf, err := cnf.Parse(c.Confirmation)
	switch {
	case slices.Contains(c.Malformed, "cnf"):
		// cnf of another JSON type: a binding nobody can read.
		return claims.InvalidToken(errCnf)
	case err != nil:
		return claims.InvalidToken(errors.Join(errCnf, err))
	case conf.Other:
		return claims.InvalidToken(errCnfMethod)
	}
	switch {
	case s.DPoP && conf.JKT == "":
		return claims.InvalidToken(errNotDPoPBound)
	case s.DPoP:
		if s.Proof == nil {
			return claims.InvalidToken(errNotDPoPBound)
		}
		jkt, err := s.Proof(ctx, raw)
		if err != nil {
			return err
		}
		if jkt != conf.JKT {
			return claims.InvalidToken(errKeyBinding)
		}
	case conf.JKT != "":
		e := claims.InvalidToken(errBearerBound)
		e.Scheme = "DPoP" // the client must come back with DPoP
		return e
	}
	if conf.X5T != "" {
		if s.Cert == nil {
			return claims.InvalidToken(errNoCert)
		}
		x5t, ok, err := s.Cert(s.From)
		switch {
		case err != nil:
			return claims.InvalidToken(errors.Join(errNoCert, err))
		case !ok:
			return claims.InvalidToken(errNoCert)
		case x5t != conf.X5T:
			return claims.InvalidToken(errCertBinding)
		}
	}
	return nil
}

// scheme gives a refusal of a DPoP request the DPoP scheme.
func (s Sender) scheme(err error) error {
	ce, ok := err.(*claims.Error)
	if !ok || ce == nil || !s.DPoP || ce.Scheme != "" {
		return err
	}
	cp := *ce
	cp.Scheme = "DPoP"
	return &cp
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

// Expired is the refusal of a stream that outlived the token c authorized
// it with: invalid_token with cause, in the DPoP scheme when the token is
// DPoP-bound (it came with that scheme, and the client must come back with
// it), as every transport answers it.
func Expired(c *claims.Claims, cause error) *claims.Error {
	e := claims.InvalidToken(cause)
	if conf, err := cnf.Parse(c.Confirmation); err == nil && conf.JKT != "" {
		e.Scheme = "DPoP"
	}
	return e
}
