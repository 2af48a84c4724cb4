package idp

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stepupauth/stepup/claims"
)

// EntraAuthority is the login host of Microsoft Entra ID's global cloud.
const EntraAuthority = "https://login.microsoftonline.com"

// EntraConsumerTenant is the tenant ID (tid) of the tokens Entra ID issues
// to personal Microsoft accounts (Outlook.com, Xbox, ...): the tenant an
// "organizations" profile refuses
// (https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference).
const EntraConsumerTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// EntraCapabilityCP1 is the client capability a client declares (MSAL's
// ClientCapabilities "cp1") to receive claims challenges; Entra ID reports
// it in the access token's xms_cc claim
// (https://learn.microsoft.com/entra/identity-platform/claims-challenge).
const EntraCapabilityCP1 = "cp1"

// EntraOptions are the optional settings of the Entra ID profile.
type EntraOptions struct {
	// Tenants are further tenant IDs whose tokens are accepted besides
	// the one given to Entra: a multi-tenant API with an allowlist.
	Tenants []string
	// Authority is the login host of a national cloud, such as
	// "https://login.microsoftonline.us"; default EntraAuthority.
	Authority string
}

// Entra returns the profile of Microsoft Entra ID v2.0 access tokens
// (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference)
// for tenantID, a tenant's GUID. The issuer is
// AUTHORITY/TENANT/v2.0 (no trailing slash). tenantID "common" accepts
// every tenant, and "organizations" every tenant but personal Microsoft
// accounts', as Microsoft's authorities of those names do: work and school
// accounts only, so a token whose tid is EntraConsumerTenant is refused as
// invalid_token (ExcludedValues). With either, the issuer is matched as the
// template AUTHORITY/{tid}/v2.0 whose tenant must equal the token's tid
// claim, as Microsoft asks multi-tenant APIs to validate it; the API must
// then decide for itself which tenants it serves. opts.Tenants lists more
// tenants instead, each accepted by its exact issuer.
//
// Entra ID access tokens carry typ "JWT", ver "2.0" (required, so v1.0
// tokens and their sts.windows.net issuer stay out), tid, azp (the client),
// uti (instead of jti), scp (space-separated delegated permissions) and
// roles (an array of app roles; read them with Claims.Claim). They carry no
// acr or amr: step-up uses Conditional Access authentication contexts in
// acrs, required with the profile's AuthContext.
func Entra(tenantID string, opts EntraOptions) (Profile, error) {
	authority := EntraAuthority
	if opts.Authority != "" {
		a, err := baseURL("entra", "authority", opts.Authority)
		if err != nil {
			return Profile{}, err
		}
		if u := a[strings.Index(a, "//")+2:]; strings.Contains(u, "/") {
			return Profile{}, &Error{Provider: "entra", Param: "authority", Msg: "must be a scheme and host only"}
		}
		authority = a
	}
	p := Profile{
		Provider:         "entra",
		TokenTypes:       []string{"JWT"},
		RequiredClaims:   []string{"iss", "exp", "aud", "sub", "iat", "tid", "uti", "azp", "ver"},
		RequiredValues:   map[string]string{"ver": "2.0"},
		AuthorizationURI: authority + "/common/oauth2/authorize",
		Docs:             "https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference",
	}
	switch strings.ToLower(tenantID) {
	case "organizations", "common":
		if len(opts.Tenants) > 0 {
			return Profile{}, &Error{Provider: "entra", Param: "tenants", Msg: "an allowlist makes no sense with tenant " + strconv.Quote(tenantID)}
		}
		p.IssuerTemplates = []string{authority + "/{tid}/v2.0"}
		p.JWKSURI = authority + "/common/discovery/v2.0/keys"
		if strings.EqualFold(tenantID, "organizations") {
			p.ExcludedValues = map[string][]string{"tid": {EntraConsumerTenant}}
		}
		return p, nil
	}
	for i, t := range append([]string{tenantID}, opts.Tenants...) {
		param := "tenant_id"
		if i > 0 {
			param = "tenants"
		}
		if !isGUID(t) {
			return Profile{}, &Error{Provider: "entra", Param: param, Msg: strconv.Quote(t) + " is not a tenant GUID (or organizations, common)"}
		}
		iss := authority + "/" + strings.ToLower(t) + "/v2.0"
		if slices.Contains(p.Issuers, iss) {
			return Profile{}, &Error{Provider: "entra", Param: param, Msg: strconv.Quote(t) + " repeated"}
		}
		p.Issuers = append(p.Issuers, iss)
	}
	if len(p.Issuers) == 1 {
		tenant := strings.ToLower(tenantID)
		p.DiscoveryURL = p.Issuers[0] + "/.well-known/openid-configuration"
		p.JWKSURI = authority + "/" + tenant + "/discovery/v2.0/keys"
		// Microsoft: a realm naming the tenant goes with that tenant's
		// authorize endpoint; an empty realm only with the common one.
		p.ChallengeRealm = tenant
		p.AuthorizationURI = authority + "/" + tenant + "/oauth2/authorize"
	} else {
		p.JWKSURI = authority + "/common/discovery/v2.0/keys"
	}
	return p, nil
}

// isGUID: 8-4-4-4-12 hex digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// isAuthContext reports whether id is a Conditional Access authentication
// context ID, "c1" to "c99".
func isAuthContext(id string) bool {
	n, ok := strings.CutPrefix(id, "c")
	if !ok || n == "" || n[0] == '0' || len(n) > 2 {
		return false
	}
	v, err := strconv.Atoi(n)
	return err == nil && v >= 1 && v <= 99
}

// ErrAuthContext is the cause (claims.Error.Err) of a rejection by an
// AuthContext requirement, for logs.
var ErrAuthContext = errors.New("idp: access token lacks the required authentication context")

// descNotCapable is the client-safe description sent to a client that
// cannot answer a claims challenge (RFC 6750 §3 characters only).
const descNotCapable = "Stronger authentication is required, and this client does not declare the cp1 capability needed to answer a claims challenge"

// AuthContext returns the Entra ID step-up requirement: the token's acrs
// claim must hold one of ids, Conditional Access authentication context
// IDs ("c1" to "c99",
// https://learn.microsoft.com/entra/identity-platform/developer-guide-conditional-access-authentication-context).
// It is a claims.Requirement with a Check, to combine with other fields
// (scopes are checked first) or to use as is.
//
// When acrs falls short, a client whose token has xms_cc containing "cp1"
// (EntraCapabilityCP1) gets Entra ID's claims challenge
// (https://learn.microsoft.com/entra/identity-platform/claims-challenge):
// 401 and, for a single-tenant profile,
//
//	Bearer realm="TENANT", authorization_uri="https://login.microsoftonline.com/TENANT/oauth2/authorize", error="insufficient_claims", claims="eyJ..."
//
// or, for any tenant or an allowlist of tenants,
//
//	Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJ..."
//
// (ChallengeRealm and AuthorizationURI: Microsoft requires an empty realm
// with the common endpoint, and the tenant in authorization_uri when the
// realm names one). claims is the standard, padded base64 of the claims
// request {"access_token":{"acrs":{"essential":true,"value":"c1"}}}.
//
// With several ids the requirement is any of them, and ids are in
// preference order: the challenge names the first, the preferred one, in
// the single "value" form, the only acrs claims request Microsoft
// documents (OpenID Connect Core §5.5.1 also has "values", which Microsoft
// does not document for acrs). A token with any of the ids still passes.
//
// The code insufficient_claims is Microsoft's, not a registered OAuth
// code: it is the one documented exception to the registered codes this
// library sends. The client passes the decoded claims request to MSAL
// (WithClaims) and retries with the new token. The middleware's WithRealm
// does not apply to this challenge: it always carries ChallengeRealm, the
// realm that matches its authorization_uri as Microsoft requires, whatever
// realm the guard or interceptor was configured with.
//
// Any other client cannot step up this way, and gets the registered RFC
// 9470 answer without acr_values: 401 insufficient_user_authentication
// with a description saying that it lacks the cp1 capability. No acr value
// would help it, and invalid_token or insufficient_scope would misstate
// the problem.
//
// AuthContext reports an error for a profile other than Entra ID's, no
// ids, or an id that is not c1..c99.
func (p Profile) AuthContext(ids ...string) (claims.Requirement, error) {
	if p.Provider != "entra" || p.AuthorizationURI == "" {
		return claims.Requirement{}, &Error{Provider: p.Provider, Param: "auth_context", Msg: "authentication contexts are an Entra ID feature"}
	}
	if len(ids) == 0 {
		return claims.Requirement{}, &Error{Provider: "entra", Param: "auth_context", Msg: "no authentication context"}
	}
	for i, id := range ids {
		if !isAuthContext(id) {
			return claims.Requirement{}, &Error{Provider: "entra", Param: "auth_context", Msg: strconv.Quote(id) + " is not c1..c99"}
		}
		if slices.Index(ids, id) != i {
			return claims.Requirement{}, &Error{Provider: "entra", Param: "auth_context", Msg: strconv.Quote(id) + " repeated"}
		}
	}
	ids = slices.Clone(ids)
	challenge := []claims.Param{
		{Name: "realm", Value: p.ChallengeRealm},
		{Name: "authorization_uri", Value: p.AuthorizationURI},
		{Name: "error"},
		{Name: "claims", Value: base64.StdEncoding.EncodeToString(claimsRequest(ids[0]))},
	}
	want := strings.Join(ids, " ")
	return claims.Requirement{Check: func(c *claims.Claims) *claims.Error {
		if !slices.Contains(c.Malformed, "acrs") {
			for _, id := range ids {
				if slices.Contains(c.ACRS, id) {
					return nil
				}
			}
		}
		if capable(c) {
			return &claims.Error{
				Code:  claims.CodeInsufficientClaims,
				Extra: slices.Clone(challenge),
				Err:   fmt.Errorf("%w: acrs has none of %q; claims challenge sent", ErrAuthContext, want),
			}
		}
		return &claims.Error{
			Code:        claims.CodeInsufficientUserAuthentication,
			Description: descNotCapable,
			Err:         fmt.Errorf("%w: acrs has none of %q; client without xms_cc cp1 cannot step up", ErrAuthContext, want),
		}
	}}, nil
}

// claimsRequest renders the claims request for id, which is c1..c99 and
// needs no escaping, in the form Microsoft documents.
func claimsRequest(id string) []byte {
	return []byte(`{"access_token":{"acrs":{"essential":true,"value":"` + id + `"}}}`)
}

// capable reports whether the token's xms_cc holds cp1. xms_cc is an array
// of strings; a single string is accepted too.
func capable(c *claims.Claims) bool {
	v, ok := c.Claim("xms_cc")
	if !ok {
		return false
	}
	var list []string
	if err := json.Unmarshal(v, &list); err == nil {
		return slices.Contains(list, EntraCapabilityCP1)
	}
	var s string
	return json.Unmarshal(v, &s) == nil && s == EntraCapabilityCP1
}

// ClaimsRequest returns the claims request (JSON) that an Entra ID claims
// challenge carries, decoded from its base64, for a client to pass to
// MSAL: e is what the client read from the challenge (claims.Challenge.Err,
// or grpcmw.ErrorFromStatus). ok is false when e is not such a challenge.
func ClaimsRequest(e *claims.Error) (request string, ok bool) {
	if e == nil || e.Code != claims.CodeInsufficientClaims {
		return "", false
	}
	for _, p := range e.Extra {
		if strings.EqualFold(p.Name, "claims") {
			b, err := base64.StdEncoding.DecodeString(p.Value)
			if err != nil || !json.Valid(b) {
				return "", false
			}
			return string(b), true
		}
	}
	return "", false
}
