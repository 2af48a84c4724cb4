package jwks

import (
	"net/http"
	"testing"
	"time"
)

// FuzzMaxAge: the Cache-Control / Age parser never panics and returns a
// lifetime in [0, one year] (the parser's cap), and none without max-age.
func FuzzMaxAge(f *testing.F) {
	for _, s := range [][2]string{
		{"max-age=300", ""},
		{"public, max-age=300, must-revalidate", "100"},
		{`Max-Age="60"`, ""},
		{"no-store", ""},
		{"no-cache, max-age=10", ""},
		{"max-age=-1", ""},
		{"max-age=99999999999999999999", "99999999999999999999"},
		{"max-age=9223372036854775807", "-9223372036854775808"},
		{"max-age", "x"},
		{",,=,max-age==5", "5"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	const yearCap = 365 * 24 * time.Hour
	f.Fuzz(func(t *testing.T, cc, age string) {
		h := http.Header{}
		h.Set("Cache-Control", cc)
		h.Set("Age", age)
		d, ok := maxAge(h)
		if d < 0 || d > yearCap {
			t.Fatalf("maxAge(%q, Age %q) = %v, want within [0, %v]", cc, age, d, yearCap)
		}
		if !ok && d != 0 {
			t.Fatalf("maxAge(%q, Age %q) = %v without a max-age, want 0", cc, age, d)
		}
	})
}
