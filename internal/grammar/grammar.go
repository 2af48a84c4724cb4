// Package grammar holds the character classes and names that several
// packages must read identically: the tchar of HTTP auth-schemes and
// parameter names (claims renders and parses challenges with it,
// internal/bearer reads Authorization with it), and gRPC full method names
// (grpcmw's method table, policy files).
package grammar

import "strings"

// Tchar reports whether c is a tchar (RFC 9110 §5.6.2): a character of an
// HTTP token, such as an auth-scheme or an auth-param name.
func Tchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// SplitMethod splits a method-table key, "/package.Service/Method" or the
// service wildcard "/package.Service/*", into "/package.Service" and
// "Method" (or "*"). ok is false unless the package and service are
// dot-separated protobuf identifiers and the method is one, or "*".
func SplitMethod(full string) (service, method string, ok bool) {
	service, method, ok = Split(full)
	if !ok || (method != "*" && !Ident(method)) {
		return "", "", false
	}
	for part := range strings.SplitSeq(service[1:], ".") {
		if !Ident(part) {
			return "", "", false
		}
	}
	return service, method, true
}

// Split splits "/svc/method" at its last slash into "/svc" and "method",
// without checking the names: the lookup of a called method, whose name
// comes from the client, needs no more.
func Split(full string) (service, method string, ok bool) {
	if len(full) < 4 || full[0] != '/' {
		return "", "", false
	}
	i := strings.LastIndexByte(full, '/')
	if i <= 1 || i == len(full)-1 {
		return "", "", false
	}
	return full[:i], full[i+1:], true
}

// Ident reports whether s is a protobuf identifier: a letter or '_', then
// letters, digits and '_'.
func Ident(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
