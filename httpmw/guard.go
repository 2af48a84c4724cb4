package httpmw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/answer"
	"github.com/stepupauth/stepup/internal/requirement"
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
	onError          []func(*http.Request, error)
	onDecision       []func(*http.Request, error)
	logger           *slog.Logger // nil: no logs
	formToken        bool
	maxForm          int64
	retryAfter       string // header value; empty for none
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
	onError          []func(*http.Request, error)
	onDecision       []func(*http.Request, error)
	logger           *slog.Logger
	loggerSet        bool
	formToken        bool
	maxForm          int64
	retryAfter       time.Duration
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

// WithErrorHook calls hook with the request and the full error of every
// rejection, requests without a token included, with internal causes such
// as a bad signature or a choose function's error, for logs and metrics. The
// hook runs on the request's goroutine before the answer is written; it must
// not write to the response. r.Pattern is the ServeMux pattern that routed
// the request ("" when no ServeMux did): a route label taken from
// configuration, unlike r.URL.Path. hook must not be nil.
//
// The option may be given several times: every hook runs, in order (the
// metrics package adds one of its own).
func WithErrorHook(hook func(r *http.Request, err error)) Option {
	return func(c *config) { c.onError = append(c.onError, hook) }
}

// WithDecisionHook calls hook once for every request Require, RequireFunc
// or a Mux route with a requirement decides on: with a nil error when the
// request is allowed (before the next handler runs), otherwise with the
// error WithErrorHook receives. It is for metrics that need both sides,
// such as the step-up rate of a route; r.Pattern is the route label, as
// for WithErrorHook. Public Mux routes are served without a decision, and
// Check calls no hook. The hook runs on the request's goroutine and must
// not write to the response. hook must not be nil.
//
// The option may be given several times: every hook runs, in order (the
// metrics package adds one of its own).
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
// seconds; 0 omits the header. The default is DefaultRetryAfter.
func WithRetryAfter(d time.Duration) Option {
	return func(c *config) { c.retryAfter = d }
}

// New returns a Guard that authorizes requests with v. It reports an error
// for a nil verifier or an invalid option.
func New(v *verify.Verifier, opts ...Option) (*Guard, error) {
	if v == nil {
		return nil, errors.New("httpmw: nil verifier")
	}
	c := config{retryAfter: DefaultRetryAfter}
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
	for _, h := range c.onError {
		if h == nil {
			return nil, errors.New("httpmw: nil error hook")
		}
	}
	for _, h := range c.onDecision {
		if h == nil {
			return nil, errors.New("httpmw: nil decision hook")
		}
	}
	if c.loggerSet && c.logger == nil {
		return nil, errors.New("httpmw: nil logger")
	}
	if c.maxForm < 0 {
		return nil, fmt.Errorf("httpmw: negative form size limit %d", c.maxForm)
	}
	if c.maxForm == 0 {
		c.maxForm = DefaultMaxFormSize
	}
	if c.retryAfter < 0 {
		return nil, fmt.Errorf("httpmw: negative Retry-After %v", c.retryAfter)
	}
	g := &Guard{
		v:                v,
		realm:            c.realm,
		resourceMetadata: c.resourceMetadata,
		expose:           c.expose,
		render:           c.render,
		onError:          c.onError,
		onDecision:       c.onDecision,
		logger:           c.logger,
		formToken:        c.formToken,
		maxForm:          c.maxForm,
	}
	if g.render == nil {
		g.render = renderJSON
	}
	if c.retryAfter > 0 {
		secs := (c.retryAfter + time.Second - 1) / time.Second
		g.retryAfter = strconv.FormatInt(int64(secs), 10)
	}
	return g, nil
}

// Require returns a handler that calls next only for requests whose bearer
// token is valid and meets req, with the verified claims in the request
// context (read them with claims.FromContext). Other requests get the answer
// of Check's error, rendered as the package documentation describes.
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
		c, err := g.check(r, req)
		if err != nil {
			g.reject(w, r, err)
			return
		}
		g.serveAllowed(w, r.WithContext(claims.NewContext(r.Context(), c)), next)
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
// An error from choose fails closed. An error that is a *claims.Error (see
// errors.As) is answered as that rejection: return claims.InvalidRequest(err)
// for a malformed request and the client gets 400 invalid_request. An error
// matching claims.ErrUnavailable is answered 503. Any other error, and a
// requirement that fails Validate, is a server fault: 500 with no details
// (the error goes to the error hook).
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
		raw, err := g.token(r)
		if err == nil && raw == "" {
			err = claims.MissingToken()
		}
		var c *claims.Claims
		if err == nil {
			c, err = g.v.Verify(r.Context(), raw)
		}
		if err != nil {
			g.reject(w, r, err)
			return
		}
		r = r.WithContext(claims.NewContext(r.Context(), c))
		req, err := choose(r, c)
		if err == nil {
			if verr := req.Validate(); verr != nil {
				err = fmt.Errorf("httpmw: chosen requirement is invalid: %w", verr)
			}
		}
		if err == nil {
			err = g.v.Evaluate(c, req)
		}
		if err != nil {
			g.reject(w, r, err)
			return
		}
		g.serveAllowed(w, r, next)
	})
}

// Check reports whether r carries a bearer token that is valid and meets req,
// without writing an answer: it is the decision Require makes, for callers
// that answer themselves. It returns the verified claims, or nil and an error
// that is
// a *claims.Error (its Code tells the answer; Err is the cause, for logs
// only), wraps claims.ErrUnavailable on a key outage, wraps
// context.Canceled or context.DeadlineExceeded when the request context
// ended during verification, or reports an invalid req.
//
// When WithFormToken is enabled, Check may read a form body and replace
// r.Body with a reader over the same bytes.
func (g *Guard) Check(r *http.Request, req claims.Requirement) (*claims.Claims, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("httpmw: invalid requirement: %w", err)
	}
	return g.check(r, req)
}

// check is the one authorization path of Require, Mux and Check.
func (g *Guard) check(r *http.Request, req claims.Requirement) (*claims.Claims, error) {
	raw, err := g.token(r)
	if err != nil {
		return nil, err
	}
	c, err := g.v.Authorize(r.Context(), raw, req)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Status returns the HTTP status a Guard answers err with: 400, 401 or 403
// for a *claims.Error by its Code (401 for a code it does not know, as
// grpcmw answers Unauthenticated), 503 for an error matching
// claims.ErrUnavailable, context.Canceled or context.DeadlineExceeded, 500
// for anything else. It is meant for callers of Check.
func Status(err error) int {
	status, _ := classify(err)
	return status
}

// classify returns the status of err and, for answers with a challenge, the
// *claims.Error. The verifier returns an error wrapping the request
// context's error when that context ended during verification (the client
// went away, or the server's own deadline passed): that is nobody's token
// problem, so it is answered like an outage, 503 without a challenge, never
// 500 and never a challenge, whether or not the error also matches
// claims.ErrUnavailable.
func classify(err error) (int, *claims.Error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, claims.ErrUnavailable) {
		return http.StatusServiceUnavailable, nil
	}
	var ce *claims.Error
	if !errors.As(err, &ce) || ce == nil {
		return http.StatusInternalServerError, nil
	}
	return answer.For(ce.Code).HTTPStatus(), ce
}

// reject answers a failed request. Only client-safe text reaches the
// response: the code, fixed description and challenge parameters of a
// *claims.Error, or a fixed text for 503 and 500.
func (g *Guard) reject(w http.ResponseWriter, r *http.Request, err error) {
	for _, hook := range g.onError {
		hook(r, err)
	}
	for _, hook := range g.onDecision {
		hook(r, err)
	}
	status, ce := classify(err)
	g.logRefused(r, status, ce, err)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	var body ErrorBody
	switch {
	case ce != nil:
		ch := answer.Challenge(ce, g.realm, g.resourceMetadata)
		h.Set("WWW-Authenticate", ch.String())
		if g.expose {
			h.Add("Access-Control-Expose-Headers", "WWW-Authenticate")
		}
		body = ErrorBody{
			Error:            ce.Code,
			ErrorDescription: ce.Description,
			ACRValues:        strings.Join(ce.ACRValues, " "),
			MaxAge:           maxAgeSeconds(ce.MaxAge),
			Scope:            strings.Join(ce.Scope, " "),
		}
	case status == http.StatusServiceUnavailable:
		if g.retryAfter != "" {
			h.Set("Retry-After", g.retryAfter)
		}
		body = ErrorBody{ErrorDescription: descUnavailable}
	default:
		body = ErrorBody{ErrorDescription: descInternal}
	}
	g.render(w, r, status, body)
}

// maxAgeSeconds converts claims.Error.MaxAge (0 none, negative max_age=0) to
// the JSON member in whole seconds (RFC 9470), truncating a fraction so the
// value never asks for less freshness than required.
func maxAgeSeconds(d time.Duration) *int64 {
	if d == 0 {
		return nil
	}
	var s int64
	if d > 0 {
		s = int64(d / time.Second)
	}
	return &s
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
