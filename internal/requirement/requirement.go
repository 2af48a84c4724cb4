// Package requirement copies claims.Requirement values for the middleware
// packages, which keep their own copy of every requirement they validated
// so that a caller changing its slices afterwards (or concurrently) cannot
// change what is enforced.
package requirement

import "github.com/stepupauth/stepup/claims"

// Clone returns a deep copy of req: every slice, and every requirement of
// AnyOf, recursively, is copied. Check, a function, is shared.
func Clone(req claims.Requirement) claims.Requirement {
	req.ACR = cloneStrings(req.ACR)
	req.ACRLevels = cloneStrings(req.ACRLevels)
	req.AMRAll = cloneStrings(req.AMRAll)
	req.AMRAny = cloneStrings(req.AMRAny)
	req.AMRACRValues = cloneStrings(req.AMRACRValues)
	req.Scopes = cloneStrings(req.Scopes)
	if req.AnyOf != nil {
		anyOf := make([]claims.Requirement, len(req.AnyOf))
		for i, a := range req.AnyOf {
			anyOf[i] = Clone(a)
		}
		req.AnyOf = anyOf
	}
	return req
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}
