package requirement

import (
	"reflect"
	"testing"

	"github.com/stepupauth/stepup/claims"
)

func TestCloneIsDeep(t *testing.T) {
	orig := claims.Requirement{
		ACR: []string{"a"}, ACRLevels: []string{"l1", "l2"}, ACRMin: "l1",
		AMRAll: []string{"hwk"}, AMRAny: []string{"otp"}, AMRACRValues: []string{"x"},
		Scopes: []string{"s"},
		AnyOf:  []claims.Requirement{{Scopes: []string{"inner"}}},
	}
	got := Clone(orig)
	want := Clone(orig)
	for _, s := range [][]string{orig.ACR, orig.ACRLevels, orig.AMRAll, orig.AMRAny, orig.AMRACRValues, orig.Scopes, orig.AnyOf[0].Scopes} {
		s[0] = "changed"
	}
	orig.AnyOf[0] = claims.Requirement{ACR: []string{"changed"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("clone changed with the original: got %+v, want %+v", got, want)
	}
	if got.ACR[0] != "a" || got.AnyOf[0].Scopes[0] != "inner" {
		t.Errorf("got ACR %q, AnyOf[0].Scopes %q; want a, inner", got.ACR, got.AnyOf[0].Scopes)
	}
}

func TestCloneKeepsNil(t *testing.T) {
	got := Clone(claims.Requirement{})
	if got.ACR != nil || got.AnyOf != nil || got.Scopes != nil {
		t.Errorf("Clone(zero) = %+v; want nil slices", got)
	}
}
