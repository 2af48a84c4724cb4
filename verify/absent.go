package verify

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// When a requirement on acr, amr or auth_time fails because the claim is
// absent from most tokens, the verifier is probably reading the wrong claim
// name (an Auth0 namespace without its trailing slash) or the issuer does
// not put the claim into access tokens: a configuration problem, which no
// user can fix by logging in again. Evaluate counts, per claim, the tokens
// evaluated against a requirement that reads it, in windows of
// absentWindow tokens; when at least absentThreshold of a window lacked
// the claim, the next refusal of a token that lacks it carries an
// *AbsentClaimError, at most once per absentInterval of the verifier's
// clock. httpmw and grpcmw log it at Warn.
const (
	absentWindow    = 32
	absentThreshold = 24
	absentInterval  = 10 * time.Minute
)

// The user-authentication claims, as indexes of Verifier.absent.
const (
	claimACR = iota
	claimAMR
	claimAuthTime
	numClaims
)

var claimStdNames = [numClaims]string{"acr", "amr", "auth_time"}

// AbsentClaimError reports that a claim a requirement reads was absent
// from most of the recent tokens evaluated against such a requirement: a
// configuration problem (the claim name, or the issuer's token contents),
// not the user's. Evaluate (and so Authorize) puts it in the Err chain of
// the refusal's *claims.Error, wrapping the requirement's own cause, on one
// refusal per claim and interval; httpmw.WithLogger and grpcmw.WithLogger
// log it at Warn. Get it with errors.As. It holds claim names and counts
// only, never a claim value.
type AbsentClaimError struct {
	Claim  string // the standard name: "acr", "amr" or "auth_time"
	Name   string // the name the verifier reads it under (Config.ClaimNames)
	Absent int    // tokens of the window that lacked it
	Of     int    // tokens in the window
	Err    error  // the requirement's own cause, usually nil
}

// Error returns a one-line description with the fix.
func (e *AbsentClaimError) Error() string {
	return fmt.Sprintf("verify: claim %s (read as %q) absent from %d of the last %d tokens evaluated against a requirement on it: %s",
		e.Claim, e.Name, e.Absent, e.Of, e.Hint())
}

// Hint says what to check.
func (e *AbsentClaimError) Hint() string {
	return "check that Config.ClaimNames names the claim the issuer sends (for Auth0, idp.Auth0Options.Namespace) " +
		"and that the issuer puts " + e.Claim + " into access tokens (Auth0 only through a post-login Action)"
}

// Unwrap returns Err.
func (e *AbsentClaimError) Unwrap() error { return e.Err }

// absentCount is the window of one claim.
type absentCount struct {
	mu       sync.Mutex
	n, miss  int       // tokens and tokens lacking the claim in this window
	pending  bool      // a window crossed the threshold: report on the next refusal
	pendMiss int       // how many of that window lacked the claim
	lastWarn time.Time // when the last report was handed out
	warned   bool
}

// readsClaims reports which user-authentication claims req reads, its
// alternatives included.
func readsClaims(req *claims.Requirement) (reads [numClaims]bool) {
	reads[claimACR] = len(req.ACR) > 0 || req.ACRMin != ""
	reads[claimAMR] = len(req.AMRAll) > 0 || len(req.AMRAny) > 0
	reads[claimAuthTime] = req.MaxAge != 0
	for i := range req.AnyOf {
		alt := readsClaims(&req.AnyOf[i])
		for k := range reads {
			reads[k] = reads[k] || alt[k]
		}
	}
	return reads
}

// lacks reports whether c has no value at all for claim k; a value of the
// wrong type (c.Malformed) is present, and refused for its own reason.
func lacks(c *claims.Claims, k int) bool {
	if slices.Contains(c.Malformed, claimStdNames[k]) {
		return false
	}
	switch k {
	case claimACR:
		return c.ACR == ""
	case claimAMR:
		return len(c.AMR) == 0
	default:
		return c.AuthTime.IsZero()
	}
}

// countAbsent counts c against the windows of the claims req reads and
// returns the report to hand out with this evaluation's refusal, if any
// (failed says that the evaluation refused the token).
func (v *Verifier) countAbsent(c *claims.Claims, req *claims.Requirement, failed bool, now time.Time) *AbsentClaimError {
	reads := readsClaims(req)
	var report *AbsentClaimError
	for k := range reads {
		if !reads[k] {
			continue
		}
		missing := lacks(c, k)
		w := &v.absent[k]
		w.mu.Lock()
		w.n++
		if missing {
			w.miss++
		}
		if w.n == absentWindow {
			if w.miss >= absentThreshold && (!w.warned || now.Sub(w.lastWarn) >= absentInterval) {
				w.pending, w.pendMiss = true, w.miss
			}
			w.n, w.miss = 0, 0
		}
		if w.pending && missing && failed && report == nil {
			w.pending, w.warned, w.lastWarn = false, true, now
			report = &AbsentClaimError{Claim: claimStdNames[k], Name: v.claimName(k), Absent: w.pendMiss, Of: absentWindow}
		}
		w.mu.Unlock()
	}
	return report
}

// claimName is the name the verifier reads claim k under.
func (v *Verifier) claimName(k int) string {
	var n string
	switch k {
	case claimACR:
		n = v.names.ACR
	case claimAMR:
		n = v.names.AMR
	default:
		n = v.names.AuthTime
	}
	if n == "" {
		return claimStdNames[k]
	}
	return n
}
