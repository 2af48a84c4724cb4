package gateway

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// The forwarding headers a proxy uses to describe the client's request to a
// forward-auth endpoint. Traefik and Caddy send the X-Forwarded-* set; nginx
// sends what its configuration sets, X-Original-URI and X-Original-Method
// by convention.
const (
	headerForwardedMethod = "X-Forwarded-Method"
	headerForwardedHost   = "X-Forwarded-Host"
	headerForwardedURI    = "X-Forwarded-Uri"
	headerForwardedProto  = "X-Forwarded-Proto"
	headerOriginalURI     = "X-Original-Uri"
	headerOriginalMethod  = "X-Original-Method"
)

// nginx's auth_request drops the body of the auth answer: a request with
// X-Stepup-Body-Header: 1 also gets a refusal's JSON body in X-Stepup-Body,
// for the configuration to send back (return 401 $stepup_body).
const (
	headerBodyHeader = "X-Stepup-Body-Header"
	headerBody       = "X-Stepup-Body"
	maxBodyHeader    = 4 << 10
)

// forwardingHeaders are removed from the reconstructed request.
var forwardingHeaders = []string{
	headerForwardedMethod, headerForwardedHost, headerForwardedURI, headerForwardedProto,
	headerOriginalURI, headerOriginalMethod, "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Server", "X-Real-Ip", "Forwarded", headerBodyHeader,
}

// ParseTrustedProxies parses a comma-separated list of CIDR prefixes
// ("10.0.0.0/8, 127.0.0.1/32") as the -trusted-proxies flag gives them.
// A bare address, a prefix with host bits set (10.0.0.7/24) and a
// prefix of length zero (trusting everyone) are errors.
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("gateway: trusted proxy %q is not a CIDR prefix (write 10.0.0.7/32 for one address): %v", s, err)
		}
		if p.Masked() != p {
			return nil, fmt.Errorf("gateway: trusted proxy %q has host bits set: write %s", s, p.Masked())
		}
		if p.Bits() == 0 {
			return nil, fmt.Errorf("gateway: trusted proxy %q trusts every address: list the proxies' addresses", s)
		}
		out = append(out, p)
	}
	return out, nil
}

// ForwardAuth returns the forward-auth handler for nginx auth_request,
// Caddy forward_auth and Traefik ForwardAuth. A request from an address in
// trusted is taken to describe the client's request with X-Forwarded-Method
// (or X-Original-Method), X-Forwarded-Host, X-Forwarded-Uri (or
// X-Original-URI) and X-Forwarded-Proto; the method, the host and the URI
// are required (400 without them), a missing scheme leaves the request's
// own, and each one given twice is a 400. A request
// from any other address is decided as received: its forwarding headers are
// ignored, so it cannot choose the route. All other headers
// (Authorization, DPoP, Client-Cert) are the client's, as the proxy passed
// them on; the body is not read. The request's peer address is the
// RemoteAddr of the decision (the policy's mtls trusted_proxies then name
// the proxies allowed to pass Client-Cert).
//
// An allowed request gets 200 with every identity header (empty for a
// claim the token lacks, so that a proxy copying them overwrites the
// client's copies) and an empty body;
// a refused one gets exactly the status, headers and body of Decide. nginx's
// auth_request passes only 401 and 403 on and drops the answer's body: a
// request with the header X-Stepup-Body-Header: 1 (set by the nginx
// configuration) also gets the refusal's JSON body, which holds no line
// breaks, in the header X-Stepup-Body.
//
// A nil or empty trusted list trusts nobody. The handler is safe for
// concurrent use.
func (g *Gateway) ForwardAuth(trusted []netip.Prefix) http.Handler {
	trusted = append([]netip.Prefix(nil), trusted...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := forwarded(r, isTrusted(r.RemoteAddr, trusted))
		var d *Decision
		if err != nil {
			d = badRequest(g.remove, err.Error())
		} else {
			d = g.Decide(r.Context(), req)
		}
		if !d.Allowed && r.Header.Get(headerBodyHeader) == "1" && len(d.Body) <= maxBodyHeader && headerValue(string(d.Body)) == string(d.Body) {
			w.Header().Set(headerBody, string(d.Body))
		}
		write(w, d)
	})
}

// write writes d as a forward-auth answer: 200 with d's identity headers
// when allowed, the refusal's status, headers and body otherwise.
func write(w http.ResponseWriter, d *Decision) {
	for k, v := range d.Header {
		w.Header()[k] = v
	}
	if d.Allowed {
		// Every identity header, empty for a claim the token lacks: proxies
		// that copy named answer headers onto the upstream request (Caddy's
		// copy_headers, Traefik's authResponseHeaders) then replace the
		// client's copy instead of leaving it, or a placeholder, in place.
		for _, name := range d.Remove {
			if _, ok := d.Header[name]; !ok {
				w.Header()[name] = []string{""}
			}
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(d.Body)))
	w.WriteHeader(d.Status)
	_, _ = w.Write(d.Body)
}

func isTrusted(remoteAddr string, trusted []netip.Prefix) bool {
	if len(trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// errForward is the error of a malformed request description; its text is
// client-safe (it names the header or part, never echoes a value).
type errForward string

func (e errForward) Error() string { return string(e) }

// forwarded describes the client's request from a forward-auth request r,
// reading the forwarding headers only when trust is true.
func forwarded(r *http.Request, trust bool) (Request, error) {
	req := Request{
		Method:     r.Method,
		Host:       r.Host,
		URI:        r.URL.RequestURI(),
		Header:     r.Header.Clone(),
		RemoteAddr: r.RemoteAddr,
	}
	if r.TLS != nil {
		req.Scheme, req.PeerCertificates = "https", r.TLS.PeerCertificates
	}
	defer func() {
		for _, h := range forwardingHeaders {
			req.Header.Del(h)
		}
	}()
	if !trust {
		return req, nil
	}
	one := func(names ...string) (string, bool, error) {
		var got []string
		for _, n := range names {
			got = append(got, r.Header.Values(n)...)
		}
		switch len(got) {
		case 0:
			return "", false, nil
		case 1:
			return got[0], true, nil
		}
		return "", false, errForward(strings.Join(names, " or ") + " given more than once")
	}
	for _, f := range []struct {
		dst   *string
		names []string
	}{
		{&req.Method, []string{headerForwardedMethod, headerOriginalMethod}},
		{&req.Host, []string{headerForwardedHost}},
		{&req.Scheme, []string{headerForwardedProto}},
		{&req.URI, []string{headerForwardedURI, headerOriginalURI}},
	} {
		v, ok, err := one(f.names...)
		if err != nil {
			return Request{}, err
		}
		if ok {
			*f.dst = v
		} else if f.dst != &req.Scheme {
			// Without them the decision would be on the forward-auth
			// request's own method, host and path ("GET stepup:8080/auth"),
			// never the client's: a misconfigured proxy must not pass
			// everything, nor skip the policy's host rules.
			return Request{}, errForward("a trusted proxy sent no " + strings.Join(f.names, " or "))
		}
	}
	return req, nil
}

// maxURI bounds the URI.
const maxURI = 8 << 10

func validMethod(m string) bool {
	if m == "" || len(m) > 32 {
		return false
	}
	for i := 0; i < len(m); i++ {
		c := m[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func validHost(h string) bool {
	if h == "" || len(h) > 255 || strings.ContainsAny(h, ", /\\@?#\t") {
		return false
	}
	host := h
	if hh, port, err := net.SplitHostPort(h); err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return false
		}
		host = hh
	} else if strings.HasPrefix(h, "[") {
		return false
	}
	if host == "" {
		return false
	}
	if strings.Contains(host, ":") {
		_, err := netip.ParseAddr(host)
		return err == nil
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}
