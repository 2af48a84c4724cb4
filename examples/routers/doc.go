// Package routers holds the README's recipes for protecting routes served
// by chi, gorilla/mux, echo and gin with a stepup httpmw.Guard, and the
// tests that keep them true: each router passes the guard's step-up
// challenge through unchanged, lets a multi-factor token through to a
// handler that still reads its path parameters, and leaves the decisions
// labelled by the rule (not "unmatched") in the decision hooks and the
// Prometheus metrics.
//
// It is a module of its own, so that the library's go.mod never names a
// router. The code between the "recipe" markers of chi.go, gorillamux.go,
// echo.go and gin.go is quoted verbatim by the README (a test checks).
package routers

import (
	"time"

	"github.com/stepupauth/stepup/claims"
)

// transferRule is what every recipe demands of a transfer: a multi-factor
// login at most five minutes old.
var transferRule = claims.Requirement{
	ACR:    []string{claims.ACRMultiFactor},
	MaxAge: 5 * time.Minute,
}
