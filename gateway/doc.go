// Package gateway is the decision point a proxy asks: the policy file's http
// rules, decided exactly as an httpmw.Mux built from them would, for a
// request described by its method, host, URI and headers rather than served.
// Command stepup's authz subcommand serves it to Envoy (ext_authz v3 over
// gRPC) and, through ForwardAuth, to nginx auth_request, Caddy forward_auth
// and Traefik ForwardAuth; both transports call Decide.
//
//	guard, err := httpmw.New(v, httpmw.WithRealm("api"))
//	gw, err := gateway.New(guard, p.HTTPRules(), gateway.Config{})
//	trusted, err := gateway.ParseTrustedProxies("10.0.0.0/8")
//	http.Handle("/", gw.ForwardAuth(trusted))
//
// # Answers
//
// Decide builds the route table once, with guard.Mux, and runs every request
// through it: the same ServeMux matching (methods, hosts, wildcards,
// prefixes, HEAD under GET), the same verification and the same answers. A
// request the Mux lets through is allowed, with identity headers for the
// upstream; any other gets the Mux's refusal as it stands (status,
// WWW-Authenticate, Cache-Control, Retry-After, DPoP-Nonce and JSON body;
// see package httpmw, Answers), for the proxy to send to the client.
//
// Unlike the Mux, which answers 404 or 405, a request that no rule takes is
// refused with 403 and {"error_description":"no rule of the policy takes this
// request"}: deny by default. Config.AllowUnlisted lets the unlisted requests
// of named hosts through to the upstream (with no identity). A path that
// ServeMux would redirect to its canonical form ("/a/../b", "/admin" for
// "/admin/") is refused on every host, since the upstream might serve it as
// the path it resolves to; so is a path that common upstreams resolve to
// another (a dot segment with ";params", "/x/..;/admin"; a backslash; a
// control byte). Hosts are compared in lower case without a trailing dot
// ("API.example.com." is api.example.com, as the upstream's virtual hosts
// take it), and New refuses a rule whose host is in another form. A request
// that cannot be described (a method that is not a token, a URI that is not
// an absolute path) is 400 invalid_request, and so is one carrying a header
// named like an identity header but for case or '_' (X_Stepup_Subject):
// proxies remove only the exact names, and CGI-style upstreams (WSGI, Rack,
// PHP) read both as one.
//
// # Identity headers
//
// An allowed request carries the token's sub, acr, amr (space-separated)
// and client_id in headers named by Config.Headers (X-Stepup-Subject,
// X-Stepup-Acr, X-Stepup-Amr, X-Stepup-Client-Id by default); a claim the
// token lacks has no header. Values are percent-encoded (RFC 3986 §2.1)
// where they hold '%' or bytes outside printable ASCII: decode them with
// url.PathUnescape. Decision.Remove names every identity header: the proxy
// must remove the client's copies before adding the gateway's, so that
// a client cannot forge an identity (ext_authz: headers_to_remove; the
// forward-auth proxies: see the README's configurations).
//
// # Forwarding headers
//
// ForwardAuth reads the client's method, host, URI and scheme from
// X-Forwarded-Method, X-Forwarded-Host, X-Forwarded-Uri and X-Forwarded-Proto
// (nginx: X-Original-Method and X-Original-URI too), and only from peers in
// the trusted CIDR prefixes: anyone else is decided on the request it sent,
// so it cannot pick the route. A header given twice, under either name, is
// 400: the proxy must set each one, replacing the client's. So is a trusted
// proxy's request without the method, the host or the URI: it would
// otherwise be decided on the forward-auth request's own "GET /auth" at
// the gateway's own host, past the policy's host rules.
//
// Nothing here logs; the guard's hooks (httpmw.WithDecisionHook,
// httpmw.WithLogger) see every decision, with r.Pattern the rule's pattern.
// A Gateway and its handlers are safe for concurrent use.
package gateway
