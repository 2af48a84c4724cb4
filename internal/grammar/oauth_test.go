package grammar

import "testing"

func TestScopeTokenACRValue(t *testing.T) {
	for _, tc := range []struct {
		s           string
		scope, acrv bool
	}{
		{"", false, false},
		{"read", true, true},
		{"urn:example:loa:2", true, true},
		{"a b", false, false},
		{"a\tb", false, false},
		{`a"b`, false, true},
		{`a\b`, false, true},
		{"!#[]~", true, true},
		{"é", false, false},
		{"a\x7f", false, false},
	} {
		if got := ScopeToken(tc.s); got != tc.scope {
			t.Errorf("ScopeToken(%q) = %v, want %v", tc.s, got, tc.scope)
		}
		if got := ACRValue(tc.s); got != tc.acrv {
			t.Errorf("ACRValue(%q) = %v, want %v", tc.s, got, tc.acrv)
		}
	}
}
