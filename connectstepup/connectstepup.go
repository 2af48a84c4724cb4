package connectstepup

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/internal/answer"
	"github.com/stepupauth/stepup/internal/bearer"
	"github.com/stepupauth/stepup/internal/decide"
	"github.com/stepupauth/stepup/internal/methodtable"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/verify"
)

// ErrUnlistedMethod is the error the decision hooks receive for a call to a
// procedure that has no rule in the method table. It is
// grpcmw.ErrUnlistedMethod, so that one hook serves both packages.
var ErrUnlistedMethod = grpcmw.ErrUnlistedMethod

// ErrStreamExpired is the cause, wrapped in an invalid_token
// *claims.Error, that the decision hooks receive when a stream outlives the
// expiry of the token that authorized it. It is grpcmw.ErrStreamExpired.
var ErrStreamExpired = grpcmw.ErrStreamExpired

// WWWAuthenticate is the header that carries the challenge in the Meta of
// the *connect.Error of a refusal.
const WWWAuthenticate = "WWW-Authenticate"

// dpopNonce is the header of a server-provided DPoP nonce (RFC 9449 §8).
const dpopNonce = "DPoP-Nonce"

// Fixed messages of the refusals without a challenge.
const (
	msgUnavailable = "connectstepup: token verification is temporarily unavailable"
	msgUnlisted    = "connectstepup: method not allowed"
	msgInternal    = "connectstepup: authorization failed"
)

var (
	errTwoAuthorizations = errors.New("connectstepup: more than one Authorization header")
	errMalformedBearer   = errors.New("connectstepup: malformed bearer credentials")
)

// Option configures the interceptor. Options are checked by New.
type Option func(*options)

type options struct {
	realm            string
	resourceMetadata string
	decisions        []func(ctx context.Context, rule string, err error)
	dpopVerifier     *dpop.Verifier
	dpopSet          bool
	publicURL        string
	certs            *mtls.Source
	certsSet         bool
}

// WithDPoP accepts DPoP-bound access tokens (RFC 9449), as grpcmw.WithDPoP
// and httpmw.WithDPoP do: the DPoP Authorization scheme beside Bearer, and
// the request's one DPoP header, a proof checked by v with htm the HTTP
// method of the call (POST, or GET for a Connect GET) and htu publicURL
// followed by the procedure ("/pkg.Service/Method"). publicURL is the
// absolute URL the handlers are mounted under as clients address them,
// such as "https://api.example.com" (configuration, never read from the
// request). A DPoP-bound token is accepted only with a proof by its key;
// sent as Bearer it is refused. v must not be nil; publicURL must be https
// (http only for a loopback host) without a query or fragment.
func WithDPoP(v *dpop.Verifier, publicURL string) Option {
	return func(o *options) { o.dpopVerifier, o.dpopSet, o.publicURL = v, true, publicURL }
}

// WithClientCertificates sets where the client certificate of a
// certificate-bound token (RFC 8705) comes from: a trusted proxy's
// Client-Cert header as well as the TLS connection (see mtls.Config). By
// default only the TLS connection is read. Either way the interceptor sees
// the connection only through Handler; s must not be nil.
func WithClientCertificates(s *mtls.Source) Option {
	return func(o *options) { o.certs, o.certsSet = s, true }
}

// WithRealm sets the realm of every challenge (RFC 6750 §3). Default: none.
// The realm must be printable ASCII, as for grpcmw.WithRealm.
func WithRealm(realm string) Option {
	return func(o *options) { o.realm = realm }
}

// WithResourceMetadata sets the resource_metadata URL of every challenge
// (RFC 9728 §5.1). Default: none. The URL must be absolute https (http only
// for a loopback host) without a fragment, as for
// grpcmw.WithResourceMetadata.
func WithResourceMetadata(url string) Option {
	return func(o *options) { o.resourceMetadata = url }
}

// WithDecisionHook sets a function called once for every call the
// interceptor decides on, with the same arguments as grpcmw's hook: a nil
// error for an allowed call once its handler has returned, otherwise the
// full error of the refusal (a *claims.Error, an error wrapping
// claims.ErrUnavailable, ErrUnlistedMethod, a context error, a chooser's
// error, ErrStreamExpired). rule is the Method of the governing rule
// ("" for an unlisted procedure), never the procedure the client sent.
// Calls to public procedures are not reported. The error text is for logs
// and metrics, never sent to the client. The hook runs on the call's
// goroutine and must be safe for concurrent use; the option may be given
// several times, and every hook runs in order. hook must not be nil.
func WithDecisionHook(hook func(ctx context.Context, rule string, err error)) Option {
	return func(o *options) { o.decisions = append(o.decisions, hook) }
}

// Interceptor is a connect.Interceptor that authorizes every call a Connect
// handler serves against a grpcmw method table. It is safe for concurrent
// use.
type Interceptor struct {
	v *verify.Verifier
	// rules is m's table, looked up by grpcmw's code without the copy
	// Methods.Lookup makes.
	rules *methodtable.Table[grpcmw.Rule]
	dpop  *decide.DPoP                         // nil: the DPoP scheme is not read
	cert  func(from any) (string, bool, error) // certOf, made once
	options
	// g renders the gRPC status of a refusal (code, message, ErrorInfo
	// details) exactly as grpcmw does; it has no hooks and no logger.
	g *grpcmw.Interceptors
}

var _ connect.Interceptor = (*Interceptor)(nil)

// New checks its arguments and returns the interceptor that authorizes
// every call against the method table m with v. It reports an error for a
// nil verifier or table, a nil Option or hook, a realm outside printable
// ASCII, a resource metadata URL that is not https (http for loopback)
// or has a fragment, a nil *dpop.Verifier or a public URL of WithDPoP that
// is not https (http for loopback) or has a query or fragment, and a nil
// *mtls.Source.
func New(v *verify.Verifier, m *grpcmw.Methods, opts ...Option) (*Interceptor, error) {
	if v == nil {
		return nil, errors.New("connectstepup: nil *verify.Verifier")
	}
	if m == nil {
		return nil, errors.New("connectstepup: nil *grpcmw.Methods")
	}
	rules, ok := methodtable.Of[*grpcmw.Methods, grpcmw.Rule](m)
	if !ok || rules == nil {
		return nil, errors.New("connectstepup: the grpcmw method table cannot be read (a grpcmw of another version?)")
	}
	i := &Interceptor{v: v, rules: rules}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("connectstepup: nil option")
		}
		opt(&i.options)
	}
	for _, h := range i.decisions {
		if h == nil {
			return nil, errors.New("connectstepup: nil decision hook")
		}
	}
	if err := answer.CheckRealm(i.realm); err != nil {
		return nil, fmt.Errorf("connectstepup: %w", err)
	}
	if i.resourceMetadata != "" {
		if err := answer.CheckURL(i.resourceMetadata, true); err != nil {
			return nil, fmt.Errorf("connectstepup: resource metadata URL: %w", err)
		}
	}
	gopts := []grpcmw.Option{grpcmw.WithRealm(i.realm), grpcmw.WithResourceMetadata(i.resourceMetadata)}
	if i.dpopSet {
		if i.dpopVerifier == nil {
			return nil, errors.New("connectstepup: WithDPoP: nil *dpop.Verifier")
		}
		if err := answer.CheckURL(i.publicURL, false); err != nil {
			return nil, fmt.Errorf("connectstepup: WithDPoP: public URL %q: %w", i.publicURL, err)
		}
		i.dpop = decide.NewDPoP(i.dpopVerifier, i.publicURL)
		gopts = append(gopts, grpcmw.WithDPoP(i.dpopVerifier, i.publicURL))
	}
	if i.certsSet && i.certs == nil {
		return nil, errors.New("connectstepup: WithClientCertificates: nil *mtls.Source")
	}
	if i.certs == nil {
		i.certs = new(mtls.Source) // the TLS connection only
	}
	i.cert = i.certOf
	g, err := grpcmw.New(v, m, gopts...)
	if err != nil {
		return nil, fmt.Errorf("connectstepup: %w", err)
	}
	i.g = g
	return i, nil
}

// WrapUnary authorizes a unary call before next runs, with the verified
// claims in its context (claims.FromContext). A refusal is a
// *connect.Error (see the package documentation). On a client the call
// passes through unchanged.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		rule, hctx, err := i.authorize(ctx, req.Spec().Procedure, req.HTTPMethod(), req.Header(), req.Any())
		if err != nil {
			var h http.Header
			if info, ok := connect.CallInfoForHandlerContext(ctx); ok {
				h = info.ResponseHeader()
			}
			return nil, deliver(req.Peer().Protocol, h, err)
		}
		if rule.Public {
			return next(hctx, req)
		}
		defer i.report(hctx, rule.Method, nil)
		return next(hctx, req)
	}
}

// WrapStreamingClient returns next: the interceptor authorizes calls on
// the server only.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler authorizes a stream (client, server or bidi) when
// it opens, before next runs, with the verified claims in its context. The
// stream's context is cancelled at the token's exp; a message sent or
// received after it is refused, and the stream ends with Unauthenticated
// invalid_token (cause ErrStreamExpired) whatever the handler returns.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		rule, hctx, err := i.authorize(ctx, conn.Spec().Procedure, http.MethodPost, conn.RequestHeader(), nil)
		if err != nil {
			return deliver(conn.Peer().Protocol, conn.ResponseHeader(), err)
		}
		if rule.Public {
			return next(hctx, conn)
		}
		c, _ := claims.FromContext(hctx)
		if c == nil || c.Expiry.IsZero() {
			defer i.report(hctx, rule.Method, nil)
			return next(hctx, conn)
		}
		return i.expiringStream(hctx, conn, rule.Method, c, next)
	}
}

// expiringStream runs next with a stream whose context is cancelled at the
// expiry of c and whose messages stop there. The refusal is in the DPoP
// scheme for a DPoP-bound token, which came with it, as grpcmw answers.
func (i *Interceptor) expiringStream(hctx context.Context, conn connect.StreamingHandlerConn, rule string, c *claims.Claims, next connect.StreamingHandlerFunc) error {
	ectx, cancel := context.WithCancelCause(hctx)
	defer cancel(nil)
	exp := c.Expiry
	expiredErr := decide.Expired(c, ErrStreamExpired)
	es := &expiringConn{StreamingHandlerConn: conn, refusal: i.reject(hctx, expiredErr)}
	expire := func() {
		es.expired.Store(true)
		cancel(ErrStreamExpired)
	}
	if d := exp.Sub(i.v.Now()); d > 0 {
		timer := time.AfterFunc(d, expire)
		defer timer.Stop()
	} else {
		expire() // accepted within the verifier's leeway, but past exp
	}
	err := next(ectx, es)
	if !es.expired.Load() {
		i.report(hctx, rule, nil)
		return err
	}
	i.report(hctx, rule, expiredErr)
	return deliver(conn.Peer().Protocol, conn.ResponseHeader(), i.reject(hctx, expiredErr))
}

// expiringConn refuses messages once the token has expired.
type expiringConn struct {
	connect.StreamingHandlerConn
	refusal *connect.Error
	expired atomic.Bool
}

func (c *expiringConn) Send(m any) error {
	if c.expired.Load() {
		return c.refusal
	}
	return c.StreamingHandlerConn.Send(m)
}

func (c *expiringConn) Receive(m any) error {
	if c.expired.Load() {
		return c.refusal
	}
	err := c.StreamingHandlerConn.Receive(m)
	if err == nil && c.expired.Load() {
		return c.refusal
	}
	return err
}

// authorize decides on a call to procedure by the HTTP method method with
// the request header h; req is the request message of a unary call, nil
// for a stream. It returns the
// governing rule, the handler's context (with the verified claims unless
// the procedure is public) and the refusal, already reported.
func (i *Interceptor) authorize(ctx context.Context, procedure, method string, h http.Header, req any) (grpcmw.Rule, context.Context, error) {
	rule, ok := i.rules.Lookup(procedure)
	if !ok {
		i.report(ctx, "", ErrUnlistedMethod)
		return rule, nil, connect.NewError(connect.CodePermissionDenied, errors.New(msgUnlisted))
	}
	if rule.Public {
		return rule, ctx, nil
	}
	scheme, raw, terr := token(h, i.dpop != nil)
	var chooser decide.Chooser
	if rule.Choose != nil {
		chooser = func(c *claims.Claims) (claims.Requirement, error) {
			return rule.Choose(claims.NewContext(ctx, c), c, procedure, req)
		}
	}
	c, err := decide.Decide(ctx, i.v, raw, terr, i.sender(ctx, scheme, method, procedure, h), rule.Requirement, chooser)
	if err != nil {
		i.report(ctx, rule.Method, err)
		return rule, nil, i.reject(ctx, err)
	}
	return rule, claims.NewContext(ctx, c), nil
}

// deliver moves the challenge of a refusal err from its Meta to the
// response header h when protocol is gRPC: connect-go sends the Meta of a
// gRPC error as HTTP trailers, and net/http drops a WWW-Authenticate
// trailer (RFC 9110 §6.5.1 keeps authentication fields out of trailers).
// The response header reaches a gRPC client as header metadata, which
// connect-go clients merge into the Meta of the *connect.Error they
// return. The Connect and gRPC-Web protocols send the Meta as headers
// already. With a nil h the Meta is left as it is.
func deliver(protocol string, h http.Header, err error) error {
	var cerr *connect.Error
	if protocol != connect.ProtocolGRPC || h == nil || !errors.As(err, &cerr) {
		return err
	}
	for _, k := range []string{WWWAuthenticate, dpopNonce} {
		if v := cerr.Meta().Get(k); v != "" {
			cerr.Meta().Del(k)
			h.Set(k, v)
		}
	}
	return err
}

// token reads the token of the Authorization header, Bearer or (with
// dpop) DPoP: none, one value, or an error for several values or malformed
// credentials.
func token(h http.Header, dpop bool) (bearer.Scheme, string, error) {
	vals := h.Values("Authorization")
	switch len(vals) {
	case 0:
		return bearer.None, "", nil
	case 1:
		scheme, tok, ok := bearer.Credentials(vals[0], dpop)
		if !ok {
			return bearer.None, "", errMalformedBearer
		}
		return scheme, tok, nil
	default:
		return bearer.None, "", errTwoAuthorizations
	}
}

// sender is how the call presented its token, for the sender-constraint
// checks of internal/decide: the DPoP proof of its DPoP header when it
// used the DPoP scheme, and the client certificate of the request Handler
// recorded (none without Handler, so that a certificate-bound token is
// refused).
// certOf is decide.Sender's Cert: the client certificate of the request
// Handler recorded in the call's context from (none without Handler).
func (i *Interceptor) certOf(from any) (string, bool, error) {
	r, ok := from.(context.Context).Value(requestKey{}).(*http.Request)
	if !ok {
		return "", false, nil
	}
	return i.certs.FromRequest(r)
}

func (i *Interceptor) sender(ctx context.Context, scheme bearer.Scheme, method, procedure string, h http.Header) decide.Sender {
	s := decide.Sender{Cert: i.cert, From: ctx}
	if scheme == bearer.DPoP {
		s.DPoP = true
		s.Proof = i.dpop.Proof(h.Values("Dpop"), method, procedure)
	}
	return s
}

// requestKey is the context key of the request Handler records.
type requestKey struct{}

// Handler returns h with each request's connection (its TLS state and
// remote address) in reach of the interceptor, which a Connect interceptor
// does not otherwise see: mount the Connect handlers through it when
// tokens may be certificate-bound (RFC 8705), whether the certificate is
// the TLS connection's or a trusted proxy's Client-Cert header. Without
// it a certificate-bound token is refused (invalid_token). h is typically
// the ServeMux holding every Connect handler; the returned handler is safe
// for concurrent use if h is.
func (i *Interceptor) Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, r)))
	})
}

// report hands a decision to the decision hooks.
func (i *Interceptor) report(ctx context.Context, rule string, err error) {
	for _, hook := range i.decisions {
		hook(ctx, rule, err)
	}
}

// reject turns a refusal into the client's answer, by the classification
// every transport shares (decide.Outcome): the gRPC status grpcmw answers
// (its code, and for a challenge its message and ErrorInfo details), with
// the challenge in the WWW-Authenticate header of the error's Meta. The
// error text never reaches the client.
func (i *Interceptor) reject(ctx context.Context, err error) *connect.Error {
	k, ce := decide.Outcome(ctx, err)
	switch k {
	case decide.Canceled:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
		}
		return connect.NewError(connect.CodeCanceled, ctx.Err())
	case decide.Unavailable:
		return connect.NewError(connect.CodeUnavailable, errors.New(msgUnavailable))
	case decide.Internal:
		return connect.NewError(connect.CodeInternal, errors.New(msgInternal))
	}
	algs := ""
	if i.dpop != nil {
		algs = i.dpop.Algs
	}
	challenge := answer.Header(ce, i.realm, i.resourceMetadata, algs)
	// grpcmw's Reject renders the status of the same refusal; outside a
	// gRPC server it sets no metadata, and its Interceptors have no hooks.
	st, _ := status.FromError(i.g.Reject(ctx, err))
	cerr := connect.NewError(connect.Code(st.Code()), errors.New(challenge))
	for _, d := range st.Details() {
		if m, ok := d.(proto.Message); ok {
			if detail, derr := connect.NewErrorDetail(m); derr == nil {
				cerr.AddDetail(detail)
			}
		}
	}
	cerr.Meta().Set(WWWAuthenticate, challenge)
	if nonce := decide.Nonce(err); nonce != "" {
		cerr.Meta().Set(dpopNonce, nonce)
	}
	return cerr
}
