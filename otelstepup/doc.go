// Package otelstepup records the decisions of the step-up middleware, the
// JWKS fetches and the introspection calls in OpenTelemetry traces, from
// the same hooks that package metrics turns into Prometheus series.
//
//	t, err := otelstepup.New(otel.GetTracerProvider())
//	if err != nil { ... }
//	keys, err := jwks.Discover(ctx, issuer, jwks.WithObserver(t.JWKSObserver(issuer)))
//	guard, err := httpmw.New(v, httpmw.WithDecisionHook(t.HTTPDecisionHook()))
//	http.ListenAndServe(addr, otelhttp.NewHandler(api, "api")) // the server span
//
// It is a Go module of its own, github.com/stepupauth/stepup/otelstepup,
// so that users of the library who do not trace never download
// OpenTelemetry. It depends on the OpenTelemetry API (go.opentelemetry.io/otel
// and its trace package) only; the SDK is the application's choice.
//
// # Decisions: an event on the server span
//
// HTTPDecisionHook and GRPCDecisionHook add one event, stepup.decision, to
// the span already in the request's context (trace.SpanFromContext), the
// server span that otelhttp or otelgrpc started. They start no span: the
// decision is a part of the request, not a unit of work of its own, and a
// span per request on top of the server span would double the spans a
// service exports for no new timing (the verification inside is short and
// its time is the server span's). Without a recording span in the context
// the hooks do nothing.
//
// The event's attributes:
//
//   - stepup.rule: the rule that governs the request: the ServeMux pattern
//     (r.Pattern, or the rule's name from httpmw.Guard.Route or
//     httpmw.Named on another router; "unmatched" without either) on HTTP, the rule
//     of the method table on gRPC ("unlisted" for a method without one).
//     Never the raw path or the method the client sent.
//   - stepup.outcome: "allowed", or for a refusal the same code label as
//     package metrics: invalid_request, invalid_token,
//     insufficient_user_authentication, insufficient_scope,
//     insufficient_claims, invalid_dpop_proof, use_dpop_nonce, none (no
//     token: a challenge without error code), unavailable (an outage),
//     canceled (the request's own context ended), internal (any other
//     error), other (a *claims.Error with a code the library does not emit)
//     and, on gRPC only, unlisted (a method without a rule).
//   - stepup.reason: for a refusal whose cause is a *verify.TokenError,
//     its Reason (one of verify.Reasons): why the token failed.
//
// An unavailable or internal outcome also sets the span's status to Error,
// with the fixed description "stepup: unavailable" or "stepup: internal";
// a refused token is the client's problem, not a server error, and leaves
// the status alone. The refusal's error text is never recorded: it may hold
// a chooser's message.
//
// # Verification
//
// There is no VerifyObserver. verify.Observer's hooks receive no context,
// so a span made from them could not be a child of the request's span: it
// would be an orphan root, one per request, with nothing to correlate it
// to. What a trace needs from verification reaches it through the decision
// event: stepup.reason says why a token failed. For rates and latency of
// verification, and token cache hits, use package metrics.
//
// # Key sets and introspection: root spans
//
// JWKSObserver records a span stepup.jwks.fetch (kind Client) per fetch
// attempt, with stepup.issuer (the label given to JWKSObserver, from
// configuration) and stepup.result (ok, timeout, network, http_status,
// invalid_response, error: the result label of package metrics), the
// status Error on a failure, stepup.keys_rejected (a count) when keys of
// the set were skipped, and an event stepup.jwks.keys_changed with the
// counts stepup.keys_added and stepup.keys_removed when the set changed.
// When a lookup first finds the last good set too old, it records a span
// stepup.jwks.stale with stepup.issuer, stepup.stale_age_seconds and the
// status Error: the keys are unavailable.
//
// IntrospectionObserver records a span stepup.introspection (kind Client)
// per call to the introspection endpoint, with stepup.result (active,
// inactive, client_auth, unavailable); client_auth and unavailable set the
// status Error. Answers served from the cache make no call and no span.
//
// The jwks and introspect hooks receive no context either, so these spans
// are the roots of traces of their own (a JWKS fetch is shared by every
// request waiting for it in any case). Their duration is the one the hook
// reports: a span starts that long before the hook runs and ends when it
// runs.
//
// # Cardinality and secrets
//
// Every attribute value comes from configuration (rules, the issuer label),
// from a fixed set (outcomes, reasons, results) or is a count. None holds a
// token, a subject, a claim value, a kid from a token or the URL path a
// client sent, so the values are bounded by the application's own route
// table and issuers, and a trace can be shown to whoever reads traces.
//
// A Tracer is safe for concurrent use, and so are the hooks and observers
// it returns.
package otelstepup
