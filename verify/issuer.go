package verify

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/jsonscan"
	"github.com/stepupauth/stepup/internal/loopback"
)

// issuerTemplate is a parsed Config.IssuerTemplates entry: the text before
// the placeholder, the claim that fills it, the text after.
type issuerTemplate struct {
	prefix, claim, suffix string
}

// requiredValue is one Config.RequiredValues entry, or one value of a
// Config.ExcludedValues entry.
type requiredValue struct {
	name, value string
}

// setIssuerRules checks and stores Config.IssuerTemplates,
// Config.RequiredValues and Config.ExcludedValues.
func (v *Verifier) setIssuerRules(cfg Config) error {
	for _, t := range cfg.IssuerTemplates {
		it, err := parseIssuerTemplate(t)
		if err != nil {
			return err
		}
		if !slices.Contains(v.templates, it) {
			v.templates = append(v.templates, it)
		}
		if !slices.Contains(v.tplClaims, it.claim) {
			if len(v.tplClaims) == maxTemplateClaims {
				return fmt.Errorf("%w: issuer templates name more than %d distinct claims", ErrConfig, maxTemplateClaims)
			}
			v.tplClaims = append(v.tplClaims, it.claim)
		}
	}
	for name, value := range cfg.RequiredValues {
		if name == "" {
			return fmt.Errorf("%w: empty claim name in RequiredValues", ErrConfig)
		}
		v.values = append(v.values, requiredValue{name: name, value: value})
	}
	sort.Slice(v.values, func(i, j int) bool { return v.values[i].name < v.values[j].name })
	for name, values := range cfg.ExcludedValues {
		if name == "" {
			return fmt.Errorf("%w: empty claim name in ExcludedValues", ErrConfig)
		}
		for _, value := range values {
			v.excluded = append(v.excluded, requiredValue{name: name, value: value})
		}
	}
	sort.Slice(v.excluded, func(i, j int) bool {
		a, b := v.excluded[i], v.excluded[j]
		return a.name < b.name || a.name == b.name && a.value < b.value
	})
	return nil
}

// checkHTTPIssuers refuses an issuer or issuer template with a plain http
// URL on a host that is not a loopback IP literal (see
// Config.InsecureAllowHTTPIssuer). Other strings are left alone: an
// issuer is compared, never fetched, by the verifier.
func checkHTTPIssuers(cfg Config) error {
	check := func(field, iss string) error {
		scheme, rest, ok := strings.Cut(iss, "://")
		if !ok || !strings.EqualFold(scheme, "http") {
			return nil
		}
		host := rest
		if i := strings.IndexAny(host, "/?#{"); i >= 0 {
			host = host[:i]
		}
		if u, err := url.Parse("http://" + host); err == nil && loopback.Is(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%w: %s %q is plain http: use the issuer's https URL, spelled exactly as the iss of its tokens (http is accepted only for a loopback IP literal such as 127.0.0.1, or with InsecureAllowHTTPIssuer)", ErrConfig, field, iss)
	}
	if err := check("Issuer", cfg.Issuer); err != nil {
		return err
	}
	for _, iss := range cfg.Issuers {
		if err := check("Issuers entry", iss); err != nil {
			return err
		}
	}
	for _, t := range cfg.IssuerTemplates {
		if err := check("IssuerTemplates entry", t); err != nil {
			return err
		}
	}
	return nil
}

// parseIssuerTemplate checks one template: exactly one "{claim}"
// placeholder, a claim name of letters, digits and '_', inside the path of
// an absolute http(s) URL, so that it never stands for a host.
func parseIssuerTemplate(t string) (issuerTemplate, error) {
	open, end := strings.IndexByte(t, '{'), strings.IndexByte(t, '}')
	if open < 0 || end < open || strings.Count(t, "{") != 1 || strings.Count(t, "}") != 1 {
		return issuerTemplate{}, fmt.Errorf("%w: issuer template %q needs exactly one {claim} placeholder", ErrConfig, t)
	}
	it := issuerTemplate{prefix: t[:open], claim: t[open+1 : end], suffix: t[end+1:]}
	if it.claim == "" || strings.IndexFunc(it.claim, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
	}) >= 0 {
		return issuerTemplate{}, fmt.Errorf("%w: issuer template %q: the placeholder is not a claim name", ErrConfig, t)
	}
	scheme, rest, ok := strings.Cut(it.prefix, "://")
	if !ok || (scheme != "https" && scheme != "http") || strings.HasPrefix(rest, "/") || !strings.Contains(rest, "/") {
		return issuerTemplate{}, fmt.Errorf("%w: issuer template %q: the placeholder must be in the path of an absolute URL", ErrConfig, t)
	}
	return it, nil
}

// match reports whether iss fits the template with the placeholder equal
// to val, the token's own claim (ok false when it is absent or not a
// string).
func (it issuerTemplate) match(iss, val string, ok bool) bool {
	if !ok || len(iss) <= len(it.prefix)+len(it.suffix) || !strings.HasPrefix(iss, it.prefix) || !strings.HasSuffix(iss, it.suffix) {
		return false
	}
	return iss[len(it.prefix):len(iss)-len(it.suffix)] == val && strings.IndexByte(val, '/') < 0
}

// maxTemplateClaims bounds the distinct claims that issuer templates name,
// so that the unverified read of them (readIssuer) has a fixed size.
const maxTemplateClaims = 4

// issuerClaims is what choosing the key needs from a payload whose
// signature is not checked yet: iss, and the string claims the issuer
// templates name (in the order of Verifier.tplClaims).
type issuerClaims struct {
	iss    string
	hasIss bool
	vals   [maxTemplateClaims]string
	isStr  [maxTemplateClaims]bool
	seen   [maxTemplateClaims]bool
}

// The rejections of readIssuer, with the causes claims.Parse gives for the
// same fault (Parse, validating everything, may first meet another fault
// later in the payload: the Reason is ReasonClaims either way).
var (
	rejClaimsMalformed = reject(ReasonClaims, fmt.Errorf("%w: %w", errClaims, &claims.ParseError{Msg: "malformed json"}))
	rejIssNotString    = reject(ReasonClaims, fmt.Errorf("%w: %w", errClaims, &claims.ParseError{Claim: "iss", Msg: "not a string"}))
	rejIssDuplicate    = reject(ReasonClaims, fmt.Errorf("%w: %w", errClaims, &claims.ParseError{Claim: "iss", Msg: "duplicate member"}))
)

// readIssuer reads iss and the template claims from the payload before the
// signature is checked, and nothing else: one allocation-free pass over the
// top level (jsonscan.TopLevel, strict on every string, balancing brackets
// below the top level), whose only allocations are the values kept. The
// claim set is parsed strictly (claims.Parse) only once the signature
// holds, and must then say what this read said (acceptVerified): on a
// payload that is valid JSON the two agree, and a payload that is not
// never gets past claims.Parse.
func (v *Verifier) readIssuer(payload []byte) (issuerClaims, *rejection) {
	var ic issuerClaims
	var rej *rejection
	err := jsonscan.TopLevel(payload, func(m jsonscan.Member) error {
		val := payload[m.Value.Start:m.Value.End]
		if m.NameIs(payload, "iss") {
			switch {
			case ic.hasIss:
				rej = rejIssDuplicate
			case val[0] != '"':
				rej = rejIssNotString
			default:
				ic.hasIss, ic.iss = true, jsonscan.Unquote(val)
				return nil
			}
			return errStop
		}
		for k, c := range v.tplClaims {
			if m.NameIs(payload, c) {
				if ic.seen[k] {
					rej = reject(ReasonClaims, fmt.Errorf("%w: %w", errClaims, &claims.ParseError{Claim: c, Msg: "duplicate member"}))
					return errStop
				}
				ic.seen[k] = true
				if val[0] == '"' {
					ic.vals[k], ic.isStr[k] = jsonscan.Unquote(val), true
				}
			}
		}
		return nil
	})
	switch err {
	case nil:
		return ic, nil
	case errStop:
		return ic, rej
	default:
		return ic, rejClaimsMalformed
	}
}

// acceptIssuer reports whether the unverified issuer claims are accepted:
// iss one of Issuer and Issuers exactly, or a match of an issuer template.
func (v *Verifier) acceptIssuer(ic *issuerClaims) bool {
	if !ic.hasIss {
		return false
	}
	if slices.Contains(v.issuers, ic.iss) {
		return true
	}
	for _, it := range v.templates {
		k := slices.Index(v.tplClaims, it.claim)
		if it.match(ic.iss, ic.vals[k], ic.isStr[k]) {
			return true
		}
	}
	return false
}

// acceptVerified applies the same rule to the verified claims, which must
// say what the unverified read said.
func (v *Verifier) acceptVerified(c *claims.Claims, ic *issuerClaims) bool {
	if c.Issuer != ic.iss {
		return false
	}
	if slices.Contains(v.issuers, c.Issuer) {
		return true
	}
	for _, it := range v.templates {
		val, ok := stringClaim(c, it.claim)
		if it.match(c.Issuer, val, ok) {
			return true
		}
	}
	return false
}

// checkValues applies Config.RequiredValues and Config.ExcludedValues.
func (v *Verifier) checkValues(c *claims.Claims) *rejection {
	for _, rv := range v.values {
		if got, ok := stringClaim(c, rv.name); !ok || got != rv.value {
			return reject(ReasonClaims, fmt.Errorf("%w: %s is not %q", errClaims, rv.name, rv.value))
		}
	}
	for _, ev := range v.excluded {
		if got, ok := stringClaim(c, ev.name); ok && got == ev.value {
			return reject(ReasonClaims, fmt.Errorf("%w: %s is the excluded %q", errClaims, ev.name, ev.value))
		}
	}
	return nil
}

// stringClaim returns the token's claim name when it is a JSON string.
// claims.Parse validated every value strictly, so a string value is a
// string token jsonscan accepts.
func stringClaim(c *claims.Claims, name string) (string, bool) {
	raw, ok := c.Claim(name)
	if !ok || len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	return jsonscan.Unquote(raw), true
}
