package grpcmw

import (
	"context"
	"errors"

	"google.golang.org/grpc/metadata"
)

// Causes wrapped in the invalid_request error; they reach the error hook,
// never the client.
var (
	errTwoAuthorizations = errors.New("grpcmw: more than one authorization metadata value")
	errMalformedBearer   = errors.New("grpcmw: malformed bearer credentials")
)

// authorizationKey is the metadata key of the credentials (RFC 6750 §2.1,
// carried as the HTTP/2 authorization header).
const authorizationKey = "authorization"

// bearerToken returns the bearer token of the incoming call, "" when the
// call carries no bearer credentials (no authorization value, or one of
// another scheme). It fails on two authorization values or a Bearer value
// whose token is not b64token syntax.
func bearerToken(ctx context.Context) (string, error) {
	// ValueFromIncomingContext copies one key's values, not the whole MD.
	vals := metadata.ValueFromIncomingContext(ctx, authorizationKey)
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return parseBearer(vals[0])
	default:
		return "", errTwoAuthorizations
	}
}

// parseBearer parses credentials = "Bearer" 1*SP b64token (RFC 6750 §2.1),
// the scheme case-insensitive (RFC 9110 §11.1), surrounding spaces and tabs
// ignored. Another scheme gives "" and no error: the call has no bearer
// token.
func parseBearer(v string) (string, error) {
	v = trimOWS(v)
	const scheme = "bearer"
	if len(v) < len(scheme) || !equalFoldASCII(v[:len(scheme)], scheme) {
		return "", nil
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", errMalformedBearer // "Bearer" alone
	}
	if rest[0] != ' ' {
		if isTokenChar(rest[0]) {
			return "", nil // another scheme such as "BearerX"
		}
		return "", errMalformedBearer
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	tok := rest[i:]
	if !isB64Token(tok) {
		return "", errMalformedBearer
	}
	return tok, nil
}

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// isB64Token reports whether s is b64token: 1*( ALPHA / DIGIT / "-" / "." /
// "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for i < len(s) && isB64Char(s[i]) {
		i++
	}
	if i == 0 {
		return false
	}
	for i < len(s) && s[i] == '=' {
		i++
	}
	return i == len(s)
}

func isB64Char(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		return true
	}
	return false
}

// isTokenChar reports whether c is a tchar of RFC 9110 §5.6.2.
func isTokenChar(c byte) bool {
	if isB64Char(c) && c != '/' {
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '^', '`', '|':
		return true
	}
	return false
}
