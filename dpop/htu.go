package dpop

import (
	"strconv"
	"strings"
)

// maxURILen bounds an htu and a Request.URL, in bytes.
const maxURILen = 4096

// normalizeURI returns the normal form of the absolute http or https URI s
// for comparing htu with the request's URI (RFC 9449 §4.3 step 9): the
// syntax-based normalisation of RFC 3986 §6.2.2 and the scheme-based one of
// §6.2.3.
//
//   - scheme and host lower-cased (§6.2.2.1);
//   - percent-encodings with upper-case hex digits, and those of unreserved
//     characters decoded (§6.2.2.1, §6.2.2.2);
//   - dot segments removed from the path (§6.2.2.3, §5.2.4);
//   - the default port (80 for http, 443 for https) and an empty port
//     removed, an empty path made "/" (§6.2.3).
//
// When strip is set (the request's URI), the query and the fragment are
// dropped: the htu never has them (RFC 9449 §4.2). When strip is not set
// (the htu itself), a query or fragment makes s unacceptable. Userinfo is
// refused (RFC 9110 §4.2.4: an http(s) URI must not carry it). ok is false
// when s is not such a URI.
func normalizeURI(s string, strip bool) (string, bool) {
	if len(s) == 0 || len(s) > maxURILen {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !uriByte[s[i]] {
			return "", false
		}
	}
	sep := strings.Index(s, "://")
	if sep <= 0 {
		return "", false
	}
	scheme := strings.ToLower(s[:sep])
	var defaultPort string
	switch scheme {
	case "http":
		defaultPort = "80"
	case "https":
		defaultPort = "443"
	default:
		return "", false
	}
	rest := s[sep+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, rest := rest[:end], rest[end:]
	if strings.IndexByte(authority, '@') >= 0 {
		return "", false
	}
	host, port := authority, ""
	if strings.HasPrefix(authority, "[") { // IP-literal (RFC 3986 §3.2.2)
		c := strings.IndexByte(authority, ']')
		if c < 0 {
			return "", false
		}
		host, port = authority[:c+1], authority[c+1:]
		if port != "" && port[0] != ':' {
			return "", false
		}
		if strings.ContainsAny(host[1:len(host)-1], "[]") {
			return "", false
		}
	} else if c := strings.LastIndexByte(authority, ':'); c >= 0 {
		host, port = authority[:c], authority[c:]
	}
	if host == "" || strings.ContainsAny(host, "[]:") && host[0] != '[' {
		return "", false
	}
	if port != "" {
		port = port[1:] // drop the colon; an empty port is the default (§6.2.3)
		if port != "" {
			if len(port) > 5 {
				return "", false
			}
			p, err := strconv.Atoi(port)
			if err != nil || p > 65535 || strings.TrimLeft(port, "0123456789") != "" {
				return "", false
			}
			port = strconv.Itoa(p)
			if port == defaultPort {
				port = ""
			}
		}
	}
	hostNorm, ok := normalizePercent(host)
	if !ok {
		return "", false
	}
	hostNorm = lowerOutsidePercent(hostNorm)

	path := rest
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		if !strip {
			return "", false
		}
		path = rest[:q]
	}
	pathNorm, ok := normalizePercent(path)
	if !ok {
		return "", false
	}
	pathNorm = removeDotSegments(pathNorm)
	if pathNorm == "" {
		pathNorm = "/"
	}

	var b strings.Builder
	b.Grow(len(scheme) + 3 + len(hostNorm) + 6 + len(pathNorm))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(hostNorm)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	b.WriteString(pathNorm)
	return b.String(), true
}

// uriByte holds the bytes a URI may contain (RFC 3986 §2): unreserved,
// reserved and '%'.
var uriByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~:/?#[]@!$&'()*+,;=%" {
		t[c] = true
	}
	return t
}()

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// normalizePercent decodes the percent-encodings of unreserved characters
// and upper-cases the hex digits of the others (RFC 3986 §6.2.2.1,
// §6.2.2.2). ok is false for a '%' not followed by two hex digits.
func normalizePercent(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	const upper = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, ok1 := unhex(s[i+1])
		lo, ok2 := unhex(s[i+2])
		if !ok1 || !ok2 {
			return "", false
		}
		if v := hi<<4 | lo; isUnreserved(v) {
			b.WriteByte(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(upper[hi])
			b.WriteByte(upper[lo])
		}
		i += 2
	}
	return b.String(), true
}

// lowerOutsidePercent lower-cases the ASCII letters of s except the hex
// digits of its percent-encodings, which normalizePercent upper-cased.
func lowerOutsidePercent(s string) string {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '%':
			i += 2
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// removeDotSegments is the algorithm of RFC 3986 §5.2.4 for an absolute
// path (or the empty path).
func removeDotSegments(in string) string {
	if !strings.Contains(in, ".") {
		return in
	}
	var out []string // output segments, each with its leading '/'
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..":
			in = ""
		default:
			start := 0
			if in[0] == '/' {
				start = 1
			}
			j := strings.IndexByte(in[start:], '/')
			if j < 0 {
				j = len(in)
			} else {
				j += start
			}
			out = append(out, in[:j])
			in = in[j:]
		}
	}
	return strings.Join(out, "")
}
