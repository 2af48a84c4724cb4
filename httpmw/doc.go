// Package httpmw enforces step-up authentication on net/http handlers.
//
// A Guard, built from a *verify.Verifier, takes the bearer token of a
// request, verifies it and checks it against a claims.Requirement (acr, amr,
// auth_time freshness, scopes). A request that passes reaches the next
// handler with the verified claims in its context (claims.FromContext); any
// other request is answered with the challenge that tells the client how to
// recover:
//
//	keys, _ := jwks.Discover(ctx, "https://idp.example.com/")
//	v, _ := verify.New(keys, verify.Config{Issuer: "https://idp.example.com/", Audience: "https://api.example.com"})
//	guard, _ := httpmw.New(v, httpmw.WithRealm("api"))
//	mux.Handle("GET /profile", guard.Require(claims.Requirement{}, profile))
//	mux.Handle("POST /transfer", guard.Require(claims.Requirement{
//		ACR: []string{claims.ACRMultiFactor}, MaxAge: 5 * time.Minute}, transfer))
//
// Three ways to attach requirements: Require wraps one handler (Route does
// the same for a router other than ServeMux, naming the rule in the
// hooks, logs and metrics); Mux builds a ServeMux from a table of Go 1.22
// patterns (for requirements kept in one
// place or in a policy file; bad configuration is an error, not a panic);
// RequireFunc lets a function of the request choose the requirement after the
// token is verified ("transfers above 1,000 need a fresh multi-factor login").
// Check is the bare decision, for handlers that decide inside (after
// reading the body, say); Reject gives any refusal, Check's error or a
// *claims.Error of the handler's own, the exact answer the Guard would, and
// reports it to the hooks and the logger like the Guard's own refusals.
//
// Every transport of the library (Require, RequireFunc, Mux, Check and the
// grpcmw interceptors) makes the same decision by the same code: the table
// below is also the gRPC one, status for status.
//
// # Answers
//
//	no token (or credentials of another scheme)   401  Bearer realm="…", resource_metadata="…" (no error code)
//	two Authorization headers, two tokens,
//	  malformed Bearer credentials                400  error="invalid_request"
//	bad token                                     401  error="invalid_token"
//	acr / amr / auth_time short                   401  error="insufficient_user_authentication", acr_values="…", max_age=N
//	scope short                                   403  error="insufficient_scope", scope="…"
//	Entra ID auth context short, cp1 client       401  realm="", authorization_uri="…", error="insufficient_claims", claims="…"
//	keys unavailable (claims.ErrUnavailable)      503  no challenge; Retry-After
//	request context ended during verification
//	  (client gone, server deadline), or a
//	  server's own context error (a chooser's)    503  no challenge; Retry-After
//	server fault (a RequireFunc chooser's error)  500  no challenge
//
// Error answers carry Cache-Control: no-store and an OAuth-style JSON body
// ({"error", "error_description", "acr_values", "max_age", "scope"}, empty
// members omitted; WithRenderer replaces it). The WWW-Authenticate value is
// rendered by claims.Challenge.String with the guard's realm and
// resource_metadata. Nothing of the token, the keys or an internal error
// reaches a response: WithDecisionHook receives the full error for logs.
//
// # Token extraction
//
// The token comes from the Authorization header with the Bearer scheme,
// matched case-insensitively ("Bearer" 1*SP b64token, RFC 6750 §2.1;
// spaces and tabs around the whole value ignored). The parser is the one
// package grpcmw uses for the authorization metadata, so both transports
// read the same token from the same value. An empty header, a header whose
// scheme is Bearer but whose token is missing or has characters outside the
// b64token grammar, and two Authorization headers are malformed: 400
// invalid_request. Credentials of another scheme (Basic, DPoP) are not a
// bearer token: 401 without an error code. The form-encoded body parameter
// access_token (RFC 6750 §2.2) is read only with WithFormToken, bounded,
// and the body is left readable (see WithFormToken for a body over the
// limit). The query string is never read (RFC 9700 §2.4.2): a token only
// there gets 401 without an error code.
//
// # Sender-constrained tokens
//
// Every token is checked against its cnf claim, whatever the route
// demands: a DPoP-bound token (cnf jkt, RFC 9449) is accepted only with
// the DPoP scheme (Authorization: DPoP <token>, read when WithDPoP is
// given) and the request's one DPoP proof, verified by the dpop.Verifier
// against the configured public URL followed by the request's path and
// signed by the key the token is bound to; the same token sent as Bearer
// is refused (no downgrade), and so is a bearer token sent as DPoP. A
// certificate-bound token (cnf x5t#S256, RFC 8705) is accepted only with
// its client certificate: the TLS connection's, or a trusted proxy's
// Client-Cert header (WithClientCertificates). A token bound by any other
// confirmation method is refused. A Requirement's Binding makes a route
// refuse bearer tokens altogether.
//
// With WithDPoP the answers are RFC 9449 §7's: a request without a token
// gets two challenges, Bearer and DPoP with algs; every refusal of a DPoP
// request is in the DPoP scheme with algs (invalid_token,
// invalid_dpop_proof, a step-up's insufficient_user_authentication); a
// proof without the server's nonce gets use_dpop_nonce and a DPoP-Nonce
// header. A replay store that cannot answer is 503.
//
// # CORS
//
// A CORS middleware must wrap the guard, not the other way round: a browser
// preflight (OPTIONS with Access-Control-Request-Method) carries no token,
// and a guard in front of the CORS handler answers it 401, which fails the
// preflight and the real request with it. Let the CORS layer answer
// preflights itself, then hand the actual requests to the guarded handler;
// add WithExposeHeaders so that scripts can read WWW-Authenticate.
//
// # Observability
//
// WithDecisionHook (several may be given) receives every decision once:
// nil for an allowed request when its handler returns, the full error of a
// refusal, for logs and metrics; r.Pattern names the rule, a label from
// configuration: the ServeMux pattern of Mux, the Pattern of a Route
// mounted on another router (chi, gorilla/mux, echo, gin), or the name
// given to Named, which labels RequireFunc and Check users' requests.
// WithLogger logs each decision at Debug without
// the token or any claim value. metrics.Metrics.HTTPDecisionHook turns the
// decisions into Prometheus metrics. Nothing logs by default.
//
// # Protected resource metadata
//
// MetadataHandler serves the RFC 9728 document; MetadataPath and MetadataURL
// give its well-known location for a resource identifier, with the path
// insertion of RFC 9728 §3.1, and MetadataURL's value is the argument of
// WithResourceMetadata.
//
// Guards and the handlers they return are safe for concurrent use.
//
// Standards: RFC 6750 (https://www.rfc-editor.org/rfc/rfc6750),
// RFC 9470 (https://www.rfc-editor.org/rfc/rfc9470),
// RFC 9728 (https://www.rfc-editor.org/rfc/rfc9728),
// RFC 9700 (https://www.rfc-editor.org/rfc/rfc9700),
// RFC 9110 §11 (https://www.rfc-editor.org/rfc/rfc9110#section-11).
package httpmw
