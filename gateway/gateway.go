package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/policy"
)

// Headers names the identity headers the upstream receives for an allowed
// request. The zero value of a field means its default (DefaultHeaders).
// Names are letters, digits and hyphens, case-insensitive, and distinct.
type Headers struct {
	Subject  string // sub; default X-Stepup-Subject
	ACR      string // acr; default X-Stepup-Acr
	AMR      string // amr, space-separated; default X-Stepup-Amr
	ClientID string // client_id; default X-Stepup-Client-Id
}

// DefaultHeaders returns the identity header names used when Headers
// leaves a field empty.
func DefaultHeaders() Headers { return defaultHeaders }

var defaultHeaders = Headers{
	Subject:  "X-Stepup-Subject",
	ACR:      "X-Stepup-Acr",
	AMR:      "X-Stepup-Amr",
	ClientID: "X-Stepup-Client-Id",
}

// Config is the configuration of a Gateway beyond its guard and rules. New
// copies what it needs: changing a Config afterwards changes nothing.
type Config struct {
	// Headers names the identity headers; see Headers.
	Headers Headers
	// AllowUnlisted lists the hosts (as in the Host header, without port,
	// case-insensitive) whose requests that no rule takes are let through
	// to the upstream, without identity headers. Every other host's
	// unlisted requests are refused with 403 (deny by default). A request
	// whose path is not in canonical form (ServeMux would redirect it:
	// "/a/../b", "//b", a missing trailing slash) is refused on every host.
	AllowUnlisted []string
}

// Decision is the answer to one request. Allowed decisions carry the
// identity headers to set on the upstream request; refused ones the exact
// response the Go middleware would send. Each Decide returns a new
// Decision, owned by the caller; Remove and Claims are shared: read-only.
type Decision struct {
	// Allowed is true when the request may go to the upstream.
	Allowed bool
	// Status is 200 when allowed; otherwise the refusal's status: 400, 401,
	// 403 or 503 (500 only for a server fault, never for a client's input).
	Status int
	// Header is, when allowed, the identity headers for the upstream
	// request (only those with a value); when refused, the response
	// headers: WWW-Authenticate, Content-Type, Cache-Control, and
	// Retry-After or DPoP-Nonce where the middleware sends them.
	Header http.Header
	// Remove names every identity header (canonical form): a proxy removes
	// them from the client's request before adding Header, so that a client
	// cannot forge them. Set on every decision.
	Remove []string
	// Body is the refusal's JSON body; nil when allowed.
	Body []byte
	// Claims are the verified token's claims when allowed on a protected
	// route; nil for public routes, unlisted requests and refusals.
	Claims *claims.Claims
	// Rule is the ServeMux pattern of the rule that decided, "" when none
	// did (unlisted).
	Rule string
}

// Gateway decides on requests described by their method, host, URI and
// headers as the policy's http rules would in an httpmw.Mux. It is safe for
// concurrent use.
type Gateway struct {
	mux     *http.ServeMux
	headers Headers
	remove  []string
	allow   map[string]bool
	// lookalike maps lookalikeKey of each identity header to its name.
	lookalike map[string]string
}

// patternHost returns the host of a ServeMux pattern "[METHOD ][HOST]/PATH".
func patternHost(p string) string {
	if i := strings.IndexAny(p, " \t"); i >= 0 && i < strings.IndexByte(p, '/') {
		p = strings.TrimLeft(p[i:], " \t")
	}
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

// Unlisted is the body of the 403 answer to a request no rule takes.
const unlistedBody = `{"error_description":"no rule of the policy takes this request"}`

// New returns a Gateway that decides with guard (its realm, resource
// metadata, DPoP, client certificates and hooks) on the http rules among
// rules (rules without HTTP are skipped), exactly as guard.Mux would route
// and answer them. Bad rules, bad header names or two identity headers with
// the same name are an error.
func New(guard *httpmw.Guard, rules []policy.Rule, cfg Config) (*Gateway, error) {
	if guard == nil {
		return nil, errors.New("gateway: nil guard")
	}
	h, err := cfg.Headers.resolve()
	if err != nil {
		return nil, err
	}
	g := &Gateway{headers: h, allow: map[string]bool{}, lookalike: map[string]string{}}
	g.remove = []string{h.Subject, h.ACR, h.AMR, h.ClientID}
	for _, n := range g.remove {
		g.lookalike[lookalikeKey(n)] = n
	}
	for _, host := range cfg.AllowUnlisted {
		name := strings.TrimSuffix(strings.ToLower(host), ".")
		if name == "" || strings.ContainsAny(host, ":/ \t") {
			return nil, fmt.Errorf("gateway: AllowUnlisted: %q is not a host name (no port, no path)", host)
		}
		g.allow[name] = true
	}
	var routes []httpmw.Route
	for _, r := range rules {
		if r.HTTP == "" {
			continue
		}
		if host := patternHost(r.HTTP); host != strings.ToLower(host) || strings.HasSuffix(host, ".") {
			return nil, fmt.Errorf("gateway: rule %q: write its host in lower case without a trailing dot (the gateway compares request hosts in that form)", r.HTTP)
		}
		routes = append(routes, httpmw.Route{Pattern: r.HTTP, Public: r.Public, Requirement: r.Requirement, Handler: allowHandler{}})
	}
	if len(routes) == 0 {
		return nil, errors.New("gateway: the policy has no http rules: every request would be refused")
	}
	if g.mux, err = guard.Mux(routes); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return g, nil
}

func (h Headers) resolve() (Headers, error) {
	out := h
	for _, f := range []struct {
		v   *string
		def string
	}{{&out.Subject, defaultHeaders.Subject}, {&out.ACR, defaultHeaders.ACR}, {&out.AMR, defaultHeaders.AMR}, {&out.ClientID, defaultHeaders.ClientID}} {
		if *f.v == "" {
			*f.v = f.def
		}
		if !validHeaderName(*f.v) {
			return Headers{}, fmt.Errorf("gateway: identity header name %q is not an HTTP field name (letters, digits and -)", *f.v)
		}
		*f.v = textproto.CanonicalMIMEHeaderKey(*f.v)
	}
	seen := map[string]bool{}
	for _, n := range []string{out.Subject, out.ACR, out.AMR, out.ClientID} {
		if seen[n] {
			return Headers{}, fmt.Errorf("gateway: identity header %q is named twice: give each claim its own header", n)
		}
		seen[n] = true
		switch n {
		case "Authorization", "Dpop", "Host", "Cookie", "Content-Length", "Transfer-Encoding", "Connection", "Client-Cert", "Client-Cert-Chain":
			return Headers{}, fmt.Errorf("gateway: identity header %q would replace a request header the upstream or the gateway reads: choose another name", n)
		}
	}
	return out, nil
}

// validHeaderName reports whether s is a header name of letters, digits
// and hyphens (a subset of RFC 9110 tokens that every proxy accepts).
func validHeaderName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// allowHandler is the handler of every route: reaching it means the guard
// let the request through.
type allowHandler struct{}

func (allowHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rec, ok := w.(*recorder); ok {
		rec.allowed = true
		rec.claims, _ = claims.FromContext(r.Context())
		rec.pattern = r.Pattern
	}
}

// recorder captures what the guard or the ServeMux writes.
type recorder struct {
	header  http.Header
	status  int
	body    bytes.Buffer
	allowed bool
	claims  *claims.Claims
	pattern string
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.body.Len()+len(b) > maxBody {
		return 0, errors.New("gateway: answer too large")
	}
	return w.body.Write(b)
}

// maxBody bounds a refusal's body.
const maxBody = 64 << 10

// Request describes the client's request to the proxy: what the proxy
// passes to the gateway (forward-auth headers, an ext_authz CheckRequest).
type Request struct {
	// Method is the request's method ("GET", "POST"); required.
	Method string
	// Host is the Host header (or :authority) as the client sent it,
	// host[:port]; the rules' patterns with a host match it.
	Host string
	// URI is the request target in origin form: the path and an optional
	// query ("/transfer?id=7"). Required.
	URI string
	// Scheme is "http" or "https"; empty means "http".
	Scheme string
	// Header holds the client's request headers (Authorization, DPoP,
	// Client-Cert...). Decide does not modify it.
	Header http.Header
	// RemoteAddr is the address ("ip:port") of the peer that sent the
	// request to the proxy. The policy's mtls trusted_proxies are matched
	// against it before a Client-Cert header is believed.
	RemoteAddr string
	// PeerCertificates is the client's TLS certificate chain, leaf first,
	// when the proxy terminated TLS with a client certificate.
	PeerCertificates []*x509.Certificate
}

// Decide decides on req. A request that cannot be reconstructed (a method
// that is not a token, a host that is not host[:port], a URI that is not an
// absolute path with an optional query) is refused with 400 and a JSON
// body, never passed on. ctx bounds the decision (key fetches,
// introspection).
func (g *Gateway) Decide(ctx context.Context, req Request) *Decision {
	r, err := req.httpRequest(ctx)
	if err != nil {
		return badRequest(g.remove, err.Error())
	}
	for k := range req.Header {
		if n := g.lookalike[lookalikeKey(k)]; n != "" && !strings.EqualFold(k, n) {
			return badRequest(g.remove, "a header is named like identity header "+n+" but for case or '_'")
		}
	}
	if ambiguousPath(r.URL.Path) {
		d := &Decision{Remove: g.remove}
		d.unlisted()
		return d
	}
	return g.check(r)
}

// lookalikeKey folds a header name as CGI-style upstreams (WSGI, Rack,
// PHP) do, to which X_Stepup_Subject and X-Stepup-Subject are one header.
func lookalikeKey(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// ambiguousPath reports whether the decoded path p holds what common
// upstreams resolve differently from ServeMux: a dot segment with a
// ";params" suffix ("/x/..;/admin": Tomcat, Jetty), a backslash (IIS and
// others take it for a slash), or a control byte (NUL ends the path in C
// servers; CR and LF split log lines and headers).
func ambiguousPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return true
		}
	}
	for seg := range strings.SplitSeq(p, "/") {
		if i := strings.IndexByte(seg, ';'); i >= 0 && (seg[:i] == "." || seg[:i] == "..") {
			return true
		}
	}
	return false
}

// canonicalHost returns h (valid per validHost) in the form ServeMux
// patterns are compared with: lower case, the host name without its
// trailing dot (RFC 1034 §3.1: "a." and "a" are one name). ok is false for
// a host that is not valid or whose name is empty or ends in two dots.
func canonicalHost(h string) (string, bool) {
	if !validHost(h) {
		return "", false
	}
	h = strings.ToLower(h)
	name, port := h, ""
	if n, p, err := net.SplitHostPort(h); err == nil && !strings.Contains(n, ":") {
		name, port = n, ":"+p
	} else if strings.Contains(h, ":") {
		return h, true // an IPv6 literal: no trailing dot
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" || strings.HasSuffix(name, ".") {
		return "", false
	}
	return name + port, true
}

// httpRequest builds the *http.Request the route table decides on.
func (req Request) httpRequest(ctx context.Context) (*http.Request, error) {
	if !validMethod(req.Method) {
		return nil, errForward("the method is not an HTTP method token")
	}
	if req.Host != "" {
		var ok bool
		if req.Host, ok = canonicalHost(req.Host); !ok {
			return nil, errForward("the host is not one host[:port]")
		}
	}
	scheme := strings.ToLower(req.Scheme)
	switch scheme {
	case "":
		scheme = "http"
	case "http", "https":
	default:
		return nil, errForward("the scheme is neither http nor https")
	}
	if !strings.HasPrefix(req.URI, "/") || len(req.URI) > maxURI || strings.ContainsAny(req.URI, "# \t\r\n") {
		return nil, errForward("the URI is not an absolute path with an optional query")
	}
	u, err := url.ParseRequestURI(req.URI)
	if err != nil || u.Host != "" || u.Fragment != "" || u.Opaque != "" {
		return nil, errForward("the URI is not an absolute path with an optional query")
	}
	u.Scheme, u.Host = scheme, req.Host
	// The route table reads the headers and never writes them, so the
	// caller's map is used as it is (a Host entry in it is ignored: the
	// table matches r.Host).
	h := req.Header
	if h == nil {
		h = http.Header{}
	}
	r := (&http.Request{
		Method:     req.Method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Body:       http.NoBody,
		Host:       req.Host,
		RemoteAddr: req.RemoteAddr,
		RequestURI: req.URI,
	}).WithContext(ctx)
	if scheme == "https" || len(req.PeerCertificates) > 0 {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: req.PeerCertificates}
	}
	return r, nil
}

// check runs r through the route table.
func (g *Gateway) check(r *http.Request) *Decision {
	rec := &recorder{header: http.Header{}}
	g.mux.ServeHTTP(rec, r)
	d := &Decision{Remove: g.remove}
	switch {
	case rec.allowed:
		d.Allowed, d.Status, d.Rule, d.Claims = true, http.StatusOK, rec.pattern, rec.claims
		d.Header = g.identity(rec.claims)
	case rec.status == http.StatusNotFound || rec.status == http.StatusMethodNotAllowed:
		if g.allow[hostOnly(r.Host)] {
			d.Allowed, d.Status, d.Header = true, http.StatusOK, http.Header{}
			return d
		}
		d.unlisted()
	case rec.status >= 300 && rec.status < 400:
		// ServeMux redirects a path that is not in canonical form: the
		// upstream might serve it as another path, so no host lets it by.
		d.unlisted()
	default:
		d.Status, d.Header, d.Body = rec.status, rec.header, rec.body.Bytes()
		if d.Status == 0 {
			d.Status = http.StatusInternalServerError
		}
	}
	return d
}

func (d *Decision) unlisted() {
	d.Status = http.StatusForbidden
	d.Header = http.Header{
		"Content-Type":           {"application/json"},
		"Cache-Control":          {"no-store"},
		"X-Content-Type-Options": {"nosniff"},
	}
	d.Body = []byte(unlistedBody)
}

// hostOnly returns host without its port, lower case.
func hostOnly(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

// identity returns the identity headers of c (nil c: none).
func (g *Gateway) identity(c *claims.Claims) http.Header {
	h := http.Header{}
	if c == nil {
		return h
	}
	set := func(name, v string) {
		if v != "" {
			h[name] = []string{headerValue(v)}
		}
	}
	set(g.headers.Subject, c.Subject)
	set(g.headers.ACR, c.ACR)
	set(g.headers.AMR, strings.Join(c.AMR, " "))
	set(g.headers.ClientID, c.ClientID)
	return h
}

// headerValue percent-encodes (RFC 3986 §2.1) every byte of v outside
// printable ASCII and space, and '%' itself, so that any claim value is a
// valid header value and decodes back with url.PathUnescape.
func headerValue(v string) string {
	clean := true
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == '%' {
			clean = false
			break
		}
	}
	if clean {
		return v
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c > 0x7e || c == '%' {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// badRequest is the answer to a forwarded request that cannot be
// reconstructed (a malformed method, host or URI).
func badRequest(remove []string, why string) *Decision {
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{"invalid_request", why})
	return &Decision{
		Status: http.StatusBadRequest,
		Header: http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}, "X-Content-Type-Options": {"nosniff"}},
		Body:   body,
		Remove: remove,
	}
}
