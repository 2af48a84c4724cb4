package grpcmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/answer"
	"github.com/stepupauth/stepup/verify"
)

// ErrUnlistedMethod is the error the error hook receives for a call to a
// method that has no entry in the method table.
var ErrUnlistedMethod = errors.New("grpcmw: method not in the method table")

// ErrStreamExpired is the cause, wrapped in an invalid_token *claims.Error,
// that the error hook receives when a stream outlives the expiry of the
// token that authorized it (see WithClock and InsecureNoStreamExpiry).
var ErrStreamExpired = errors.New("grpcmw: access token expired during the stream")

// Option configures the server interceptors. Options are checked by
// NewServerInterceptors.
type Option func(*options)

type options struct {
	realm            string
	resourceMetadata string
	hooks            []func(ctx context.Context, fullMethod string, err error)
	decisions        []func(ctx context.Context, rule string, err error)
	logger           *slog.Logger // nil: no logs
	now              func() time.Time
	nowSet           bool
	noStreamExpiry   bool
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

// WithErrorHook sets a function called for every refused call, before the
// answer is sent, with the full error: a *claims.Error (whose Err holds the
// cause), an error wrapping claims.ErrUnavailable, ErrUnlistedMethod, an
// error wrapping the call context's error when it ended during
// verification, or an unexpected error of the verifier. It is for logs and
// metrics; it runs on the request path and must be safe for concurrent use.
// The error text is never sent to the client.
//
// fullMethod is the method the client called. When err is
// ErrUnlistedMethod it is client-supplied and matches no rule: log or label
// it as "unlisted", not verbatim. Otherwise it is in the method table (with
// a wildcard rule, Methods.Lookup gives the rule and its configured Method).
// The option may be given several times: every hook runs, in order; a nil
// hook is ignored.
func WithErrorHook(hook func(ctx context.Context, fullMethod string, err error)) Option {
	return func(o *options) {
		if hook != nil {
			o.hooks = append(o.hooks, hook)
		}
	}
}

// WithDecisionHook sets a function called once for every call the
// interceptors decide on: with a nil error when the call is allowed
// (before the handler runs), otherwise with the error WithErrorHook
// receives, a stream that outlives its token included. rule is the Method
// of the rule that governs the call, from the method table (the exact
// method or a "/pkg.Service/*" wildcard), or "" for a method without a
// rule: never the name the client sent. Calls to public methods need no
// decision and are not reported. It is for metrics that need both sides,
// such as the step-up rate of a method; it runs on the request path and
// must be safe for concurrent use. The option may be given several times:
// every hook runs, in order; a nil hook is ignored.
func WithDecisionHook(hook func(ctx context.Context, rule string, err error)) Option {
	return func(o *options) {
		if hook != nil {
			o.decisions = append(o.decisions, hook)
		}
	}
}

// WithLogger logs every decision of the interceptors to l at level Debug:
// the method as the rule that governs it names it (the exact method, or the
// service wildcard "/pkg.Service/*" for every method under it, or
// "unlisted" for a method without a rule) and that rule, the gRPC status
// code, the OAuth error code ("none" when no token was sent, as package
// metrics counts it), the verify.Reason of a rejected token, for a typ,
// iss or aud the verifier does not accept the refused value
// (verify.TokenError Received: quoted, at most 64 bytes) and a hint naming
// the configuration to change, the challenge parameters (which come from
// the rule) and, for Unavailable and Internal answers only, the error text.
// At level Warn, and at most once per claim and 10 minutes, it reports that
// acr, amr or auth_time is absent from most tokens a requirement on it
// sees (a configuration problem, see verify.AbsentClaimError), with the
// claim name the verifier reads. The method name the client sent is never logged: under a wildcard, with
// a grpc.UnknownServiceHandler, it can be anything. It never logs the token
// or any other claim value (not even sub, which is personal data); the
// refused value never reaches the status, its details or the metadata. A
// nil l, the default, logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithClock sets the clock that times stream expiry (default time.Now).
// Give the clock of verify.Config.Now when the verifier has one, so that
// both agree on when a token expires. now must not be nil.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now, o.nowSet = now, true }
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

// ServerInterceptors are the unary and stream server interceptors of one
// verifier, method table and option set, built by NewServerInterceptors.
// They share one decision path and are safe for concurrent use.
type ServerInterceptors struct {
	a *authorizer
}

// NewServerInterceptors checks its arguments and returns the interceptors
// that authorize every call against the method table m with v. It reports
// an error for a nil verifier or table, a nil Option, a realm outside
// printable ASCII, a resource metadata URL that is not https (http for
// loopback) or has a fragment, and a nil clock. Configuration read at run
// time should come through here; UnaryServerInterceptor and
// StreamServerInterceptor panic instead.
func NewServerInterceptors(v *verify.Verifier, m *Methods, opts ...Option) (*ServerInterceptors, error) {
	a, err := newAuthorizer(v, m, opts)
	if err != nil {
		return nil, err
	}
	return &ServerInterceptors{a: a}, nil
}

// authorizer is the one decision behind the unary and stream interceptors.
type authorizer struct {
	v *verify.Verifier
	m *Methods
	options
	// expired is the answer to a message exchanged after the token's exp.
	expired rejection
}

func newAuthorizer(v *verify.Verifier, m *Methods, opts []Option) (*authorizer, error) {
	if v == nil {
		return nil, errors.New("grpcmw: nil *verify.Verifier")
	}
	if m == nil {
		return nil, errors.New("grpcmw: nil *Methods")
	}
	a := &authorizer{v: v, m: m}
	for _, opt := range opts {
		if opt == nil {
			return nil, errors.New("grpcmw: nil option")
		}
		opt(&a.options)
	}
	if err := answer.CheckRealm(a.realm); err != nil {
		return nil, fmt.Errorf("grpcmw: %w", err)
	}
	if a.resourceMetadata != "" {
		if err := answer.CheckURL(a.resourceMetadata, true); err != nil {
			return nil, fmt.Errorf("grpcmw: resource metadata URL: %w", err)
		}
	}
	if a.nowSet && a.now == nil {
		return nil, errors.New("grpcmw: nil clock")
	}
	if a.now == nil {
		a.now = time.Now
	}
	a.expired = a.reject(context.Background(), claims.InvalidToken(ErrStreamExpired))
	return a, nil
}

func mustAuthorizer(fn string, v *verify.Verifier, m *Methods, opts []Option) *authorizer {
	a, err := newAuthorizer(v, m, opts)
	if err != nil {
		panic("grpcmw: " + fn + ": " + strings.TrimPrefix(err.Error(), "grpcmw: "))
	}
	return a
}

// authorize decides on a call to fullMethod whose incoming context is ctx.
// It returns the handler's context, carrying the verified claims unless the
// method is public, or the rejection.
func (a *authorizer) authorize(ctx context.Context, fullMethod string) (context.Context, *rejection) {
	rule, ok := a.m.lookup(fullMethod)
	if !ok {
		a.report(ctx, fullMethod, "", ErrUnlistedMethod)
		r := rejection{st: statusUnlisted}
		a.logRefused(ctx, "", &r, ErrUnlistedMethod)
		return nil, &r
	}
	if rule.Public {
		a.logAllowed(ctx, rule.Method)
		return ctx, nil
	}
	raw, err := bearerToken(ctx)
	if err != nil {
		return nil, a.refuse(ctx, fullMethod, rule.Method, claims.InvalidRequest(err))
	}
	c, err := a.v.Authorize(ctx, raw, rule.Requirement)
	if err != nil {
		return nil, a.refuse(ctx, fullMethod, rule.Method, err)
	}
	for _, hook := range a.decisions {
		hook(ctx, rule.Method, nil)
	}
	a.logAllowed(ctx, rule.Method)
	return claims.NewContext(ctx, c), nil
}

// refuse reports err to the hooks and the logger and builds the answer.
func (a *authorizer) refuse(ctx context.Context, fullMethod, ruleMethod string, err error) *rejection {
	a.report(ctx, fullMethod, ruleMethod, err)
	r := a.reject(ctx, err)
	a.logRefused(ctx, ruleMethod, &r, err)
	return &r
}

// report hands a refusal to the error hooks (with the called method) and
// the decision hooks (with the rule's Method, "" when none).
func (a *authorizer) report(ctx context.Context, fullMethod, ruleMethod string, err error) {
	for _, hook := range a.hooks {
		hook(ctx, fullMethod, err)
	}
	for _, hook := range a.decisions {
		hook(ctx, ruleMethod, err)
	}
}

// UnaryServerInterceptor returns an interceptor that authorizes every unary
// call against the method table m with v.Authorize, the same path httpmw
// uses. The bearer token comes from the "authorization" metadata
// ("Bearer <token>", scheme case-insensitive). On success the handler runs
// with the verified claims in its context (claims.FromContext); otherwise
// the call ends with the gRPC counterpart of the HTTP answer:
//
//	no token                          Unauthenticated, challenge without error code
//	malformed (two authorization)     InvalidArgument   INVALID_REQUEST
//	bad token                         Unauthenticated   INVALID_TOKEN
//	acr / amr / auth_time short       Unauthenticated   INSUFFICIENT_USER_AUTHENTICATION
//	scope short                       PermissionDenied  INSUFFICIENT_SCOPE
//	keys unavailable                  Unavailable, no challenge
//	call context ended                Canceled or DeadlineExceeded, no challenge
//	method not in m                   PermissionDenied, no challenge
//
// A refused call with a challenge gets it in the www-authenticate response
// header metadata, as its status message, and as google.rpc.ErrorInfo
// details (see the package documentation).
//
// Like http.ServeMux.Handle with a bad pattern, it panics when
// NewServerInterceptors would report an error (nil v or m, a nil or invalid
// option): a programming error found at start-up. Use
// NewServerInterceptors for configuration read at run time.
func UnaryServerInterceptor(v *verify.Verifier, m *Methods, opts ...Option) grpc.UnaryServerInterceptor {
	return (&ServerInterceptors{a: mustAuthorizer("UnaryServerInterceptor", v, m, opts)}).Unary()
}

// StreamServerInterceptor returns the streaming counterpart of
// UnaryServerInterceptor, with the same decision and answers, for
// server-streaming, client-streaming and bidirectional methods alike, and
// stream expiry (see Stream). It panics like UnaryServerInterceptor.
func StreamServerInterceptor(v *verify.Verifier, m *Methods, opts ...Option) grpc.StreamServerInterceptor {
	return (&ServerInterceptors{a: mustAuthorizer("StreamServerInterceptor", v, m, opts)}).Stream()
}

// Unary returns the unary server interceptor (see UnaryServerInterceptor).
func (s *ServerInterceptors) Unary() grpc.UnaryServerInterceptor {
	a := s.a
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		hctx, rej := a.authorize(ctx, info.FullMethod)
		if rej != nil {
			if rej.challenge != "" {
				// Fails only outside a real server (a direct call in a
				// test); the status message carries the challenge too.
				_ = grpc.SetHeader(ctx, metadata.Pairs(WWWAuthenticateKey, rej.challenge))
			}
			return nil, rej.st.Err()
		}
		return handler(hctx, req)
	}
}

// Stream returns the stream server interceptor. The decision is made
// before the handler runs, from the stream's metadata; the handler's stream
// returns a Context carrying the verified claims.
//
// Stream expiry (on unless InsecureNoStreamExpiry): at the exp of the token
// that authorized the stream, by the WithClock clock and without the
// verifier's leeway, the handler's context is cancelled (context.Cause is
// ErrStreamExpired), SendMsg and RecvMsg return the invalid_token status
// instead of exchanging a message, and the stream ends with Unauthenticated,
// an invalid_token challenge in the www-authenticate trailer metadata (the
// header may already be sent) and the status message, and INVALID_TOKEN
// details, whatever the handler returns. A handler blocked in RecvMsg
// learns of the expiry when its next message arrives or, if it watches its
// context, at once.
func (s *ServerInterceptors) Stream() grpc.StreamServerInterceptor {
	a := s.a
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		hctx, rej := a.authorize(ctx, info.FullMethod)
		if rej != nil {
			if rej.challenge != "" {
				_ = ss.SetHeader(metadata.Pairs(WWWAuthenticateKey, rej.challenge))
			}
			return rej.st.Err()
		}
		if hctx == ctx { // public method
			return handler(srv, ss)
		}
		c, _ := claims.FromContext(hctx)
		if a.noStreamExpiry || c == nil || c.Expiry.IsZero() {
			return handler(srv, &serverStream{ServerStream: ss, ctx: hctx})
		}
		return a.expiringStream(srv, ss, info.FullMethod, hctx, c.Expiry, handler)
	}
}

// expiringStream runs handler with a stream whose context is cancelled at
// exp and whose messages stop there.
func (a *authorizer) expiringStream(srv any, ss grpc.ServerStream, fullMethod string, hctx context.Context, exp time.Time, handler grpc.StreamHandler) error {
	ectx, cancel := context.WithCancelCause(hctx)
	defer cancel(nil)
	es := &expiringServerStream{serverStream: serverStream{ServerStream: ss, ctx: ectx}, a: a}
	expire := func() {
		es.expired.Store(true)
		cancel(ErrStreamExpired)
	}
	if d := exp.Sub(a.now()); d > 0 {
		timer := time.AfterFunc(d, expire)
		defer timer.Stop()
	} else {
		expire() // accepted within the verifier's leeway, but past exp
	}
	err := handler(srv, es)
	if !es.expired.Load() {
		return err
	}
	rule, _ := a.m.lookup(fullMethod)
	rej := a.refuse(ss.Context(), fullMethod, rule.Method, claims.InvalidToken(ErrStreamExpired))
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
	a       *authorizer
	expired atomic.Bool
}

func (s *expiringServerStream) SendMsg(m any) error {
	if s.expired.Load() {
		return s.a.expired.st.Err()
	}
	return s.ServerStream.SendMsg(m)
}

func (s *expiringServerStream) RecvMsg(m any) error {
	if s.expired.Load() {
		return s.a.expired.st.Err()
	}
	err := s.ServerStream.RecvMsg(m)
	if err == nil && s.expired.Load() {
		return s.a.expired.st.Err()
	}
	return err
}
