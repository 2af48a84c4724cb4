// Package loopback decides which hosts may be reached over plain http: a
// loopback IP literal only (127.0.0.0/8, ::1). The name "localhost" is not
// trusted, since name resolution can send it elsewhere (RFC 8252 §8.3), and
// neither is any name that merely starts with "127.".
package loopback

import "net"

// Is reports whether host (without port, IPv6 without brackets) is a
// loopback IP literal.
func Is(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
