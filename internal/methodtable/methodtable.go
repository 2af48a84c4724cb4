// Package methodtable is the method table behind grpcmw.Methods: exact
// full methods ("/pkg.Service/Method") and service wildcards
// ("/pkg.Service/*"), an exact entry beating its service's wildcard. It is
// shared by grpcmw and connectstepup, so that both transports look a
// procedure up by the same code and without the deep copy of the rule that
// grpcmw.Methods.Lookup makes for its callers.
package methodtable

import "github.com/stepupauth/stepup/internal/grammar"

// Table maps methods to rules of type R. The zero Table is empty; a Table
// is not safe for concurrent writes, and safe for concurrent Lookups once
// built.
type Table[R any] struct {
	exact   map[string]R // by full method "/pkg.Service/Method"
	service map[string]R // by "/pkg.Service", from "/pkg.Service/*"
}

// Add enters r under method, a full method or a service wildcard. ok is
// false for a malformed method name, dup true when the method (or the
// wildcard) is already there; r is entered only when ok and not dup.
func (t *Table[R]) Add(method string, r R) (ok, dup bool) {
	service, name, ok := grammar.SplitMethod(method)
	if !ok {
		return false, false
	}
	m, key := &t.exact, method
	if name == "*" {
		m, key = &t.service, service
	}
	if *m == nil {
		*m = make(map[string]R)
	}
	if _, dup := (*m)[key]; dup {
		return true, true
	}
	(*m)[key] = r
	return true, false
}

// Lookup returns the rule that governs fullMethod: its exact entry, else
// its service's wildcard. ok is false when neither exists (the call is then
// denied), and for a nil Table.
func (t *Table[R]) Lookup(fullMethod string) (r R, ok bool) {
	if t == nil {
		return r, false
	}
	if r, ok := t.exact[fullMethod]; ok {
		return r, true
	}
	service, _, ok := grammar.Split(fullMethod)
	if !ok {
		return r, false
	}
	r, ok = t.service[service]
	return r, ok
}

// of is the function grpcmw registers with SetOf.
var of any

// SetOf registers f, which returns the table of a method-table value of
// type M (grpcmw's *Methods). grpcmw calls it from its init.
func SetOf[M, R any](f func(M) *Table[R]) { of = f }

// Of returns the table of m by the function registered for M and R; ok is
// false when none is (the caller then fails closed).
func Of[M, R any](m M) (t *Table[R], ok bool) {
	f, ok := of.(func(M) *Table[R])
	if !ok {
		return nil, false
	}
	return f(m), true
}
