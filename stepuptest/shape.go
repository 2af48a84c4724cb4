package stepuptest

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// shape rewrites the default claims and header of a minted token into an
// identity provider's layout. It runs in Mint after the Token fields are
// applied and before Token.Claims and Token.Header, which still override
// anything.
type shape func(c, hdr map[string]any)

// Auth0Shape is the access token profile an Auth0 tenant is configured
// with, for WithAuth0Shape.
type Auth0Shape struct {
	// Namespace is the prefix a post-login Action writes acr, amr and
	// auth_time under, used as given: "https://example.com/" gives
	// "https://example.com/acr" (idp.Auth0Options adds a missing slash,
	// this does not). Empty leaves them where they are.
	Namespace string
	// RFC9068 selects Auth0's "RFC 9068" profile (typ "at+jwt", client_id
	// and jti) instead of the default "Auth0" profile (typ "JWT", azp
	// instead of client_id, no jti).
	RFC9068 bool
}

// WithAuth0Shape makes the issuer look like an Auth0 tenant
// (https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles):
// the issuer gets a trailing slash ("http://127.0.0.1:PORT/") and minted
// tokens follow the profile s describes, with acr, amr and auth_time
// moved under s.Namespace. Pair it with the profile idp.Auth0 returns. A
// later WithIssuerPath replaces the path.
func WithAuth0Shape(s Auth0Shape) Option {
	return func(c *config) {
		c.path = "/"
		c.shape = func(cl, hdr map[string]any) {
			if !s.RFC9068 {
				hdr["typ"] = "JWT"
				cl["azp"] = cl["client_id"]
				delete(cl, "client_id")
				delete(cl, "jti")
			}
			if s.Namespace != "" {
				for _, name := range []string{"acr", "amr", "auth_time"} {
					if v, ok := cl[name]; ok {
						cl[s.Namespace+name] = v
						delete(cl, name)
					}
				}
			}
		}
	}
}

// WithOktaShape makes the issuer look like an Okta custom authorization
// server (https://developer.okta.com/docs/reference/api/oidc/#access-token):
// issuer path "/oauth2/" + authorizationServer, and minted tokens without a
// typ header, with ver 1, cid instead of client_id, uid (an Okta user ID
// derived from sub), a jti starting "AT." and scopes in the scp array.
// acr, amr and auth_time stay as set. A later WithIssuerPath replaces the
// path.
func WithOktaShape(authorizationServer string) Option {
	return func(c *config) {
		if !validPath("/oauth2/" + authorizationServer) {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithOktaShape: invalid authorization server %q", authorizationServer))
			return
		}
		c.path = "/oauth2/" + authorizationServer
		c.shape = func(cl, hdr map[string]any) {
			delete(hdr, "typ")
			cl["ver"] = 1
			cl["cid"] = cl["client_id"]
			delete(cl, "client_id")
			cl["uid"] = "00u" + derived(cl["sub"], 17)
			cl["jti"] = fmt.Sprintf("AT.%v", cl["jti"])
			if s, ok := cl["scope"].(string); ok {
				cl["scp"] = strings.Fields(s)
				delete(cl, "scope")
			}
		}
	}
}

// WithEntraShape makes the issuer look like a Microsoft Entra ID tenant
// issuing v2.0 access tokens
// (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference):
// issuer path "/" + tenantID + "/v2.0", and minted tokens with typ "JWT",
// ver "2.0", tid, azp (the client) and azpacr instead of client_id, uti
// instead of jti, oid, nbf equal to iat, and scopes in scp, one
// space-separated string. v2.0 tokens have no acr, amr or auth_time: they
// are dropped, and the Token's ACRS goes to acrs. Add roles and xms_cc
// (client capabilities, ["cp1"]) through Token.Claims. A later
// WithIssuerPath replaces the path.
func WithEntraShape(tenantID string) Option {
	return func(c *config) {
		if tenantID == "" || !validPath("/"+tenantID+"/v2.0") {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithEntraShape: invalid tenant %q", tenantID))
			return
		}
		c.path = "/" + tenantID + "/v2.0"
		c.shape = func(cl, hdr map[string]any) {
			hdr["typ"] = "JWT"
			cl["ver"] = "2.0"
			cl["tid"] = tenantID
			cl["azp"] = cl["client_id"]
			cl["azpacr"] = "1"
			delete(cl, "client_id")
			cl["uti"] = cl["jti"]
			delete(cl, "jti")
			cl["oid"] = guid(cl["sub"])
			if _, ok := cl["nbf"]; !ok {
				cl["nbf"] = cl["iat"]
			}
			if s, ok := cl["scope"]; ok {
				cl["scp"] = s
				delete(cl, "scope")
			}
			delete(cl, "acr")
			delete(cl, "amr")
			delete(cl, "auth_time")
		}
	}
}

// WithKeycloakShape makes the issuer look like a Keycloak realm
// (https://www.keycloak.org/docs/latest/server_admin/#_step-up-flow):
// issuer path "/realms/" + realm, and minted tokens with typ "JWT" in the
// header and typ "Bearer" in the payload, azp instead of client_id and a
// sid. acr (Keycloak's levels "0", "1", "2" or their mapped names) and
// auth_time stay as set. A later WithIssuerPath replaces the path.
func WithKeycloakShape(realm string) Option {
	return func(c *config) {
		if realm == "" || !validPath("/realms/"+realm) || strings.Contains(realm, "/") {
			c.errs = append(c.errs, fmt.Errorf("stepuptest: WithKeycloakShape: invalid realm %q", realm))
			return
		}
		c.path = "/realms/" + realm
		c.shape = func(cl, hdr map[string]any) {
			hdr["typ"] = "JWT"
			cl["typ"] = "Bearer"
			cl["azp"] = cl["client_id"]
			delete(cl, "client_id")
			cl["sid"] = guid(cl["jti"])
		}
	}
}

// derived returns n characters of a stable, URL-safe digest of v.
func derived(v any, n int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%v", v))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:n]
}

// guid returns a stable GUID-shaped digest of v.
func guid(v any) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%v", v))
	h := fmt.Sprintf("%x", sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
