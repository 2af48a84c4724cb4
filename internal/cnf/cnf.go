// Package cnf reads the confirmation claim of an access token (cnf, RFC
// 7800 §3.1) for the sender-constraint checks of claims.Requirement and
// of the transports: the JWK thumbprint of a DPoP-bound token (jkt, RFC
// 9449 §6.1) and the certificate thumbprint of a certificate-bound one
// (x5t#S256, RFC 8705 §3.1).
package cnf

import (
	"errors"

	"github.com/stepupauth/stepup/internal/jsonscan"
)

// Confirmation is what a token's cnf says about its sender.
type Confirmation struct {
	JKT string // DPoP: base64url SHA-256 JWK thumbprint, "" when not DPoP-bound
	X5T string // mTLS: base64url SHA-256 certificate thumbprint, "" when not certificate-bound
	// Other names a confirmation method this library cannot check (jwk,
	// jku, kid, ...): the token is bound to a key nobody here can prove.
	Other bool
}

// Bound reports whether the token is sender-constrained in any way.
func (c Confirmation) Bound() bool { return c.JKT != "" || c.X5T != "" || c.Other }

var (
	errNotObject = errors.New("cnf is not a JSON object")
	errNotString = errors.New("cnf member is not a non-empty JSON string")
	errDuplicate = errors.New("cnf member repeated")
)

// Parse reads raw, the cnf claim's JSON value (nil or null when absent).
// A cnf that is not an object, or whose jkt or x5t#S256 is not a
// non-empty string, is an error: the token's binding cannot be read.
func Parse(raw []byte) (Confirmation, error) {
	var c Confirmation
	if len(raw) == 0 || string(raw) == "null" {
		return c, nil
	}
	if raw[0] != '{' {
		return c, errNotObject
	}
	err := jsonscan.Members(raw, func(m jsonscan.Member) error {
		var dst *string
		switch {
		case m.NameIs(raw, "jkt"):
			dst = &c.JKT
		case m.NameIs(raw, "x5t#S256"):
			dst = &c.X5T
		default:
			c.Other = true
			return nil
		}
		v := raw[m.Value.Start:m.Value.End]
		if len(v) < 3 || v[0] != '"' {
			return errNotString
		}
		if *dst != "" {
			return errDuplicate
		}
		*dst = jsonscan.Unquote(v)
		return nil
	})
	return c, err
}
