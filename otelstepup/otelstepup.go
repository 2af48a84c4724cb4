package otelstepup

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/stepupauth/stepup/internal/decide"
	"github.com/stepupauth/stepup/verify"
)

// ScopeName is the instrumentation scope of the tracer this package asks
// the TracerProvider for.
const ScopeName = "github.com/stepupauth/stepup/otelstepup"

// Names of the spans and events (see the package documentation).
const (
	eventDecision    = "stepup.decision"
	spanJWKSFetch    = "stepup.jwks.fetch"
	eventKeysChanged = "stepup.jwks.keys_changed"
	spanJWKSStale    = "stepup.jwks.stale"
	spanIntrospect   = "stepup.introspection"
)

// Attribute keys (see the package documentation).
const (
	keyRule         = attribute.Key("stepup.rule")
	keyOutcome      = attribute.Key("stepup.outcome")
	keyReason       = attribute.Key("stepup.reason")
	keyIssuer       = attribute.Key("stepup.issuer")
	keyResult       = attribute.Key("stepup.result")
	keyKeysAdded    = attribute.Key("stepup.keys_added")
	keyKeysRemoved  = attribute.Key("stepup.keys_removed")
	keyKeysRejected = attribute.Key("stepup.keys_rejected")
	keyStaleAge     = attribute.Key("stepup.stale_age_seconds")
)

// Values of stepup.outcome and stepup.rule that are not OAuth error codes
// (the others come from internal/decide, the labels of package metrics),
// or configured rules.
const (
	outcomeAllowed = "allowed"

	ruleUnmatched = "unmatched" // HTTP: no ServeMux routed the request
	ruleUnlisted  = "unlisted"  // gRPC: the method has no rule
)

// Tracer turns the library's hooks into span events and spans. It is safe
// for concurrent use, and so are the hooks and observers it returns.
type Tracer struct {
	tracer trace.Tracer
}

// New returns a Tracer that records through tp, which must not be nil
// (pass otel.GetTracerProvider() for the global one).
func New(tp trace.TracerProvider) (*Tracer, error) {
	if tp == nil {
		return nil, errors.New("otelstepup: nil tracer provider")
	}
	return &Tracer{tracer: tp.Tracer(ScopeName)}, nil
}

// HTTPDecisionHook returns a decision hook, for httpmw.WithDecisionHook,
// that adds the event stepup.decision to the span of the request's context
// (trace.SpanFromContext(r.Context())), with stepup.rule set to r.Pattern
// ("unmatched" when no ServeMux routed the request). It does nothing when
// that span is not recording: install otelhttp (or another server span)
// outside the guard.
func (t *Tracer) HTTPDecisionHook() func(r *http.Request, err error) {
	return func(r *http.Request, err error) {
		rule := r.Pattern
		if rule == "" {
			rule = ruleUnmatched
		}
		decision(r.Context(), rule, err)
	}
}

// GRPCDecisionHook returns a decision hook, for grpcmw.WithDecisionHook,
// that adds the event stepup.decision to the span of the call's context,
// with stepup.rule set to the rule from the method table ("unlisted" for
// a method without a rule, whose refusal has the outcome "unlisted"). It
// does nothing when that span is not recording: install otelgrpc's server
// handler (or another server span) outside the interceptors.
func (t *Tracer) GRPCDecisionHook() func(ctx context.Context, rule string, err error) {
	return func(ctx context.Context, rule string, err error) {
		if rule == "" {
			rule = ruleUnlisted
			if errors.Is(err, decide.ErrUnlisted) { // grpcmw.ErrUnlistedMethod
				if span := trace.SpanFromContext(ctx); span.IsRecording() {
					span.AddEvent(eventDecision, trace.WithAttributes(
						keyRule.String(rule), keyOutcome.String(decide.CodeUnlisted)))
				}
				return
			}
		}
		decision(ctx, rule, err)
	}
}

// decision records the decision err (nil: allowed) under rule on the span
// of ctx.
func decision(ctx context.Context, rule string, err error) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	outcome, serverFault := outcomeOf(ctx, err)
	attrs := []attribute.KeyValue{keyRule.String(rule), keyOutcome.String(outcome)}
	var te *verify.TokenError
	if err != nil && errors.As(err, &te) && te != nil {
		// Reason is from verify's fixed set, never the token's content.
		attrs = append(attrs, keyReason.String(string(te.Reason)))
	}
	span.AddEvent(eventDecision, trace.WithAttributes(attrs...))
	if serverFault {
		// Fixed text: the error itself may hold a chooser's message.
		span.SetStatus(codes.Error, "stepup: "+outcome)
	}
}

// outcomeOf is the stepup.outcome of the decision err on a request whose
// context is ctx, and whether it is the server's fault (unavailable or
// internal): the classification of the library's transports and package
// metrics (internal/decide).
func outcomeOf(ctx context.Context, err error) (outcome string, serverFault bool) {
	if err == nil {
		return outcomeAllowed, false
	}
	k, ce := decide.Outcome(ctx, err)
	return decide.Code(k, ce), k == decide.Unavailable || k == decide.Internal
}
