package claims

// The limits of ParseChallenges and Requirement.Validate, for the tests of
// package claims_test.
const (
	MaxChallengesLength = maxChallengesLength
	MaxChallengeParams  = maxChallengeParams
	MaxChallenges       = maxChallenges
	MaxMaxAge           = maxRequirementAge
)
