package interop

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

// scenarioTimeout bounds each scenario.
const scenarioTimeout = 2 * time.Minute

// clockSlack is how far the provider's timestamps may be from the test's
// reading of the same clock (whole seconds, two processes).
const clockSlack = 3 * time.Second

// transferRequirement is the policy's POST /transfer rule.
var transferRequirement = claims.Requirement{ACR: []string{acrMFA}, MaxAge: transferMaxAge}

// TestDiscoveryCodeFlowTokensVerify: the library discovers the provider's
// keys (OpenID Connect discovery, then its JWKS, served as
// application/jwk-set+json) and verifies the JWT access tokens of the
// authorization code flow with PKCE, reading the acr, amr and auth_time of
// the login; the requirement of the step-up route holds for the
// multi-factor token only.
func TestDiscoveryCodeFlowTokensVerify(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	key := newSigningKey(t, "discovery-1")
	p := startProvider(t, key)

	keys, err := jwks.Discover(ctx, p.issuer)
	if err != nil {
		t.Fatalf("jwks.Discover(%s): %v", p.issuer, err)
	}
	defer keys.Close()
	if got := keys.URL(); got != p.issuer+"/jwks" {
		t.Errorf("discovered JWKS URL %s, want %s/jwks", got, p.issuer)
	}
	k, err := keys.Key(ctx, p.issuer, key.kid)
	if err != nil {
		t.Fatalf("Key(%s): %v", key.kid, err)
	}
	if k.Algorithm != "ES256" || k.KeyType != "EC" {
		t.Errorf("key %s: alg %s kty %s, want ES256 EC", key.kid, k.Algorithm, k.KeyType)
	}
	v, err := verify.New(keys, verify.Config{
		Issuer: p.issuer, Audience: audience,
		Algorithms: []string{"ES256"}, TokenTypes: []string{"at+jwt"},
	})
	if err != nil {
		t.Fatal(err)
	}

	b := p.newBrowser(t)
	tests := []struct {
		name     string
		req      loginRequest
		wantACR  string
		wantAMR  []string
		wantMeet bool // transferRequirement holds
	}{
		{"password login", loginRequest{}, acrPassword, []string{"pwd"}, false},
		{"multi-factor login by acr_values", loginRequest{ACRValues: []string{acrMFA}, Prompt: "login"}, acrMFA, []string{"pwd", "otp", "mfa"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now()
			tok := b.mustLogin(t, ctx, tt.req)
			h := unverifiedHeader(t, tok.AccessToken)
			if h["typ"] != "at+jwt" || h["alg"] != "ES256" || h["kid"] != key.kid {
				t.Errorf("access token header %v, want typ at+jwt, alg ES256, kid %s", h, key.kid)
			}
			c, err := v.Verify(ctx, tok.AccessToken)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != defaultSubject || c.ClientID != appClientID || c.Issuer != p.issuer {
				t.Errorf("sub %q client_id %q iss %q, want %q %q %q", c.Subject, c.ClientID, c.Issuer, defaultSubject, appClientID, p.issuer)
			}
			if !slices.Contains(c.Audience, audience) {
				t.Errorf("aud %q, want it to contain %q", c.Audience, audience)
			}
			if !slices.Contains(c.Scopes, "accounts") || !slices.Contains(c.Scopes, "transfer") {
				t.Errorf("scope %q, want accounts and transfer", c.Scopes)
			}
			if c.ACR != tt.wantACR || !slices.Equal(c.AMR, tt.wantAMR) {
				t.Errorf("acr %q amr %q, want %q %q", c.ACR, c.AMR, tt.wantACR, tt.wantAMR)
			}
			if c.AuthTime.Before(before.Add(-clockSlack)) || c.AuthTime.After(time.Now().Add(clockSlack)) {
				t.Errorf("auth_time %v, want the login's time (after %v)", c.AuthTime, before)
			}
			err = v.Evaluate(c, transferRequirement)
			if tt.wantMeet {
				if err != nil {
					t.Errorf("Evaluate(transfer): %v, want nil", err)
				}
				return
			}
			var ce *claims.Error
			if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientUserAuthentication || !slices.Equal(ce.ACRValues, []string{acrMFA}) {
				t.Errorf("Evaluate(transfer) = %v, want insufficient_user_authentication asking for %s", err, acrMFA)
			}
		})
	}
}

// TestClientCredentialsTokens: a client_credentials token (x/oauth2's
// clientcredentials transport) passes httpapi's route without user
// requirements, and the step-up route challenges it: a machine has no
// login, so no acr.
func TestClientCredentialsTokens(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	api := startHTTPAPI(t, p)

	client := p.serviceConfig("accounts").Client(ctx)
	client.Timeout = httpTimeout

	r := callAPI(t, ctx, client, http.MethodGet, api+"/profile")
	if r.status != http.StatusOK {
		t.Fatalf("GET /profile: %d %s, want 200", r.status, r.body)
	}
	if r.caller.Sub != serviceClientID || r.caller.ACR != "" || r.caller.Scope != "accounts" {
		t.Errorf("GET /profile caller %+v, want sub %s, no acr, scope accounts", r.caller, serviceClientID)
	}

	r = callAPI(t, ctx, client, http.MethodPost, api+"/transfer")
	ce := stepUpChallenge(t, r)
	if !slices.Equal(ce.ACRValues, []string{acrMFA}) || ce.MaxAge != claims.MaxAgeOf(transferMaxAge) {
		t.Errorf("POST /transfer challenge asks acr_values %q max_age %v, want [%s] %v", ce.ACRValues, ce.MaxAge, acrMFA, transferMaxAge)
	}
}

// TestIDTokenRejectedAsAccessToken: the provider's ID token, presented as
// an access token, is refused by httpapi (401 invalid_token), and by the
// library even when the verifier's audience is the client's id, so that aud
// matches: the typ header (RFC 9068 §4, RFC 8725 §3.11) tells them apart.
func TestIDTokenRejectedAsAccessToken(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	api := startHTTPAPI(t, p)
	tok := p.newBrowser(t).mustLogin(t, ctx, loginRequest{ACRValues: []string{acrMFA}})
	id := idToken(t, tok)

	r := callAPI(t, ctx, bearerClient(id), http.MethodGet, api+"/profile")
	if r.status != http.StatusUnauthorized || len(r.challenge) != 1 || r.challenge[0].Error != claims.CodeInvalidToken {
		t.Fatalf("GET /profile with the ID token: %d %+v, want 401 invalid_token", r.status, r.challenge)
	}
	// The access token of the same login passes: the refusal is the ID
	// token's, not the login's.
	if r := callAPI(t, ctx, bearerClient(tok.AccessToken), http.MethodGet, api+"/profile"); r.status != http.StatusOK {
		t.Fatalf("GET /profile with the access token: %d %s, want 200", r.status, r.body)
	}

	keys, err := jwks.Discover(ctx, p.issuer)
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	cfg := verify.Config{Issuer: p.issuer, Audience: appClientID, RequiredClaims: []string{}}
	strict, err := verify.New(keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = strict.Verify(ctx, id)
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken {
		t.Fatalf("Verify(ID token) with aud = client id: %v, want invalid_token", err)
	}
	// Control: a verifier that also accepts the ID token's typ takes it, so
	// the refusal above is the typ check and nothing else.
	typ, _ := unverifiedHeader(t, id)["typ"].(string)
	if typ == "" {
		cfg.InsecureAllowMissingType = true
	} else {
		cfg.TokenTypes = []string{"at+jwt", typ}
	}
	lax, err := verify.New(keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lax.Verify(ctx, id); err != nil {
		t.Fatalf("Verify(ID token) accepting typ %q: %v, want it verified", typ, err)
	}
}
