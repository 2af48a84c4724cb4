package answer

import (
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

func TestFor(t *testing.T) {
	tests := []struct {
		code       claims.Code
		want       Kind
		wantStatus int
	}{
		{"", Unauthenticated, 401},
		{claims.CodeInvalidRequest, BadRequest, 400},
		{claims.CodeInvalidToken, Unauthenticated, 401},
		{claims.CodeInsufficientUserAuthentication, Unauthenticated, 401},
		{claims.CodeInsufficientClaims, Unauthenticated, 401},
		{claims.CodeInsufficientScope, Forbidden, 403},
		{"custom_denied", Unauthenticated, 401},
	}
	for _, tt := range tests {
		got := For(tt.code)
		if got != tt.want || got.HTTPStatus() != tt.wantStatus {
			t.Errorf("For(%q) = %v (HTTP %d); want %v (HTTP %d)", tt.code, got, got.HTTPStatus(), tt.want, tt.wantStatus)
		}
	}
}

func TestCheckRealm(t *testing.T) {
	for _, ok := range []string{"", "api", `a "quoted" \ realm`, "~!"} {
		if err := CheckRealm(ok); err != nil {
			t.Errorf("CheckRealm(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"a\r\nb", "a\nb", "tab\t", "caf\u00e9", "\x7f"} {
		if err := CheckRealm(bad); err == nil {
			t.Errorf("CheckRealm(%q) = nil; want an error", bad)
		}
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		in      string
		query   bool
		wantErr bool
	}{
		{"https://api.example.com/.well-known/oauth-protected-resource", false, false},
		{"https://api.example.com/x?a=b", true, false},
		{"http://127.0.0.1:8080/x", false, false},
		{"http://localhost/x", false, true},            // a name, not a loopback IP literal
		{"http://127.attacker.example/x", false, true}, // looks like 127/8, is a name
		{"http://[::1]:9/x", false, false},
		{"https://api.example.com/x?a=b", false, true},
		{"https://api.example.com/x?", false, true},
		{"http://api.example.com/x", false, true},
		{"javascript:alert(1)", true, true},
		{"javascript://x/%0aalert(1)", true, true},
		{"data:text/html,x", true, true},
		{"ftp://api.example.com/", true, true},
		{"https:///nohost", true, true},
		{"https://user@api.example.com/", true, true},
		{"https://api.example.com/#frag", true, true},
		{"https://api.example.com/#", true, true},
		{"/relative", true, true},
		{"https://api.example.com/\u00e9", true, true},
		{"https://api.example.com/\r\n", true, true},
		{"", true, true},
	}
	for _, tt := range tests {
		err := CheckURL(tt.in, tt.query)
		if (err != nil) != tt.wantErr {
			t.Errorf("CheckURL(%q, %v) = %v; want error %v", tt.in, tt.query, err, tt.wantErr)
		}
	}
}

func TestChallengeRealm(t *testing.T) {
	const meta = "https://api.example.com/.well-known/oauth-protected-resource"
	plain := &claims.Error{Code: claims.CodeInvalidToken, Description: "The access token is invalid"}
	if got, want := Challenge(plain, "api", meta).String(),
		`Bearer realm="api", error="invalid_token", error_description="The access token is invalid", resource_metadata="`+meta+`"`; got != want {
		t.Errorf("plain error:\n got %s\nwant %s", got, want)
	}
	entra := &claims.Error{Code: claims.CodeInsufficientClaims, Extra: []claims.Param{
		{Name: "realm", Value: ""},
		{Name: "authorization_uri", Value: "https://login.microsoftonline.com/common/oauth2/authorize"},
		{Name: "error"},
		{Name: "claims", Value: "eyJhY2Nlc3NfdG9rZW4iOnt9fQ=="},
	}}
	if got, want := Challenge(entra, "api", "").String(),
		`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnt9fQ=="`; got != want {
		t.Errorf("Entra error keeps its own realm:\n got %s\nwant %s", got, want)
	}
}

// TestHeader renders the challenges of RFC 9449 §7.1 and §7.2 byte for
// byte.
func TestHeader(t *testing.T) {
	stepUp := &claims.Error{Code: claims.CodeInsufficientUserAuthentication, Description: "More recent authentication is required", MaxAge: claims.MaxAgeOf(300 * time.Second)}
	dpopStepUp := *stepUp
	dpopStepUp.Scheme = "DPoP"
	for _, tt := range []struct {
		name string
		e    *claims.Error
		algs string
		want string
	}{
		{"no token, Bearer only", claims.MissingToken(), "", `Bearer realm="api"`},
		{"no token, both schemes", claims.MissingToken(), "ES256 PS256", `Bearer realm="api", DPoP realm="api", algs="ES256 PS256"`},
		{"DPoP refusal", &claims.Error{Scheme: "DPoP", Code: claims.CodeInvalidToken, Description: "The access token is invalid"}, "ES256",
			`DPoP realm="api", error="invalid_token", error_description="The access token is invalid", algs="ES256"`},
		{"Bearer refusal with DPoP on", stepUp, "ES256", `Bearer realm="api", error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=300`},
		{"step-up over DPoP", &dpopStepUp, "ES256",
			`DPoP realm="api", error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=300, algs="ES256"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := Header(tt.e, "api", "", tt.algs); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
