package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stepupauth/stepup/internal/decide"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

// Fixed values of the route and method labels.
const (
	// routeUnmatched is the route label of a request that no ServeMux
	// routed (r.Pattern is empty).
	routeUnmatched = "unmatched"
	// methodUnlisted is the method label of a gRPC call whose method has
	// no rule in the method table.
	methodUnlisted = "unlisted"
)

// Option configures New.
type Option func(*options)

type options struct {
	logger *slog.Logger
}

// WithLogger makes the JWKS observers log key-set events to l: a failed
// fetch and a rejected key at Warn, a changed key set at Info (with the
// added and removed kids, which come from the issuer's own JWKS), keys that
// became unavailable at Warn, a successful fetch at Debug, each message
// prefixed "jwks: " since it reports on the key set. Nothing logs without
// it. For request decisions use httpmw.WithLogger and
// grpcmw.WithLogger.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Metrics holds the collectors of this package, registered on one
// Registerer. It is safe for concurrent use, and so are the observers and
// hooks it returns.
type Metrics struct {
	log *slog.Logger

	mu      sync.Mutex
	issuers map[string]bool // issuer labels given to JWKSObserver

	fetches       *prometheus.CounterVec
	fetchDuration *prometheus.HistogramVec
	keys          *prometheus.GaugeVec
	lastSuccess   *prometheus.GaugeVec
	servingStale  *prometheus.GaugeVec
	unavailable   *prometheus.GaugeVec
	keysRejected  *prometheus.CounterVec

	verifications *prometheus.CounterVec
	verifyLatency *prometheus.HistogramVec
	tokenCache    *prometheus.CounterVec

	introCalls    *prometheus.CounterVec
	introDuration *prometheus.HistogramVec
	introCache    *prometheus.CounterVec

	httpRejections *prometheus.CounterVec
	grpcRejections *prometheus.CounterVec
	httpAllowed    *prometheus.CounterVec
	grpcAllowed    *prometheus.CounterVec
}

// verificationBuckets are the buckets of
// stepup_token_verification_duration_seconds: 50µs to 1s. A cache hit
// lands in the first, a signature check in the next few, a lookup that
// waits for a JWKS fetch in the last.
var verificationBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
}

// fetchBuckets are the buckets of stepup_jwks_fetch_duration_seconds:
// 5ms to 10s (the default fetch timeout).
var fetchBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// New creates the collectors and registers them on reg. It returns an
// error, and registers nothing, when reg is nil or refuses a collector
// (for example because a Metrics is already registered on it).
func New(reg prometheus.Registerer, opts ...Option) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: nil registerer")
	}
	var o options
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("metrics: nil option")
		}
		opt(&o)
	}
	m := &Metrics{
		log: o.logger,
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_jwks_fetches_total",
			Help: "JWKS fetch attempts by issuer and result.",
		}, []string{"issuer", "result"}),
		fetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stepup_jwks_fetch_duration_seconds",
			Help:    "Duration of JWKS fetch attempts.",
			Buckets: fetchBuckets,
		}, []string{"issuer"}),
		keys: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stepup_jwks_keys",
			Help: "Usable keys in the issuer's current key set.",
		}, []string{"issuer"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stepup_jwks_last_success_timestamp_seconds",
			Help: "Unix time of the last successful JWKS fetch (0: none yet).",
		}, []string{"issuer"}),
		servingStale: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stepup_jwks_serving_stale",
			Help: "1 while the last JWKS fetch failed and the last good key set is still served.",
		}, []string{"issuer"}),
		unavailable: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stepup_jwks_unavailable",
			Help: "1 while the last good key set is older than the staleness bound and no fetch succeeded since.",
		}, []string{"issuer"}),
		keysRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_jwks_keys_rejected_total",
			Help: "Keys skipped in fetched key sets (counted on every fetch that contains them).",
		}, []string{"issuer"}),
		verifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_token_verifications_total",
			Help: "Token verifications by outcome and reason.",
		}, []string{"outcome", "reason"}),
		verifyLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stepup_token_verification_duration_seconds",
			Help:    "Duration of token verifications by outcome.",
			Buckets: verificationBuckets,
		}, []string{"outcome"}),
		tokenCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_token_cache_lookups_total",
			Help: "Lookups in the verified-token cache by result (hit, miss).",
		}, []string{"result"}),
		introCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_introspection_requests_total",
			Help: "Token introspection requests (RFC 7662) by result: active, inactive, client_auth, unavailable.",
		}, []string{"result"}),
		introDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stepup_introspection_duration_seconds",
			Help:    "Duration of token introspection requests.",
			Buckets: fetchBuckets,
		}, []string{"result"}),
		introCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_introspection_cache_lookups_total",
			Help: "Lookups in the introspection answer cache by result (hit, miss).",
		}, []string{"result"}),
		httpRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_http_rejections_total",
			Help: "Refused HTTP requests by route pattern and error code.",
		}, []string{"route", "code"}),
		grpcRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_grpc_rejections_total",
			Help: "Refused gRPC calls by method rule and error code.",
		}, []string{"method", "code"}),
		httpAllowed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_http_allowed_total",
			Help: "Allowed HTTP requests by route pattern.",
		}, []string{"route"}),
		grpcAllowed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepup_grpc_allowed_total",
			Help: "Allowed gRPC calls by method rule.",
		}, []string{"method"}),
	}

	// Pre-declare the fixed series so that dashboards see zeros.
	for _, r := range verify.Reasons() {
		m.verifications.WithLabelValues(outcomeOf(r), string(r))
	}
	for _, oc := range []string{outcomeValid, outcomeInvalid, outcomeUnavailable, outcomeCanceled} {
		m.verifyLatency.WithLabelValues(oc)
	}
	m.tokenCache.WithLabelValues("hit")
	m.tokenCache.WithLabelValues("miss")
	for _, r := range []string{"active", "inactive", "client_auth", "unavailable"} {
		m.introCalls.WithLabelValues(r)
		m.introDuration.WithLabelValues(r)
	}
	m.introCache.WithLabelValues("hit")
	m.introCache.WithLabelValues("miss")

	cs := []prometheus.Collector{
		m.fetches, m.fetchDuration, m.keys, m.lastSuccess, m.servingStale,
		m.unavailable, m.keysRejected, m.verifications, m.verifyLatency,
		m.tokenCache, m.introCalls, m.introDuration, m.introCache,
		m.httpRejections, m.grpcRejections, m.httpAllowed, m.grpcAllowed,
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// The values of the outcome label, each a class of verify.Reason values.
const (
	outcomeValid       = "valid"
	outcomeInvalid     = "invalid"
	outcomeUnavailable = "unavailable"
	outcomeCanceled    = "canceled"
)

// outcomeOf is the outcome label of r: valid for verify.ReasonNone,
// unavailable for verify.ReasonUnavailable (a key outage), canceled for
// verify.ReasonCanceled (the request went away), invalid otherwise.
func outcomeOf(r verify.Reason) string {
	switch r {
	case verify.ReasonNone:
		return outcomeValid
	case verify.ReasonUnavailable:
		return outcomeUnavailable
	case verify.ReasonCanceled:
		return outcomeCanceled
	}
	return outcomeInvalid
}

// VerifyObserver returns hooks for verify.Config.Observer that feed
// stepup_token_verifications_total{outcome,reason},
// stepup_token_verification_duration_seconds{outcome} and
// stepup_token_cache_lookups_total{result}.
func (m *Metrics) VerifyObserver() verify.Observer {
	return verify.Observer{
		Verified: func(r verify.Reason, d time.Duration) {
			// The verifier reports only its fixed Reason set.
			oc := outcomeOf(r)
			m.verifications.WithLabelValues(oc, string(r)).Inc()
			m.verifyLatency.WithLabelValues(oc).Observe(d.Seconds())
		},
		TokenCache: func(hit bool) {
			if hit {
				m.tokenCache.WithLabelValues("hit").Inc()
			} else {
				m.tokenCache.WithLabelValues("miss").Inc()
			}
		},
	}
}

// IntrospectionObserver returns hooks for introspect.Config.Observer that
// feed stepup_introspection_requests_total{result},
// stepup_introspection_duration_seconds{result} and
// stepup_introspection_cache_lookups_total{result}. Results come from the
// introspect package's fixed set; no label holds the token or a claim.
func (m *Metrics) IntrospectionObserver() introspect.Observer {
	return introspect.Observer{
		Called: func(result string, took time.Duration) {
			m.introCalls.WithLabelValues(result).Inc()
			m.introDuration.WithLabelValues(result).Observe(took.Seconds())
		},
		Cache: func(hit bool) {
			if hit {
				m.introCache.WithLabelValues("hit").Inc()
			} else {
				m.introCache.WithLabelValues("miss").Inc()
			}
		},
	}
}

// JWKSObserver returns hooks for jwks.WithObserver that feed the
// stepup_jwks_* metrics under the label issuer="<issuer>". issuer is a
// label value from configuration (the issuer, or the JWKS URL, as the
// application names the source); it is never taken from a token.
//
// Give each Remote its own observer: the key count
// (stepup_jwks_keys) is the running sum of the keys each successful fetch
// added and removed, so two Remotes under one observer would add up. For
// the same reason each issuer label may be given once: a second call with
// an issuer already observed returns an error (two states would write the
// same gauges).
func (m *Metrics) JWKSObserver(issuer string) (jwks.Observer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.issuers[issuer] {
		return jwks.Observer{}, fmt.Errorf("metrics: JWKSObserver: issuer %q already has an observer", issuer)
	}
	if m.issuers == nil {
		m.issuers = make(map[string]bool)
	}
	m.issuers[issuer] = true
	s := &jwksState{m: m, issuer: issuer}
	for _, r := range []string{decide.FetchOK, decide.FetchTimeout, decide.FetchNetwork, decide.FetchHTTPStatus, decide.FetchInvalidResponse, decide.FetchFailed} {
		m.fetches.WithLabelValues(issuer, r)
	}
	s.keys = m.keys.WithLabelValues(issuer)
	s.lastSuccess = m.lastSuccess.WithLabelValues(issuer)
	s.stale = m.servingStale.WithLabelValues(issuer)
	s.unavailable = m.unavailable.WithLabelValues(issuer)
	s.rejected = m.keysRejected.WithLabelValues(issuer)
	s.duration = m.fetchDuration.WithLabelValues(issuer)
	return jwks.Observer{
		FetchDone:   s.fetchDone,
		KeysChanged: s.keysChanged,
		KeyRejected: s.keyRejected,
		Stale:       s.staleEvent,
	}, nil
}

// jwksState is the per-Remote state behind a JWKSObserver. The hooks of
// two fetches of one Remote may overlap, hence the mutex.
type jwksState struct {
	m      *Metrics
	issuer string

	keys, lastSuccess, stale, unavailable prometheus.Gauge
	rejected                              prometheus.Counter
	duration                              prometheus.Observer

	mu      sync.Mutex
	nkeys   int
	last    time.Time
	hasKeys bool // a fetch succeeded once
	expired bool // Stale reported and no success since
}

func (s *jwksState) fetchDone(url string, took time.Duration, err error) {
	result := decide.FetchResult(err)
	s.m.fetches.WithLabelValues(s.issuer, result).Inc()
	s.duration.Observe(took.Seconds())

	s.mu.Lock()
	if err == nil {
		now := time.Now()
		if now.After(s.last) {
			s.last = now
			s.lastSuccess.Set(float64(now.UnixNano()) / 1e9)
		}
		s.hasKeys, s.expired = true, false
		s.stale.Set(0)
		s.unavailable.Set(0)
	} else if s.hasKeys && !s.expired {
		s.stale.Set(1)
	}
	s.mu.Unlock()

	if l := s.m.log; l != nil {
		if err != nil {
			l.LogAttrs(context.Background(), slog.LevelWarn, "jwks: fetch failed",
				slog.String("issuer", s.issuer), slog.String("url", url),
				slog.String("result", result), slog.Duration("took", took),
				slog.String("error", err.Error()))
		} else {
			l.LogAttrs(context.Background(), slog.LevelDebug, "jwks: fetched",
				slog.String("issuer", s.issuer), slog.String("url", url), slog.Duration("took", took))
		}
	}
}

func (s *jwksState) keysChanged(url string, added, removed []string) {
	s.mu.Lock()
	s.nkeys += len(added) - len(removed)
	n := s.nkeys
	s.keys.Set(float64(n))
	s.mu.Unlock()
	if l := s.m.log; l != nil {
		// kids come from the issuer's own key set, not from tokens.
		l.LogAttrs(context.Background(), slog.LevelInfo, "jwks: key set changed",
			slog.String("issuer", s.issuer), slog.String("url", url),
			slog.Any("added", added), slog.Any("removed", removed), slog.Int("keys", n))
	}
}

func (s *jwksState) keyRejected(url, kid, reason string) {
	s.rejected.Inc()
	if l := s.m.log; l != nil {
		l.LogAttrs(context.Background(), slog.LevelWarn, "jwks: key rejected",
			slog.String("issuer", s.issuer), slog.String("url", url),
			slog.String("kid", kid), slog.String("reason", reason))
	}
}

func (s *jwksState) staleEvent(url string, age time.Duration) {
	s.mu.Lock()
	s.expired = true
	s.stale.Set(0) // past the bound the set is no longer served
	s.unavailable.Set(1)
	s.mu.Unlock()
	if l := s.m.log; l != nil {
		l.LogAttrs(context.Background(), slog.LevelWarn, "jwks: keys unavailable, last good set too old",
			slog.String("issuer", s.issuer), slog.String("url", url), slog.Duration("age", age))
	}
}

// HTTPDecisionHook returns a decision hook, for httpmw.WithDecisionHook,
// that counts the requests the guard decides on: refused ones in
// stepup_http_rejections_total{route,code}, allowed ones in
// stepup_http_allowed_total{route}. The step-up rate of a route is then
// the ratio of its insufficient_user_authentication rejections to all its
// decisions. route is r.Pattern: the ServeMux pattern that routed the
// request (httpmw.Guard.Mux or the application's mux.Handle), or the rule's
// name on another router (httpmw.Guard.Route, httpmw.Named), or
// "unmatched" when neither set one; the raw URL path
// is never a label. Public routes of a Mux are not decided on, and not
// counted.
func (m *Metrics) HTTPDecisionHook() func(r *http.Request, err error) {
	return func(r *http.Request, err error) {
		route := r.Pattern
		if route == "" {
			route = routeUnmatched
		}
		if err == nil {
			m.httpAllowed.WithLabelValues(route).Inc()
			return
		}
		k, ce := decide.Outcome(r.Context(), err)
		m.httpRejections.WithLabelValues(route, decide.Code(k, ce)).Inc()
	}
}

// GRPCDecisionHook returns a decision hook, for grpcmw.WithDecisionHook,
// that counts the calls the interceptors decide on: refused ones in
// stepup_grpc_rejections_total{method,code}, allowed ones in
// stepup_grpc_allowed_total{method}. method is the rule that governs the
// call, as the method table names it (a full method, or a "/pkg.Service/*"
// wildcard, a public method's for a Reject in its handler); a call to a
// method without a rule is labelled method="unlisted", code="unlisted", so
// a client calling made-up method names cannot create series, and a Reject
// outside the interceptors method="unlisted" with its code. This package does not import gRPC: the hook
// is a plain function.
func (m *Metrics) GRPCDecisionHook() func(ctx context.Context, rule string, err error) {
	return func(ctx context.Context, rule string, err error) {
		method := rule
		if method == "" {
			method = methodUnlisted
		}
		switch {
		case errors.Is(err, decide.ErrUnlisted):
			m.grpcRejections.WithLabelValues(methodUnlisted, decide.CodeUnlisted).Inc()
		case err == nil:
			m.grpcAllowed.WithLabelValues(method).Inc()
		default:
			k, ce := decide.Outcome(ctx, err)
			m.grpcRejections.WithLabelValues(method, decide.Code(k, ce)).Inc()
		}
	}
}
