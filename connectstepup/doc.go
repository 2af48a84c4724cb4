// Package connectstepup authorizes Connect RPC calls (connectrpc.com/connect)
// with the step-up decision of packages httpmw and grpcmw: one interceptor
// verifies the bearer access token of every call, checks it against the
// rule the grpcmw method table has for its procedure, puts the verified
// claims in the handler's context (claims.FromContext), and answers a
// refusal as grpcmw does.
//
//	methods, err := grpcmw.NewMethods(
//		grpcmw.Rule{Method: "/bank.v1.Bank/Transfer", Requirement: claims.Requirement{ACR: []string{"mfa"}}},
//		grpcmw.Rule{Method: "/bank.v1.Bank/*"},
//	)
//	guard, err := connectstepup.New(verifier, methods, connectstepup.WithRealm("bank"))
//	path, handler := bankv1connect.NewBankHandler(srv, connect.WithInterceptors(guard))
//
// It is a Go module of its own, github.com/stepupauth/stepup/connectstepup,
// so that users of the library who do not use Connect never download it.
// It takes its method table from grpcmw (Methods, Rule): a Connect
// procedure is the gRPC full method, "/pkg.Service/Method", and the root
// module already depends on grpc-go, so the import adds no module.
//
// # Answers
//
// The decision is the one of grpcmw, and so are the codes (the table of
// the grpcmw package documentation): Unauthenticated for no token, a bad
// token and a step-up (insufficient_user_authentication), PermissionDenied
// for insufficient_scope, InvalidArgument for invalid_request (two
// Authorization headers, malformed credentials), Unavailable when the keys
// cannot be had, Internal for any other failure. A refusal with a
// challenge is a *connect.Error whose message is the challenge, whose
// details are grpcmw's google.rpc.ErrorInfo (domain grpcmw.ErrorDomain,
// reason INVALID_TOKEN and so on), and whose Meta has the challenge as the
// WWW-Authenticate header (RFC 6750 §3, RFC 9470 §3), exactly as the HTTP
// middleware renders it. Over the Connect protocol a unary refusal is then
// an HTTP 401, 403 or 400 response with that header, and a stream's
// refusal carries it in the end-of-stream metadata; over gRPC-Web it is a
// response header (or, after messages were sent, trailing metadata in the
// body). Over gRPC connect-go would send the Meta as HTTP trailers, which
// net/http refuses for WWW-Authenticate (RFC 9110 §6.5.1), so the
// interceptor sets the challenge as a response header instead; a
// connect-go client finds it in the error's Meta all the same. A refusal
// after the headers are sent (a gRPC stream whose token expired) can only
// carry the challenge in its message and details. On the client, read the
// header of (*connect.Error).Meta() with claims.ParseChallenges.
//
// A procedure without a rule is denied: PermissionDenied, no challenge,
// reported to the hooks as ErrUnlistedMethod. A public rule lets the call
// through without reading the Authorization header.
//
// # Streams
//
// A stream is authorized once, when it opens; a rule's Choose gets a nil
// request message. The handler's context is cancelled at the token's exp,
// a message after it is refused, and the stream ends with Unauthenticated
// invalid_token (ErrStreamExpired), as with grpcmw.
//
// # Sender-constrained tokens
//
// As with grpcmw and httpmw, by the same decision: WithDPoP reads the DPoP
// scheme and the call's one DPoP header (RFC 9449), a proof whose htm is
// the call's HTTP method (POST; GET for a Connect GET) and whose htu is the
// configured public URL followed by the procedure; a DPoP-bound token sent
// as Bearer is refused, and refusals of DPoP calls are in the DPoP scheme
// (with a DPoP-Nonce header for use_dpop_nonce). A certificate-bound token
// (RFC 8705) needs its client certificate, which a Connect interceptor
// cannot see on its own: mount the handlers through Interceptor.Handler,
// which hands the request's TLS state and remote address to the
// interceptor (and so a trusted proxy's Client-Cert header, with
// WithClientCertificates). Without Handler such a token is refused with
// invalid_token: the interceptor fails closed.
//
//	guard, err := connectstepup.New(v, methods, connectstepup.WithDPoP(dv, "https://api.example.com"))
//	mux.Handle(bankv1connect.NewBankHandler(srv, connect.WithInterceptors(guard)))
//	http.ListenAndServeTLS(addr, certFile, keyFile, guard.Handler(mux))
//
// The interceptor does nothing on a client (WrapUnary passes client calls
// through, WrapStreamingClient returns its argument).
package connectstepup
