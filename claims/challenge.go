package claims

import (
	"strconv"
	"strings"

	"github.com/stepupauth/stepup/internal/grammar"
)

// Challenge is one WWW-Authenticate challenge (RFC 9110 §11.6.1) of the
// Bearer scheme as RFC 6750, RFC 9470 and RFC 9728 define its parameters.
//
// A Challenge is a plain value; String and Err do not modify it and are safe
// for concurrent use.
type Challenge struct {
	Scheme           string // "Bearer" when empty
	Realm            string
	Error            Code
	Description      string
	Scope            []string
	ACRValues        []string
	MaxAge           MaxAge // as Error.MaxAge
	ResourceMetadata string
	// Extra holds any other auth-params, in order (for example Entra ID's
	// authorization_uri and claims). ParseChallenges stores names in lower
	// case, and a token68 credential (RFC 9110 §11.2) as the only Param,
	// with an empty Name.
	Extra []Param
}

// Param is one auth-param of a challenge.
type Param struct {
	Name, Value string
}

// The auth-param names String renders from the typed fields, in this order.
var standardParams = [...]string{"realm", "error", "error_description", "scope", "acr_values", "max_age", "resource_metadata"}

// String renders c as one WWW-Authenticate field value: the scheme, then
// the non-empty parameters in the fixed order realm, error,
// error_description, scope, acr_values, max_age, resource_metadata, then
// Extra, separated by ", ". A challenge without parameters renders as just
// its scheme ("Bearer").
//
// Every value is a quoted-string (RFC 9110 §5.6.4) except max_age, which is
// a token: the seconds of MaxAge (RFC 9470 §3), present when MaxAge asks
// for one. The output never holds a control character (CR, LF,
// HTAB, ...) or anything outside printable ASCII; other characters are
// handled deterministically:
//
//   - error, error_description and each scope token keep only the
//     characters RFC 6750 §3 allows there (%x20-21 / %x23-5B / %x5D-7E;
//     no space inside a scope token); anything else, '"' and '\' included,
//     is dropped.
//   - realm, resource_metadata, acr_values and Extra values keep %x20-7E,
//     with '"' and '\' escaped as quoted-pairs; anything else is dropped. An
//     acr value also loses spaces, since acr_values is space-separated.
//   - A typed parameter whose value is empty after cleaning is omitted,
//     and so are scope and acr values left empty. Extra values are
//     rendered even when empty ("").
//   - The scheme and Extra names keep only token characters (tchar); an
//     Extra name left empty, or equal (case-insensitively) to an earlier
//     Extra name, is dropped, since a name may appear only once per
//     challenge. An Extra with one Param of empty Name and no other
//     parameters renders as a token68 credential.
//   - An Extra name equal (case-insensitively) to a typed parameter moves
//     that parameter to its place among Extra: it is rendered there, in
//     lower case, with the typed field's value when the field is set and
//     with the Param's Value, even empty, otherwise. A provider-specific
//     challenge fixes its own order this way; Entra ID's claims challenge
//     is Extra realm "", authorization_uri, error (the typed Error) and
//     claims, rendered as
//     Bearer realm="", authorization_uri="…", error="insufficient_claims", claims="…".
//     Without such names, the order above is unchanged.
func (c Challenge) String() string {
	var b strings.Builder
	scheme := keepTchar(c.Scheme)
	if scheme == "" {
		scheme = "Bearer"
	}
	b.WriteString(scheme)
	n := 0
	param := func(name string) {
		if n == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		n++
		b.WriteString(name)
		b.WriteByte('=')
	}
	quoted := func(name, v string) {
		param(name)
		b.WriteByte('"')
		b.WriteString(v)
		b.WriteByte('"')
	}
	// placed: the typed parameters Extra moves to its own position.
	var placed uint8
	for _, p := range c.Extra {
		if i := standardIndex(strings.ToLower(keepTchar(p.Name))); i >= 0 {
			placed |= 1 << i
		}
	}
	// typed renders the typed parameter i when it is set, reporting
	// whether it did.
	typed := func(i int) bool {
		switch standardParams[i] {
		case "realm":
			if v := quoteContent(c.Realm, false); v != "" {
				quoted("realm", v)
				return true
			}
		case "error":
			if v := keep6750(string(c.Error), false); v != "" {
				quoted("error", v)
				return true
			}
		case "error_description":
			if v := keep6750(c.Description, false); v != "" {
				quoted("error_description", v)
				return true
			}
		case "scope":
			if v := joinValues(c.Scope, func(s string) string { return keep6750(s, true) }); v != "" {
				quoted("scope", v)
				return true
			}
		case "acr_values":
			if v := joinValues(c.ACRValues, func(s string) string { return quoteContent(s, true) }); v != "" {
				quoted("acr_values", v)
				return true
			}
		case "max_age":
			if secs, ok := c.MaxAge.Seconds(); ok {
				param("max_age")
				b.WriteString(strconv.FormatInt(secs, 10))
				return true
			}
		case "resource_metadata":
			if v := quoteContent(c.ResourceMetadata, false); v != "" {
				quoted("resource_metadata", v)
				return true
			}
		}
		return false
	}
	for i := range standardParams {
		if placed&(1<<i) == 0 {
			typed(i)
		}
	}
	if len(c.Extra) == 1 && c.Extra[0].Name == "" && n == 0 {
		if t := keepToken68(c.Extra[0].Value); t != "" {
			b.WriteByte(' ')
			b.WriteString(t)
		}
		return b.String()
	}
	var seen []string
	for _, p := range c.Extra {
		name := strings.ToLower(keepTchar(p.Name))
		if name == "" || contains(seen, name) {
			continue
		}
		seen = append(seen, name)
		if i := standardIndex(name); i >= 0 {
			if !typed(i) {
				quoted(name, quoteContent(p.Value, false))
			}
			continue
		}
		quoted(keepTchar(p.Name), quoteContent(p.Value, false))
	}
	return b.String()
}

// standardIndex returns the index of lower in standardParams, or -1.
func standardIndex(lower string) int {
	for i, s := range standardParams {
		if s == lower {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// joinValues cleans each value and joins the non-empty ones with spaces.
func joinValues(vals []string, clean func(string) string) string {
	var b strings.Builder
	for _, v := range vals {
		v = clean(v)
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v)
	}
	return b.String()
}

// keep6750 keeps the RFC 6750 §3 characters %x20-21 / %x23-5B / %x5D-7E,
// without the space when noSpace.
func keep6750(s string, noSpace bool) string {
	return filter(s, func(c byte) bool {
		if c == ' ' {
			return !noSpace
		}
		return scopeChar(c)
	})
}

// quoteContent returns the inside of a quoted-string for s: %x20-7E kept
// (without the space when noSpace), '"' and '\' escaped, the rest dropped.
func quoteContent(s string, noSpace bool) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || (noSpace && c == ' ') {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c < 0x20 || c > 0x7e || (noSpace && c == ' '):
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func keepTchar(s string) string { return filter(s, grammar.Tchar) }

// keepToken68 keeps token68 characters, and '=' only as trailing padding.
func keepToken68(s string) string {
	t := filter(s, isToken68Char)
	pad := len(s) - len(strings.TrimRight(s, "="))
	if t == "" {
		return ""
	}
	return t + strings.Repeat("=", pad)
}

func filter(s string, keep func(byte) bool) string {
	for i := 0; i < len(s); i++ {
		if !keep(s[i]) {
			b := make([]byte, 0, len(s))
			b = append(b, s[:i]...)
			for ; i < len(s); i++ {
				if keep(s[i]) {
					b = append(b, s[i])
				}
			}
			return string(b)
		}
	}
	return s
}

// isToken68Char: the characters of token68 before its padding (RFC 9110
// §11.2).
func isToken68Char(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~+/", c) >= 0
}

// Err returns the typed error the challenge stands for, as a client sees
// it: Scheme (empty for Bearer), Code, Description, Scope, ACRValues,
// MaxAge and Extra copied (Extra holds, for example, the claims request of
// an Entra ID insufficient_claims challenge, or the algs of a DPoP one). A
// challenge without an error parameter gives Code "" (no token was
// accepted).
func (c Challenge) Err() *Error {
	scheme := c.Scheme
	if strings.EqualFold(scheme, "Bearer") {
		scheme = ""
	}
	return &Error{
		Scheme:      scheme,
		Code:        c.Error,
		Description: c.Description,
		ACRValues:   cloneStrings(c.ACRValues),
		MaxAge:      c.MaxAge,
		Scope:       cloneStrings(c.Scope),
		Extra:       cloneParams(c.Extra),
	}
}

func cloneParams(p []Param) []Param {
	if len(p) == 0 {
		return nil
	}
	return append([]Param(nil), p...)
}
