package metrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stepupauth/stepup/introspect"
)

// TestIntrospectionObserver counts introspection requests by result and
// cache lookups, never with the token in a label.
func TestIntrospectionObserver(t *testing.T) {
	m, reg := newMetrics(t)
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.PostFormValue("token") {
		case "secret-active-token":
			fmt.Fprint(w, `{"active":true,"sub":"alice"}`)
		case "down":
			http.Error(w, "down", http.StatusBadGateway)
		default:
			fmt.Fprint(w, `{"active":false}`)
		}
	}))
	t.Cleanup(as.Close)
	ic, err := introspect.New(introspect.Config{Endpoint: as.URL, ClientID: "api", ClientSecret: "x", Observer: m.IntrospectionObserver()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tok := range []string{"secret-active-token", "secret-active-token", "other", "down"} {
		_, _ = ic.Introspect(ctx, tok)
	}
	const want = `
# HELP stepup_introspection_cache_lookups_total Lookups in the introspection answer cache by result (hit, miss).
# TYPE stepup_introspection_cache_lookups_total counter
stepup_introspection_cache_lookups_total{result="hit"} 1
stepup_introspection_cache_lookups_total{result="miss"} 3
# HELP stepup_introspection_requests_total Token introspection requests (RFC 7662) by result: active, inactive, client_auth, unavailable.
# TYPE stepup_introspection_requests_total counter
stepup_introspection_requests_total{result="active"} 1
stepup_introspection_requests_total{result="client_auth"} 0
stepup_introspection_requests_total{result="inactive"} 1
stepup_introspection_requests_total{result="unavailable"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "stepup_introspection_requests_total", "stepup_introspection_cache_lookups_total"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if strings.Contains(l.GetValue(), "secret") {
					t.Errorf("%s has the token in label %s", mf.GetName(), l.GetName())
				}
			}
		}
	}
}
