package otelstepup_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
)

// nthSpans returns the ended spans of sr named name, failing unless there
// are exactly n.
func nthSpans(t *testing.T, sr *tracetest.SpanRecorder, name string, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	spans := spansNamed(sr, name)
	if len(spans) != n {
		t.Fatalf("%s spans: got %d, want %d", name, len(spans), n)
	}
	return spans
}

// checkRoot asserts that s is a root span of kind, within [from, to], with
// exactly the attributes want and the status wantErr (empty: Unset).
func checkRoot(t *testing.T, s sdktrace.ReadOnlySpan, kind trace.SpanKind, from, to time.Time, want map[string]string, wantErr string) {
	t.Helper()
	if s.Parent().IsValid() {
		t.Errorf("%s: has a parent, want a root span", s.Name())
	}
	if s.SpanKind() != kind {
		t.Errorf("%s: kind %v, want %v", s.Name(), s.SpanKind(), kind)
	}
	if s.StartTime().Before(from) || s.EndTime().After(to) || s.EndTime().Before(s.StartTime()) {
		t.Errorf("%s: [%v, %v] not within [%v, %v]", s.Name(), s.StartTime(), s.EndTime(), from, to)
	}
	if got := attrs(s.Attributes()); !maps.Equal(got, want) {
		t.Errorf("%s: attributes: got %v, want %v", s.Name(), got, want)
	}
	st := s.Status()
	switch {
	case wantErr == "" && st.Code != codes.Unset:
		t.Errorf("%s: status: got %v %q, want Unset", s.Name(), st.Code, st.Description)
	case wantErr != "" && (st.Code != codes.Error || st.Description != wantErr):
		t.Errorf("%s: status: got %v %q, want Error %q", s.Name(), st.Code, st.Description, wantErr)
	}
}

// checkEvents asserts the names and attributes of s's events.
func checkEvents(t *testing.T, s sdktrace.ReadOnlySpan, name string, want ...map[string]string) {
	t.Helper()
	evs := s.Events()
	if len(evs) != len(want) {
		t.Fatalf("%s: events: got %v, want %d %s", s.Name(), evs, len(want), name)
	}
	for i, e := range evs {
		if e.Name != name {
			t.Errorf("%s: event %d: got %q, want %q", s.Name(), i, e.Name, name)
		}
		if got := attrs(e.Attributes); !maps.Equal(got, want[i]) {
			t.Errorf("%s: event %d: got %v, want %v", s.Name(), i, got, want[i])
		}
	}
}

// TestJWKSObserver fetches a stepuptest issuer's key set through
// jwks.Discover, rotates a key, rejects one, and makes the endpoint fail.
func TestJWKSObserver(t *testing.T) {
	tr, _, sr := newTracer(t)
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256", "EdDSA"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	ctx := context.Background()

	from := time.Now()
	keys, err := jwks.Discover(ctx, iss.Issuer(), jwks.WithObserver(tr.JWKSObserver("idp")), jwks.WithCooldown(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	s := nthSpans(t, sr, "stepup.jwks.fetch", 1)[0]
	checkRoot(t, s, trace.SpanKindClient, from, time.Now(), map[string]string{"stepup.issuer": "idp", "stepup.result": "ok"}, "")
	checkEvents(t, s, "stepup.jwks.keys_changed", map[string]string{"stepup.keys_added": "2", "stepup.keys_removed": "0"})

	t.Run("rotation", func(t *testing.T) {
		old := iss.KeyID("ES256")
		if _, err := iss.Rotate("ES256"); err != nil {
			t.Fatal(err)
		}
		if err := iss.RemoveKey(old); err != nil {
			t.Fatal(err)
		}
		from := time.Now()
		if err := keys.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		s := nthSpans(t, sr, "stepup.jwks.fetch", 2)[1]
		checkRoot(t, s, trace.SpanKindClient, from, time.Now(), map[string]string{"stepup.issuer": "idp", "stepup.result": "ok"}, "")
		checkEvents(t, s, "stepup.jwks.keys_changed", map[string]string{"stepup.keys_added": "1", "stepup.keys_removed": "1"})
	})
	t.Run("rejected key", func(t *testing.T) {
		if err := iss.AddRawKey([]byte(`{"kty":"oct","kid":"sym","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}`)); err != nil {
			t.Fatal(err)
		}
		from := time.Now()
		if err := keys.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		s := nthSpans(t, sr, "stepup.jwks.fetch", 3)[2]
		checkRoot(t, s, trace.SpanKindClient, from, time.Now(),
			map[string]string{"stepup.issuer": "idp", "stepup.result": "ok", "stepup.keys_rejected": "1"}, "")
		checkEvents(t, s, "stepup.jwks.keys_changed")
	})
	n := 3
	for _, tc := range []struct {
		fault  stepuptest.Fault
		result string
	}{
		{stepuptest.Fault500, "http_status"},
		{stepuptest.FaultGarbage, "invalid_response"},
		{stepuptest.FaultDown, "network"},
	} {
		t.Run(tc.result, func(t *testing.T) {
			if err := iss.SetFaults(stepuptest.Faults{JWKS: tc.fault}); err != nil {
				t.Fatal(err)
			}
			from := time.Now()
			if err := keys.Refresh(ctx); err == nil {
				t.Fatal("Refresh: got nil error, want one")
			}
			n++
			s := nthSpans(t, sr, "stepup.jwks.fetch", n)[n-1]
			checkRoot(t, s, trace.SpanKindClient, from, time.Now(),
				map[string]string{"stepup.issuer": "idp", "stepup.result": tc.result}, "stepup: jwks fetch: "+tc.result)
			checkEvents(t, s, "stepup.jwks.keys_changed")
		})
	}
}

// TestJWKSObserverStale calls the Stale hook as a Remote does when its
// last good set has outlived the staleness bound.
func TestJWKSObserverStale(t *testing.T) {
	tr, _, sr := newTracer(t)
	obs := tr.JWKSObserver("idp")
	from := time.Now()
	obs.Stale("http://127.0.0.1:1/jwks", 25*time.Hour+time.Second/2)
	s := nthSpans(t, sr, "stepup.jwks.stale", 1)[0]
	checkRoot(t, s, trace.SpanKindInternal, from, time.Now(),
		map[string]string{"stepup.issuer": "idp", "stepup.stale_age_seconds": "90000"}, "stepup: keys unavailable")
}

// TestJWKSObserverDuration: the span lasts what the hook reports.
func TestJWKSObserverDuration(t *testing.T) {
	tr, _, sr := newTracer(t)
	tr.JWKSObserver("idp").FetchDone("http://127.0.0.1:1/jwks", 1500*time.Millisecond, nil)
	s := nthSpans(t, sr, "stepup.jwks.fetch", 1)[0]
	if got := s.EndTime().Sub(s.StartTime()); got != 1500*time.Millisecond {
		t.Errorf("duration: got %v, want 1.5s", got)
	}
}

// TestIntrospectionObserver calls an introspection endpoint on httptest
// and reads a span per call, none for a cache hit.
func TestIntrospectionObserver(t *testing.T) {
	tr, _, sr := newTracer(t)
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, _ := r.BasicAuth(); pw != "right" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.PostFormValue("token") {
		case "active-" + marker:
			fmt.Fprintf(w, `{"active":true,"sub":%q,"exp":%d}`, marker, time.Now().Add(time.Hour).Unix())
		case "down-" + marker:
			http.Error(w, "down", http.StatusBadGateway)
		default:
			fmt.Fprint(w, `{"active":false}`)
		}
	}))
	t.Cleanup(as.Close)
	newClient := func(secret string) *introspect.Client {
		c, err := introspect.New(introspect.Config{Endpoint: as.URL, ClientID: "api", ClientSecret: secret, Observer: tr.IntrospectionObserver()})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	good, bad := newClient("right"), newClient("wrong")
	ctx := context.Background()
	n := 0
	for _, tc := range []struct {
		name, token string
		client      *introspect.Client
		result      string // "": no call (cache hit)
		wantErr     string
	}{
		{"active", "active-" + marker, good, "active", ""},
		{"cache hit", "active-" + marker, good, "", ""},
		{"inactive", "other-" + marker, good, "inactive", ""},
		{"unavailable", "down-" + marker, good, "unavailable", "stepup: introspection: unavailable"},
		{"client_auth", "active-" + marker, bad, "client_auth", "stepup: introspection: client_auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from := time.Now()
			_, _ = tc.client.Introspect(ctx, tc.token)
			if tc.result == "" {
				nthSpans(t, sr, "stepup.introspection", n)
				return
			}
			n++
			s := nthSpans(t, sr, "stepup.introspection", n)[n-1]
			checkRoot(t, s, trace.SpanKindClient, from, time.Now(), map[string]string{"stepup.result": tc.result}, tc.wantErr)
		})
	}
	assertNoSecret(t, sr, marker)
}
