package app

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/idp"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
)

// ACRPhishingResistant is the OpenID Provider Authentication Policy
// Extension (PAPE) phishing-resistant policy URI, which the dev issuer
// satisfies with a hardware key (amr [pwd hwk]).
const ACRPhishingResistant = "http://schemas.openid.net/pape/policies/2007/06/phishing-resistant"

// DevTokenTTL is the lifetime of the dev issuer's tokens in the servers'
// -dev mode: long enough to paste them around. Their auth_time still ages,
// so max_age rules start to challenge them after a while, as they should.
const DevTokenTTL = time.Hour

// NewDevIssuer starts an in-process stepuptest issuer on 127.0.0.1 whose
// token endpoint logs in at three levels,
//
//	stepuptest.ACRPassword  -> amr [pwd]
//	claims.ACRMultiFactor   -> amr [pwd otp mfa]
//	ACRPhishingResistant    -> amr [pwd hwk]
//
// signs with ES256 and mints tokens for audience (stepuptest's default when
// empty). opts apply after these and may replace or add to them. The caller
// must Close the issuer.
func NewDevIssuer(audience string, opts ...stepuptest.Option) (*stepuptest.Issuer, error) {
	base := []stepuptest.Option{
		stepuptest.WithACR(stepuptest.ACRPassword, claims.AMRPassword),
		stepuptest.WithACR(claims.ACRMultiFactor, claims.AMRPassword, claims.AMROTP, claims.AMRMFA),
		stepuptest.WithACR(ACRPhishingResistant, claims.AMRPassword, claims.AMRHardwareKey),
		stepuptest.WithAlgorithms("ES256"),
	}
	if audience != "" {
		base = append(base, stepuptest.WithAudience(audience))
	}
	return stepuptest.NewIssuer(append(base, opts...)...)
}

// DevOptions adapts the dev issuer to a policy written for another identity
// provider, so that its tokens can pass the policy's rules:
//
//   - tokens live DevTokenTTL;
//   - they are signed with the policy's first algorithm, when it lists any;
//   - every acr value the policy names is one the token endpoint can log in
//     at (amr [pwd] for values the dev issuer does not know), and a login at
//     a value a rule's acr_values asks for carries the amr that rule wants;
//   - acr, amr and auth_time are written under the policy's claim_names;
//   - the typ header is the policy's first token type when the policy does
//     not accept at+jwt;
//   - with a profile, tokens are shaped like that provider's (stepuptest
//     WithAuth0Shape, WithOktaShape, WithEntraShape, WithKeycloakShape),
//     and for Entra ID a login at an auth_context value (acr_values=c1)
//     gets it in acrs, from a client that declared cp1.
func DevOptions(p *policy.Policy) []stepuptest.Option {
	opts := []stepuptest.Option{stepuptest.WithTokenTTL(DevTokenTTL)}
	if len(p.Algorithms) > 0 {
		opts = append(opts, stepuptest.WithAlgorithms(p.Algorithms[0]))
	}
	for _, l := range devLevels(p) {
		opts = append(opts, stepuptest.WithACR(l.acr, l.amr...))
	}
	if p.Profile != nil {
		opts = append(opts, devShape(p))
	}
	if hook := devLoginHook(p); hook != nil {
		opts = append(opts, stepuptest.WithLoginHook(hook))
	}
	return opts
}

// devLoginHook returns the hook that makes the dev issuer's logins fit p
// (claim names, typ, Entra ID's acrs and xms_cc), or nil when none is
// needed.
func devLoginHook(p *policy.Policy) func(*stepuptest.Token) {
	hook := devHook(p.ClaimNames, devType(p.TokenTypes))
	if p.Profile != nil && p.Profile.Provider == "entra" {
		hook = chainHooks(hook, entraDevHook(*p.Profile))
	}
	return hook
}

// devTenant is the Entra ID tenant of the dev issuer when the policy's
// profile accepts any tenant.
const devTenant = "00000000-0000-0000-0000-000000000001"

// devShape returns the stepuptest shape of p's profile, named after the
// profile's issuer (tenant, authorization server, realm) where it has one.
func devShape(p *policy.Policy) stepuptest.Option {
	prof := p.Profile
	iss := ""
	if len(prof.Issuers) > 0 {
		iss = prof.Issuers[0]
	}
	switch prof.Provider {
	case "auth0":
		// acr, amr and auth_time are already under claim_names (devHook).
		return stepuptest.WithAuth0Shape(stepuptest.Auth0Shape{RFC9068: slices.Contains(prof.RequiredClaims, "client_id")})
	case "okta":
		_, as, _ := strings.Cut(iss, "/oauth2/")
		return stepuptest.WithOktaShape(as)
	case "entra":
		tenant := devTenant
		if i := strings.LastIndex(strings.TrimSuffix(iss, "/v2.0"), "/"); iss != "" && i >= 0 {
			tenant = strings.TrimSuffix(iss, "/v2.0")[i+1:]
		}
		return stepuptest.WithEntraShape(tenant)
	default: // keycloak
		_, realm, _ := strings.Cut(iss, "/realms/")
		return stepuptest.WithKeycloakShape(realm)
	}
}

// entraDevHook turns a login at an authentication context of prof
// (acr_values=c1) into acrs ["c1"], and marks every dev client as able to
// answer claims challenges (xms_cc ["cp1"]).
func entraDevHook(prof idp.Profile) func(*stepuptest.Token) {
	return func(t *stepuptest.Token) {
		if t.Claims == nil {
			t.Claims = map[string]any{}
		}
		t.Claims["xms_cc"] = []string{idp.EntraCapabilityCP1}
		if _, err := prof.AuthContext(t.ACR); err == nil {
			t.ACRS = []string{t.ACR}
		}
	}
}

// chainHooks runs a (when not nil), then b.
func chainHooks(a, b func(*stepuptest.Token)) func(*stepuptest.Token) {
	if a == nil {
		return b
	}
	return func(t *stepuptest.Token) {
		a(t)
		b(t)
	}
}

type devLevel struct {
	acr string
	amr []string
}

// devLevels returns the dev issuer's acr levels extended for p: the three
// built-in ones, then every other acr value p names, each with the amr the
// rules asking for it (acr_values) want.
func devLevels(p *policy.Policy) []devLevel {
	levels := []devLevel{
		{stepuptest.ACRPassword, []string{claims.AMRPassword}},
		{claims.ACRMultiFactor, []string{claims.AMRPassword, claims.AMROTP, claims.AMRMFA}},
		{ACRPhishingResistant, []string{claims.AMRPassword, claims.AMRHardwareKey}},
	}
	level := func(acr string) *devLevel {
		for i := range levels {
			if levels[i].acr == acr {
				return &levels[i]
			}
		}
		levels = append(levels, devLevel{acr, []string{claims.AMRPassword}})
		return &levels[len(levels)-1]
	}
	for _, v := range p.ACRLevels {
		level(v)
	}
	var walk func(r claims.Requirement)
	walk = func(r claims.Requirement) {
		for _, v := range r.ACR {
			level(v)
		}
		if r.ACRMin != "" {
			level(r.ACRMin)
		}
		for _, v := range r.AMRACRValues {
			l := level(v)
			for _, m := range append(slices.Clone(r.AMRAll), r.AMRAny...) {
				if !slices.Contains(l.amr, m) {
					l.amr = append(l.amr, m)
				}
			}
		}
		for _, b := range r.AnyOf {
			walk(b)
		}
	}
	for _, r := range p.Rules {
		walk(r.Requirement)
		for _, id := range r.AuthContext {
			level(id)
		}
	}
	return levels
}

// devType returns the typ the dev issuer must write for a policy accepting
// types, or "" when the default at+jwt is accepted.
func devType(types []string) string {
	if len(types) == 0 {
		return ""
	}
	for _, t := range types {
		if t := strings.ToLower(t); t == "at+jwt" || t == "application/at+jwt" {
			return ""
		}
	}
	return types[0]
}

// devHook returns a login hook that moves acr, amr and auth_time to the
// names of n and sets the typ header, or nil when nothing needs to change.
func devHook(n claims.Names, typ string) func(*stepuptest.Token) {
	rename := func(name, std string) string {
		if name == "" || name == std {
			return ""
		}
		return name
	}
	acr, amr, at := rename(n.ACR, "acr"), rename(n.AMR, "amr"), rename(n.AuthTime, "auth_time")
	if acr == "" && amr == "" && at == "" && typ == "" {
		return nil
	}
	return func(t *stepuptest.Token) {
		if t.Claims == nil {
			t.Claims = map[string]any{}
		}
		if acr != "" && t.ACR != "" {
			t.Claims[acr], t.ACR = t.ACR, ""
		}
		if amr != "" && t.AMR != nil {
			t.Claims[amr], t.AMR = t.AMR, nil
		}
		if at != "" && !t.AuthTime.IsZero() {
			t.Claims[at], t.AuthTime = t.AuthTime.Unix(), time.Time{}
		}
		if typ != "" {
			if t.Header == nil {
				t.Header = map[string]any{}
			}
			t.Header["typ"] = typ
		}
	}
}

// DevToken is a token the dev issuer's token endpoint issued, for the
// servers to print.
type DevToken struct {
	Var   string // shell variable name, such as MFA_TOKEN
	ACR   string
	AMR   []string
	Token string
	// Note, when set, is printed with the token's description ("opaque,
	// answered by ...").
	Note string
}

// DevTokens logs in at the dev issuer's token endpoint once per acr level it
// supports, granting scopes: PASSWORD_TOKEN, MFA_TOKEN and KEY_TOKEN (the
// phishing-resistant hardware-key level), then ACR4_TOKEN and on for the
// levels DevOptions added.
func DevTokens(ctx context.Context, iss *stepuptest.Issuer, scopes []string) ([]DevToken, error) {
	names := map[string]string{
		stepuptest.ACRPassword: "PASSWORD_TOKEN",
		claims.ACRMultiFactor:  "MFA_TOKEN",
		ACRPhishingResistant:   "KEY_TOKEN",
	}
	var out []DevToken
	for i, acr := range iss.ACRValues() {
		name, ok := names[acr]
		if !ok {
			name = fmt.Sprintf("ACR%d_TOKEN", i+1)
		}
		tok, err := iss.Login(ctx, stepuptest.LoginRequest{ACRValues: []string{acr}, Scopes: scopes})
		if err != nil {
			return nil, fmt.Errorf("login at %q: %w", acr, err)
		}
		amr, _ := iss.AMR(acr)
		out = append(out, DevToken{Var: name, ACR: acr, AMR: amr, Token: tok})
	}
	return out, nil
}

// PrintDev writes the dev issuer's address, the tokens as shell exports and
// how to get another token from its token endpoint.
func PrintDev(w io.Writer, iss *stepuptest.Issuer, tokens []DevToken, scopes []string) {
	fmt.Fprintf(w, "# dev issuer %s (tokens valid %s; their auth_time ages, so max_age rules challenge them later)\n", iss.Issuer(), DevTokenTTL)
	for _, t := range tokens {
		fmt.Fprintf(w, "# %s: acr %s, amr [%s]", t.Var, t.ACR, strings.Join(t.AMR, " "))
		if len(scopes) > 0 {
			fmt.Fprintf(w, ", scope %q", strings.Join(scopes, " "))
		}
		if t.Note != "" {
			fmt.Fprintf(w, "; %s", t.Note)
		}
		fmt.Fprintf(w, "\nexport %s='%s'\n", t.Var, t.Token)
	}
	fmt.Fprintf(w, "# another login (pick acr_values, max_age, scope; add -d auth_time=UNIX for an old session):\n")
	scope := ""
	if len(scopes) > 0 {
		scope = " -d scope=" + strings.Join(scopes, "+")
	}
	fmt.Fprintf(w, "#   curl -s %s -d acr_values=%s -d max_age=300%s\n", iss.TokenURL(), claims.ACRMultiFactor, scope)
}

// Describe says in a few words what a rule demands, for the servers' start-up
// listing.
func Describe(r policy.Rule) string {
	if r.Public {
		return "public"
	}
	if s := describe(r.Requirement); s != "" {
		return s
	}
	return "any valid token"
}

func describe(q claims.Requirement) string {
	var parts []string
	add := func(format string, v ...any) { parts = append(parts, fmt.Sprintf(format, v...)) }
	if len(q.ACR) > 0 {
		add("acr one of [%s]", strings.Join(q.ACR, " "))
	}
	if q.ACRMin != "" {
		add("acr at least %s", q.ACRMin)
	}
	if len(q.AMRAll) > 0 {
		add("amr all of [%s]", strings.Join(q.AMRAll, " "))
	}
	if len(q.AMRAny) > 0 {
		add("amr one of [%s]", strings.Join(q.AMRAny, " "))
	}
	if q.MaxAge > 0 {
		add("login at most %s old", q.MaxAge)
	}
	if len(q.Scopes) > 0 {
		add("scopes [%s]", strings.Join(q.Scopes, " "))
	}
	switch q.Binding {
	case claims.BindingDPoP:
		add("DPoP-bound token")
	case claims.BindingMTLS:
		add("certificate-bound token")
	case claims.BindingAny:
		add("DPoP- or certificate-bound token")
	}
	if len(q.AnyOf) > 0 {
		alts := make([]string, len(q.AnyOf))
		for i, b := range q.AnyOf {
			alts[i] = describe(b)
		}
		add("one of (%s)", strings.Join(alts, ") or ("))
	}
	return strings.Join(parts, "; ")
}
