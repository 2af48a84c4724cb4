package httpmw_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// TestTypedNilClaimsErrorToHooks: a RequireFunc choose that returns
// a nil *claims.Error as its error is answered 500, but the decision hooks
// get the typed nil: errors.As(err, &ce) succeeds with ce == nil and the
// usual hook (ce.Code) panics; net/http then aborts the connection instead
// of answering 500. The hooks should get a plain internal error.
func TestTypedNilClaimsErrorToHooks(t *testing.T) {
	is := newIssuer(t)
	var reports, nilErrors int
	g := newGuard(t, is.verifier(t), httpmw.WithDecisionHook(func(_ *http.Request, err error) {
		reports++
		var ce *claims.Error
		if errors.As(err, &ce) && ce == nil {
			nilErrors++
		}
	}))
	h := g.RequireFunc(func(*http.Request, *claims.Claims) (claims.Requirement, error) {
		var none *claims.Error
		return claims.Requirement{}, none
	}, okHandler())
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+is.mint(t, nil))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status: got %d, want 500", rec.Code)
	}
	if reports != 1 || nilErrors != 0 {
		t.Errorf("hooks: %d reports, %d of them a nil *claims.Error; want 1 report whose error is not a nil *claims.Error", reports, nilErrors)
	}
}
