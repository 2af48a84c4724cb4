package policy

import (
	"errors"
	"slices"
	"strings"

	"github.com/stepupauth/stepup/idp"
)

// profileParams lists, per provider, the parameters a profile mapping
// takes besides provider, and which are required.
var profileParams = map[string]struct {
	params   []string
	required []string
}{
	"auth0":    {[]string{"domain", "namespace", "rfc9068"}, []string{"domain"}},
	"okta":     {[]string{"domain", "authorization_server"}, []string{"domain"}},
	"entra":    {[]string{"tenant_id", "tenants", "authority"}, []string{"tenant_id"}},
	"keycloak": {[]string{"base_url", "realm", "levels"}, []string{"base_url", "realm"}},
}

// profileField parses the top-level profile mapping into an idp.Profile.
// Errors carry the sub-field in their field suffix (".tenant_id").
func profileField(n *node) (*idp.Profile, string, error) {
	if n.kind != kindMap {
		return nil, "", errAt(n, "want a mapping such as {provider: auth0, domain: example.us.auth0.com}, got %v", n.kind)
	}
	vals := map[string]*node{}
	var provider string
	var providerNode *node
	for i, k := range n.keys {
		v := n.vals[i]
		if _, dup := vals[k.text]; dup {
			first := n.keys[slices.IndexFunc(n.keys, func(x *node) bool { return x.text == k.text })]
			return nil, "." + k.text, errAt(k, "duplicate field (first on line %d)", first.line)
		}
		vals[k.text] = v
		if k.text == "provider" {
			s, err := text(v)
			if err != nil {
				return nil, ".provider", err
			}
			provider, providerNode = strings.ToLower(s), v
		}
	}
	if providerNode == nil {
		return nil, ".provider", errAt(n, "required (auth0, okta, entra or keycloak)")
	}
	spec, ok := profileParams[provider]
	if !ok {
		return nil, ".provider", errAt(providerNode, "unknown provider %q (want auth0, okta, entra or keycloak)", provider)
	}
	for i, k := range n.keys {
		if k.text != "provider" && !slices.Contains(spec.params, k.text) {
			return nil, "." + k.text, errAt(n.keys[i], "unknown field for %s (want %s)", provider, strings.Join(spec.params, ", "))
		}
	}
	for _, r := range spec.required {
		if _, ok := vals[r]; !ok {
			return nil, "." + r, errAt(n, "required for %s", provider)
		}
	}
	str := func(name string) (string, error) {
		v, ok := vals[name]
		if !ok {
			return "", nil
		}
		return text(v)
	}
	var p idp.Profile
	var err error
	var field string
	fail := func(name string, e error) (*idp.Profile, string, error) { return nil, "." + name, e }
	switch provider {
	case "auth0":
		var domain, ns string
		if domain, err = str("domain"); err != nil {
			return fail("domain", err)
		}
		if ns, err = str("namespace"); err != nil {
			return fail("namespace", err)
		}
		rfc := false
		if v, ok := vals["rfc9068"]; ok {
			if rfc, err = boolean(v); err != nil {
				return fail("rfc9068", err)
			}
		}
		p, err = idp.Auth0(domain, idp.Auth0Options{Namespace: ns, RFC9068: rfc})
	case "okta":
		var domain string
		if domain, err = str("domain"); err != nil {
			return fail("domain", err)
		}
		var as string
		// An explicit empty value is an error (text refuses it), not the
		// default server.
		if as, err = str("authorization_server"); err != nil {
			return fail("authorization_server", err)
		}
		p, err = idp.Okta(domain, idp.OktaOptions{AuthorizationServer: as})
	case "entra":
		var tenant, authority string
		if tenant, err = str("tenant_id"); err != nil {
			return fail("tenant_id", err)
		}
		if authority, err = str("authority"); err != nil {
			return fail("authority", err)
		}
		var tenants []string
		if v, ok := vals["tenants"]; ok {
			if tenants, err = valueList(v, false); err != nil {
				return fail("tenants", err)
			}
		}
		p, err = idp.Entra(tenant, idp.EntraOptions{Tenants: tenants, Authority: authority})
	case "keycloak":
		var base, realm string
		if base, err = str("base_url"); err != nil {
			return fail("base_url", err)
		}
		if realm, err = str("realm"); err != nil {
			return fail("realm", err)
		}
		var levels []string
		if v, ok := vals["levels"]; ok {
			if levels, err = valueList(v, false); err != nil {
				return fail("levels", err)
			}
		}
		p, err = idp.Keycloak(idp.KeycloakOptions{BaseURL: base, Realm: realm, Levels: levels})
	}
	if err != nil {
		var ie *idp.Error
		line := n.line
		if errors.As(err, &ie) {
			field = "." + ie.Param
			if v, ok := vals[ie.Param]; ok {
				line = v.line
			}
			err = errors.New(ie.Msg)
		}
		return nil, field, &posError{line: line, err: err}
	}
	return &p, "", nil
}

// authContext parses a rule's auth_context list: Entra ID Conditional
// Access authentication contexts, c1..c99.
func authContext(p *Policy, v *node) ([]string, error) {
	ids, err := valueList(v, false)
	if err != nil {
		return nil, err
	}
	if p.Profile == nil || p.Profile.Provider != "entra" {
		return nil, errAt(v, "needs a profile with provider entra (authentication contexts are an Entra ID feature)")
	}
	for i, id := range ids {
		if _, err := p.Profile.AuthContext(id); err != nil {
			return nil, errAt(v.list[i], "%q is not an authentication context c1..c99", id)
		}
	}
	return ids, nil
}

// applyProfile fills what the file left out from its profile. seen holds
// the top-level fields the file set.
func applyProfile(p *Policy, seen map[string]int) {
	prof := p.Profile
	if _, ok := seen["issuer"]; !ok && len(prof.Issuers) > 0 {
		p.Issuer = prof.Issuers[0]
	}
	_, ownIssuer := seen["issuer"]
	ownIssuer = ownIssuer && (len(prof.Issuers) == 0 || p.Issuer != prof.Issuers[0])
	if _, ok := seen["jwks_uri"]; !ok && !ownIssuer && (len(prof.Issuers) != 1 || len(prof.IssuerTemplates) > 0 || prof.DiscoveryURL == "") {
		p.JWKSURI = prof.JWKSURI
	}
	if _, ok := seen["token_types"]; !ok {
		p.TokenTypes = slices.Clone(prof.TokenTypes)
	}
	if _, ok := seen["claim_names"]; !ok {
		p.ClaimNames = prof.ClaimNames
	}
	if _, ok := seen["acr_levels"]; !ok {
		p.ACRLevels = slices.Clone(prof.ACRLevels)
	}
}
