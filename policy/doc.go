// Package policy loads a policy file: which issuer and audience tokens must
// have, how to verify them, and what each HTTP route and gRPC method
// requires. The values it produces are the ones code would write by hand:
// a verify.Config (Policy.VerifyConfig) and one claims.Requirement per rule,
// for the examples to feed into httpmw's route table and grpcmw's method
// table. The package imports neither middleware.
//
//	p, err := policy.Load("policy.yaml")
//	if err != nil {
//		log.Fatal(err) // policy: policy.yaml:14: rules[2] (http "GET /admin/"): acr_min: "gold" is not in acr_levels
//	}
//	v, err := verify.New(keys, p.VerifyConfig())
//	for _, r := range p.HTTPRules() {
//		// r.Public, r.HTTP, r.Requirement
//	}
//
// # Feeding the middleware
//
// Nothing in this package turns rules into middleware tables, so that it
// does not import httpmw or grpcmw (and, through grpcmw, gRPC). The glue is
// a loop per table (see ExamplePolicy_HTTPRules and ExamplePolicy_GRPCRules):
//
//	guard, err := httpmw.New(v)
//	var routes []httpmw.Route
//	for _, r := range p.HTTPRules() {
//		routes = append(routes, httpmw.Route{Pattern: r.HTTP, Public: r.Public, Requirement: r.Requirement, Handler: handlerFor(r)})
//	}
//	mux, err := guard.Mux(routes)
//
//	var rules []grpcmw.Rule
//	for _, r := range p.GRPCRules() {
//		rules = append(rules, grpcmw.Rule{Method: r.GRPC, Public: r.Public, Requirement: r.Requirement})
//	}
//	methods, err := grpcmw.NewMethods(rules...)
//	interceptors, err := grpcmw.New(v, methods)
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(interceptors.Unary()),
//		grpc.ChainStreamInterceptor(interceptors.Stream()))
//
// Tables built this way answer exactly as the same tables written in code.
//
// # Syntax
//
// A policy is a single YAML 1.2 document or a single JSON object (RFC
// 8259), valid UTF-8 (a leading byte order mark is ignored), at most 1 MiB.
// Load goes by the file's extension: .yaml and .yml are YAML, .json is
// JSON. Parse, and Load for any other extension, go by the content: a
// document whose first non-blank character is '{' is JSON, anything else
// YAML (so a top-level YAML flow mapping belongs in a .yaml file).
//
// # Schema
//
// A document has these fields; everything else is an error, and so is a
// field given twice:
//
//	issuer: https://idp.example.com/        # required; https URL (http only for loopback), exact match with iss
//	audience: https://api.example.com       # required
//	jwks_uri: https://idp.example.com/jwks  # optional; default: discovered from issuer
//	algorithms: [RS256, ES256, EdDSA]       # optional; RS256..512 PS256..512 ES256..512 EdDSA only
//	token_types: [at+jwt]                   # optional; at+jwt, application/at+jwt, JWT
//	leeway: 30s                             # optional; Go duration, 1s to 5m
//	claim_names: {acr: acr, amr: amr, auth_time: auth_time}
//	resource_metadata: https://api.example.com/.well-known/oauth-protected-resource
//	acr_levels: [urn:example:loa:1, urn:example:loa:2]   # lowest first, no repeats
//	profile: {provider: okta, domain: example.okta.com}  # optional, see Profiles
//	dpop:                                   # optional; DPoP proofs (RFC 9449), see Sender constraints
//	  public_url: https://api.example.com   # required; the URL clients use: https (http only for loopback), no query or fragment
//	  algorithms: [ES256, EdDSA]            # optional; default: package dpop's (RS*, PS*, ES*, EdDSA, Ed25519)
//	  max_age: 1m                           # optional; how old a proof may be, 1s to 5m; default 1m
//	  nonce: false                          # optional; true: server-issued nonces (RFC 9449 §9)
//	  replay: memory                        # optional; memory is the only value, and the default
//	mtls:                                   # optional; see Sender constraints
//	  trusted_proxies: [10.0.0.7/32]        # required; CIDR prefixes of the proxies passing Client-Cert (RFC 9440)
//	introspection:                          # optional; opaque access tokens (RFC 7662), see Introspection
//	  endpoint: https://idp.example.com/oauth2/introspect  # https (http only for loopback); or leave it out with:
//	  discover: false                       # true: introspection_endpoint from the issuer's metadata (RFC 8414)
//	  client_id: api                        # required; this API's client at the authorization server
//	  client_secret_env: INTROSPECTION_SECRET  # required with a secret; the NAME of the environment variable holding it
//	  auth: client_secret_basic             # optional; or client_secret_post, or private_key_jwt with:
//	  private_key_file: /etc/api/introspection-key.pem  # private_key_jwt only; PEM (PKCS #8, EC or RSA), unencrypted
//	  key_id: k1                            # optional, private_key_jwt only; the kid of the assertions
//	  cache_ttl: 5m                         # optional; longest an active answer is reused, up to 1h; default 5m
//	  inactive_ttl: 10s                     # optional; how long a refusal is reused, up to 1h; default 10s
//	  stale_ttl: 30s                        # optional; serve known-active answers that long into an outage; default none
//	  no_cache: false                       # optional; true: ask for every request (no *_ttl then)
//	  issuer_required: false                # optional; true: refuse answers without iss
//	  audience_required: false              # optional; true: refuse answers without aud
//	  introspect_jwts: false                # optional; true: send JWTs to the endpoint too
//	rules:                                  # required, at least one
//	  - http: "GET /public"                 # net/http ServeMux pattern; a method in upper case
//	    public: true                        # no token; no requirement fields allowed
//	  - http: "POST /transfer"
//	    grpc: /bank.v1.Bank/Transfer        # full method, or /pkg.Service/* for a whole service
//	    acr: [http://schemas.openid.net/pape/policies/2007/06/multi-factor]  # any of
//	    max_age: 5m                         # positive, whole seconds
//	    sender_constraint: dpop             # dpop, mtls or any: bearer tokens refused
//	  - http: "GET /reports"
//	    acr_min: urn:example:loa:2          # at least, by acr_levels
//	  - http: "GET /admin/"
//	    amr_all: [hwk]                      # amr_any: at least one of
//	    acr_values: [urn:example:loa:2]     # asked for when amr_all / amr_any fails
//	    scopes: [admin]                     # all of
//	  - http: "POST /invoices/{id}/approve"
//	    auth_context: [c1]                  # Entra ID profile only: acrs holds one of these
//	  - http: "GET /admin/health"
//	    public: true
//	    overrides_protected: true           # public on purpose under GET /admin/, see Shadowing
//
// Rules map to claims.Requirement fields one to one: acr to ACR, acr_min to
// ACRMin (with ACRLevels copied from acr_levels), amr_all to AMRAll, amr_any
// to AMRAny, acr_values to AMRACRValues, max_age to MaxAge, scopes to
// Scopes, auth_context to Check (see Profiles), sender_constraint to
// Binding (dpop: BindingDPoP, mtls: BindingMTLS, any: BindingAny). A rule
// with none of them accepts any valid token. Because amr
// cannot be requested in a challenge, acr_values only exists for amr_all
// and amr_any and is an error without them (RFC 9470 §3). Lists must not be
// empty (leave the field out instead) nor repeat a value; acr, amr and
// level values are printable ASCII without spaces, scopes RFC 6749 §3.3
// scope-tokens. YAML values must be of the right type: quote numbers
// meant as strings (acr_levels: ["0", "1", "2"]). Booleans (public,
// overrides_protected, rfc9068, nonce and the introspection switches) are exactly true or false, unquoted: yes, on, 1, True, "true"
// and tagged forms such as !!bool yes are errors, never a silent false.
//
// Two rules may not name the same ServeMux pattern (nor patterns that
// ServeMux refuses to register together) or the same gRPC method. An exact
// method and a /pkg.Service/* wildcard of the same service may coexist; the
// method table decides which wins (the exact one). A method in a pattern is
// upper case ("GET /a", not "get /a", which ServeMux would accept and never
// match).
//
// # Shadowing
//
// A public rule must not take requests or calls that a protected rule
// names. Patterns overlap, and the most specific one wins: ServeMux prefers
// a pattern with a host to any without one, then the more specific path and
// method; grpcmw's method table prefers an exact method to its service's
// wildcard. So each rule marked public below (with public: true, left out
// here) would silently serve, without a token, what the protected rule
// beside it names, and Parse refuses it:
//
//	rules:
//	  - http: "GET /admin/"                   # protected
//	  - http: "GET /admin/{x}"                # public: wins for /admin/users
//	  - http: "GET status.example.com/admin/" # public: wins for Host: status.example.com
//	  - http: "HEAD /admin/"                  # public: wins for HEAD requests
//	  - grpc: /bank.v1.Admin/*                # protected
//	  - grpc: /bank.v1.Admin/Health           # public: the exact method wins
//
// A public rule that is meant to carve a public route out of a protected
// one says so with overrides_protected: true (a boolean, public rules
// only); it then applies to the rule's http and grpc alike. The reverse
// overlap needs nothing: a protected "GET /docs/internal" under a public
// "GET /docs/", or a protected exact method under a public wildcard, wins
// for what it names.
//
// Parse finds shadows by asking ServeMux itself: for each pair of a
// protected and a public pattern, it builds the requests both could match
// (their shared method, host and path, wildcards and prefixes filled in)
// and checks whether a ServeMux with every rule sends one of them to the
// public rule while a ServeMux with the protected rules alone serves it.
// The error names both rules, their lines and such a request.
//
// # Sender constraints
//
// A rule's sender_constraint refuses bearer tokens: dpop demands a
// DPoP-bound token (cnf.jkt, RFC 9449) with its proof, mtls a
// certificate-bound one (cnf.x5t#S256, RFC 8705) presented with its
// certificate, any either. The middleware checks proofs only when given a
// dpop.Verifier (httpmw.WithDPoP, grpcmw.WithDPoP), so a dpop rule in a
// file without a dpop block is an error: nothing could ever meet it. The
// block says how proofs are checked; public_url is the URL clients address
// the API by (behind a proxy, the proxy's), never read from requests.
// mtls and any rules need no block: the TLS connection's certificate is
// always read. The mtls block only names the reverse proxies trusted to
// pass the client's certificate in the RFC 9440 Client-Cert header; each
// is a network address with its length (10.0.0.7/32, not 10.0.0.7 nor
// 10.0.0.7/24), and a prefix of length zero, which would trust every
// peer, is an error.
//
// DPoPConfig and MTLSConfig turn the blocks into the library's
// configuration. Secrets never live in the file: with nonce: true the
// program passes the nonces' secret, at least 32 random bytes shared by
// every instance, from its environment or a file. The replay store is the
// in-memory one; replay: redis is an error, since the Redis store is the
// separate module github.com/stepupauth/stepup/redisstore and is set in
// code (dpop.Config.Replay), as every instance of a fleet must share one.
//
//	var dpopOpt []httpmw.Option
//	if p.DPoP != nil {
//		cfg, err := p.DPoPConfig([]byte(os.Getenv("DPOP_NONCE_SECRET")))
//		// cfg.Replay = a shared store, for a fleet
//		proofs, err := dpop.New(cfg)
//		dpopOpt = append(dpopOpt, httpmw.WithDPoP(proofs, p.DPoP.PublicURL))
//	}
//	certs, err := mtls.New(p.MTLSConfig())
//	guard, err := httpmw.New(v, append(dpopOpt, httpmw.WithClientCertificates(certs))...)
//
// # Introspection
//
// The introspection block accepts opaque access tokens by asking the
// authorization server (OAuth 2.0 Token Introspection, RFC 7662, package
// introspect); JWTs are still verified with the issuer's keys unless
// introspect_jwts is true. endpoint and discover: true exclude each other,
// and one of them is required; discover needs a single issuer. The client
// secret never lives in the file: client_secret_env names the environment
// variable that holds it, and a client_secret field is an error. auth is
// client_secret_basic or client_secret_post (RFC 6749 §2.3.1), or
// private_key_jwt (RFC 7523 §2.2), which takes private_key_file, the path
// of an unencrypted PEM private key (the key itself never lives in the
// file either), and no client_secret_env. cache_ttl is an upper bound: an answer
// is never reused past the token's exp, and a token revoked at the
// authorization server stays accepted until its entry ends (RFC 7662 §4
// leaves that trade-off to the resource server). A zero cache_ttl,
// inactive_ttl or stale_ttl is an error: leave the field out for the
// default, or switch the cache off with no_cache: true. Answers must name
// the policy's issuer and audience when they carry iss and aud;
// issuer_required and audience_required also refuse answers without them.
//
// IntrospectConfig turns the block into an introspect.Config, reading the
// secret through the getenv it is given; VerifyConfig sets IntrospectJWTs
// and leaves the Introspector to the caller:
//
//	cfg, err := p.IntrospectConfig(os.Getenv)
//	var client *introspect.Client
//	if p.Introspection.Discover {
//		client, err = introspect.Discover(ctx, p.Issuer, cfg)
//	} else {
//		client, err = introspect.New(cfg)
//	}
//	if err := client.Check(ctx); err != nil {
//		log.Fatal(err) // unreachable, or our credentials refused
//	}
//	vcfg := p.VerifyConfig()
//	vcfg.Introspector = client
//
// # Profiles
//
// profile names an identity provider (package idp) and its parameters, so
// that the file need not spell out what that provider needs:
//
//	profile: {provider: auth0, domain: example.us.auth0.com, namespace: "https://example.com/", rfc9068: false}
//	profile: {provider: okta, domain: example.okta.com, authorization_server: default}
//	profile: {provider: entra, tenant_id: 11111111-2222-3333-4444-555555555555, tenants: [...], authority: "https://login.microsoftonline.us"}
//	profile: {provider: keycloak, base_url: "https://sso.example.com", realm: bank, levels: ["0", "1", "2"]}
//
// domain (auth0, okta), tenant_id (entra; a GUID, or organizations / common
// for any tenant, as idp.Entra defines them), base_url and realm (keycloak) are required; the rest is
// optional. Unknown parameters are errors. With a profile, issuer may be
// left out; issuer, jwks_uri, token_types, claim_names and acr_levels take
// the profile's values unless the file sets them, and the file's values
// win. The profile's required claims and values, and its other issuers
// (Entra ID allowlist) or issuer template (Entra ID any tenant), go into
// VerifyConfig. A rule's auth_context (c1..c99) needs the entra profile
// and becomes the Requirement's Check (idp.Profile.AuthContext): the Entra
// ID claims challenge for clients that declared cp1.
//
// # Errors
//
// Load and Parse return an *Error naming the file, the line (YAML node
// positions; JSON token offsets), the rule (index and its http and grpc)
// and the field.
//
// Standards: RFC 9470 (step-up challenge), RFC 9068 (JWT access tokens,
// typ), RFC 8725 (algorithm allowlist), RFC 9728 (resource_metadata),
// RFC 6749 §3.3 (scope-token), RFC 8176 (amr values), RFC 9449 (DPoP),
// RFC 8705 (certificate-bound tokens), RFC 9440 (Client-Cert), RFC 7662
// (token introspection).
//
//   - https://www.rfc-editor.org/rfc/rfc9470
//   - https://www.rfc-editor.org/rfc/rfc9068
//   - https://www.rfc-editor.org/rfc/rfc8725
//   - https://www.rfc-editor.org/rfc/rfc9728
//   - https://www.rfc-editor.org/rfc/rfc9449
//   - https://www.rfc-editor.org/rfc/rfc8705
//   - https://www.rfc-editor.org/rfc/rfc9440
//   - https://www.rfc-editor.org/rfc/rfc7662
package policy
