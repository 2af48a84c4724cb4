package verify

import "time"

// Now returns the time by the verifier's clock (Config.Now, default
// time.Now): the one clock of the library, which the transports use too,
// for example to end a gRPC stream at its token's exp.
func (v *Verifier) Now() time.Time { return v.now() }
