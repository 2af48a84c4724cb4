package policy

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/grammar"
	"github.com/stepupauth/stepup/internal/loopback"
)

// maxLeeway bounds leeway: more than a few minutes of clock skew turns exp
// into a suggestion.
const maxLeeway = 5 * time.Minute

// algorithms is the JOSE allowlist a file may narrow (RFC 7518 §3.1,
// RFC 8037 §3.1): asymmetric signatures only.
var algorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// tokenTypes maps a lower-case typ to its canonical spelling (RFC 9068 §2.1;
// JWT for issuers that do not follow RFC 9068).
var tokenTypes = map[string]string{
	"at+jwt":             "at+jwt",
	"application/at+jwt": "application/at+jwt",
	"jwt":                "JWT",
}

// requirementFields are the rule fields that make up a Requirement, in
// schema order.
var requirementFields = []string{"acr", "acr_min", "amr_all", "amr_any", "acr_values", "max_age", "scopes", "auth_context", "sender_constraint"}

// fileFields maps claims.Requirement fields to the rule fields that set
// them.
var fileFields = map[string]string{
	"ACR":          "acr",
	"ACRMin":       "acr_min",
	"ACRLevels":    "acr_min",
	"AMRAll":       "amr_all",
	"AMRAny":       "amr_any",
	"AMRACRValues": "acr_values",
	"MaxAge":       "max_age",
	"Scopes":       "scopes",
	"Binding":      "sender_constraint",
}

// posError is a reason with the line it applies to, before build adds the
// field and rule.
type posError struct {
	line int
	err  error
}

func (e *posError) Error() string { return e.err.Error() }

func errAt(n *node, format string, args ...any) error {
	return &posError{line: n.line, err: fmt.Errorf(format, args...)}
}

// topError wraps err, from a helper, as an *Error about a top-level field.
func topError(field string, line int, err error) *Error {
	var pe *posError
	if errors.As(err, &pe) {
		line, err = pe.line, pe.err
	}
	return &Error{Line: line, Rule: -1, Field: field, Err: err}
}

func build(root *node) (*Policy, error) {
	if root.kind != kindMap {
		return nil, &Error{Line: root.line, Rule: -1, Err: fmt.Errorf("want a mapping at the top level, got %v", root.kind)}
	}
	p := &Policy{}
	var rules *node
	seen := map[string]int{}
	for i, k := range root.keys {
		v := root.vals[i]
		name := k.text
		if first, ok := seen[name]; ok {
			return nil, &Error{Line: k.line, Rule: -1, Field: name, Err: fmt.Errorf("duplicate field (first on line %d)", first)}
		}
		seen[name] = k.line
		var err error
		switch name {
		case "issuer":
			p.Issuer, err = urlField(v)
		case "audience":
			p.Audience, err = text(v)
		case "jwks_uri":
			p.JWKSURI, err = urlField(v)
		case "algorithms":
			p.Algorithms, err = algorithmList(v)
		case "token_types":
			p.TokenTypes, err = tokenTypeList(v)
		case "leeway":
			p.Leeway, err = leeway(v)
		case "claim_names":
			var field string
			p.ClaimNames, field, err = claimNames(v)
			if err != nil {
				return nil, topError("claim_names"+field, v.line, err)
			}
		case "resource_metadata":
			p.ResourceMetadata, err = urlField(v)
		case "acr_levels":
			p.ACRLevels, err = valueList(v, false)
		case "rules":
			if v.kind != kindList {
				err = errAt(v, "want a list, got %v", v.kind)
			} else if len(v.list) == 0 {
				err = errAt(v, "must not be empty")
			}
			rules = v
		case "profile":
			var field string
			p.Profile, field, err = profileField(v)
			if err != nil {
				return nil, topError("profile"+field, v.line, err)
			}
		case "dpop":
			var field string
			p.DPoP, field, err = dpopField(v)
			if err != nil {
				return nil, topError("dpop"+field, v.line, err)
			}
		case "mtls":
			var field string
			p.MTLS, field, err = mtlsField(v)
			if err != nil {
				return nil, topError("mtls"+field, v.line, err)
			}
		case "introspection":
			var field string
			p.Introspection, field, err = introspectionField(v)
			if err != nil {
				return nil, topError("introspection"+field, v.line, err)
			}
		default:
			err = errAt(k, "unknown field")
		}
		if err != nil {
			return nil, topError(name, v.line, err)
		}
	}
	for _, f := range []string{"issuer", "audience", "rules"} {
		if _, ok := seen[f]; !ok && (f != "issuer" || p.Profile == nil) {
			msg := "required"
			if f == "issuer" {
				msg = "required (or a profile)"
			}
			return nil, &Error{Rule: -1, Field: f, Err: errors.New(msg)}
		}
	}
	if p.Profile != nil {
		applyProfile(p, seen)
	}
	if p.Introspection != nil && p.Introspection.Discover && p.Issuer == "" {
		return nil, &Error{Line: seen["introspection"], Rule: -1, Field: "introspection.discover", Err: errors.New("needs one issuer to read the metadata of; this profile accepts many (set issuer, or give endpoint)")}
	}
	httpIndex := map[string]int{}
	grpcs := map[string]int{}
	mux := http.NewServeMux()
	for i, rn := range rules.list {
		r, err := rule(p, i, rn)
		if err != nil {
			return nil, err
		}
		if r.HTTP != "" {
			if j, ok := httpIndex[r.HTTP]; ok {
				return nil, ruleError(r, r.Line, "http", fmt.Errorf("duplicate pattern, also in rules[%d]", j))
			}
			if err := registerPattern(mux, r.HTTP); err != nil {
				if j, ok := conflicting(p.Rules, r.HTTP); ok {
					err = fmt.Errorf("pattern conflicts with rules[%d] (http %q)", j, p.Rules[j].HTTP)
				}
				return nil, ruleError(r, r.Line, "http", err)
			}
			httpIndex[r.HTTP] = i
		}
		if r.GRPC != "" {
			if j, ok := grpcs[r.GRPC]; ok {
				return nil, ruleError(r, r.Line, "grpc", fmt.Errorf("duplicate method, also in rules[%d]", j))
			}
			grpcs[r.GRPC] = i
		}
		p.Rules = append(p.Rules, r)
	}
	if e, field := checkShadows(p.Rules); e != nil {
		pub, prot := rules.list[e.public], rules.list[e.protected]
		err := shadowMessage(e, field, p.Rules, fieldLine(prot, field))
		return nil, ruleError(p.Rules[e.public], fieldLine(pub, field), field, err)
	}
	return p, nil
}

// fieldLine returns the line of the value of field in the rule node rn,
// or of the rule when it has no such field.
func fieldLine(rn *node, field string) int {
	for i, k := range rn.keys {
		if k.text == field {
			return rn.vals[i].line
		}
	}
	return rn.line
}

// conflicting finds the earlier rule whose pattern cannot be registered
// beside pattern on one ServeMux.
func conflicting(rules []Rule, pattern string) (int, bool) {
	for _, r := range rules {
		if r.HTTP == "" {
			continue
		}
		mux := http.NewServeMux()
		if registerPattern(mux, r.HTTP) == nil && registerPattern(mux, pattern) != nil {
			return r.Index, true
		}
	}
	return 0, false
}

// registerPattern registers pattern on mux, turning the panic ServeMux
// uses for invalid and conflicting patterns into an error.
func registerPattern(mux *http.ServeMux, pattern string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	mux.Handle(pattern, http.NotFoundHandler())
	return nil
}

func ruleError(r Rule, line int, field string, err error) *Error {
	var pe *posError
	if errors.As(err, &pe) {
		line, err = pe.line, pe.err
	}
	return &Error{Line: line, Rule: r.Index, HTTP: r.HTTP, GRPC: r.GRPC, Field: field, Err: err}
}

// rule parses and checks one entry of the rules list.
func rule(p *Policy, i int, rn *node) (Rule, error) {
	r := Rule{Index: i, Line: rn.line}
	if rn.kind != kindMap {
		return r, ruleError(r, rn.line, "", fmt.Errorf("want a mapping, got %v", rn.kind))
	}
	// Name the rule in messages by its routes, even for errors found before
	// them.
	for j, k := range rn.keys {
		if v := rn.vals[j]; v.kind == kindString {
			switch k.text {
			case "http":
				r.HTTP = v.text
			case "grpc":
				r.GRPC = v.text
			}
		}
	}
	label := r
	r.HTTP, r.GRPC = "", ""

	var req claims.Requirement
	var public, overrides bool
	seen := map[string]int{}
	for j, k := range rn.keys {
		v := rn.vals[j]
		name := k.text
		if first, ok := seen[name]; ok {
			return r, ruleError(label, k.line, name, fmt.Errorf("duplicate field (first on line %d)", first))
		}
		seen[name] = k.line
		var err error
		switch name {
		case "http":
			if r.HTTP, err = text(v); err == nil {
				err = checkPattern(v)
			}
		case "grpc":
			if r.GRPC, err = text(v); err == nil {
				err = checkMethod(v)
			}
		case "public":
			public, err = boolean(v)
		case "overrides_protected":
			overrides, err = boolean(v)
		case "acr":
			req.ACR, err = valueList(v, false)
		case "acr_min":
			if req.ACRMin, err = value(v, false); err == nil {
				switch {
				case len(p.ACRLevels) == 0:
					err = errAt(v, "needs acr_levels at the top level")
				case !slices.Contains(p.ACRLevels, req.ACRMin):
					err = errAt(v, "%q is not in acr_levels", req.ACRMin)
				default:
					req.ACRLevels = clone(p.ACRLevels)
				}
			}
		case "amr_all":
			req.AMRAll, err = valueList(v, false)
		case "amr_any":
			req.AMRAny, err = valueList(v, false)
		case "acr_values":
			req.AMRACRValues, err = valueList(v, false)
		case "max_age":
			req.MaxAge, err = maxAge(v)
		case "scopes":
			req.Scopes, err = valueList(v, true)
		case "auth_context":
			var ids []string
			if ids, err = authContext(p, v); err == nil {
				var ac claims.Requirement
				if ac, err = p.Profile.AuthContext(ids...); err == nil {
					req.Check = ac.Check
					r.AuthContext = ids
				}
			}
		case "sender_constraint":
			req.Binding, err = binding(v)
		case "profile":
			err = errAt(k, "identity-provider profiles are set at the top level")
		default:
			err = errAt(k, "unknown field")
		}
		if err != nil {
			return r, ruleError(label, v.line, name, err)
		}
	}
	if r.HTTP == "" && r.GRPC == "" {
		return r, ruleError(r, rn.line, "", errors.New("needs http or grpc"))
	}
	if overrides && !public {
		return r, ruleError(r, seen["overrides_protected"], "overrides_protected", errors.New("only a public rule can override protected ones (add public: true, or remove the field)"))
	}
	if public {
		for _, f := range requirementFields {
			if line, ok := seen[f]; ok {
				return r, ruleError(r, line, f, errors.New("a public rule takes no requirement"))
			}
		}
	}
	if line, ok := seen["sender_constraint"]; ok && req.Binding == claims.BindingDPoP && p.DPoP == nil {
		return r, ruleError(r, line, "sender_constraint", errors.New("dpop needs a dpop block at the top level (with public_url): without one no proof is checked, and no request could meet this rule"))
	}
	if line, ok := seen["acr_values"]; ok && req.AMRAll == nil && req.AMRAny == nil {
		return r, ruleError(r, line, "acr_values", errors.New("is what a challenge asks for when amr_all or amr_any fails, and needs one of them (for an acr requirement use acr)"))
	}
	if err := req.Validate(); err != nil {
		field, line := "", rn.line
		var re *claims.RequirementError
		if errors.As(err, &re) {
			name, _, _ := strings.Cut(re.Field, "[")
			if f, ok := fileFields[name]; ok && seen[f] > 0 {
				field, line = f, seen[f]
			}
		}
		return r, ruleError(r, line, field, err)
	}
	r.Public = public
	r.OverridesProtected = overrides
	r.Requirement = req
	return r, nil
}

// text is a non-empty string without surrounding white space or control
// characters.
func text(n *node) (string, error) {
	if n.kind != kindString {
		return "", errAt(n, "want a string, got %v", n.kind)
	}
	s := n.text
	switch {
	case s == "":
		return "", errAt(n, "must not be empty")
	case strings.TrimSpace(s) != s:
		return "", errAt(n, "%q has surrounding white space", s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", errAt(n, "%q contains a control character", s)
	}
	return s, nil
}

// boolean is exactly true or false. Anything else is an error, not a
// silent false: yaml.v3 reads yes, on and 1 as a string or a number, but a
// tag turns them into booleans (!!bool yes, !!bool 1) whose text is not
// "true", and YAML 1.2 also spells True and TRUE.
func boolean(n *node) (bool, error) {
	switch {
	case n.kind == kindBool && n.text == "true":
		return true, nil
	case n.kind == kindBool && n.text == "false":
		return false, nil
	case n.kind == kindBool:
		return false, errAt(n, "want true or false, got %q", n.text)
	case n.kind == kindString:
		return false, errAt(n, "want true or false, got the string %q", n.text)
	case n.kind == kindNumber:
		return false, errAt(n, "want true or false, got the number %s", n.text)
	}
	return false, errAt(n, "want true or false, got %v", n.kind)
}

// value is one acr, amr, scope or level value: non-empty printable ASCII
// without spaces, since challenges list them space-separated (RFC 9470
// §3); scopes must also be RFC 6749 §3.3 scope-tokens.
func value(n *node, scope bool) (string, error) {
	if n.kind != kindString {
		return "", errAt(n, "want a string, got %v (quote it)", n.kind)
	}
	s := n.text
	if s == "" {
		return "", errAt(n, "empty value")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return "", errAt(n, "%q is not printable ASCII without spaces", s)
		}
		if scope && (c == '"' || c == '\\') {
			return "", errAt(n, "%q is not a scope-token (RFC 6749 §3.3)", s)
		}
	}
	return s, nil
}

// valueList is a non-empty list of distinct values.
func valueList(n *node, scope bool) ([]string, error) {
	if n.kind != kindList {
		return nil, errAt(n, "want a list, got %v", n.kind)
	}
	if len(n.list) == 0 {
		return nil, errAt(n, "must not be empty (leave the field out instead)")
	}
	out := make([]string, 0, len(n.list))
	seen := make(map[string]bool, len(n.list))
	for _, e := range n.list {
		s, err := value(e, scope)
		if err != nil {
			return nil, err
		}
		if seen[s] {
			return nil, errAt(e, "duplicate value %q", s)
		}
		seen[s] = true
		out = append(out, s)
	}
	return out, nil
}

func algorithmList(n *node) ([]string, error) {
	return allowedAlgorithms(n, algorithms, " (RFC 8725 §3.1)", "only asymmetric algorithms work with a JWKS")
}

// allowedAlgorithms reads a list of alg names, each one of known; none
// and HS* get their own messages, whyNone and whyHS saying why they never
// fit.
func allowedAlgorithms(n *node, known []string, whyNone, whyHS string) ([]string, error) {
	list, err := valueList(n, false)
	if err != nil {
		return nil, err
	}
	for i, a := range list {
		switch {
		case slices.Contains(known, a):
		case strings.EqualFold(a, "none"):
			return nil, errAt(n.list[i], "%q is never accepted%s", a, whyNone)
		case strings.HasPrefix(strings.ToUpper(a), "HS"):
			return nil, errAt(n.list[i], "%q is symmetric; %s", a, whyHS)
		default:
			return nil, errAt(n.list[i], "unknown algorithm %q (want one of %s)", a, strings.Join(known, " "))
		}
	}
	return list, nil
}

func tokenTypeList(n *node) ([]string, error) {
	if n.kind != kindList {
		return nil, errAt(n, "want a list, got %v", n.kind)
	}
	if len(n.list) == 0 {
		return nil, errAt(n, "must not be empty (leave the field out instead)")
	}
	var out []string
	for _, e := range n.list {
		s, err := value(e, false)
		if err != nil {
			return nil, err
		}
		c, ok := tokenTypes[strings.ToLower(s)]
		if !ok {
			return nil, errAt(e, "unknown token type %q (want at+jwt, application/at+jwt or JWT)", s)
		}
		if slices.Contains(out, c) {
			return nil, errAt(e, "duplicate value %q", s)
		}
		out = append(out, c)
	}
	return out, nil
}

func duration(n *node) (time.Duration, error) {
	if n.kind != kindString {
		return 0, errAt(n, "want a duration such as \"30s\" or \"5m\", got %v", n.kind)
	}
	d, err := time.ParseDuration(n.text)
	if err != nil {
		return 0, errAt(n, "invalid duration %q (want a Go duration such as \"30s\" or \"5m\")", n.text)
	}
	return d, nil
}

func leeway(n *node) (time.Duration, error) {
	d, err := duration(n)
	switch {
	case err != nil:
		return 0, err
	case d < 0:
		return 0, errAt(n, "%s is negative", n.text)
	case d == 0:
		// verify.Config treats a zero Leeway as "use the default".
		return 0, errAt(n, "0 would mean the verifier's default (30s); use at least 1s, or leave leeway out")
	case d > maxLeeway:
		return 0, errAt(n, "%s is more than %v", n.text, maxLeeway)
	}
	return d, nil
}

func maxAge(n *node) (time.Duration, error) {
	d, err := duration(n)
	switch {
	case err != nil:
		return 0, err
	case d <= 0:
		return 0, errAt(n, "%s is not positive", n.text)
	case d%time.Second != 0:
		return 0, errAt(n, "%s is not a whole number of seconds (max_age is sent in seconds)", n.text)
	}
	return d, nil
}

// urlField is an absolute https URL without user information or fragment;
// plain http only for a loopback host.
func urlField(n *node) (string, error) {
	s, err := text(n)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", errAt(n, "%q is not a URL", s)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback.Is(u.Hostname()):
	case u.Scheme == "http":
		return "", errAt(n, "%q: http is allowed only for a loopback host; use https", s)
	default:
		return "", errAt(n, "%q is not an https URL", s)
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return "", errAt(n, "%q has no host", s)
	case u.User != nil:
		return "", errAt(n, "%q must not carry user information", s)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", errAt(n, "%q must not have a fragment", s)
	}
	return s, nil
}

func claimNames(n *node) (claims.Names, string, error) {
	var names claims.Names
	if n.kind != kindMap {
		return names, "", errAt(n, "want a mapping, got %v", n.kind)
	}
	seen := map[string]int{}
	for i, k := range n.keys {
		v := n.vals[i]
		if first, ok := seen[k.text]; ok {
			return names, "." + k.text, errAt(k, "duplicate field (first on line %d)", first)
		}
		seen[k.text] = k.line
		s, err := text(v)
		if err != nil {
			return names, "." + k.text, err
		}
		switch k.text {
		case "acr":
			names.ACR = s
		case "amr":
			names.AMR = s
		case "auth_time":
			names.AuthTime = s
		default:
			return names, "." + k.text, errAt(k, "unknown field (want acr, amr or auth_time)")
		}
	}
	return names, "", nil
}

// checkPattern checks an http value is a pattern net/http.ServeMux accepts
// with an upper-case method, if any. ServeMux takes any token as a method
// and compares it case-sensitively, so "get /admin/" would never match a
// GET request and leave /admin/ to whatever else matches it.
func checkPattern(n *node) error {
	if err := registerPattern(http.NewServeMux(), n.text); err != nil {
		return errAt(n, "invalid ServeMux pattern: %v", err)
	}
	if method, _, _ := splitPattern(n.text); method != strings.ToUpper(method) {
		return errAt(n, "method %q must be upper case, e.g. %s", method, strings.ToUpper(method))
	}
	return nil
}

// splitPattern splits a pattern ServeMux accepted into its method, host and
// path, as ServeMux does: a method is whatever precedes the first space or
// tab, a host whatever precedes the first slash of the rest.
func splitPattern(pattern string) (method, host, path string) {
	rest := pattern
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		method, rest = pattern[:i], strings.TrimLeft(pattern[i+1:], " \t")
	}
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		return method, rest, ""
	}
	return method, rest[:i], rest[i:]
}

// checkMethod checks a grpc value is "/package.Service/Method" or
// "/package.Service/*", by the check grpcmw.NewMethods makes.
func checkMethod(n *node) error {
	if _, _, ok := grammar.SplitMethod(n.text); !ok {
		return errAt(n, "%q is not a full method (want \"/package.Service/Method\" or \"/package.Service/*\")", n.text)
	}
	return nil
}

// bindings are the values of sender_constraint.
var bindings = map[string]claims.Binding{
	"dpop": claims.BindingDPoP,
	"mtls": claims.BindingMTLS,
	"any":  claims.BindingAny,
}

// binding reads sender_constraint: dpop (a DPoP-bound token, RFC 9449),
// mtls (a certificate-bound token, RFC 8705) or any (either).
func binding(n *node) (claims.Binding, error) {
	s, err := text(n)
	if err != nil {
		return claims.BindingNone, err
	}
	b, ok := bindings[s]
	if !ok {
		return claims.BindingNone, errAt(n, "%q is not dpop, mtls or any", s)
	}
	return b, nil
}

// blockFields calls set for each field of the mapping n in order, refusing
// a repeated field; it returns the fields seen (name to line) and, with an
// error, the field it is about (".name"). The top-level blocks (dpop,
// mtls, introspection) read their fields through it.
func blockFields(n *node, set func(k, v *node) error) (seen map[string]int, field string, err error) {
	seen = map[string]int{}
	for i, k := range n.keys {
		if first, ok := seen[k.text]; ok {
			return seen, "." + k.text, errAt(k, "duplicate field (first on line %d)", first)
		}
		seen[k.text] = k.line
		if err := set(k, n.vals[i]); err != nil {
			return seen, "." + k.text, err
		}
	}
	return seen, "", nil
}
