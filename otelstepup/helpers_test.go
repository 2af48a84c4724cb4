package otelstepup_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/stepupauth/stepup/otelstepup"
)

// newTracer returns a Tracer on a fresh SDK provider whose ended spans sr
// records, and that provider.
func newTracer(t *testing.T) (*otelstepup.Tracer, *sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr, err := otelstepup.New(tp)
	if err != nil {
		t.Fatal(err)
	}
	return tr, tp, sr
}

// serverSpan wraps h in a server span named "server", as otelhttp would.
func serverSpan(tp trace.TracerProvider, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tp.Tracer("test").Start(r.Context(), "server", trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// attrs returns kvs as a map of their values, printed.
func attrs(kvs []attribute.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

// spansNamed returns the ended spans of sr named name.
func spansNamed(sr *tracetest.SpanRecorder, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// assertNoSecret fails when marker appears in any span name, attribute,
// event, link or status description that sr recorded.
func assertNoSecret(t *testing.T, sr *tracetest.SpanRecorder, marker string) {
	t.Helper()
	check := func(where string, kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			if strings.Contains(kv.Value.String(), marker) || strings.Contains(string(kv.Key), marker) {
				t.Errorf("%s: attribute %s = %q holds the marker", where, kv.Key, kv.Value.String())
			}
		}
	}
	spans := sr.Ended()
	if len(spans) == 0 {
		t.Fatal("no spans recorded")
	}
	for _, s := range spans {
		if strings.Contains(s.Name(), marker) || strings.Contains(s.Status().Description, marker) {
			t.Errorf("span %q (status %q) holds the marker", s.Name(), s.Status().Description)
		}
		check("span "+s.Name(), s.Attributes())
		for _, e := range s.Events() {
			if strings.Contains(e.Name, marker) {
				t.Errorf("event %q holds the marker", e.Name)
			}
			check("event "+e.Name, e.Attributes)
		}
	}
}
