package otelstepup

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/stepupauth/stepup/internal/decide"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
)

// JWKSObserver returns hooks for jwks.WithObserver that record a span
// stepup.jwks.fetch per fetch attempt and a span stepup.jwks.stale per
// outage, with stepup.issuer set to issuer: a value from configuration
// (the issuer, or the JWKS URL, as the application names the source),
// never one from a token.
//
// The hooks get no context, so these spans are roots of their own traces,
// not children of a request's span (a fetch is shared by the requests
// waiting for it). A fetch span is backdated by the hook's duration: it
// ends when the fetch is reported and starts that long before.
//
// Give each Remote its own observer: the key set changes and rejected keys
// of a fetch are reported before its end and held until its FetchDone, so
// they go on the span of the next fetch of that observer to end (with two
// fetches of one Remote overlapping, possibly the other one's).
func (t *Tracer) JWKSObserver(issuer string) jwks.Observer {
	o := &jwksObserver{tracer: t.tracer, issuer: keyIssuer.String(issuer)}
	return jwks.Observer{
		FetchDone:   o.fetchDone,
		KeysChanged: o.keysChanged,
		KeyRejected: o.keyRejected,
		Stale:       o.stale,
	}
}

// jwksObserver is the per-Remote state behind a JWKSObserver: what the
// hooks of a fetch reported before FetchDone ended it.
type jwksObserver struct {
	tracer trace.Tracer
	issuer attribute.KeyValue

	mu       sync.Mutex
	changes  [][2]int // added, removed
	rejected int
}

func (o *jwksObserver) keysChanged(_ string, added, removed []string) {
	o.mu.Lock()
	o.changes = append(o.changes, [2]int{len(added), len(removed)})
	o.mu.Unlock()
}

func (o *jwksObserver) keyRejected(_, _, _ string) {
	o.mu.Lock()
	o.rejected++
	o.mu.Unlock()
}

func (o *jwksObserver) fetchDone(_ string, took time.Duration, err error) {
	end := time.Now()
	o.mu.Lock()
	changes, rejected := o.changes, o.rejected
	o.changes, o.rejected = nil, 0
	o.mu.Unlock()

	result := decide.FetchResult(err) // the result set of package metrics
	attrs := []attribute.KeyValue{o.issuer, keyResult.String(result)}
	if rejected > 0 {
		attrs = append(attrs, keyKeysRejected.Int(rejected))
	}
	_, span := o.tracer.Start(context.Background(), spanJWKSFetch,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(end.Add(-took)),
		trace.WithAttributes(attrs...))
	for _, c := range changes {
		span.AddEvent(eventKeysChanged, trace.WithTimestamp(end), trace.WithAttributes(
			keyKeysAdded.Int(c[0]), keyKeysRemoved.Int(c[1])))
	}
	if err != nil {
		span.SetStatus(codes.Error, "stepup: jwks fetch: "+result)
	}
	span.End(trace.WithTimestamp(end))
}

func (o *jwksObserver) stale(_ string, age time.Duration) {
	_, span := o.tracer.Start(context.Background(), spanJWKSStale,
		trace.WithAttributes(o.issuer, keyStaleAge.Int64(int64(age/time.Second))))
	span.SetStatus(codes.Error, "stepup: keys unavailable")
	span.End()
}

// IntrospectionObserver returns hooks for introspect.Config.Observer that
// record a span stepup.introspection per request to the introspection
// endpoint, with stepup.result set to the introspect package's result
// (active, inactive, client_auth, unavailable), backdated by its duration
// like a JWKS fetch. client_auth (our credentials refused) and unavailable
// set the span status to Error; an inactive token is the client's problem.
//
// The hook gets no context, so the span is the root of a trace of its own,
// not a child of the request's span. Cache lookups are not recorded: a hit
// makes no call and has nothing to time; count them with package metrics.
func (t *Tracer) IntrospectionObserver() introspect.Observer {
	return introspect.Observer{
		Called: func(result string, took time.Duration) {
			end := time.Now()
			_, span := t.tracer.Start(context.Background(), spanIntrospect,
				trace.WithSpanKind(trace.SpanKindClient),
				trace.WithTimestamp(end.Add(-took)),
				trace.WithAttributes(keyResult.String(result)))
			if result == "client_auth" || result == "unavailable" {
				span.SetStatus(codes.Error, "stepup: introspection: "+result)
			}
			span.End(trace.WithTimestamp(end))
		},
	}
}
