package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/stepupauth/stepup/policy"
)

func lint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stepup lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, "usage: stepup lint FILE\n")
		return exitUsage
	}
	p, err := policy.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stdout, err)
		return exitRefused
	}
	for _, w := range warnings(p) {
		fmt.Fprintln(stdout, "warning: "+w)
	}
	fmt.Fprintln(stdout, "ok")
	return exitOK
}

// warnings lists what Parse accepts but a reader may not expect.
func warnings(p *policy.Policy) []string {
	var ws []string
	if u, err := url.Parse(p.Issuer); err == nil && u.Scheme == "http" {
		// Parse allows plain http for loopback issuers only.
		ws = append(ws, fmt.Sprintf("issuer %s is plain http on loopback: fine for tests, never for production", p.Issuer))
	}
	for _, r := range p.Rules {
		q := r.Requirement
		if q.MaxAge > 0 && len(q.ACR) == 0 && q.ACRMin == "" && len(q.AMRACRValues) == 0 {
			ws = append(ws, fmt.Sprintf("%s: max_age without acr: allowed, but the challenge will only ask for a fresh login (max_age=%d), never a stronger one",
				ruleName(r), int64(q.MaxAge.Seconds())))
		}
	}
	ws = append(ws, unreachable(p.Rules)...)
	return ws
}

// ruleName names r as policy errors do: "line 12: rules[2] (http "POST /transfer")".
func ruleName(r policy.Rule) string {
	s := fmt.Sprintf("rules[%d]", r.Index)
	if r.Line > 0 {
		s = fmt.Sprintf("line %d: %s", r.Line, s)
	}
	switch {
	case r.HTTP != "" && r.GRPC != "":
		s += fmt.Sprintf(" (http %q, grpc %q)", r.HTTP, r.GRPC)
	case r.HTTP != "":
		s += fmt.Sprintf(" (http %q)", r.HTTP)
	case r.GRPC != "":
		s += fmt.Sprintf(" (grpc %q)", r.GRPC)
	}
	return s
}

// unreachable warns of the http patterns that never govern a request:
// every request such a pattern matches goes to a more specific rule, so its
// requirement is never enforced. Policy loading already refuses what
// ServeMux itself refuses (a duplicate or conflicting pattern, an unclean
// path) and a duplicate gRPC method; a gRPC rule is never unreachable
// otherwise, since an exact method wins only its own calls and a service
// wildcard ("/pkg.Svc/*") names infinitely many. Neither is an http pattern
// without a trailing prefix: it names one path (whose wildcards have
// infinitely many values), and only an equal pattern, a conflict, could
// take all of it. What can be covered is a prefix ("GET /a/",
// "/a/{rest...}"): by "/a/{$}", "/a/{x}" and "/a/{x}/" together, say.
//
// The check asks a real ServeMux, holding every http rule, who serves
// probe requests of each prefix rule: its method (or one no rule names,
// for a pattern without one), its host (or one no rule names), its path
// with every wildcard and open segment filled by a segment no rule names,
// at every depth up to one past the deepest pattern, with and without a
// trailing slash. Any request the rule matches is routed as the probe of
// its depth and slash is, since a rule matching the probe matches it too,
// so the rule is unreachable exactly when it serves no probe.
func unreachable(rules []policy.Rule) []string {
	mux := http.NewServeMux()
	literals := map[string]bool{}
	depth := 0
	for _, r := range rules {
		if r.HTTP == "" {
			continue
		}
		if !register(mux, r) {
			return nil // Load accepted it, so this cannot happen
		}
		segs := pathSegments(r.HTTP)
		depth = max(depth, len(segs))
		for _, s := range segs {
			literals[s] = true
		}
		method, host, _ := splitHTTP(r.HTTP)
		literals[method], literals[host] = true, true
	}
	free := func(s string) string {
		for literals[s] {
			s += "-"
		}
		return s
	}
	seg, method, host := free("stepup-probe"), free("STEPUP-PROBE"), free("stepup-probe.invalid")
	var ws []string
	for _, r := range rules {
		if r.HTTP == "" {
			continue
		}
		takers := probeRule(mux, r, seg, method, host, depth+1)
		if takers == nil {
			continue
		}
		var names []string
		for _, i := range takers {
			t := rules[i]
			names = append(names, fmt.Sprintf("rules[%d] (http %q, line %d)", t.Index, t.HTTP, t.Line))
		}
		why := "its requirement is never enforced: remove it, or narrow the others"
		if r.Public {
			why = "it makes nothing public: remove it, or narrow the others"
		}
		ws = append(ws, fmt.Sprintf("%s: unreachable: more specific patterns take every request it names, %s; %s",
			ruleName(r), strings.Join(names, ", "), why))
	}
	return ws
}

// probeRule returns the rules that serve the probes of r, in file order,
// or nil when r serves one of them (or is no prefix pattern).
func probeRule(mux *http.ServeMux, r policy.Rule, seg, anyMethod, anyHost string, depth int) []int {
	method, host, path := splitHTTP(r.HTTP)
	if method == "" {
		method = anyMethod
	}
	if host == "" {
		host = anyHost
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	last := parts[len(parts)-1]
	switch {
	case last == "":
	case strings.HasPrefix(last, "{") && strings.HasSuffix(last, "...}"):
	default:
		return nil // names one path, or "/a/{$}" one path too
	}
	base := ""
	for _, p := range parts[:len(parts)-1] {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			p = seg
		}
		base += "/" + p
	}
	// base and below: base/, base/X, base/X/, base/X/X, … to depth segments
	raws := []string{base + "/"}
	for n, ext := len(parts), base; n <= depth; n++ {
		ext += "/" + seg
		raws = append(raws, ext, ext+"/")
	}
	var takers []int
	for _, raw := range raws {
		p, err := url.PathUnescape(raw)
		if err != nil {
			return nil
		}
		req := &http.Request{
			Method: method,
			Host:   host,
			URL:    &url.URL{Scheme: "http", Host: host, Path: p, RawPath: raw},
			Header: http.Header{},
		}
		h, _ := mux.Handler(req)
		i, ok := h.(ruleHandler)
		if !ok || int(i) == r.Index {
			return nil // served by r, or by no rule: not a taken request
		}
		if !slices.Contains(takers, int(i)) {
			takers = append(takers, int(i))
		}
	}
	slices.Sort(takers)
	return takers
}

// ruleHandler is the handler of a rule on the probing ServeMux: its index.
type ruleHandler int

func (ruleHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

func register(mux *http.ServeMux, r policy.Rule) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	mux.Handle(r.HTTP, ruleHandler(r.Index))
	return true
}

// splitHTTP splits a ServeMux pattern "[METHOD ][HOST]/[PATH]" as
// ServeMux does.
func splitHTTP(pattern string) (method, host, path string) {
	rest := pattern
	if i := strings.IndexAny(rest, " \t"); i >= 0 {
		method, rest = rest[:i], strings.TrimLeft(rest[i+1:], " \t")
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return method, rest, "/"
	}
	return method, rest[:i], rest[i:]
}

// pathSegments returns the literal segments of a pattern's path, unescaped.
func pathSegments(pattern string) []string {
	_, _, path := splitHTTP(pattern)
	var segs []string
	for _, s := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		segs = append(segs, s)
	}
	return segs
}
