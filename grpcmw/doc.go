// Package grpcmw enforces step-up authentication on gRPC servers and
// surfaces its challenges on gRPC clients.
//
// On the server, the interceptors New returns look up the called method in
// a Methods table, take the bearer token from the "authorization" metadata
// and make the one decision that the net/http middleware (package httpmw)
// makes too, by the same code. The handler runs with the verified claims in
// its context (claims.FromContext), for unary and streaming methods alike.
//
//	methods, err := grpcmw.NewMethods(
//		grpcmw.Rule{Method: "/grpc.health.v1.Health/*", Public: true},
//		grpcmw.Rule{Method: "/bank.v1.Bank/*"}, // any valid token
//		grpcmw.Rule{Method: "/bank.v1.Bank/Transfer", Requirement: claims.Requirement{
//			ACR: []string{claims.ACRMultiFactor}, MaxAge: 5 * time.Minute}},
//	)
//	...
//	interceptors, err := grpcmw.New(v, methods, grpcmw.WithRealm("bank"))
//	...
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(interceptors.Unary()),
//		grpc.ChainStreamInterceptor(interceptors.Stream()))
//
// A rule's Choose picks the requirement from the call itself, after the
// token has verified: for a unary call it sees the request message
// ("transfers above 1,000 need a hardware key"). A handler that decides
// inside returns Interceptors.Reject(ctx, err), which answers exactly as
// the interceptors do and reports the call once, as refused.
//
// # Method table
//
// Keys are full methods, "/package.Service/Method", or service wildcards,
// "/package.Service/*"; an exact entry beats its service's wildcard. A method
// with no entry is denied (fail closed) with PermissionDenied, no challenge
// and no details, before any token is looked at: no token can make the call
// succeed, so the client is not invited to log in again. Public methods are
// listed explicitly with Public: true; they need no token, the token of a
// call that sends one is ignored, and the handler's context has no claims.
//
// # Answers
//
// The token is read from the single "authorization" metadata value
// "Bearer <token>" (RFC 6750 §2.1; scheme case-insensitive). A value of
// another scheme counts as no bearer token; two values, or a Bearer value
// without a well-formed token, are a malformed request. A refused call ends
// with the gRPC counterpart of the HTTP answer (RFC 6750 §3.1, RFC 9470 §3):
//
//	no token                       Unauthenticated   (challenge without error code, no ErrorInfo)
//	two authorization values,
//	  malformed Bearer credentials InvalidArgument   INVALID_REQUEST
//	bad token                      Unauthenticated   INVALID_TOKEN
//	acr / amr / auth_time short    Unauthenticated   INSUFFICIENT_USER_AUTHENTICATION
//	scope short                    PermissionDenied  INSUFFICIENT_SCOPE
//	Entra ID claims challenge      Unauthenticated   INSUFFICIENT_CLAIMS (metadata claims, authorizationUri)
//	keys unavailable, or a server's
//	  own context error (a chooser's) Unavailable    (no challenge: an outage is not the client's fault)
//	chooser error, invalid chosen
//	  requirement                  Internal          (no challenge, no details)
//	call context ended during
//	  verification                 Canceled / DeadlineExceeded (status.FromContextError; no challenge)
//	method not in the table        PermissionDenied  (no challenge)
//	token expired during a stream  Unauthenticated   INVALID_TOKEN (challenge in trailer metadata)
//
// The code-to-status mapping is the one table httpmw uses for HTTP (400 /
// 401 / 403): an error code the library does not know is Unauthenticated,
// as it is 401 over HTTP. The token parser is the one httpmw uses too.
//
// The Entra ID claims challenge (idp.Profile.AuthContext) uses Microsoft's
// unregistered insufficient_claims code; it is sent only to clients that
// declared the cp1 capability, and ErrorFromStatus returns it with the
// claims and authorization_uri in claims.Error.Extra.
//
// A refusal with a challenge carries it three ways:
//
//   - the www-authenticate response header metadata holds the challenge
//     exactly as the HTTP WWW-Authenticate header would (with realm and
//     resource_metadata when configured, RFC 9728 §5.1). It is sent as
//     header, not trailer, metadata: the interceptors decide before any
//     message is sent, headers work the same for unary and streaming calls,
//     and gateways that map header metadata to HTTP headers see it;
//   - the status message is that same challenge string. grpc-gateway copies
//     the message of an Unauthenticated status into the HTTP
//     WWW-Authenticate header, which then is a correct RFC 6750 challenge.
//     The challenge is built from fixed, client-safe descriptions: neither
//     the token nor the internal cause of a rejection ever reaches the
//     client (use WithDecisionHook to log causes);
//   - a google.rpc.ErrorInfo detail with Domain ErrorDomain, the Reason of
//     the error code, and metadata acrValues, maxAge and scope.
//
// Answers without a challenge have fixed messages.
//
// # Construction
//
// New checks the verifier, the table and every option (realm in printable
// ASCII, resource metadata an https URL, http only for loopback, as
// httpmw.New checks them) and returns an error.
//
// # Sender-constrained tokens
//
// The checks of httpmw (see its package documentation, "Sender-constrained
// tokens") apply to every call: the DPoP scheme in the authorization
// metadata and the proof in the one dpop metadata value (WithDPoP), with
// htm POST and htu the public URL followed by the full method, checked
// when a stream opens; the client certificate from the peer's TLS state or
// a trusted proxy's client-cert metadata (WithClientCertificates). The
// challenges are the HTTP ones, in www-authenticate and the status
// message; the ErrorInfo reasons INVALID_DPOP_PROOF and USE_DPOP_NONCE go
// with the DPoP codes, and a use_dpop_nonce refusal sends the nonce in
// dpop-nonce header metadata.
//
// # Stream expiry
//
// A stream is authorized once, when it starts. So that it does not outlive
// its token, the stream interceptor cancels the handler's context at the
// token's exp (exactly, by the verifier's clock, verify.Config.Now: its
// leeway does not extend it), with context.Cause ErrStreamExpired; from then on the
// stream's SendMsg and RecvMsg return the invalid_token status instead of
// exchanging messages, and whatever the handler returns, the client gets
// Unauthenticated with an invalid_token challenge (status message,
// www-authenticate trailer metadata, INVALID_TOKEN details), which
// StreamClientInterceptor surfaces as a *claims.Error: the client gets a
// new token and opens a new stream. InsecureNoStreamExpiry turns this off.
//
// # Observability
//
// WithDecisionHook (several may be given) receives every decision once,
// with the governing rule's Method: nil for an allowed call when its
// handler returns, the full error of a refusal, for logs and metrics.
// WithLogger logs each decision at Debug under the governing rule's
// Method, without the token, any claim value or the method name the client
// sent. metrics.Metrics.GRPCDecisionHook turns the decisions into
// Prometheus metrics labelled by the governing rule's Method, never by a
// method name the client made up. Nothing logs by default.
//
// # Client
//
// UnaryClientInterceptor and StreamClientInterceptor turn such statuses back
// into *claims.Error values (ErrorFromStatus does it for a status at hand),
// so a client application can errors.As the error, log in again with its
// ACRValues and MaxAge, and retry:
//
//	var ce *claims.Error
//	if errors.As(err, &ce) && ce.Code == claims.CodeInsufficientUserAuthentication {
//		token = login(ce.ACRValues, ce.MaxAge)
//	}
//
// UnaryClientStepUp and StreamClientStepUp do that by themselves, on a
// stepupclient.Source (the one an HTTP client's stepupclient.Transport
// uses, with the same decision): they send its token, follow step-up
// refusals with a new one and retry once; a stream only when nothing was
// received and at most one message sent (StreamClientStepUp says exactly
// when). WithClientDPoP makes them present DPoP-bound tokens with proofs
// and follow nonces, as WithDPoP checks them.
//
//	src, _ := stepupclient.New(stepupclient.Config{Token: login})
//	conn, _ := grpc.NewClient(addr, creds,
//		grpc.WithChainUnaryInterceptor(grpcmw.UnaryClientStepUp(src)),
//		grpc.WithChainStreamInterceptor(grpcmw.StreamClientStepUp(src)))
//
// All functions and types of this package are safe for concurrent use.
//
// References:
//   - RFC 6750, Bearer token usage: https://www.rfc-editor.org/rfc/rfc6750
//   - RFC 9470, OAuth 2.0 step-up authentication challenge: https://www.rfc-editor.org/rfc/rfc9470
//   - RFC 9728, OAuth 2.0 protected resource metadata: https://www.rfc-editor.org/rfc/rfc9728
//   - google.rpc.ErrorInfo: https://cloud.google.com/apis/design/errors#error_info
package grpcmw
