package metrics

import (
	"testing"

	"github.com/stepupauth/stepup/verify"
)

// TestOutcomeOf: every reason verify can report lands on its outcome, so the
// pre-declared series and the observed ones agree.
func TestOutcomeOf(t *testing.T) {
	for _, r := range verify.Reasons() {
		want := verify.OutcomeInvalid
		switch r {
		case verify.ReasonNone:
			want = verify.OutcomeValid
		case verify.ReasonUnavailable:
			want = verify.OutcomeUnavailable
		case verify.ReasonCanceled:
			want = verify.OutcomeCanceled
		}
		if got := outcomeOf(r); got != want {
			t.Errorf("outcomeOf(%q) = %q, want %q", r, got, want)
		}
	}
}
