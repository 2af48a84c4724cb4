// Package testclock lets tests of any package of the module run a jwks
// key source on a fake clock, without an exported option: in the library
// the verifier's clock is the one a user sets (verify.Config.Now), and the
// key sources keep the wall clock for their refresh schedule.
//
// Package jwks sets JWKS in its init; a test converts the result to a
// jwks.Option:
//
//	keys, err := jwks.NewRemote(url, testclock.JWKS(clock.Now).(jwks.Option))
package testclock

import "time"

// JWKS returns a jwks.Option (as any, since this package cannot import
// jwks) that runs the key source on now. It is set by package jwks.
var JWKS func(now func() time.Time) any
