package claims

import (
	"testing"
	"time"
)

func TestMaxAge(t *testing.T) {
	for _, tt := range []struct {
		name string
		m    MaxAge
		secs int64
		ok   bool
		str  string
	}{
		{"zero asks for none", MaxAge{}, 0, false, "none"},
		{"of 0: max_age=0", MaxAgeOf(0), 0, true, "0s"},
		{"of a negative: max_age=0", MaxAgeOf(-time.Hour), 0, true, "0s"},
		{"under a second: max_age=0", MaxAgeOf(999 * time.Millisecond), 0, true, "0s"},
		{"truncated, never more lenient", MaxAgeOf(1999 * time.Millisecond), 1, true, "1s"},
		{"five minutes", MaxAgeOf(5 * time.Minute), 300, true, "5m0s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			secs, ok := tt.m.Seconds()
			if secs != tt.secs || ok != tt.ok || tt.m.String() != tt.str {
				t.Errorf("got %d, %v, %q; want %d, %v, %q", secs, ok, tt.m.String(), tt.secs, tt.ok, tt.str)
			}
		})
	}
	for _, tt := range []struct{ a, b, want MaxAge }{
		{MaxAge{}, MaxAgeOf(time.Minute), MaxAgeOf(time.Minute)},
		{MaxAgeOf(time.Minute), MaxAge{}, MaxAgeOf(time.Minute)},
		{MaxAgeOf(time.Minute), MaxAgeOf(0), MaxAgeOf(0)},
		{MaxAgeOf(time.Hour), MaxAgeOf(time.Minute), MaxAgeOf(time.Minute)},
	} {
		if got := tt.a.stricter(tt.b); got != tt.want {
			t.Errorf("%v.stricter(%v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
