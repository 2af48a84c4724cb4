// Package bearer parses the Authorization credentials of RFC 6750 §2.1,
// for the HTTP middleware and the gRPC interceptors alike, so that both
// transports take the same token from the same value.
//
// Grammar (RFC 6750 §2.1, RFC 9110 §11.4):
//
//	credentials = "Bearer" 1*SP b64token
//	b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//
// Decisions, one behaviour for both transports:
//
//   - the scheme is matched case-insensitively (RFC 9110 §11.1);
//   - spaces and horizontal tabs around the whole value are ignored: they
//     are not part of a field value (RFC 9110 §5.5), HTTP/1 parsers strip
//     them and gRPC metadata may keep them;
//   - one or more spaces (never a tab) separate the scheme and the token;
//   - credentials of another scheme ("Basic …", "DPoP …", "BearerX …") are
//     not a bearer token: the request has no token (answered 401 without an
//     error code), not a malformed one;
//   - an empty (or blank) value, "Bearer" without a token, and a token
//     outside the b64token grammar are malformed: invalid_request.
package bearer

import "github.com/stepupauth/stepup/internal/grammar"

// Scheme is the authentication scheme that carried a token.
type Scheme uint8

// The schemes a token may come with.
const (
	None   Scheme = iota // no token (no value, or credentials of another scheme)
	Bearer               // "Bearer" (RFC 6750 §2.1)
	DPoP                 // "DPoP" (RFC 9449 §7.1), read only when enabled
)

// Parse returns the token of the Authorization value v under the Bearer
// scheme. It returns ("", true) when v holds credentials of another scheme,
// and ok false when v is malformed (see the package documentation).
func Parse(v string) (token string, ok bool) {
	_, token, ok = Credentials(v, false)
	return token, ok
}

// Credentials returns the scheme and token of the Authorization value v:
// Bearer, or DPoP when dpop is true (its credentials have the same syntax,
// RFC 9449 §7.1). Credentials of any other scheme are None with ok true; a
// malformed value of a read scheme is ok false.
func Credentials(v string, dpop bool) (scheme Scheme, token string, ok bool) {
	v = trimOWS(v)
	if v == "" {
		return None, "", false
	}
	if tok, matched, ok := after(v, "bearer"); matched {
		return Bearer, tok, ok
	}
	if dpop {
		if tok, matched, ok := after(v, "dpop"); matched {
			return DPoP, tok, ok
		}
	}
	return None, "", true // another scheme (or a bare token68 we do not read)
}

// after reads the token after the scheme name (lower case) at the start of
// v. matched is false when v is of another scheme.
func after(v, scheme string) (token string, matched, ok bool) {
	if len(v) < len(scheme) || !equalFold(v[:len(scheme)], scheme) {
		return "", false, true
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", true, false // "Bearer" alone
	}
	if rest[0] != ' ' {
		if grammar.Tchar(rest[0]) {
			return "", false, true // a longer scheme name such as "BearerX"
		}
		return "", true, false // "Bearer\tabc", "Bearer,abc"
	}
	i := 0
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	tok := rest[i:]
	if !IsB64Token(tok) {
		return "", true, false
	}
	return tok, true, true
}

// IsB64Token reports whether s matches the b64token grammar of RFC 6750
// §2.1.
func IsB64Token(s string) bool {
	n := 0
	for n < len(s) && b64Char(s[n]) {
		n++
	}
	if n == 0 {
		return false
	}
	for ; n < len(s); n++ {
		if s[n] != '=' {
			return false
		}
	}
	return true
}

func b64Char(c byte) bool { return b64Chars[c] }

// b64Chars marks the bytes of b64token before its trailing '=' (RFC 6750
// §2.1: ALPHA, DIGIT, "-", ".", "_", "~", "+", "/"): one load per byte of
// a token, which IsB64Token reads whole on every request.
var b64Chars = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

func equalFold(a, lower string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
