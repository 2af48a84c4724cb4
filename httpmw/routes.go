package httpmw

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/requirement"
)

// Route is one entry of a route table: a net/http ServeMux pattern (Go 1.22
// syntax, such as "POST /transfer" or "GET /admin/"), what it demands and the
// handler that serves it.
type Route struct {
	// Pattern is the ServeMux pattern (Mux), or the rule's name in the
	// labels of the decision hooks, logs and metrics (Route, for another
	// router).
	Pattern string
	// Public routes need no token; their Requirement must be zero. A token
	// sent to a public route is not looked at.
	Public bool
	// Requirement is what a token must meet; the zero Requirement accepts
	// any valid token.
	Requirement claims.Requirement
	// Handler serves the requests that pass.
	Handler http.Handler
}

// RouteError reports a bad entry of a route table.
type RouteError struct {
	// Pattern is the Pattern of the bad route, as given.
	Pattern string
	// Err is what is wrong with it: a plain error describing the problem
	// (empty, duplicate or conflicting pattern, no handler, public route
	// with a requirement) or one wrapping the error of
	// claims.Requirement.Validate.
	Err error
}

// Error implements error.
func (e *RouteError) Error() string {
	return fmt.Sprintf("httpmw: route %q: %v", e.Pattern, e.Err)
}

// Unwrap returns the cause.
func (e *RouteError) Unwrap() error { return e.Err }

// Mux returns a ServeMux that serves every route of the table, each protected
// by g as Require would, public routes as they are. A request that matches
// no route gets the ServeMux's 404 (or 405): an unlisted path is never served.
//
// Unlike Require, Mux reports bad configuration as an error instead of
// panicking, which suits tables read from a policy file: an empty, invalid or
// conflicting pattern, the same pattern twice, a missing handler, an invalid
// requirement, or a public route with a requirement. The error joins one
// *RouteError per bad route (find the first with errors.As). The returned
// ServeMux may be extended with more handlers.
func (g *Guard) Mux(routes []Route) (*http.ServeMux, error) {
	mux := http.NewServeMux()
	var errs []error
	seen := make(map[string]bool, len(routes))
	for _, rt := range routes {
		if err := g.handle(mux, rt, seen); err != nil {
			errs = append(errs, &RouteError{Pattern: rt.Pattern, Err: err})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return mux, nil
}

func (g *Guard) handle(mux *http.ServeMux, rt Route, seen map[string]bool) (err error) {
	if seen[rt.Pattern] && rt.Pattern != "" {
		return errors.New("duplicate pattern")
	}
	h, err := g.routeHandler(rt)
	if err != nil {
		return err
	}
	seen[rt.Pattern] = true
	// ServeMux.Handle panics on an invalid or conflicting pattern; turn
	// that into an error.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.Handle(rt.Pattern, h)
	return nil
}

// Route returns the handler Mux would register for rt, for any router
// that mounts an http.Handler (chi, gorilla/mux, echo.WrapHandler,
// gin.WrapH): rt.Handler protected by rt.Requirement, or served as it is for
// a public route. rt.Pattern names the rule, as Named does: the decision
// hooks, the logs and package metrics label the requests of a protected
// route by the rule they were decided by rather than as "unmatched" or by
// the pattern of a ServeMux the router is mounted under. The same
// configuration errors as Mux are reported, as a *RouteError.
func (g *Guard) Route(rt Route) (http.Handler, error) {
	h, err := g.routeHandler(rt)
	if err != nil {
		return nil, &RouteError{Pattern: rt.Pattern, Err: err}
	}
	if rt.Public {
		return h, nil
	}
	return Named(rt.Pattern, h), nil
}

// Named returns a handler that passes every request to h with name as its
// Pattern, the label the decision hooks (WithDecisionHook), the logger
// (WithLogger), package metrics and otelstepup read: so that the decisions
// of RequireFunc, and the refusals a handler that calls Check gives to
// Reject, are labelled by the rule they were decided by. Wrap the guarded
// handler, or the handler that calls Check and Reject:
//
//	r.Post("/transfers/{id}", httpmw.Named("POST /transfers/{id}", guard.RequireFunc(choose, transfer)))
//
// name replaces any pattern a ServeMux the router is mounted under has set:
// the rule that decided is the better label. It comes from configuration,
// never from the request, so that label sets stay bounded; the same name on
// several routes adds up their decisions. Named changes only the Pattern
// field of a shallow copy of the request (r.PathValue is unaffected).
// Route names its handler so; Mux's ServeMux sets the pattern itself.
//
// Named panics if name is empty or h is nil, programming errors found at
// start-up. The handler is safe for concurrent use if h is.
func Named(name string, h http.Handler) http.Handler {
	if name == "" {
		panic("httpmw: Named: empty name")
	}
	if h == nil {
		panic("httpmw: Named: nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Pattern != name {
			r2 := *r // a shallow copy, as WithContext makes
			r2.Pattern = name
			r = &r2
		}
		h.ServeHTTP(w, r)
	})
}

// routeHandler checks rt and returns its handler: protected by its
// requirement, or as it is for a public route.
func (g *Guard) routeHandler(rt Route) (http.Handler, error) {
	switch {
	case rt.Pattern == "":
		return nil, errors.New("empty pattern")
	case rt.Handler == nil:
		return nil, errors.New("no handler")
	case rt.Public && !requirement.IsZero(rt.Requirement):
		return nil, errors.New("public route with a requirement")
	}
	if rt.Public {
		return rt.Handler, nil
	}
	if err := rt.Requirement.Validate(); err != nil {
		return nil, fmt.Errorf("invalid requirement: %w", err)
	}
	return g.Require(rt.Requirement, rt.Handler), nil
}
