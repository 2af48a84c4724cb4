package grammar

// ScopeToken reports whether s is an RFC 6749 §3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ). Requirements (claims), the RFC 9728
// document (httpmw) and the client that follows scope challenges
// (stepupclient) check scopes with it.
func ScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ACRValue reports whether s can travel in a space-separated acr_values
// (RFC 9470 §3, OpenID Connect Core §3.1.2.1): non-empty, printable ASCII,
// no space.
func ACRValue(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
