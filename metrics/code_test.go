package metrics

import (
	"testing"

	"github.com/stepupauth/stepup/verify"
)

// TestOutcomeOf: every reason verify can report lands on its outcome, so the
// pre-declared series and the observed ones agree.
func TestOutcomeOf(t *testing.T) {
	for _, r := range verify.Reasons() {
		want := "invalid"
		switch r {
		case verify.ReasonNone:
			want = "valid"
		case verify.ReasonUnavailable:
			want = "unavailable"
		case verify.ReasonCanceled:
			want = "canceled"
		}
		if got := outcomeOf(r); got != want {
			t.Errorf("outcomeOf(%q) = %q, want %q", r, got, want)
		}
	}
}
