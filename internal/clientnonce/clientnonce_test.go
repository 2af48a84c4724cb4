package clientnonce

import (
	"errors"
	"strings"
	"testing"
)

func TestFollow(t *testing.T) {
	for _, tc := range []struct {
		n, sent string
		tried   bool
		retry   bool
		err     error
	}{
		{"n1", "", false, true, nil},
		{"n2", "n1", false, true, nil},
		{"n1", "n1", false, false, nil},
		{"n2", "n1", true, false, nil},
		{"", "", false, false, ErrInvalid},
		{"a b", "", false, false, ErrInvalid},
		{`"q"`, "", false, false, ErrInvalid},
		{strings.Repeat("n", 1025), "", false, false, ErrInvalid},
	} {
		var s Store
		retry, err := s.Follow(tc.n, tc.sent, tc.tried)
		if retry != tc.retry || !errors.Is(err, tc.err) {
			t.Errorf("Follow(%.10q, %q, %v) = %v, %v; want %v, %v", tc.n, tc.sent, tc.tried, retry, err, tc.retry, tc.err)
		}
		if want := map[bool]string{true: tc.n, false: ""}[retry]; s.Get() != want {
			t.Errorf("after Follow(%.10q): Get() = %q, want %q", tc.n, s.Get(), want)
		}
	}
	var s Store
	s.Offer("ok")
	s.Offer("bad value")
	s.Offer("")
	if s.Get() != "ok" {
		t.Errorf("Get() = %q, want the last valid offer", s.Get())
	}
}
