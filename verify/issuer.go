package verify

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/stepupauth/stepup/claims"
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

// match reports whether the token's iss fits the template with the
// placeholder equal to the token's own claim.
func (it issuerTemplate) match(c *claims.Claims) bool {
	iss := c.Issuer
	if len(iss) <= len(it.prefix)+len(it.suffix) || !strings.HasPrefix(iss, it.prefix) || !strings.HasSuffix(iss, it.suffix) {
		return false
	}
	val := iss[len(it.prefix) : len(iss)-len(it.suffix)]
	if strings.IndexByte(val, '/') >= 0 {
		return false
	}
	want, ok := stringClaim(c, it.claim)
	return ok && want == val
}

// acceptIssuer reports whether the token's iss is accepted: one of Issuer
// and Issuers exactly, or a match of an issuer template.
func (v *Verifier) acceptIssuer(c *claims.Claims) bool {
	if slices.Contains(v.issuers, c.Issuer) {
		return true
	}
	for _, it := range v.templates {
		if it.match(c) {
			return true
		}
	}
	return false
}

// checkValues applies Config.RequiredValues and Config.ExcludedValues.
func (v *Verifier) checkValues(c *claims.Claims) *rejection {
	for _, rv := range v.values {
		if got, ok := stringClaim(c, rv.name); !ok || got != rv.value {
			return reject(ReasonClaims, fmt.Errorf("%w: %s is not %q", ErrClaims, rv.name, rv.value))
		}
	}
	for _, ev := range v.excluded {
		if got, ok := stringClaim(c, ev.name); ok && got == ev.value {
			return reject(ReasonClaims, fmt.Errorf("%w: %s is the excluded %q", ErrClaims, ev.name, ev.value))
		}
	}
	return nil
}

// stringClaim returns the token's claim name when it is a JSON string.
func stringClaim(c *claims.Claims, name string) (string, bool) {
	raw, ok := c.Raw[name]
	if !ok || len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
