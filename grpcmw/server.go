package grpcmw

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/verify"
)

// ErrUnlistedMethod is the error the error hook receives for a call to a
// method that has no entry in the method table.
var ErrUnlistedMethod = errors.New("grpcmw: method not in the method table")

// Option configures the server interceptors.
type Option func(*options)

type options struct {
	realm            string
	resourceMetadata string
	hooks            []func(ctx context.Context, fullMethod string, err error)
	logger           *slog.Logger // nil: no logs
}

// WithRealm sets the realm of every challenge (RFC 6750 §3). Default: none.
func WithRealm(realm string) Option {
	return func(o *options) { o.realm = realm }
}

// WithResourceMetadata sets the resource_metadata URL of every challenge
// (RFC 9728 §5.1), the protected resource metadata document a client reads
// to find the authorization server. Default: none.
func WithResourceMetadata(url string) Option {
	return func(o *options) { o.resourceMetadata = url }
}

// WithErrorHook sets a function called for every refused call, before the
// answer is sent, with the full error: a *claims.Error (whose Err holds the
// cause), an error wrapping claims.ErrUnavailable, ErrUnlistedMethod, or an
// unexpected error of the verifier. It is for logs and metrics; it runs on
// the request path and must be safe for concurrent use. The error text is
// never sent to the client.
//
// fullMethod is the method the client called; it is in the method table
// unless err is ErrUnlistedMethod (with a wildcard rule, Methods.Lookup
// gives the rule and its configured Method). The option may be given
// several times: every hook runs, in order; a nil hook is ignored.
func WithErrorHook(hook func(ctx context.Context, fullMethod string, err error)) Option {
	return func(o *options) {
		if hook != nil {
			o.hooks = append(o.hooks, hook)
		}
	}
}

// WithLogger logs every decision of the interceptors to l at level Debug:
// the called method and its rule, the gRPC status code, the OAuth error
// code, the verify.Reason of a rejected token, the challenge parameters
// (which come from the rule) and, for Unavailable and Internal answers
// only, the error text. It never logs the token or a claim value (not even
// sub, which is personal data). A nil l, the default, logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// authorizer is the one decision behind the unary and stream interceptors.
type authorizer struct {
	v *verify.Verifier
	m *Methods
	options
}

func newAuthorizer(v *verify.Verifier, m *Methods, opts []Option) *authorizer {
	if v == nil {
		panic("grpcmw: nil *verify.Verifier")
	}
	if m == nil {
		panic("grpcmw: nil *Methods")
	}
	a := &authorizer{v: v, m: m}
	for _, opt := range opts {
		opt(&a.options)
	}
	return a
}

// authorize decides on a call to fullMethod whose incoming context is ctx.
// It returns the handler's context, carrying the verified claims unless the
// method is public, or the rejection.
func (a *authorizer) authorize(ctx context.Context, fullMethod string) (context.Context, *rejection) {
	rule, ok := a.m.Lookup(fullMethod)
	if !ok {
		a.report(ctx, fullMethod, ErrUnlistedMethod)
		r := rejection{st: statusUnlisted}
		a.logRefused(ctx, fullMethod, "", &r, ErrUnlistedMethod)
		return nil, &r
	}
	if rule.Public {
		a.logAllowed(ctx, fullMethod, rule.Method)
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
	a.logAllowed(ctx, fullMethod, rule.Method)
	return claims.NewContext(ctx, c), nil
}

// refuse reports err to the hooks and the logger and builds the answer.
func (a *authorizer) refuse(ctx context.Context, fullMethod, ruleMethod string, err error) *rejection {
	a.report(ctx, fullMethod, err)
	r := a.reject(ctx, err)
	a.logRefused(ctx, fullMethod, ruleMethod, &r, err)
	return &r
}

func (a *authorizer) report(ctx context.Context, fullMethod string, err error) {
	for _, hook := range a.hooks {
		hook(ctx, fullMethod, err)
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
//	method not in m                   PermissionDenied, no challenge
//
// A refused call with a challenge gets it in the www-authenticate response
// header metadata, as its status message, and as google.rpc.ErrorInfo
// details (see the package documentation). It panics if v or m is nil.
func UnaryServerInterceptor(v *verify.Verifier, m *Methods, opts ...Option) grpc.UnaryServerInterceptor {
	a := newAuthorizer(v, m, opts)
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

// StreamServerInterceptor returns the streaming counterpart of
// UnaryServerInterceptor, with the same decision and answers, for
// server-streaming, client-streaming and bidirectional methods alike. The
// decision is made before the handler runs, from the stream's metadata;
// the handler's stream returns a Context carrying the verified claims.
// It panics if v or m is nil.
func StreamServerInterceptor(v *verify.Verifier, m *Methods, opts ...Option) grpc.StreamServerInterceptor {
	a := newAuthorizer(v, m, opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		hctx, rej := a.authorize(ctx, info.FullMethod)
		if rej != nil {
			if rej.challenge != "" {
				_ = ss.SetHeader(metadata.Pairs(WWWAuthenticateKey, rej.challenge))
			}
			return rej.st.Err()
		}
		if hctx == ctx {
			return handler(srv, ss)
		}
		return handler(srv, &serverStream{ServerStream: ss, ctx: hctx})
	}
}

// serverStream swaps the context of a grpc.ServerStream.
type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }
