// Package bench measures stepup against the raw signature check and its
// peers (auth0/go-jwt-middleware v2, golang-jwt v5 with keyfunc v3, jwx v3)
// with the same tokens and keys. It is its own module so that the peers
// never enter the dependencies of github.com/stepupauth/stepup.
//
// Run ../scripts/bench.sh to measure and write ../BENCHMARKS.md.
package bench
