package main

import (
	"io"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/policy"
)

// FuzzUnreachable: any table of patterns, valid or not, is probed without
// a panic, and only a prefix pattern is ever found unreachable.
func FuzzUnreachable(f *testing.F) {
	f.Add("GET /a/\nGET /a/{$}\nGET /a/{x}\nGET /a/{x}/")
	f.Add("/\n/{$}\n/{x}\n/{x}/")
	f.Add("example.com/a/\n/a/{x...}\nget /b")
	f.Fuzz(func(t *testing.T, table string) {
		var rules []policy.Rule
		for i, p := range strings.Split(table, "\n") {
			rules = append(rules, policy.Rule{Index: i, Line: i + 1, HTTP: p})
		}
		for _, w := range unreachable(rules) {
			if !strings.Contains(w, "unreachable") {
				t.Errorf("warning %q", w)
			}
		}
	})
}

// FuzzProof: a proof of any shape is shown and read without a panic.
func FuzzProof(f *testing.F) {
	f.Add("eyJhbGciOiJFUzI1NiJ9.eyJodG0iOiJQT1NUIn0.c2ln")
	f.Add("..")
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, proof string) {
		showProof(io.Discard, proof)
		_ = proofClaims(proof)
	})
}
