package verify

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// TestRejectionReceived: the refusals a misconfiguration causes say what
// the token carried and how to fix the configuration, for logs only; the
// client-facing description and the error text stay fixed.
func TestRejectionReceived(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), nil)
	long := strings.Repeat("é", 40) // 80 bytes: cut at a rune boundary
	header := func(typ string) string {
		return mustJSON(map[string]any{"alg": "ES256", "typ": typ, "kid": kidFor["ES256"]})
	}
	payload := mustJSON(claimSet(nil))
	tests := []struct {
		name         string
		raw          string
		reason       Reason
		received     string
		hint, errMsg string
	}{
		{"typ JWT", sign("ES256", privFor("ES256"), header("JWT"), payload), ReasonType, `"JWT"`,
			`accepted typ values: "at+jwt"; allow "JWT" with Config.TokenTypes (Auth0's default profile and Entra ID send "JWT"), or use the provider's profile from package idp`,
			"verify: token type not accepted"},
		{"typ with control characters", sign("ES256", privFor("ES256"), header("a\nb\x1b[31m"), payload), ReasonType, `"a\nb\x1b[31m"`, "", ""},
		{"typ missing", sign("ES256", privFor("ES256"), mustJSON(map[string]any{"alg": "ES256", "kid": kidFor["ES256"]}), payload), ReasonType, "",
			"the token has no typ header; for an issuer that sends none, set InsecureAllowMissingType (an idp profile sets it where its provider needs it)", ""},
		{"issuer without trailing slash", mint("ES256", func(c map[string]any) { c["iss"] = strings.TrimSuffix(testIssuer, "/") }), ReasonIssuer,
			`"https://issuer.example.com"`,
			`configured issuers: "https://issuer.example.com/"; iss is compared byte for byte, trailing slash included: set Config.Issuer to the iss the issuer's tokens carry`,
			"verify: issuer not accepted"},
		{"issuer too long", mint("ES256", func(c map[string]any) { c["iss"] = long }), ReasonIssuer, `"` + strings.Repeat("é", 32) + `"...`, "", ""},
		{"issuer missing", mint("ES256", func(c map[string]any) { delete(c, "iss") }), ReasonIssuer, "", "the token has no iss claim (or a duplicate one, or not a string)", ""},
		{"audience", mint("ES256", func(c map[string]any) { c["aud"] = []string{"https://other.example.com", "account"} }), ReasonAudience,
			`"https://other.example.com account"`,
			`configured audience: "` + testAudience + `"; aud must contain it exactly: set Config.Audience to the API identifier the issuer puts in aud`,
			"verify: audience not accepted"},
		{"signature has none", garbageSig(mint("ES256", nil)), ReasonSignature, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyErr(v, tt.raw)
			if got := rejectionOf(t, err); got != tt.reason {
				t.Fatalf("reason: got %q, want %q", got, tt.reason)
			}
			var te *TokenError
			errors.As(err, &te)
			if got := te.Received(); got != tt.received {
				t.Errorf("Received: got %s, want %s", got, tt.received)
			}
			if tt.hint != "" && te.Hint() != tt.hint {
				t.Errorf("Hint:\ngot  %s\nwant %s", te.Hint(), tt.hint)
			}
			if tt.errMsg != "" && err.(*claims.Error).Err.Error() != tt.errMsg {
				t.Errorf("Error: got %q, want the fixed %q", err.(*claims.Error).Err.Error(), tt.errMsg)
			}
			var ce *claims.Error
			errors.As(err, &ce)
			if want := claims.InvalidToken(nil).Description; ce.Description != want {
				t.Errorf("Description: got %q, want the fixed %q", ce.Description, want)
			}
			if tt.received != "" && strings.Contains(ce.Error(), strings.Trim(tt.received, `"`)) {
				t.Errorf("claims.Error text %q holds the received value", ce.Error())
			}
		})
	}
	if h := (&TokenError{Reason: ReasonType}).Hint(); h != "" {
		t.Errorf("Hint of a TokenError not made by a verifier: got %q, want empty", h)
	}
}

// TestTokenErrorText: the text of a *TokenError is API, one fixed prefix
// per Reason (and the detail after it for the reasons that carry one).
func TestTokenErrorText(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), nil)
	payload := mustJSON(claimSet(nil))
	header := func(mod func(map[string]any)) string {
		h := map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kidFor["ES256"]}
		mod(h)
		return mustJSON(h)
	}
	signed := func(mod func(map[string]any)) string {
		return sign("ES256", privFor("ES256"), header(mod), payload)
	}
	tests := []struct {
		raw    string
		reason Reason
		text   string
	}{
		{strings.Repeat("a", defaultMaxTokenSize+1), ReasonTooLarge, "verify: token too large"},
		{"a.b", ReasonMalformed, "verify: malformed token"},
		{enc(`{"alg":"HS256","typ":"at+jwt","kid":"p256"}`) + "." + enc(payload) + ".AAAA", ReasonAlgorithm, "verify: algorithm not allowed"},
		{signed(func(h map[string]any) { h["typ"] = "JWT" }), ReasonType, "verify: token type not accepted"},
		{signed(func(h map[string]any) { h["crit"] = []string{"exp"} }), ReasonHeader, "verify: unsupported header parameter"},
		{signed(func(h map[string]any) { h["kid"] = "a\x01" }), ReasonKeyID, "verify: invalid key id"},
		{mint("ES256", func(c map[string]any) { c["exp"] = "soon" }), ReasonClaims, `verify: invalid claim set: claims: parse: "exp": not a number`},
		{mint("ES256", func(c map[string]any) { c["iss"] = "https://evil.example.com/" }), ReasonIssuer, "verify: issuer not accepted"},
		{signed(func(h map[string]any) { h["kid"] = "nope" }), ReasonUnknownKey, `verify: unknown key: jwks: unknown key id: "nope"`},
		{signed(func(h map[string]any) { h["kid"] = "rsa" }), ReasonKeyMismatch, "verify: key does not match algorithm"},
		{garbageSig(mint("ES256", nil)), ReasonSignature, "verify: invalid signature: invalid ECDSA signature"},
		{mint("ES256", func(c map[string]any) { c["aud"] = "https://other.example.com" }), ReasonAudience, "verify: audience not accepted"},
		{mint("ES256", func(c map[string]any) { delete(c, "sub") }), ReasonMissingClaim, "verify: required claim missing: sub"},
		{mint("ES256", func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }), ReasonExpired, "verify: token expired"},
		{mint("ES256", func(c map[string]any) { c["nbf"] = testNow.Add(time.Hour).Unix() }), ReasonNotYetValid, "verify: token not yet valid"},
		{mint("ES256", func(c map[string]any) { c["iat"] = testNow.Add(time.Hour).Unix() }), ReasonIssuedInFuture, "verify: token issued in the future"},
	}
	seen := map[Reason]bool{}
	for _, tt := range tests {
		t.Run(string(tt.reason), func(t *testing.T) {
			err := verifyErr(v, tt.raw)
			var te *TokenError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *TokenError", err)
			}
			if te.Reason != tt.reason {
				t.Fatalf("Reason: got %q (%v), want %q", te.Reason, err, tt.reason)
			}
			if got := te.Error(); got != tt.text {
				t.Errorf("Error: got %q, want %q", got, tt.text)
			}
		})
		seen[tt.reason] = true
	}
	for _, r := range Reasons() {
		switch r {
		case ReasonNone, ReasonUnavailable, ReasonCanceled: // not a *TokenError
		case ReasonInactive: // introspection only: TestIntrospection
		default:
			if !seen[r] {
				t.Errorf("reason %q has no case", r)
			}
		}
	}
}

// TestTokenErrorNilErr: TokenError is exported; one without Err must not
// panic.
func TestTokenErrorNilErr(t *testing.T) {
	e := &TokenError{Reason: ReasonSignature}
	if got, want := e.Error(), "verify: invalid token (signature)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if e.Unwrap() != nil {
		t.Errorf("Unwrap: got %v, want nil", e.Unwrap())
	}
}
