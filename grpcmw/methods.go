package grpcmw

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/grammar"
	"github.com/stepupauth/stepup/internal/methodtable"
	"github.com/stepupauth/stepup/internal/requirement"
)

// Rule is one entry of a method table: what a gRPC method, or every method
// of a service, demands of the caller.
type Rule struct {
	// Method is a full method name, "/package.Service/Method", or a service
	// wildcard, "/package.Service/*". An exact entry beats the wildcard of
	// its service.
	Method string
	// Requirement is what a verified token must satisfy. The zero
	// Requirement accepts any valid token.
	Requirement claims.Requirement
	// Public methods need no token: the interceptors let the call through
	// without looking at the authorization metadata, and the handler's
	// context carries no claims. A public rule must have a zero Requirement
	// and no Choose.
	Public bool
	// Choose, when set, chooses the requirement of each call once its
	// token has verified, as httpmw.RequireFunc does over HTTP ("transfers
	// above 1,000 need a hardware key"): ctx is the call's context, already
	// carrying the claims, c the verified claims, fullMethod the method
	// called (client-supplied under a wildcard: match it, do not log it)
	// and req the request message of a unary call (nil for a stream,
	// whose messages come later). The chosen requirement is validated and
	// evaluated; Requirement must then be zero. An error from Choose fails
	// closed: a *claims.Error is answered as that rejection (return
	// claims.InvalidRequest(err) for a malformed request), an error
	// matching claims.ErrUnavailable is Unavailable, any other error, and
	// an invalid chosen requirement, Internal without details. Choose must
	// be safe for concurrent use.
	Choose func(ctx context.Context, c *claims.Claims, fullMethod string, req any) (claims.Requirement, error)
}

// Methods is a validated per-method requirement table. A method with no
// entry, exact or wildcard, is denied. Methods is immutable once built and
// safe for concurrent use.
type Methods struct {
	t methodtable.Table[Rule]
}

// connectstepup looks rules up in a *Methods by the same code as the
// interceptors, without Lookup's copy.
func init() {
	methodtable.SetOf(func(m *Methods) *methodtable.Table[Rule] {
		if m == nil {
			return nil
		}
		return &m.t
	})
}

// Errors a RuleError wraps, to be tested with errors.Is.
var (
	// ErrBadMethod: Method is not "/package.Service/Method" or
	// "/package.Service/*" with identifier syntax.
	ErrBadMethod = errors.New("grpcmw: bad method name")
	// ErrDuplicateMethod: two rules name the same method or wildcard.
	ErrDuplicateMethod = errors.New("grpcmw: duplicate method")
	// ErrPublicRequirement: a public rule also carries a requirement or a
	// Choose.
	ErrPublicRequirement = errors.New("grpcmw: public method with a requirement")
	// ErrChooseRequirement: a rule has both a Requirement and a Choose.
	ErrChooseRequirement = errors.New("grpcmw: rule with both a requirement and a choose function")
)

// RuleError reports a rule NewMethods rejected.
type RuleError struct {
	Index  int    // position of the rule in the argument list
	Method string // the rule's Method, as given
	// Err is the cause: ErrBadMethod, ErrDuplicateMethod,
	// ErrPublicRequirement, ErrChooseRequirement, or the error of
	// claims.Requirement.Validate.
	Err error
}

// Error returns "grpcmw: rule N ("method"): " and the cause.
func (e *RuleError) Error() string {
	cause := "<nil>"
	if e.Err != nil {
		cause = strings.TrimPrefix(e.Err.Error(), "grpcmw: ")
	}
	return fmt.Sprintf("grpcmw: rule %d (%q): %s", e.Index, e.Method, cause)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *RuleError) Unwrap() error { return e.Err }

// NewMethods validates rules and builds the method table. It returns a
// *RuleError for the first bad rule: a malformed method name, a duplicate,
// a public rule with a requirement or a Choose, a rule with both a
// Requirement and a Choose, or a requirement that
// claims.Requirement.Validate rejects. The table keeps its own deep copy of
// every rule: changing the slices of a Requirement afterwards changes
// nothing.
func NewMethods(rules ...Rule) (*Methods, error) {
	m := new(Methods)
	for i, r := range rules {
		if _, _, ok := grammar.SplitMethod(r.Method); !ok {
			return nil, &RuleError{Index: i, Method: r.Method, Err: ErrBadMethod}
		}
		if r.Public && (!requirement.IsZero(r.Requirement) || r.Choose != nil) {
			return nil, &RuleError{Index: i, Method: r.Method, Err: ErrPublicRequirement}
		}
		if r.Choose != nil && !requirement.IsZero(r.Requirement) {
			return nil, &RuleError{Index: i, Method: r.Method, Err: ErrChooseRequirement}
		}
		if !r.Public {
			if err := r.Requirement.Validate(); err != nil {
				return nil, &RuleError{Index: i, Method: r.Method, Err: err}
			}
		}
		r.Requirement = requirement.Clone(r.Requirement)
		if _, dup := m.t.Add(r.Method, r); dup {
			return nil, &RuleError{Index: i, Method: r.Method, Err: ErrDuplicateMethod}
		}
	}
	return m, nil
}

// Lookup returns the rule that governs fullMethod ("/pkg.Service/Method",
// as in grpc.UnaryServerInfo.FullMethod): its exact entry, else its
// service's wildcard. ok is false when neither exists; the interceptors then
// deny the call. It is for tools and tests that explain a table; the
// interceptors hand the governing rule's Method to the hooks themselves.
// The returned rule is a copy: changing it does not change the table.
func (m *Methods) Lookup(fullMethod string) (r Rule, ok bool) {
	r, ok = m.lookup(fullMethod)
	if ok {
		r.Requirement = requirement.Clone(r.Requirement)
	}
	return r, ok
}

// lookup is Lookup without the copy, for the interceptors, which only read
// the rule.
func (m *Methods) lookup(fullMethod string) (r Rule, ok bool) {
	if m == nil {
		return Rule{}, false
	}
	return m.t.Lookup(fullMethod)
}
