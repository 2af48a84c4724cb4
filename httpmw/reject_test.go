package httpmw_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// TestRejectInHandler: a handler behind Require that refuses the request
// itself with Reject gets the exact answer the guard gives, and the request
// is reported once, as refused: to the decision hooks and in the logs.
func TestRejectInHandler(t *testing.T) {
	is := newIssuer(t)
	var order []string
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := newGuard(t, is.verifier(t), httpmw.WithRealm(testRealm), httpmw.WithLogger(l),
		httpmw.WithDecisionHook(func(r *http.Request, err error) {
			if err == nil {
				order = append(order, "allowed "+r.Pattern)
				return
			}
			var ce *claims.Error
			errors.As(err, &ce)
			order = append(order, "refused "+r.Pattern+" "+string(ce.Code))
		}))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		order = append(order, "handler")
		if r.URL.Query().Get("frozen") != "" {
			g.Reject(w, r, &claims.Error{Code: claims.CodeInsufficientScope, Description: "the account is frozen", Scope: []string{"bank:unfreeze"}})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux, err := g.Mux([]httpmw.Route{{Pattern: "POST /transfer", Handler: handler}})
	if err != nil {
		t.Fatal(err)
	}
	send := func(target string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", target, nil)
		r.Header.Set("Authorization", "Bearer "+is.mint(t, nil))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		return rec
	}

	rec := send("/transfer?frozen=1")
	if rec.Code != http.StatusForbidden {
		t.Errorf("status: got %d, want 403", rec.Code)
	}
	if got, want := rec.Header().Get("WWW-Authenticate"), `Bearer realm="`+testRealm+`", error="insufficient_scope", error_description="the account is frozen", scope="bank:unfreeze"`; got != want {
		t.Errorf("WWW-Authenticate:\ngot  %s\nwant %s", got, want)
	}
	if got, want := strings.TrimSpace(rec.Body.String()), `{"error":"insufficient_scope","error_description":"the account is frozen","scope":"bank:unfreeze"}`; got != want {
		t.Errorf("body: got %s, want %s", got, want)
	}
	if got, want := strings.Join(order, "|"), "handler|refused POST /transfer insufficient_scope"; got != want {
		t.Errorf("reports: got %q, want %q (one report, after the handler ran)", got, want)
	}
	if logs := buf.String(); strings.Contains(logs, "request allowed") || !strings.Contains(logs, `msg="httpmw: request refused" method=POST route="POST /transfer" status=403 code=insufficient_scope`) {
		t.Errorf("logs: want one refusal and no allowed line:\n%s", logs)
	}

	order = nil
	buf.Reset()
	if rec := send("/transfer"); rec.Code != http.StatusNoContent {
		t.Errorf("allowed request: got %d, want 204", rec.Code)
	}
	if got, want := strings.Join(order, "|"), "handler|allowed POST /transfer"; got != want {
		t.Errorf("reports: got %q, want %q (allowed is reported once the handler returns)", got, want)
	}
	if logs := buf.String(); !strings.Contains(logs, `msg="httpmw: request allowed" method=POST route="POST /transfer" status=204`) {
		t.Errorf("logs: want the allowed line with the handler's status:\n%s", logs)
	}
}

// TestRejectNil: Reject with a nil error is a server fault, reported as a
// refusal: never an allowed request.
func TestRejectNil(t *testing.T) {
	var reported []error
	g := newGuard(t, newIssuer(t).verifier(t), httpmw.WithDecisionHook(func(_ *http.Request, err error) { reported = append(reported, err) }))
	rec := httptest.NewRecorder()
	g.Reject(rec, httptest.NewRequest("GET", "/", nil), nil)
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("Reject(nil): got %d with challenge %q, want 500 without one", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	if len(reported) != 1 || reported[0] == nil {
		t.Errorf("reports: got %v, want one non-nil error", reported)
	}
}
