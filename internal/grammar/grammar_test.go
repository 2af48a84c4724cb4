package grammar

import (
	"strings"
	"testing"
)

// TestTchar checks every byte against the tchar list of RFC 9110 §5.6.2.
func TestTchar(t *testing.T) {
	const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for c := 0; c < 256; c++ {
		if got, want := Tchar(byte(c)), strings.IndexByte(tchar, byte(c)) >= 0; got != want {
			t.Errorf("Tchar(%q) = %v, want %v", byte(c), got, want)
		}
	}
}

func TestSplitMethod(t *testing.T) {
	for _, tt := range []struct {
		in              string
		service, method string
		ok              bool
	}{
		{"/bank.v1.Bank/Transfer", "/bank.v1.Bank", "Transfer", true},
		{"/bank.v1.Bank/*", "/bank.v1.Bank", "*", true},
		{"/Svc/M_1", "/Svc", "M_1", true},
		{"bank.v1.Bank/Transfer", "", "", false},
		{"/bank.v1.Bank/Transfer/", "", "", false},
		{"/bank.v1.Bank/", "", "", false},
		{"/bank..Bank/Transfer", "", "", false},
		{"/bank.1v.Bank/Transfer", "", "", false},
		{"/bank.v1.Bank/Trans-fer", "", "", false},
		{"/bank.v1.Bank/1Transfer", "", "", false},
		{"/a/b/c", "", "", false},
		{"/", "", "", false},
		{"", "", "", false},
	} {
		s, m, ok := SplitMethod(tt.in)
		if s != tt.service || m != tt.method || ok != tt.ok {
			t.Errorf("SplitMethod(%q) = %q, %q, %v; want %q, %q, %v", tt.in, s, m, ok, tt.service, tt.method, tt.ok)
		}
	}
}
