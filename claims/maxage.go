package claims

import "time"

// MaxAge is the max_age parameter of a step-up challenge (RFC 9470 §3): the
// longest time, in whole seconds, since the user last authenticated that
// the resource accepts. A client passes it to the authorization server as
// the OpenID Connect max_age request parameter (OpenID Connect Core
// §3.1.2.1). The zero MaxAge asks for no max_age; MaxAgeOf(0) asks for
// max_age=0, an authentication just now. MaxAge values are comparable.
type MaxAge struct {
	secs int64
	set  bool
}

// MaxAgeOf returns the MaxAge that asks for d, truncated to whole seconds
// so that the ask is never more lenient than d; a d below one second
// (negative included) asks for max_age=0.
func MaxAgeOf(d time.Duration) MaxAge {
	if d < time.Second {
		return MaxAge{set: true}
	}
	return MaxAge{secs: int64(d / time.Second), set: true}
}

// Seconds returns the max_age in seconds, and false when none is asked
// for.
func (m MaxAge) Seconds() (int64, bool) { return m.secs, m.set }

// stricter returns the stricter of two asks: none is no limit.
func (m MaxAge) stricter(o MaxAge) MaxAge {
	switch {
	case !m.set:
		return o
	case !o.set:
		return m
	case o.secs < m.secs:
		return o
	}
	return m
}

// String returns the max_age as a duration ("5m0s"), or "none".
func (m MaxAge) String() string {
	if m.set {
		return (time.Duration(m.secs) * time.Second).String()
	}
	return "none"
}
