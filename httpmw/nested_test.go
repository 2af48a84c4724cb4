package httpmw_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stepupauth/stepup/claims"
)

// TestNestedGuardsReportOuter: each Guard reports each request it
// decided on exactly once. The allowed-request context key is shared by
// every Guard, so when an inner Guard (another verifier or hook set, or
// an in-process sub-request) refuses a request the outer Guard allowed,
// the inner Reject marks the outer decision refused and the outer Guard's
// hooks never hear of the request at all.
func TestNestedGuardsReportOuter(t *testing.T) {
	is := newIssuer(t)
	var outer, inner reportLog
	a := newGuard(t, is.verifier(t), outer.hook())
	b := newGuard(t, is.verifier(t), inner.hook())
	h := a.Require(claims.Requirement{},
		b.Require(claims.Requirement{Scopes: []string{"admin"}}, okHandler()))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+is.mint(t, nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status: got %d, want 403", rec.Code)
	}
	if got := inner.String(); got != "insufficient_scope" {
		t.Errorf("inner guard reports: got %q, want one refusal", got)
	}
	if n := outer.len(); n != 1 {
		t.Errorf("outer guard reports: got %d (%q), want 1: the request it decided on went unreported", n, outer.String())
	}
}
