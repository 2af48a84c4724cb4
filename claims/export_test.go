package claims

// The limits of ParseChallenges and Requirement.Validate, for the tests of
// package claims_test.
const (
	MaxChallengesLength = maxChallengesLength
	MaxChallengeParams  = maxChallengeParams
	MaxChallenges       = maxChallenges
	MaxMaxAge           = maxRequirementAge
)

// Typed returns a copy of c without the private payload and index, so that
// tests compare the typed fields with reflect.DeepEqual.
func Typed(c *Claims) *Claims {
	x := *c
	x.payload, x.index = nil, nil
	return &x
}

// RawOf collects every claim of c by name, as All yields them, and fails
// (returns nil) when All and Claim disagree or a name repeats.
func RawOf(c *Claims) map[string][]byte {
	m := map[string][]byte{}
	for name, v := range c.All() {
		if _, dup := m[name]; dup {
			return nil
		}
		if got, ok := c.Claim(name); !ok || string(got) != string(v) {
			return nil
		}
		m[name] = v
	}
	if len(m) != c.Len() {
		return nil
	}
	return m
}
