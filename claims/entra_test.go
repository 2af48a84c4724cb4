package claims_test

import (
	"reflect"
	"testing"

	"github.com/stepupauth/stepup/claims"
)

// TestInsufficientClaimsRoundTrip: an Error carrying Entra ID's claims
// challenge renders in Microsoft's order, and a client parsing it gets the
// code and the parameters back.
func TestInsufficientClaimsRoundTrip(t *testing.T) {
	const uri = "https://login.microsoftonline.com/common/oauth2/authorize"
	const b64 = "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiY3AxIn19fQ=="
	e := &claims.Error{Code: claims.CodeInsufficientClaims, Extra: []claims.Param{
		{Name: "realm"}, {Name: "authorization_uri", Value: uri}, {Name: "error"}, {Name: "claims", Value: b64}}}
	want := `Bearer realm="", authorization_uri="` + uri + `", error="insufficient_claims", claims="` + b64 + `"`
	got := e.Challenge().String()
	if got != want {
		t.Fatalf("challenge\ngot  %s\nwant %s", got, want)
	}
	chs, err := claims.ParseChallenges(got)
	if err != nil || len(chs) != 1 {
		t.Fatalf("ParseChallenges: %v, %v", chs, err)
	}
	back := chs[0].Err()
	if back.Code != claims.CodeInsufficientClaims {
		t.Errorf("code got %q, want %q", back.Code, claims.CodeInsufficientClaims)
	}
	wantExtra := []claims.Param{{Name: "authorization_uri", Value: uri}, {Name: "claims", Value: b64}}
	if !reflect.DeepEqual(back.Extra, wantExtra) {
		t.Errorf("extra got %v, want %v", back.Extra, wantExtra)
	}
	if got, want := back.Error(), "claims: insufficient_claims"; got != want {
		t.Errorf("Error() got %q, want %q", got, want)
	}
	// Challenge copies Extra: changing the copy leaves e alone.
	c := e.Challenge()
	c.Extra[1].Value = "x"
	if e.Extra[1].Value != uri {
		t.Error("Challenge shares Extra with the Error")
	}
}
