package httpmw_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// TestNamed: Named labels the decisions of RequireFunc and the refusals a
// Check handler gives to Reject, in the hooks and the logs, on a router
// that sets no pattern and under a ServeMux whose mount pattern it
// replaces; path values and the request seen by the handler are intact.
func TestNamed(t *testing.T) {
	is := newIssuer(t)
	var labels []string
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := newGuard(t, is.verifier(t),
		httpmw.WithDecisionHook(func(r *http.Request, _ error) { labels = append(labels, r.Pattern) }),
		httpmw.WithLogger(logger))
	needMFA := claims.Requirement{ACR: []string{mfa}}
	var seen string
	chosen := httpmw.Named("POST /transfers/{id}", g.RequireFunc(
		func(*http.Request, *claims.Claims) (claims.Requirement, error) { return needMFA, nil },
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = r.PathValue("id") + " " + r.Pattern
		})))
	checked := httpmw.Named("GET /reports", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := g.Check(r, needMFA); err != nil {
			g.Reject(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux := http.NewServeMux()
	mux.Handle("POST /api/transfers/{id}", http.StripPrefix("/api", chosen))
	mux.Handle("/", checked)

	pwd := is.mint(t, map[string]any{"acr": "urn:example:pwd"})
	good := is.mint(t, nil)
	tests := []struct {
		name      string
		h         http.Handler
		method    string
		path      string
		token     string
		status    int
		label     string
		handlerOK string // what the handler saw, when it ran
	}{
		{"RequireFunc refused, no router pattern", chosen, "POST", "/transfers/7", pwd, 401, "POST /transfers/{id}", ""},
		{"RequireFunc refused under a ServeMux", mux, "POST", "/api/transfers/7", pwd, 401, "POST /transfers/{id}", ""},
		{"RequireFunc allowed under a ServeMux", mux, "POST", "/api/transfers/7", good, 200, "POST /transfers/{id}", "7 POST /transfers/{id}"},
		{"Check refused by Reject", checked, "GET", "/reports", pwd, 401, "GET /reports", ""},
		{"Check refused under a ServeMux", mux, "GET", "/reports", "", 401, "GET /reports", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labels, seen = nil, ""
			logs.Reset()
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.token != "" {
				r.Header.Set("Authorization", "Bearer "+tt.token)
			}
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, r)
			if rec.Code != tt.status {
				t.Errorf("status: got %d, want %d", rec.Code, tt.status)
			}
			if len(labels) != 1 || labels[0] != tt.label {
				t.Errorf("hook labels: got %q, want one %q", labels, tt.label)
			}
			if want := "route=\"" + tt.label + "\""; !strings.Contains(logs.String(), want) {
				t.Errorf("log: got %q, want it to contain %s", logs.String(), want)
			}
			if seen != tt.handlerOK {
				t.Errorf("handler saw %q, want %q", seen, tt.handlerOK)
			}
		})
	}
}

func TestNamedPanics(t *testing.T) {
	for _, tt := range []struct {
		name string
		h    http.Handler
	}{{"", okHandler()}, {"GET /x", nil}} {
		func() {
			defer func() {
				if p := recover(); p == nil || !strings.HasPrefix(p.(string), "httpmw: Named: ") {
					t.Errorf("Named(%q, %v): got panic %v, want an httpmw: Named panic", tt.name, tt.h, p)
				}
			}()
			httpmw.Named(tt.name, tt.h)
		}()
	}
}

// Named must not change the caller's request: a router that keeps using
// its *http.Request after the handler returns sees its own Pattern.
func TestNamedCopies(t *testing.T) {
	r := httptest.NewRequest("GET", "/x", nil)
	r.Pattern = "/"
	var got string
	httpmw.Named("GET /x", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.Pattern })).ServeHTTP(httptest.NewRecorder(), r)
	if got != "GET /x" || r.Pattern != "/" {
		t.Errorf("handler saw %q, caller's request now %q; want GET /x and / unchanged", got, r.Pattern)
	}
}
