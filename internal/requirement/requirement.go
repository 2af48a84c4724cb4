// Package requirement copies claims.Requirement values for the middleware
// packages, which keep their own copy of every requirement they validated
// so that a caller changing its slices afterwards (or concurrently) cannot
// change what is enforced, and decides for all of them what a public rule
// may carry.
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

// IsZero reports whether req is the zero Requirement, the only one a
// public route or method may carry (httpmw.Route, grpcmw.Rule, policy): any
// field set, even one that only qualifies another (ACRLevels,
// AMRACRValues), would look enforced on a rule that reads no token.
func IsZero(req claims.Requirement) bool {
	return len(req.ACR) == 0 && req.ACRMin == "" && len(req.ACRLevels) == 0 &&
		len(req.AMRAll) == 0 && len(req.AMRAny) == 0 && len(req.AMRACRValues) == 0 &&
		req.MaxAge == 0 && len(req.Scopes) == 0 && len(req.AnyOf) == 0 && req.Check == nil &&
		req.Binding == claims.BindingNone
}
