package policy

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// A public rule must not take requests or calls that a protected rule
// names, unless it says so with overrides_protected: true. ServeMux sends a
// request to the most specific matching pattern, and a pattern with a host
// before any without one, so a public "GET /admin/{x}" or
// "status.example.com/" silently wins over a protected "GET /admin/". The
// method table of grpcmw prefers an exact method to its service's wildcard,
// so a public "/pkg.Svc/Get" wins over a protected "/pkg.Svc/*".
//
// For HTTP, checkShadows does not reimplement ServeMux: for every pair of a
// protected and a public pattern it builds requests both could match (the
// shared method, the host, paths that fill the wildcards and extend the
// prefixes of either) and asks two real ServeMuxes, one with every rule and
// one with the protected rules only, who serves them. A request that a
// protected rule names but a public rule wins is a shadow.

// probeHost and probeSegment fill in what a pattern leaves open: a host for
// patterns without one, a value for wildcards and prefixes. They are
// unlikely to equal a literal of some other pattern.
const (
	probeHost    = "stepup-probe.invalid"
	probeSegment = "stepup-probe"
)

// probe is the handler of a rule on a probing ServeMux: its index in
// Policy.Rules.
type probe int

func (probe) ServeHTTP(http.ResponseWriter, *http.Request) {}

// tail is how a pattern's path ends.
type tail uint8

const (
	tailExact  tail = iota // "/a/b": exactly that path
	tailSlash              // "/a/b/{$}": exactly "/a/b/"
	tailPrefix             // "/a/b/" or "/a/b/{rest...}": "/a/b/" and below
)

// shape is the path of a pattern, or of the requests two patterns share:
// segments, literal (unescaped) or a single wildcard (wild), and the tail.
type shape struct {
	segs []string
	wild []bool
	tail tail
}

// route is an http rule taken apart for probing.
type route struct {
	rule         int
	method, host string
	path         shape
}

func parseRoute(r Rule) route {
	method, host, path := splitPattern(r.HTTP)
	rt := route{rule: r.Index, method: method, host: host}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	last := parts[len(parts)-1]
	switch {
	case last == "":
		rt.path.tail = tailPrefix
		parts = parts[:len(parts)-1]
	case last == "{$}":
		rt.path.tail = tailSlash
		parts = parts[:len(parts)-1]
	case strings.HasPrefix(last, "{") && strings.HasSuffix(last, "...}"):
		rt.path.tail = tailPrefix
		parts = parts[:len(parts)-1]
	}
	for _, s := range parts {
		w := strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")
		if !w {
			if u, err := url.PathUnescape(s); err == nil {
				s = u
			}
		}
		rt.path.segs = append(rt.path.segs, s)
		rt.path.wild = append(rt.path.wild, w)
	}
	return rt
}

// meet returns the shape of the paths both a and b match; ok is false when
// they share none.
func meet(a, b shape) (out shape, ok bool) {
	if len(a.segs) < len(b.segs) {
		a, b = b, a // a is the longer
	}
	for i := range b.segs {
		switch {
		case a.wild[i] && b.wild[i]:
			out.segs, out.wild = append(out.segs, ""), append(out.wild, true)
		case a.wild[i]:
			out.segs, out.wild = append(out.segs, b.segs[i]), append(out.wild, false)
		case b.wild[i] || a.segs[i] == b.segs[i]:
			out.segs, out.wild = append(out.segs, a.segs[i]), append(out.wild, false)
		default:
			return shape{}, false
		}
	}
	if len(a.segs) > len(b.segs) {
		if b.tail != tailPrefix {
			return shape{}, false
		}
		out.segs = append(out.segs, a.segs[len(b.segs):]...)
		out.wild = append(out.wild, a.wild[len(b.segs):]...)
		out.tail = a.tail
		return out, true
	}
	switch {
	case a.tail == b.tail:
		out.tail = a.tail
	case a.tail == tailExact || b.tail == tailExact:
		return shape{}, false // "/a" and "/a/": no path in common
	default:
		out.tail = tailSlash // "/a/{$}" and "/a/"
	}
	return out, true
}

// paths returns representative paths of s, unescaped and escaped: its
// wildcards filled in and, for a prefix, the prefix itself and a few
// paths below it.
func (s shape) paths() (path, raw []string) {
	var p, r strings.Builder
	for i, seg := range s.segs {
		if s.wild[i] {
			seg = probeSegment
		}
		p.WriteString("/" + seg)
		r.WriteString("/" + url.PathEscape(seg))
	}
	base, rawBase := p.String(), r.String()
	switch s.tail {
	case tailExact:
		return []string{base}, []string{rawBase}
	case tailSlash:
		return []string{base + "/"}, []string{rawBase + "/"}
	}
	for _, ext := range []string{"", probeSegment, probeSegment + "/", probeSegment + "/" + probeSegment} {
		path = append(path, base+"/"+ext)
		raw = append(raw, rawBase+"/"+ext)
	}
	return path, raw
}

// sharedMethods returns the request methods that patterns with methods a
// and b (empty for any) both match: a GET pattern also matches HEAD.
func sharedMethods(a, b string) []string {
	switch {
	case a == "" && b == "":
		return []string{http.MethodGet}
	case a == "":
		return []string{b}
	case b == "" || a == b:
		return []string{a}
	case a == http.MethodGet && b == http.MethodHead, a == http.MethodHead && b == http.MethodGet:
		return []string{http.MethodHead}
	}
	return nil
}

// sharedHost returns the request host to probe a protected pattern with
// host prot against a public one with host pub (empty for any). ok is
// false when the public pattern cannot win: hosts differ, or only the
// protected pattern has one, since ServeMux tries the patterns with the
// request's host before any without one. Leaving out the second case keeps
// a file of many host patterns beside many public catch-alls from costing
// a ServeMux lookup per pair.
func sharedHost(prot, pub string) (host string, ok bool) {
	switch {
	case prot == "" && pub == "":
		return probeHost, true
	case prot == "":
		return pub, true
	case prot == pub:
		return prot, true
	}
	return "", false
}

// shadowError is a public rule that takes what a protected rule names.
type shadowError struct {
	public, protected int
	example           string // a request or call both name
}

// checkShadows finds the first public rule, in file order, that takes an
// HTTP request or a gRPC call that a protected rule names and does not set
// overrides_protected.
func checkShadows(rules []Rule) (*shadowError, string) {
	if e := httpShadow(rules); e != nil {
		return e, "http"
	}
	if e := grpcShadow(rules); e != nil {
		return e, "grpc"
	}
	return nil, ""
}

func httpShadow(rules []Rule) *shadowError {
	var public, protected []route
	all, prot := http.NewServeMux(), http.NewServeMux()
	for _, r := range rules {
		if r.HTTP == "" {
			continue
		}
		// build registered every pattern on one ServeMux already, so
		// neither Handle panics.
		all.Handle(r.HTTP, probe(r.Index))
		if r.Public {
			if !r.OverridesProtected {
				public = append(public, parseRoute(r))
			}
			continue
		}
		prot.Handle(r.HTTP, probe(r.Index))
		protected = append(protected, parseRoute(r))
	}
	for _, q := range public {
		for _, p := range protected {
			host, ok := sharedHost(p.host, q.host)
			if !ok {
				continue
			}
			methods := sharedMethods(p.method, q.method)
			if methods == nil {
				continue
			}
			s, ok := meet(p.path, q.path)
			if !ok {
				continue
			}
			paths, raws := s.paths()
			for _, m := range methods {
				for i, path := range paths {
					req := &http.Request{
						Method: m,
						Host:   host,
						URL:    &url.URL{Scheme: "http", Host: host, Path: path, RawPath: raws[i]},
						Header: http.Header{},
					}
					w, ok := handler(all, req)
					if !ok || !rules[w].Public || rules[w].OverridesProtected {
						continue
					}
					v, ok := handler(prot, req)
					if !ok {
						continue
					}
					ex := m + " " + raws[i]
					if host != probeHost {
						ex += " with Host: " + host
					}
					return &shadowError{public: w, protected: v, example: ex}
				}
			}
		}
	}
	return nil
}

// handler returns the rule whose pattern mux picks for req; ok is false for
// none, a redirect, or a 405.
func handler(mux *http.ServeMux, req *http.Request) (int, bool) {
	h, _ := mux.Handler(req)
	i, ok := h.(probe)
	return int(i), ok
}

// grpcShadow finds a public exact method under a protected wildcard of its
// service. The reverse, a public wildcard over a protected exact method, is
// no shadow: the exact entry wins.
func grpcShadow(rules []Rule) *shadowError {
	wildcards := map[string]int{} // protected "/pkg.Svc/" prefixes
	for _, r := range rules {
		if service, ok := strings.CutSuffix(r.GRPC, "/*"); ok && !r.Public {
			wildcards[service] = r.Index
		}
	}
	for _, r := range rules {
		if r.GRPC == "" || !r.Public || r.OverridesProtected || strings.HasSuffix(r.GRPC, "/*") {
			continue
		}
		service := r.GRPC[:strings.LastIndexByte(r.GRPC, '/')]
		if j, ok := wildcards[service]; ok {
			return &shadowError{public: r.Index, protected: j, example: r.GRPC}
		}
	}
	return nil
}

// shadowMessage is the reason of the *Error about e.
func shadowMessage(e *shadowError, field string, rules []Rule, line int) error {
	p := rules[e.protected]
	if field == "grpc" {
		return fmt.Errorf("public method under protected rules[%d] (grpc %q, line %d): an exact method wins over its service's wildcard, so %s would need no token; remove this rule, or set overrides_protected: true if it is meant to be public",
			p.Index, p.GRPC, line, e.example)
	}
	return fmt.Errorf("public pattern takes requests that protected rules[%d] (http %q, line %d) names, such as %s; narrow the pattern so that it names no protected route, or set overrides_protected: true if they are meant to be public",
		p.Index, p.HTTP, line, e.example)
}
