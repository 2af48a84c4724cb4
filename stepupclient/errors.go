package stepupclient

import (
	"strings"

	"github.com/stepupauth/stepup/claims"
)

// ChallengeError reports a challenge the client cannot follow because it is
// malformed: a WWW-Authenticate value ParseChallenges refuses (Err is then
// its *claims.SyntaxError, for size limits too), a step-up challenge whose
// parameters cannot be requested, or a use_dpop_nonce answer without a
// usable DPoP-Nonce. Such an answer is never retried. Test with errors.As.
type ChallengeError struct {
	Msg string // what is wrong, lower case
	Err error  // the cause, or nil
}

// Error returns "stepupclient: malformed challenge: <msg>", followed by
// ": " and the cause when there is one.
func (e *ChallengeError) Error() string {
	s := "stepupclient: malformed challenge: " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *ChallengeError) Unwrap() error { return e.Err }

// LoginError reports that the TokenFunc failed, or returned no usable
// token, while getting the token for Refusal (nil for a first token or a
// renewal). Test with errors.As; Unwrap gives the TokenFunc's error.
type LoginError struct {
	Refusal *claims.Error
	Err     error
}

// Error returns "stepupclient: getting a token: <cause>", naming the
// refusal's code when there is one.
func (e *LoginError) Error() string {
	s := "stepupclient: getting a token"
	if e.Refusal != nil && e.Refusal.Code != "" {
		s += " after " + string(e.Refusal.Code)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the TokenFunc's error.
func (e *LoginError) Unwrap() error { return e.Err }

// ParseRefusal returns the refusal that the WWW-Authenticate field values
// of an answer stand for: among their challenges (claims.ParseChallenges,
// with its bounds), the Bearer or DPoP one, or the first of them with an
// error code when there are several (the server names the scheme it
// refused); other schemes are ignored. It returns nil and no error when
// there is no such challenge, and a *ChallengeError wrapping the
// *claims.SyntaxError when the values cannot be read.
//
// grpcmw.ErrorFromStatus reads the www-authenticate metadata of a gRPC
// refusal with it.
func ParseRefusal(values ...string) (*claims.Error, error) {
	chs, err := claims.ParseChallenges(values...)
	if err != nil {
		return nil, &ChallengeError{Msg: "unreadable WWW-Authenticate", Err: err}
	}
	var pick *claims.Challenge
	for i, ch := range chs {
		if !strings.EqualFold(ch.Scheme, "Bearer") && !strings.EqualFold(ch.Scheme, "DPoP") {
			continue
		}
		if pick == nil || (pick.Error == "" && ch.Error != "") {
			pick = &chs[i]
		}
	}
	if pick == nil {
		return nil, nil
	}
	return pick.Err(), nil
}
