package mtls

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stepupauth/stepup/internal/jsonscan"
)

// ErrMalformedConfirmation reports a cnf claim that Bound cannot read. A
// token carrying one is to be refused as invalid_token. Test for it with
// errors.Is.
var ErrMalformedConfirmation = errors.New("mtls: malformed cnf claim")

// Bound reads the x5t#S256 confirmation method (RFC 8705 §3.1) from cnf,
// a token's raw cnf claim (claims.Claims.Confirmation). ok is false, with
// no error, when cnf is empty (no claim) or has no x5t#S256 member: the
// token is not bound to a certificate. Other members (jkt, for DPoP) are
// not its business.
//
// Reading is strict. It is an error matching ErrMalformedConfirmation when
// cnf is not one JSON object (RFC 8259, as claims.Parse reads it), when
// x5t#S256 occurs twice, when its value is not a string, or when the
// string is not what §3.1 prescribes: base64url without padding, line
// breaks or white space, of a 32-byte SHA-256 hash.
func Bound(cnf json.RawMessage) (x5tS256 string, ok bool, err error) {
	if len(cnf) == 0 {
		return "", false, nil
	}
	var found bool
	err = jsonscan.Members(cnf, func(m jsonscan.Member) error {
		if !m.NameIs(cnf, "x5t#S256") {
			return nil
		}
		if found {
			return errors.New("x5t#S256 occurs twice")
		}
		found = true
		if cnf[m.Value.Start] != '"' {
			return errors.New("x5t#S256 is not a string")
		}
		x5tS256 = jsonscan.Unquote(cnf[m.Value.Start:m.Value.End])
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("%w: %v", ErrMalformedConfirmation, err)
	}
	if !found {
		return "", false, nil
	}
	// 43 characters exactly: the decoder would skip line breaks.
	sum, err := base64.RawURLEncoding.Strict().DecodeString(x5tS256)
	if err != nil || len(sum) != sha256.Size || len(x5tS256) != 43 {
		return "", false, fmt.Errorf("%w: x5t#S256 is not the base64url of a SHA-256 hash", ErrMalformedConfirmation)
	}
	return x5tS256, true, nil
}
