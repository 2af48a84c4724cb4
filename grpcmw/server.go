package grpcmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/internal/answer"
	"github.com/stepupauth/stepup/internal/decide"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/verify"
)

// ErrUnlistedMethod is the error the decision hooks receive for a call to a
// method that has no entry in the method table.
var ErrUnlistedMethod = decide.ErrUnlisted

// ErrStreamExpired is the cause, wrapped in an invalid_token *claims.Error,
// that the decision hooks receive when a stream outlives the expiry of the
// token that authorized it (see the package documentation).
var ErrStreamExpired = errors.New("grpcmw: access token expired during the stream")

// Option configures the server interceptors. Options are checked by New.
type Option func(*options)

type options struct {
	realm            string
	resourceMetadata string
	decisions        []func(ctx context.Context, rule string, err error)
	logger           *slog.Logger // nil: no logs
	loggerSet        bool
	noStreamExpiry   bool
	dpopVerifier     *dpop.Verifier
	dpopSet          bool
	publicURL        string
	certs            *mtls.Source
	certsSet         bool
	dpop             *decide.DPoP                         // nil: the DPoP scheme is not read
	cert             func(from any) (string, bool, error) // certOf, made once
}

// WithDPoP accepts DPoP-bound access tokens (RFC 9449), as
// httpmw.WithDPoP does over HTTP: the scheme in the authorization metadata
// ("DPoP <token>"), the proof in the one dpop metadata value. A gRPC call
// is an HTTP/2 POST to its full method, so a proof's htm is POST and its
// htu publicURL followed by the full method ("/pkg.Service/Method"), for
// unary calls and streams alike (a stream's proof is checked when it
// opens). publicURL is configuration, the URL clients address this server
// by; v must not be nil; publicURL must be https (http only for a loopback
// host) without a query or fragment.
func WithDPoP(v *dpop.Verifier, publicURL string) Option {
	return func(o *options) { o.dpopVerifier, o.dpopSet, o.publicURL = v, true, publicURL }
}

// WithClientCertificates sets where the client certificate of a
// certificate-bound token (RFC 8705) comes from: a trusted proxy's
// client-cert metadata (RFC 9440's Client-Cert, see mtls.Config) as well as
// the connection's TLS state. By default only the TLS state of the peer
// is read. s must not be nil.
func WithClientCertificates(s *mtls.Source) Option {
	return func(o *options) { o.certs, o.certsSet = s, true }
}

// WithRealm sets the realm of every challenge (RFC 6750 §3). Default: none.
// The realm must be printable ASCII, as for httpmw.WithRealm (quotes and
// backslashes are escaped in the challenge).
func WithRealm(realm string) Option {
	return func(o *options) { o.realm = realm }
}

// WithResourceMetadata sets the resource_metadata URL of every challenge
// (RFC 9728 §5.1), the protected resource metadata document a client reads
// to find the authorization server (httpmw.MetadataURL gives it). Default:
// none. The URL must be absolute https (http only for a loopback host)
// without a fragment, as for httpmw.WithResourceMetadata.
func WithResourceMetadata(url string) Option {
	return func(o *options) { o.resourceMetadata = url }
}

// WithDecisionHook sets a function called once for every call the
// interceptors decide on, and for every Reject: with a nil error for an
// allowed call, once its handler has returned (unless the handler refused
// the call with Reject, which reports the refusal instead: a call is
// reported once), otherwise with the full error of the refusal: a
// *claims.Error (whose Err holds the cause), an error wrapping
// claims.ErrUnavailable, ErrUnlistedMethod, an error wrapping the call
// context's error when it ended during verification, a chooser's error
// (Rule.Choose), or a stream that outlived its token (ErrStreamExpired).
// The error text is for logs and metrics, never sent to the client.
//
// rule is the Method of the rule that governs the call, from the method
// table (the exact method or a "/pkg.Service/*" wildcard), or "" for a
// method without a rule: never the name the client sent, so it is safe as
// a metric label. Calls to public methods need no decision and are not
// reported. The hook runs on the call's goroutine and must be safe for
// concurrent use. The option may be given several times: every hook runs,
// in order (metrics.Metrics.GRPCDecisionHook is one). hook must not be nil.
func WithDecisionHook(hook func(ctx context.Context, rule string, err error)) Option {
	return func(o *options) { o.decisions = append(o.decisions, hook) }
}

// WithLogger logs every decision of the interceptors to l at level Debug:
// the rule that governs the call (its Method: the exact method, or the
// service wildcard "/pkg.Service/*" for every method under it, or
// "unlisted" for a method without a rule), the gRPC status code, and for a
// refusal the same attributes as httpmw.WithLogger (code, reason, refused
// value and hint, challenge parameters, and the error text of Unavailable
// and Internal answers only). At level Warn, rate-limited, it reports a
// claim absent from most tokens (see verify.AbsentClaimError). The method
// name the client sent is never logged: under a wildcard, with a
// grpc.UnknownServiceHandler, it can be anything. It never logs the token
// or any claim value; the refused value never reaches the status, its
// details or the metadata. l must not be nil; without this option nothing
// is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger, o.loggerSet = l, true }
}

// InsecureNoStreamExpiry turns off stream expiry: a stream authorized once
// then runs for as long as the client keeps it open, past the token's exp.
// By default the stream handler's context is cancelled at the token's exp
// and the stream ends with Unauthenticated invalid_token (see the package
// documentation). Turn it off only for streams whose lifetime is bounded
// otherwise.
func InsecureNoStreamExpiry() Option {
	return func(o *options) { o.noStreamExpiry = true }
}

// Interceptors are the unary and stream server interceptors of one
// verifier, method table and option set, built by New. They share one
// decision path, the one package httpmw uses too, and are safe for
// concurrent use.
type Interceptors struct {
	v *verify.Verifier
	m *Methods
	options
	// expired is the answer to a message exchanged after the token's exp.
	expired rejection
}

// New checks its arguments and returns the interceptors that authorize
// every call against the method table m with v. It reports an error for a
// nil verifier or table, a nil Option, hook or logger, a realm outside
// printable ASCII, and a resource metadata URL that is not https (http for
// loopback) or has a fragment.
func New(v *verify.Verifier, m *Methods, opts ...Option) (*Interceptors, error) {
	if v == nil {
		return nil, errors.New("grpcmw: nil *verify.Verifier")
	}
	if m == nil {
		return nil, errors.New("grpcmw: nil *Methods")
	}
	s := &Interceptors{v: v, m: m}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("grpcmw: nil option")
		}
		opt(&s.options)
	}
	if err := answer.CheckRealm(s.realm); err != nil {
		return nil, fmt.Errorf("grpcmw: %w", err)
	}
	if s.resourceMetadata != "" {
		if err := answer.CheckURL(s.resourceMetadata, true); err != nil {
			return nil, fmt.Errorf("grpcmw: resource metadata URL: %w", err)
		}
	}
	for _, h := range s.decisions {
		if h == nil {
			return nil, errors.New("grpcmw: nil decision hook")
		}
	}
	if s.loggerSet && s.logger == nil {
		return nil, errors.New("grpcmw: nil logger")
	}
	if s.dpopSet {
		if s.dpopVerifier == nil {
			return nil, errors.New("grpcmw: WithDPoP: nil *dpop.Verifier")
		}
		if err := answer.CheckURL(s.publicURL, false); err != nil {
			return nil, fmt.Errorf("grpcmw: WithDPoP: public URL %q: %w", s.publicURL, err)
		}
		s.dpop = decide.NewDPoP(s.dpopVerifier, s.publicURL)
	}
	if s.certsSet && s.certs == nil {
		return nil, errors.New("grpcmw: WithClientCertificates: nil *mtls.Source")
	}
	if s.certs == nil {
		s.certs = new(mtls.Source) // the TLS state only
	}
	s.cert = s.certOf
	s.expired = s.reject(context.Background(), claims.InvalidToken(ErrStreamExpired))
	return s, nil
}

// callKey is the context key of the *call of a call the interceptors let
// through.
type callKey struct{}

// call is the one report of a call the interceptors let through, and what
// Reject inside its handler needs: the governing rule. The first of the
// allowed report (when the handler returns), a Reject by the same
// Interceptors and a stream's expiry makes the report; the others are
// dropped, so a call is reported once. A public call has one too, so that a
// Reject in its handler is reported under its rule; it has no allowed
// report.
type call struct {
	s        *Interceptors
	rule     string
	public   bool
	reported atomic.Bool
}

// claim reports whether the caller makes the call's one report.
func (c *call) claim() bool { return c.reported.CompareAndSwap(false, true) }

// callOf returns the call of ctx made by s, or nil.
func (s *Interceptors) callOf(ctx context.Context) *call {
	if cl, ok := ctx.Value(callKey{}).(*call); ok && cl.s == s {
		return cl
	}
	return nil
}

// authorize decides on a call to fullMethod whose incoming context is ctx;
// req is the request message of a unary call, nil for a stream. It returns
// the rule, the handler's context (carrying the verified claims and the
// *call unless the method is public), and the rejection, already reported.
func (s *Interceptors) authorize(ctx context.Context, fullMethod string, req any) (Rule, context.Context, *rejection) {
	rule, ok := s.m.lookup(fullMethod)
	if !ok {
		s.report(ctx, "", ErrUnlistedMethod)
		r := rejection{st: statusUnlisted}
		s.logRefused(ctx, "", &r, ErrUnlistedMethod)
		return rule, nil, &r
	}
	if rule.Public {
		if s.observed() {
			ctx = context.WithValue(ctx, callKey{}, &call{s: s, rule: rule.Method, public: true})
		}
		return rule, ctx, nil
	}
	scheme, raw, terr := token(ctx, s.dpop != nil)
	var chooser decide.Chooser
	if rule.Choose != nil {
		chooser = func(c *claims.Claims) (claims.Requirement, error) {
			return rule.Choose(claims.NewContext(ctx, c), c, fullMethod, req)
		}
	}
	c, err := decide.Decide(ctx, s.v, raw, terr, s.sender(ctx, scheme, fullMethod), rule.Requirement, chooser)
	if err != nil {
		return rule, nil, s.refuse(ctx, rule.Method, err)
	}
	hctx := claims.NewContext(ctx, c)
	if s.observed() {
		hctx = context.WithValue(hctx, callKey{}, &call{s: s, rule: rule.Method})
	}
	return rule, hctx, nil
}

// observed reports whether decisions are reported to anything.
func (s *Interceptors) observed() bool {
	return len(s.decisions) > 0 || s.logger != nil
}

// done reports an allowed call once its handler returned with code (Unknown
// when it panicked), unless the call was reported already (a Reject, a
// stream's expiry). Public calls are not reported.
func (s *Interceptors) done(hctx context.Context, code codes.Code) {
	cl := s.callOf(hctx)
	if cl == nil || cl.public || !cl.claim() {
		return
	}
	s.report(hctx, cl.rule, nil)
	s.logAllowed(hctx, cl.rule, code)
}

// refuse reports err to the hooks and the logger and builds the answer.
func (s *Interceptors) refuse(ctx context.Context, rule string, err error) *rejection {
	s.report(ctx, rule, err)
	r := s.reject(ctx, err)
	s.logRefused(ctx, rule, &r, err)
	return &r
}

// report hands a decision to the decision hooks.
func (s *Interceptors) report(ctx context.Context, rule string, err error) {
	for _, hook := range s.decisions {
		hook(ctx, rule, err)
	}
}

// errNilReject is what Reject answers and reports for a nil error.
var errNilReject = errors.New("grpcmw: Reject called with a nil error")

// Reject returns the status error that answers a refused call exactly as
// the interceptors do, and reports it like their own refusals: to the
// decision hooks and to the logger. It is for handlers that decide inside,
// after reading the request: give it a *claims.Error (for example from
// claims.Requirement.Evaluate, or claims.InvalidRequest) or any other
// error, and return what it returns. The challenge goes into the
// www-authenticate header metadata when the header is not sent yet, else
// into the trailer; the status message and ErrorInfo details carry it too.
// The answers follow the table of the package documentation; an error
// that is neither a *claims.Error, an outage nor a context error is
// Internal without details, and so is a nil err.
//
// ctx is the handler's context. Behind these interceptors the call is
// reported once, under its rule (a public method's too), as refused, not
// also as allowed; a second Reject answers without reporting again, and so
// does a Reject of the error Reject returned, which keeps its answer (it
// unwraps to err). Anywhere else the call is reported under the rule "".
// A nil *claims.Error is Internal, like a nil err.
func (s *Interceptors) Reject(ctx context.Context, err error) error {
	if err == nil {
		err = errNilReject
	}
	err = decide.Normalize(err)
	rule, report := "", true
	if cl := s.callOf(ctx); cl != nil {
		rule, report = cl.rule, cl.claim()
	}
	var rej rejection
	if report {
		rej = *s.refuse(ctx, rule, err)
	} else {
		rej = s.reject(ctx, err)
	}
	if rej.challenge != "" {
		md := rej.metadata()
		if grpc.SetHeader(ctx, md) != nil {
			_ = grpc.SetTrailer(ctx, md)
		}
	}
	return &rejected{st: rej.st, err: err}
}

// rejected is the error Reject returns: the status for gRPC (GRPCStatus),
// the refusal it answers for errors.As (Unwrap), so that a refusal passed
// through Reject twice keeps its answer.
type rejected struct {
	st  *status.Status
	err error
}

func (r *rejected) Error() string              { return r.st.Err().Error() }
func (r *rejected) GRPCStatus() *status.Status { return r.st }
func (r *rejected) Unwrap() error              { return r.err }

// Unary returns the unary server interceptor. The bearer token comes from
// the "authorization" metadata ("Bearer <token>", scheme
// case-insensitive). On success the handler runs with the verified claims
// in its context (claims.FromContext); otherwise the call ends with the
// gRPC counterpart of the HTTP answer (see the package documentation): the
// challenge in the www-authenticate response header metadata, as the
// status message, and as google.rpc.ErrorInfo details. A rule with Choose
// gets the request message.
func (s *Interceptors) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		_, hctx, rej := s.authorize(ctx, info.FullMethod, req)
		if rej != nil {
			if rej.challenge != "" {
				// Fails only outside a real server (a direct call in a
				// test); the status message carries the challenge too.
				_ = grpc.SetHeader(ctx, rej.metadata())
			}
			return nil, rej.st.Err()
		}
		code := codes.Unknown // unless the handler returns
		defer func() { s.done(hctx, code) }()
		resp, err := handler(hctx, req)
		code = status.Code(err)
		return resp, err
	}
}

// Stream returns the stream server interceptor, for server-streaming,
// client-streaming and bidirectional methods alike. The decision is made
// before the handler runs, from the stream's metadata (a rule's Choose gets
// a nil request message); the handler's stream returns a Context carrying
// the verified claims. An allowed stream is reported when its handler
// returns.
//
// Stream expiry (on unless InsecureNoStreamExpiry): at the exp of the token
// that authorized the stream, by the verifier's clock and without its
// leeway, the handler's context is cancelled (context.Cause is
// ErrStreamExpired), SendMsg and RecvMsg return the invalid_token status
// instead of exchanging a message, and the stream ends with
// Unauthenticated, an invalid_token challenge in the www-authenticate
// trailer metadata (the header may already be sent) and the status
// message, and INVALID_TOKEN details, whatever the handler returns. A
// handler blocked in RecvMsg learns of the expiry when its next message
// arrives or, if it watches its context, at once.
func (s *Interceptors) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		rule, hctx, rej := s.authorize(ctx, info.FullMethod, nil)
		if rej != nil {
			if rej.challenge != "" {
				_ = ss.SetHeader(rej.metadata())
			}
			return rej.st.Err()
		}
		if rule.Public {
			if hctx == ctx {
				return handler(srv, ss)
			}
			return handler(srv, &serverStream{ServerStream: ss, ctx: hctx})
		}
		code := codes.Unknown // unless the handler returns
		defer func() { s.done(hctx, code) }()
		c, _ := claims.FromContext(hctx)
		var err error
		if s.noStreamExpiry || c == nil || c.Expiry.IsZero() {
			err = handler(srv, &serverStream{ServerStream: ss, ctx: hctx})
		} else {
			err = s.expiringStream(srv, ss, rule.Method, hctx, c, handler)
		}
		code = status.Code(err)
		return err
	}
}

// expiringStream runs handler with a stream whose context is cancelled at
// exp and whose messages stop there. A stream that outlived its token is
// reported as refused, once.
func (s *Interceptors) expiringStream(srv any, ss grpc.ServerStream, rule string, hctx context.Context, c *claims.Claims, handler grpc.StreamHandler) error {
	exp := c.Expiry
	ectx, cancel := context.WithCancelCause(hctx)
	defer cancel(nil)
	es := &expiringServerStream{serverStream: serverStream{ServerStream: ss, ctx: ectx}, s: s}
	expire := func() {
		es.expired.Store(true)
		cancel(ErrStreamExpired)
	}
	if d := exp.Sub(s.v.Now()); d > 0 {
		timer := time.AfterFunc(d, expire)
		defer timer.Stop()
	} else {
		expire() // accepted within the verifier's leeway, but past exp
	}
	err := handler(srv, es)
	if !es.expired.Load() {
		return err
	}
	expired := decide.Expired(c, ErrStreamExpired)
	if cl := s.callOf(hctx); cl != nil && !cl.claim() {
		// The handler refused the call itself (Reject) and it is reported:
		// its answer stands.
		if err != nil {
			return err
		}
		rej := s.reject(ss.Context(), expired)
		ss.SetTrailer(metadata.Pairs(WWWAuthenticateKey, rej.challenge))
		return rej.st.Err()
	}
	rej := s.refuse(ss.Context(), rule, expired)
	ss.SetTrailer(metadata.Pairs(WWWAuthenticateKey, rej.challenge))
	return rej.st.Err()
}

// serverStream swaps the context of a grpc.ServerStream.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }

// expiringServerStream refuses messages once the token has expired.
type expiringServerStream struct {
	serverStream
	s       *Interceptors
	expired atomic.Bool
}

func (s *expiringServerStream) SendMsg(m any) error {
	if s.expired.Load() {
		return s.s.expired.st.Err()
	}
	return s.ServerStream.SendMsg(m)
}

func (s *expiringServerStream) RecvMsg(m any) error {
	if s.expired.Load() {
		return s.s.expired.st.Err()
	}
	err := s.ServerStream.RecvMsg(m)
	if err == nil && s.expired.Load() {
		return s.s.expired.st.Err()
	}
	return err
}
