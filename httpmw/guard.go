package httpmw

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/internal/answer"
	"github.com/stepupauth/stepup/internal/decide"
	"github.com/stepupauth/stepup/internal/requirement"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/verify"
)

// DefaultMaxFormSize is the body size WithFormToken reads at most when it is
// given 0.
const DefaultMaxFormSize = 64 << 10

// DefaultRetryAfter is the Retry-After a 503 answer carries unless
// WithRetryAfter says otherwise.
const DefaultRetryAfter = 30 * time.Second

// Client-safe descriptions of the answers that carry no *claims.Error.
const (
	descUnavailable = "token verification is temporarily unavailable"
	descInternal    = "internal server error"
)

// Guard protects HTTP handlers with a verifier: it extracts the bearer token,
// authorizes it against a requirement and answers failures with the status,
// WWW-Authenticate challenge and JSON body of RFC 6750, RFC 9470 and RFC 9728.
//
// A Guard is immutable once built and safe for concurrent use; so are the
// handlers it returns.
type Guard struct {
	v                *verify.Verifier
	realm            string
	resourceMetadata string
	expose           bool
	render           Renderer
	onDecision       []func(*http.Request, error)
	logger           *slog.Logger // nil: no logs
	formToken        bool
	maxForm          int64
	retryAfter       string       // header value
	dpop             *decide.DPoP // nil: the DPoP scheme is not read
	certs            *mtls.Source
	// cert is decide.Sender's Cert for certs, made once (see sender).
	cert func(from any) (string, bool, error)
}

// Renderer writes the status line and body of an error answer. The guard
// has already set WWW-Authenticate (when the answer has a challenge),
// Cache-Control: no-store, Retry-After (503) and, when enabled,
// Access-Control-Expose-Headers; the renderer sets the content type, calls
// w.WriteHeader(status) and writes the body.
//
// body holds only client-safe text: a renderer never sees the token, the key
// or the internal cause of a rejection.
type Renderer func(w http.ResponseWriter, r *http.Request, status int, body ErrorBody)

// ErrorBody is the client-safe content of an error answer, encoded by the
// default renderer as an OAuth-style JSON object with empty members omitted:
//
//	{"error":"insufficient_user_authentication","error_description":"…","acr_values":"a b","max_age":300}
//
// Error is empty when no token was sent (RFC 6750 §3.1), for 503 answers and
// for 500 answers.
type ErrorBody struct {
	// Error is the OAuth error code of the challenge (RFC 6750 §3.1, RFC
	// 9470 §3), empty when there is none.
	Error claims.Code `json:"error,omitempty"`
	// ErrorDescription is fixed, client-safe text: the Description of the
	// *claims.Error, or a fixed text for 503 and 500 answers.
	ErrorDescription string `json:"error_description,omitempty"`
	ACRValues        string `json:"acr_values,omitempty"` // space-separated, preference order
	MaxAge           *int64 `json:"max_age,omitempty"`    // seconds; nil when none is asked for
	Scope            string `json:"scope,omitempty"`      // space-separated
}

// Option configures a Guard. Options are checked by New.
type Option func(*config)

type config struct {
	realm            string
	resourceMetadata string
	expose           bool
	render           Renderer
	renderSet        bool
	onDecision       []func(*http.Request, error)
	logger           *slog.Logger
	loggerSet        bool
	formToken        bool
	maxForm          int64
	retryAfter       time.Duration
	dpop             *dpop.Verifier
	dpopSet          bool
	publicURL        string
	certs            *mtls.Source
	certsSet         bool
}

// WithDPoP accepts DPoP-bound access tokens (RFC 9449): the DPoP
// Authorization scheme beside Bearer, each request's one DPoP proof checked
// by v, and a DPoP-bound token accepted only with a proof by its key (see
// the package documentation, "Sender-constrained tokens"). publicURL is
// the absolute URL of this server as its clients address it, such as
// "https://api.example.com" or "https://example.com/api" behind a proxy: a
// proof's htu must be publicURL followed by the request's path. It is
// configuration, never read from the request (Host or forwarding headers
// would let a proof made for one server be spent at another). v must not be
// nil; publicURL must be https (http only for a loopback host) without a
// query or fragment.
func WithDPoP(v *dpop.Verifier, publicURL string) Option {
	return func(c *config) { c.dpop, c.dpopSet, c.publicURL = v, true, publicURL }
}

// WithClientCertificates sets where the client certificate of a
// certificate-bound token (RFC 8705) comes from: a trusted proxy's
// Client-Cert header as well as the TLS connection (see mtls.Config). By
// default only the TLS connection (r.TLS) is read. s must not be nil.
func WithClientCertificates(s *mtls.Source) Option {
	return func(c *config) { c.certs, c.certsSet = s, true }
}

// WithRealm sets the realm auth-param of every challenge (RFC 6750 §3).
// By default challenges carry no realm. The realm must be printable ASCII
// (quotes and backslashes are escaped in the challenge).
func WithRealm(realm string) Option {
	return func(c *config) { c.realm = realm }
}

// WithResourceMetadata sets the resource_metadata auth-param of every
// challenge: the URL of the protected resource metadata document (RFC 9728
// §5.1), for example the value MetadataURL returns. The URL must be absolute
// https (http only for a loopback host) without a fragment.
func WithResourceMetadata(metadataURL string) Option {
	return func(c *config) { c.resourceMetadata = metadataURL }
}

// WithExposeHeaders adds Access-Control-Expose-Headers: WWW-Authenticate to
// error answers so that browser clients on other origins can read the
// challenge.
func WithExposeHeaders() Option {
	return func(c *config) { c.expose = true }
}

// WithRenderer replaces the JSON body of error answers. The renderer must
// not be nil.
func WithRenderer(r Renderer) Option {
	return func(c *config) { c.render, c.renderSet = r, true }
}

// WithDecisionHook calls hook once for every request Require, RequireFunc
// or a Mux route with a requirement decides on, and for every Reject: with
// a nil error for an allowed request, once the next handler has returned
// (unless that handler refused the request with Reject, which reports the
// refusal instead: a request is reported once), otherwise with the full
// error of the refusal, requests without a token included, with internal
// causes such as a bad signature or a choose function's error. The error
// text is for logs and metrics, never for the client. r.Pattern is the
// ServeMux pattern that routed the request, the rule's name for a handler
// of Route or Named, or "" when neither did: a route label taken from
// configuration, unlike r.URL.Path, so the step-up
// rate of a route is the ratio of two series. Public Mux routes are served
// without a decision, and Check calls no hook. The hook runs on the
// request's goroutine; it must not write to the response. hook must not be
// nil.
//
// The option may be given several times: every hook runs, in order
// (metrics.Metrics.HTTPDecisionHook is one).
func WithDecisionHook(hook func(r *http.Request, err error)) Option {
	return func(c *config) { c.onDecision = append(c.onDecision, hook) }
}

// WithLogger logs every decision of the Guard to l at level Debug: the
// request's method, route (r.Pattern), the answer's status (for an allowed
// request, the status the next handler answered, logged once it returns)
// and OAuth error code ("none" when no token was sent, as package metrics
// counts it), the verify.Reason of a rejected token, for a typ, iss or aud
// the verifier does not accept the refused value (verify.TokenError
// Received: quoted, at most 64 bytes) and a hint naming the configuration
// to change, the challenge parameters (which come from the requirement)
// and, for 503 and 500 answers only, the error text. At level Warn, and
// at most once per claim and 10 minutes, it reports that acr, amr or
// auth_time is absent from most tokens a requirement on it sees (a
// configuration problem, see verify.AbsentClaimError), with the claim name
// the verifier reads. It never logs the token, any other claim value (not even sub, which is personal data) or
// the raw URL path; the refused value never reaches the response. Without this option the Guard logs
// nothing. l must not be nil.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger, c.loggerSet = l, true }
}

// WithFormToken enables the form-encoded body parameter access_token (RFC
// 6750 §2.2) besides the Authorization header. It applies to POST, PUT and
// PATCH requests of content type application/x-www-form-urlencoded. At most
// maxBytes of the body are read (0 means DefaultMaxFormSize). The body is
// restored, so the next handler reads it unchanged.
//
// Without an Authorization token, a larger form body is rejected with
// invalid_request. With one, the body is read (up to maxBytes) only to
// detect a second token: a token in both the header and a body within the
// limit is rejected with invalid_request (RFC 6750 §2 allows one method
// per request), while a body over the limit is not scanned and the header
// token is used, so a large form upload is neither refused nor read
// further for the token.
func WithFormToken(maxBytes int64) Option {
	return func(c *config) { c.formToken, c.maxForm = true, maxBytes }
}

// WithRetryAfter sets the Retry-After of 503 answers, rounded up to whole
// seconds. Zero means DefaultRetryAfter, as without the option; a negative
// duration is a configuration error. Every 503 carries the header (RFC
// 9110 §10.2.3), so that clients back off.
func WithRetryAfter(d time.Duration) Option {
	return func(c *config) { c.retryAfter = d }
}

// New returns a Guard that authorizes requests with v. It reports an error
// for a nil verifier or an invalid option.
func New(v *verify.Verifier, opts ...Option) (*Guard, error) {
	if v == nil {
		return nil, errors.New("httpmw: nil verifier")
	}
	var c config
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("httpmw: nil option")
		}
		o(&c)
	}
	if err := answer.CheckRealm(c.realm); err != nil {
		return nil, fmt.Errorf("httpmw: %w", err)
	}
	if c.resourceMetadata != "" {
		if err := answer.CheckURL(c.resourceMetadata, true); err != nil {
			return nil, fmt.Errorf("httpmw: resource metadata URL: %w", err)
		}
	}
	if c.renderSet && c.render == nil {
		return nil, errors.New("httpmw: nil renderer")
	}
	for _, h := range c.onDecision {
		if h == nil {
			return nil, errors.New("httpmw: nil decision hook")
		}
	}
	if c.loggerSet && c.logger == nil {
		return nil, errors.New("httpmw: nil logger")
	}
	if c.dpopSet {
		if c.dpop == nil {
			return nil, errors.New("httpmw: WithDPoP: nil *dpop.Verifier")
		}
		if err := answer.CheckURL(c.publicURL, false); err != nil {
			return nil, fmt.Errorf("httpmw: WithDPoP: public URL %q: %w", c.publicURL, err)
		}
	}
	if c.certsSet && c.certs == nil {
		return nil, errors.New("httpmw: WithClientCertificates: nil *mtls.Source")
	}
	if c.certs == nil {
		c.certs = new(mtls.Source) // the TLS connection only
	}
	if c.maxForm < 0 {
		return nil, fmt.Errorf("httpmw: negative form size limit %d", c.maxForm)
	}
	if c.maxForm == 0 {
		c.maxForm = DefaultMaxFormSize
	}
	switch {
	case c.retryAfter < 0:
		return nil, fmt.Errorf("httpmw: WithRetryAfter(%v): negative; give a positive duration, or 0 for the default %v", c.retryAfter, DefaultRetryAfter)
	case c.retryAfter == 0:
		c.retryAfter = DefaultRetryAfter
	}
	g := &Guard{
		v:                v,
		realm:            c.realm,
		resourceMetadata: c.resourceMetadata,
		expose:           c.expose,
		render:           c.render,
		onDecision:       c.onDecision,
		logger:           c.logger,
		formToken:        c.formToken,
		maxForm:          c.maxForm,
		dpop:             decide.NewDPoP(c.dpop, c.publicURL),
		certs:            c.certs,
	}
	if g.render == nil {
		g.render = renderJSON
	}
	g.cert = func(from any) (string, bool, error) { return g.certs.FromRequest(from.(*http.Request)) }
	secs := (c.retryAfter + time.Second - 1) / time.Second
	g.retryAfter = strconv.FormatInt(int64(secs), 10)
	return g, nil
}

// Require returns a handler that calls next only for requests whose bearer
// token is valid and meets req, with the verified claims in the request
// context (read them with claims.FromContext). Other requests get the answer
// Reject gives their error, as the package documentation describes.
//
// Like http.ServeMux.Handle with a bad pattern, Require panics when req is
// invalid (req.Validate fails) or next is nil: both are programming errors
// found at start-up. Configuration read at run time should go through Mux,
// which returns an error instead. Require keeps its own copy of req.
func (g *Guard) Require(req claims.Requirement, next http.Handler) http.Handler {
	if next == nil {
		panic("httpmw: Require: nil handler")
	}
	if err := req.Validate(); err != nil {
		panic("httpmw: Require: invalid requirement: " + err.Error())
	}
	req = requirement.Clone(req)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.serve(w, r, req, nil, next)
	})
}

// RequireFunc is Require for a requirement that depends on the request, such
// as "transfers above 1,000 need a fresh multi-factor login". The token is
// verified first; then choose is called with the request (its context
// already carries the claims) and the verified claims, and the requirement
// it returns is validated and evaluated. next receives the same *http.Request
// that choose saw.
//
// choose must not consume r.Body: a choose that needs the body reads it
// (bounded, for example with http.MaxBytesReader) and sets r.Body to a reader
// over the same bytes, so that next can read it again.
//
// An error from choose fails closed and is answered as Reject answers it:
// return claims.InvalidRequest(err) for a malformed request and the client
// gets 400 invalid_request; an error matching claims.ErrUnavailable is 503;
// any other error, and a requirement that fails Validate, is a server
// fault: 500 with no details (the error goes to the decision hooks and the
// logger).
//
// RequireFunc panics if choose or next is nil.
func (g *Guard) RequireFunc(choose func(r *http.Request, c *claims.Claims) (claims.Requirement, error), next http.Handler) http.Handler {
	if choose == nil {
		panic("httpmw: RequireFunc: nil choose function")
	}
	if next == nil {
		panic("httpmw: RequireFunc: nil handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.serve(w, r, claims.Requirement{}, choose, next)
	})
}

// serve is the request path of Require, RequireFunc and Mux: the token of
// r, the one decision (decide.Decide), then next or Reject.
func (g *Guard) serve(w http.ResponseWriter, r *http.Request, req claims.Requirement, choose func(*http.Request, *claims.Claims) (claims.Requirement, error), next http.Handler) {
	scheme, raw, terr := g.token(r)
	var chooser decide.Chooser
	if choose != nil {
		chooser = func(c *claims.Claims) (claims.Requirement, error) {
			r = r.WithContext(claims.NewContext(r.Context(), c))
			return choose(r, c)
		}
	}
	c, err := decide.Decide(r.Context(), g.v, raw, terr, g.sender(r, scheme), req, chooser)
	if err != nil {
		g.Reject(w, r, err)
		return
	}
	ctx := r.Context()
	if choose == nil {
		ctx = claims.NewContext(ctx, c)
	}
	if !g.observed(ctx) {
		next.ServeHTTP(w, r.WithContext(ctx))
		return
	}
	g.serveObserved(w, r, ctx, next)
}

// Check reports whether r carries a bearer token that is valid and meets req,
// without writing an answer: it is the decision Require makes, for handlers
// that answer themselves (give the error to Reject for the exact answer).
// It calls no hook and logs nothing. It returns the verified claims, or nil
// and an error that is a *claims.Error (its Code tells the answer; Err is
// the cause, for logs only), wraps claims.ErrUnavailable on a key outage,
// wraps context.Canceled or context.DeadlineExceeded when the request
// context ended during verification, or reports an invalid req.
//
// When WithFormToken is enabled, Check may read a form body and replace
// r.Body with a reader over the same bytes.
func (g *Guard) Check(r *http.Request, req claims.Requirement) (*claims.Claims, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("httpmw: invalid requirement: %w", err)
	}
	scheme, raw, terr := g.token(r)
	c, err := decide.Decide(r.Context(), g.v, raw, terr, g.sender(r, scheme), req, nil)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// errNilReject is what Reject answers and reports for a nil error.
var errNilReject = errors.New("httpmw: Reject called with a nil error")

// Reject answers a refused request exactly as Require does, and reports it
// like the Guard's own refusals: to the decision hooks and to the logger.
// It is for handlers that decide inside, after reading the body or a
// record: give it the error of Check, a *claims.Error of your own (for
// example one from claims.Requirement.Evaluate or claims.InvalidRequest), or
// any other error. The answer is chosen by the package documentation's
// table: a *claims.Error gets its status (400, 401 or 403), challenge and
// JSON body; an error matching claims.ErrUnavailable or a context error 503
// with Retry-After; anything else 500 without details. Only client-safe
// text reaches the response: the code, fixed description and challenge
// parameters of a *claims.Error, or a fixed text.
//
// Called by a handler behind this Guard's Require, RequireFunc or Mux, the
// request is reported once: as refused, not also as allowed, and a second
// Reject (or a Reject after the allowed report, from a handler that
// outlived its request) answers without reporting again. A nil err, or a
// nil *claims.Error, is a server fault (500). Nothing must have been
// written to w yet.
func (g *Guard) Reject(w http.ResponseWriter, r *http.Request, err error) {
	if err == nil {
		err = errNilReject
	}
	err = decide.Normalize(err)
	report := true
	if st, ok := r.Context().Value(allowedKey{}).(*allowed); ok && st.g == g {
		report = st.claim()
	}
	k, ce := decide.Outcome(r.Context(), err)
	status := statusOf(k, ce)
	if report {
		for _, hook := range g.onDecision {
			hook(r, err)
		}
		g.logRefused(r, status, k, ce, err)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	var body ErrorBody
	switch k {
	case decide.Challenge:
		algs := ""
		if g.dpop != nil {
			algs = g.dpop.Algs
		}
		h.Set("WWW-Authenticate", answer.Header(ce, g.realm, g.resourceMetadata, algs))
		if nonce := decide.Nonce(err); nonce != "" {
			h.Set("DPoP-Nonce", nonce)
		}
		if g.expose {
			h.Add("Access-Control-Expose-Headers", "WWW-Authenticate")
			if g.dpop != nil {
				h.Add("Access-Control-Expose-Headers", "DPoP-Nonce")
			}
		}
		body = ErrorBody{
			Error:            ce.Code,
			ErrorDescription: ce.Description,
			ACRValues:        strings.Join(ce.ACRValues, " "),
			Scope:            strings.Join(ce.Scope, " "),
		}
		if s, ok := ce.MaxAge.Seconds(); ok {
			body.MaxAge = &s
		}
	case decide.Unavailable, decide.Canceled:
		h.Set("Retry-After", g.retryAfter)
		body = ErrorBody{ErrorDescription: descUnavailable}
	default:
		body = ErrorBody{ErrorDescription: descInternal}
	}
	g.render(w, r, status, body)
}

// statusOf is the HTTP status of a refusal. The request's own context
// ending (Canceled) is nobody's token problem: it is answered like an
// outage, 503 without a challenge, never 500.
func statusOf(k decide.Kind, ce *claims.Error) int {
	switch k {
	case decide.Challenge:
		return answer.For(ce.Code).HTTPStatus()
	case decide.Unavailable, decide.Canceled:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func renderJSON(w http.ResponseWriter, _ *http.Request, status int, body ErrorBody) {
	b, err := json.Marshal(body)
	if err != nil { // cannot happen for ErrorBody; fail with an empty object
		b = []byte("{}")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
