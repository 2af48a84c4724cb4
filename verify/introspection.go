package verify

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
)

// Introspector turns an opaque access token into its claims by asking the
// authorization server (RFC 7662), as *introspect.Client does. Introspect
// returns the claims of an active token; a refused token as a
// *claims.Error (invalid_token), whose cause an *introspect.Error may
// name; an outage as an error wrapping claims.ErrUnavailable; a context
// that ended as an error wrapping its error. It must be safe for concurrent
// use.
type Introspector interface {
	Introspect(ctx context.Context, token string) (*claims.Claims, error)
}

// isJWS reports whether raw has the form of a JWS compact serialization:
// three parts, two dots (RFC 7515 §7.1). A JWE has five parts and is not
// one; opaque tokens rarely have two dots, and when they do they fail as
// malformed JWTs instead of reaching the network (set IntrospectJWTs to
// introspect every token).
func isJWS(raw string) bool { return strings.Count(raw, ".") == 2 }

// introspects reports whether raw goes to the Introspector.
func (v *Verifier) introspects(raw string) bool {
	return v.introspector != nil && (v.introspectJWTs || !isJWS(raw))
}

// introspect verifies an opaque token with the Introspector, after the
// size cap, and reports it to the observer like a JWT.
func (v *Verifier) introspect(ctx context.Context, raw string) (*claims.Claims, error) {
	var start time.Time
	if v.observed != nil {
		start = time.Now()
	}
	c, err := v.introspectToken(ctx, raw)
	if v.observed != nil {
		v.observed(introspectionReason(err), time.Since(start))
	}
	return c, err
}

func (v *Verifier) introspectToken(ctx context.Context, raw string) (*claims.Claims, error) {
	if len(raw) > v.maxSize {
		return nil, claims.InvalidToken(&TokenError{Reason: ReasonTooLarge, Err: errTooLarge, v: v})
	}
	c, err := v.introspector.Introspect(ctx, raw)
	if err == nil && c == nil {
		err = errors.New("verify: the introspector returned no claims")
	}
	if err != nil {
		var ce *claims.Error
		if errors.As(err, &ce) && ce != nil && !errors.Is(err, claims.ErrUnavailable) {
			// One way to ask why a token failed: a *TokenError, as for
			// JWTs, around the introspector's cause.
			return nil, claims.InvalidToken(&TokenError{Reason: introspectionReason(err), Err: ce.Err, v: v})
		}
		return nil, err
	}
	return c, nil
}

// introspectionReason is the Reason an introspection result is reported
// under: the introspector's own reason when it is one of Reasons (the
// introspect package uses their names), ReasonInactive for any other
// refusal.
func introspectionReason(err error) Reason {
	switch {
	case err == nil:
		return ReasonNone
	case errors.Is(err, claims.ErrUnavailable):
		return ReasonUnavailable
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return ReasonCanceled
	}
	var ie *introspect.Error
	if errors.As(err, &ie) {
		if rs := Reason(ie.Reason); slices.Contains(Reasons(), rs) {
			return rs
		}
	}
	return ReasonInactive
}
