package policy

import (
	"fmt"
	"strings"
)

// Error is why a policy document was rejected. Load and Parse return only
// *Error values; use errors.As to read the position. The text of Error is
// stable, for people: "policy: FILE:LINE: rules[I] (http "…", grpc "…"):
// FIELD: reason", with the parts that do not apply left out.
type Error struct {
	File  string // path given to Load; empty from Parse
	Line  int    // 1-based line in the document; 0 when unknown
	Rule  int    // index in the rules list, from 0; -1 when not about one rule
	HTTP  string // the rule's http, when the error is about a rule that has one
	GRPC  string // the rule's grpc, when the error is about a rule that has one
	Field string // the field at fault ("leeway", "claim_names.acr", "acr_min"); empty for the whole document or rule
	Err   error  // the reason
}

// Error returns the stable text described on the type: "policy: ", then
// the position (file and line), the rule and the field when known, then
// the reason, or "invalid" when Err is nil.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("policy: ")
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Rule >= 0 {
		fmt.Fprintf(&b, "rules[%d]", e.Rule)
		switch {
		case e.HTTP != "" && e.GRPC != "":
			fmt.Fprintf(&b, " (http %q, grpc %q)", e.HTTP, e.GRPC)
		case e.HTTP != "":
			fmt.Fprintf(&b, " (http %q)", e.HTTP)
		case e.GRPC != "":
			fmt.Fprintf(&b, " (grpc %q)", e.GRPC)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid")
	}
	return b.String()
}

// Unwrap returns the reason, so errors.Is sees through an *Error (for
// example to fs.ErrNotExist from Load).
func (e *Error) Unwrap() error { return e.Err }
