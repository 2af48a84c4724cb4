package claims

import (
	"strconv"
	"strings"
	"time"

	"github.com/stepupauth/stepup/internal/grammar"
)

// SyntaxError reports a WWW-Authenticate field value that ParseChallenges
// cannot read. Value is the index of the field value among the arguments and
// Offset the byte offset in it where parsing stopped.
type SyntaxError struct {
	Value  int
	Offset int
	Msg    string
}

// Error returns "claims: www-authenticate value <n> offset <m>: <msg>".
func (e *SyntaxError) Error() string {
	return "claims: www-authenticate value " + strconv.Itoa(e.Value) + " offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// maxMaxAge is the largest max_age, in seconds, a time.Duration holds.
const maxMaxAge = int64(1<<63-1) / int64(time.Second)

// ParseChallenges reads the challenges of one or more WWW-Authenticate
// field values (RFC 9110 §11.6.1), in order: each value is a comma-separated
// list of challenges, and a comma either ends a challenge or separates two
// of its parameters (a parameter is "name=", a new challenge is a scheme
// followed by a space and something other than "="). Empty list elements
// and optional whitespace are ignored; HTAB is accepted where RFC 9110 asks
// for SP after the scheme.
//
// Scheme and parameter names are case-insensitive: the schemes Bearer and
// DPoP are returned in that spelling, others as written; Extra names in
// lower case. Values may be tokens or quoted-strings with quoted-pairs, so
// both max_age=5 and max_age="5" are read. realm, error,
// error_description, scope, acr_values (split on spaces), max_age (a
// non-negative integer of seconds) and resource_metadata fill the typed fields, any other
// parameter goes to Extra, and a token68 credential goes to Extra as the
// only Param, with an empty Name.
//
// A syntax error, a parameter repeated within one challenge or a bad
// max_age is reported as a *SyntaxError and no challenge is returned.
//
// The input is bounded, since a client parses whatever a server sends: the
// values together may hold at most 65536 bytes, each value after the first
// counting one byte more for the comma that would join it to the one
// before (RFC 9110 §5.3); a challenge may hold at most 64 parameters, and
// all the values together at most 64 challenges. Beyond a limit ParseChallenges returns a
// *SyntaxError, whose Msg is one of "longer than 65536 bytes", "more than
// 64 parameters in a challenge" and "more than 64 challenges"; the length
// is checked before anything is parsed. Within the limits the cost is
// linear in the length of the input.
func ParseChallenges(values ...string) ([]Challenge, error) {
	total := 0
	for i, v := range values {
		if i > 0 {
			total++ // the comma joining v to the value before
		}
		if len(v) > maxChallengesLength-total {
			return nil, &SyntaxError{Value: i, Offset: max(maxChallengesLength-total, 0), Msg: msgTooLong}
		}
		total += len(v)
	}
	var out []Challenge
	for i, v := range values {
		p := challengeParser{s: v, idx: i}
		var err error
		out, err = p.parse(out)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// The limits of ParseChallenges, stated in its doc.
const (
	// maxChallengesLength is the most bytes ParseChallenges reads, all
	// values together.
	maxChallengesLength = 64 << 10
	// maxChallengeParams is the most auth-params of one challenge.
	maxChallengeParams = 64
	// maxChallenges is the most challenges, all values together.
	maxChallenges = 64
)

// The messages of the limits, part of the API (see ParseChallenges).
const (
	msgTooLong           = "longer than 65536 bytes"
	msgTooManyParams     = "more than 64 parameters in a challenge"
	msgTooManyChallenges = "more than 64 challenges"
)

type challengeParser struct {
	s   string
	pos int
	idx int
}

func (p *challengeParser) fail(msg string) error {
	return &SyntaxError{Value: p.idx, Offset: p.pos, Msg: msg}
}

func (p *challengeParser) skipOWS() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
		p.pos++
	}
}

// skipSeparators skips OWS and empty list elements (RFC 9110 §5.6.1.2).
func (p *challengeParser) skipSeparators() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == ',') {
		p.pos++
	}
}

func (p *challengeParser) token() string {
	start := p.pos
	for p.pos < len(p.s) && grammar.Tchar(p.s[p.pos]) {
		p.pos++
	}
	return p.s[start:p.pos]
}

// atParam reports whether an auth-param (token BWS "=") starts at pos.
func (p *challengeParser) atParam() bool {
	i := p.pos
	for i < len(p.s) && grammar.Tchar(p.s[i]) {
		i++
	}
	if i == p.pos {
		return false
	}
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '\t') {
		i++
	}
	if i >= len(p.s) || p.s[i] != '=' {
		return false
	}
	// "abc=" or "abc==" followed by the end or a comma is token68, not a
	// parameter: a parameter value cannot be empty or start with '='.
	i++
	for i < len(p.s) && (p.s[i] == ' ' || p.s[i] == '\t') {
		i++
	}
	return i < len(p.s) && (p.s[i] == '"' || grammar.Tchar(p.s[i]))
}

// atListEnd reports whether pos is at the end of the value or at a comma,
// after optional whitespace, and moves past the whitespace.
func (p *challengeParser) atListEnd() bool {
	p.skipOWS()
	return p.pos == len(p.s) || p.s[p.pos] == ','
}

func (p *challengeParser) parse(out []Challenge) ([]Challenge, error) {
	for {
		p.skipSeparators()
		if p.pos == len(p.s) {
			return out, nil
		}
		if len(out) == maxChallenges {
			return nil, p.fail(msgTooManyChallenges)
		}
		scheme := p.token()
		if scheme == "" {
			return nil, p.fail("expected an auth-scheme")
		}
		c := Challenge{Scheme: canonicalScheme(scheme)}
		if p.pos < len(p.s) && p.s[p.pos] != ' ' && p.s[p.pos] != ',' && p.s[p.pos] != '\t' {
			return nil, p.fail("expected a space after the auth-scheme")
		}
		if !p.atListEnd() {
			if p.atParam() {
				if err := p.params(&c); err != nil {
					return nil, err
				}
			} else {
				t := p.token68()
				if t == "" {
					return nil, p.fail("expected token68 or auth-param")
				}
				c.Extra = []Param{{Value: t}}
				if !p.atListEnd() {
					return nil, p.fail("unexpected character after token68")
				}
			}
		}
		out = append(out, c)
	}
}

func (p *challengeParser) token68() string {
	start := p.pos
	for p.pos < len(p.s) && isToken68Char(p.s[p.pos]) {
		p.pos++
	}
	if p.pos == start {
		return ""
	}
	for p.pos < len(p.s) && p.s[p.pos] == '=' {
		p.pos++
	}
	return p.s[start:p.pos]
}

// params reads the auth-params of one challenge, up to the end of the value
// or the comma before the next challenge.
//
// A repeated name is found in time linear in the input: the typed
// parameters are bits of a mask, and the names in c.Extra (unique, in lower
// case) are searched in place while there are few of them, in a map once
// there are more than smallExtra.
func (p *challengeParser) params(c *Challenge) error {
	var typed uint8               // standardParams seen, by index
	var extra map[string]struct{} // c.Extra's names, once it is large
	for n := 0; ; n++ {
		nameStart := p.pos
		if n == maxChallengeParams {
			return p.fail(msgTooManyParams)
		}
		name := strings.ToLower(p.token())
		p.skipOWS()
		p.pos++ // '=', checked by atParam
		p.skipOWS()
		var val string
		if p.s[p.pos] == '"' {
			v, err := p.quoted()
			if err != nil {
				return err
			}
			val = v
		} else {
			val = p.token()
		}
		repeated := false
		if i := standardIndex(name); i >= 0 {
			repeated = typed&(1<<i) != 0
			typed |= 1 << i
		} else if extra != nil {
			_, repeated = extra[name]
			extra[name] = struct{}{}
		} else {
			for _, e := range c.Extra {
				if e.Name == name {
					repeated = true
					break
				}
			}
			if !repeated && len(c.Extra) == smallExtra {
				extra = make(map[string]struct{}, maxChallengeParams)
				for _, e := range c.Extra {
					extra[e.Name] = struct{}{}
				}
				extra[name] = struct{}{}
			}
		}
		if repeated {
			p.pos = nameStart
			return p.fail("repeated parameter " + strconv.Quote(name))
		}
		if err := p.set(c, name, val, nameStart); err != nil {
			return err
		}
		if !p.atListEnd() {
			return p.fail("expected a comma after the parameter")
		}
		// After commas: another parameter of this challenge, or the next
		// challenge, or the end.
		for p.pos < len(p.s) && (p.s[p.pos] == ',' || p.s[p.pos] == ' ' || p.s[p.pos] == '\t') {
			p.pos++
		}
		if p.pos == len(p.s) || !p.atParam() {
			return nil
		}
	}
}

func (p *challengeParser) quoted() (string, error) {
	p.pos++ // opening DQUOTE
	start := p.pos
	var b []byte // only when there is a quoted-pair
	for p.pos < len(p.s) {
		ch := p.s[p.pos]
		switch {
		case ch == '"':
			p.pos++
			if b == nil {
				return p.s[start : p.pos-1], nil
			}
			return string(b), nil
		case ch == '\\':
			if p.pos+1 >= len(p.s) || !quotedPairChar(p.s[p.pos+1]) {
				return "", p.fail("bad quoted-pair")
			}
			if b == nil {
				b = append([]byte(nil), p.s[start:p.pos]...)
			}
			b = append(b, p.s[p.pos+1])
			p.pos += 2
		case ch == '\t' || (ch >= 0x20 && ch != 0x7f):
			if b != nil {
				b = append(b, ch)
			}
			p.pos++
		default:
			return "", p.fail("control character in quoted-string")
		}
	}
	return "", p.fail("unterminated quoted-string")
}

// quotedPairChar: HTAB / SP / VCHAR / obs-text.
func quotedPairChar(c byte) bool {
	return c == '\t' || (c >= 0x20 && c != 0x7f)
}

func (p *challengeParser) set(c *Challenge, name, val string, at int) error {
	switch name {
	case "realm":
		c.Realm = val
	case "error":
		c.Error = Code(val)
	case "error_description":
		c.Description = val
	case "scope":
		c.Scope = splitSpaces(val)
	case "acr_values":
		c.ACRValues = splitSpaces(val)
	case "max_age":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil || n < 0 || n > maxMaxAge || val[0] < '0' || val[0] > '9' {
			p.pos = at
			return p.fail("max_age is not a non-negative integer of seconds")
		}
		c.MaxAge = MaxAge{secs: n, set: true}
	case "resource_metadata":
		c.ResourceMetadata = val
	default:
		c.Extra = append(c.Extra, Param{Name: name, Value: val})
	}
	return nil
}

// smallExtra is how many Extra names params searches in place before it
// keeps them in a map.
const smallExtra = 8

// splitSpaces splits a space-separated list, ignoring repeated spaces; nil
// for an empty list. It allocates only the list, sized to the fields.
func splitSpaces(s string) []string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && (i == 0 || s[i-1] == ' ') {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for s != "" {
		s = strings.TrimLeft(s, " ")
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		if end > 0 {
			out = append(out, s[:end])
		}
		s = s[end:]
	}
	return out
}

func canonicalScheme(s string) string {
	switch {
	case strings.EqualFold(s, "Bearer"):
		return "Bearer"
	case strings.EqualFold(s, "DPoP"):
		return "DPoP"
	}
	return s
}
