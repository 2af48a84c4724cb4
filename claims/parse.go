package claims

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ParseError reports a claim set that cannot be a valid access token
// payload: not a JSON object, a duplicate member, or a registered claim of
// the wrong type. Claim is empty when the problem is not tied to one claim.
type ParseError struct {
	Claim string // the claim at fault, "" for the payload as a whole
	Msg   string // what is wrong, lower case
}

// Error returns "claims: parse: <msg>" or "claims: parse: <claim>: <msg>".
func (e *ParseError) Error() string {
	if e.Claim == "" {
		return "claims: parse: " + e.Msg
	}
	return "claims: parse: " + strconv.Quote(e.Claim) + ": " + e.Msg
}

// NumericDate bounds: years 1 to 9999, the range time.Time formats sanely
// and far beyond any real token.
const (
	minNumericDate = -62135596800
	maxNumericDate = 253402300799
)

// maxJSONDepth is encoding/json's nesting limit (the top-level object counts
// as one level): json.Valid refuses deeper input, and so does Parse.
const maxJSONDepth = 10000

// The claims Parse reads into typed fields, as indexes of the slots that
// record which member carries each one.
const (
	slotIss = iota
	slotSub
	slotJTI
	slotClientID
	slotExp
	slotNbf
	slotIat
	slotAud
	slotACR
	slotAMR
	slotAuthTime
	slotACRS
	slotScope
	slotScp
	slotCnf
	numSlots
)

// Parse builds Claims from a JWT claim set (the decoded payload of a
// verified token). It does not check signatures, expiry or audience: that is
// the verifier's job.
//
// Parse rejects, with a *ParseError, a payload that is not exactly one JSON
// object, has a duplicate top-level member (compared after unescaping, RFC
// 7519 §4 and RFC 8725 §3.1), or carries a registered claim of the wrong
// type: iss, sub, jti and client_id must be strings; exp, nbf and iat
// numbers (NumericDate, integer or fraction, between the years 1 and 9999);
// aud a string or an array of strings.
//
// The optional claims acr, amr, auth_time, acrs, scope, scp and cnf (acr, amr
// and auth_time under the names given by names) are never a reason to reject
// the token: when one has the wrong type (acr not a string; amr, acrs not an
// array of strings; auth_time not a NumericDate; scope not a string; scp not
// a string or an array of strings; cnf not an object) its canonical name is
// appended to Claims.Malformed and its typed field stays empty, so a
// requirement on it fails. JSON null counts as the wrong type everywhere.
//
// Scopes come from scope when the token has a scope member (even a
// malformed one), and from scp only otherwise. When names remaps a claim,
// the standard name is not consulted: it is only reachable through Raw.
//
// The values in Claims.Raw share one private copy of the payload, and the
// string fields share another; neither aliases payload.
func Parse(payload []byte, names Names) (*Claims, error) {
	// One validating pass over the payload finds the top-level members; the
	// rest works on their offsets, decoding only the claims it types.
	var stack [24]member
	members, perr := scanObject(payload, stack[:0])
	if perr != nil {
		return nil, perr
	}
	p := parsed{buf: bytes.Clone(payload), text: string(payload)}
	raw := make(map[string]json.RawMessage, len(members))
	c := &Claims{Raw: raw}

	acrName := nameOr(names.ACR, "acr")
	amrName := nameOr(names.AMR, "amr")
	authTimeName := nameOr(names.AuthTime, "auth_time")
	for k := range members {
		m := &members[k]
		name, ok := p.decode(m.name, m.nameEsc)
		if !ok {
			return nil, &ParseError{Msg: "malformed json"}
		}
		n := len(raw)
		raw[name] = p.buf[m.value.start:m.value.end:m.value.end]
		if len(raw) == n {
			return nil, &ParseError{Claim: name, Msg: "duplicate member"}
		}
		// A claim is typed from the member with its name; names can map
		// two claims to one member.
		if name == acrName {
			p.slots[slotACR] = *m
		}
		if name == amrName {
			p.slots[slotAMR] = *m
		}
		if name == authTimeName {
			p.slots[slotAuthTime] = *m
		}
		switch name {
		case "iss":
			p.slots[slotIss] = *m
		case "sub":
			p.slots[slotSub] = *m
		case "jti":
			p.slots[slotJTI] = *m
		case "client_id":
			p.slots[slotClientID] = *m
		case "exp":
			p.slots[slotExp] = *m
		case "nbf":
			p.slots[slotNbf] = *m
		case "iat":
			p.slots[slotIat] = *m
		case "aud":
			p.slots[slotAud] = *m
		case "acrs":
			p.slots[slotACRS] = *m
		case "scope":
			p.slots[slotScope] = *m
		case "scp":
			p.slots[slotScp] = *m
		case "cnf":
			p.slots[slotCnf] = *m
		}
	}

	var err error
	if c.Issuer, err = p.registeredString(slotIss, "iss"); err != nil {
		return nil, err
	}
	if c.Subject, err = p.registeredString(slotSub, "sub"); err != nil {
		return nil, err
	}
	if c.ID, err = p.registeredString(slotJTI, "jti"); err != nil {
		return nil, err
	}
	if c.ClientID, err = p.registeredString(slotClientID, "client_id"); err != nil {
		return nil, err
	}
	if c.Expiry, err = p.registeredDate(slotExp, "exp"); err != nil {
		return nil, err
	}
	if c.NotBefore, err = p.registeredDate(slotNbf, "nbf"); err != nil {
		return nil, err
	}
	if c.IssuedAt, err = p.registeredDate(slotIat, "iat"); err != nil {
		return nil, err
	}

	// The string-list claims share one backing array, sized by counting
	// their elements first; each field is capped at its own length.
	var audStr, scopeStr string
	audString, scopeArray := false, false
	audN, amrN, acrsN, scopeN := -1, -1, -1, -1 // -1: absent or malformed
	var scopeFields []string                    // non-ASCII scope: strings.Fields
	if m := p.member(slotAud); m != nil {
		if s, ok := p.stringValue(m); ok {
			audStr, audN, audString = s, 1, true
		} else if audN = p.countStrings(m); audN < 0 {
			return nil, &ParseError{Claim: "aud", Msg: "not a string or an array of strings"}
		}
	}
	if m := p.member(slotACR); m != nil {
		if s, ok := p.stringValue(m); ok {
			c.ACR = s
		} else {
			c.Malformed = append(c.Malformed, "acr")
		}
	}
	if m := p.member(slotAMR); m != nil {
		if amrN = p.countStrings(m); amrN < 0 {
			c.Malformed = append(c.Malformed, "amr")
		}
	}
	if m := p.member(slotAuthTime); m != nil {
		if t, msg := numericDate(p.buf[m.value.start:m.value.end]); msg == "" {
			c.AuthTime = t
		} else {
			c.Malformed = append(c.Malformed, "auth_time")
		}
	}
	if m := p.member(slotACRS); m != nil {
		if acrsN = p.countStrings(m); acrsN < 0 {
			c.Malformed = append(c.Malformed, "acrs")
		}
	}
	scopeSlot := slotScope
	if p.member(slotScope) == nil {
		scopeSlot = slotScp
	}
	if m := p.member(scopeSlot); m != nil {
		if s, ok := p.stringValue(m); ok {
			if n := countFields(s); n >= 0 {
				scopeStr, scopeN = s, n
			} else {
				scopeFields = strings.Fields(s)
			}
		} else if scopeSlot == slotScp {
			if scopeN = p.countStrings(m); scopeN < 0 {
				c.Malformed = append(c.Malformed, "scp")
			}
			scopeArray = true
		} else {
			c.Malformed = append(c.Malformed, "scope")
		}
	}
	if m := p.member(slotCnf); m != nil {
		if p.buf[m.value.start] == '{' {
			c.Confirmation = p.buf[m.value.start:m.value.end:m.value.end]
		} else {
			c.Malformed = append(c.Malformed, "cnf")
		}
	}

	total := max(audN, 0) + max(amrN, 0) + max(acrsN, 0) + max(scopeN, 0)
	if audN >= 0 || amrN >= 0 || acrsN >= 0 || scopeN >= 0 {
		// make of zero length allocates nothing but is not nil: a present
		// empty list stays distinct from an absent one.
		all := make([]string, total)
		if audN >= 0 {
			out := all[:audN:audN]
			all = all[audN:]
			if audString {
				out[0] = audStr
			} else {
				p.fillStrings(p.member(slotAud), out)
			}
			c.Audience = out
		}
		if amrN >= 0 {
			c.AMR, all = all[:amrN:amrN], all[amrN:]
			p.fillStrings(p.member(slotAMR), c.AMR)
		}
		if acrsN >= 0 {
			c.ACRS, all = all[:acrsN:acrsN], all[acrsN:]
			p.fillStrings(p.member(slotACRS), c.ACRS)
		}
		if scopeN >= 0 {
			c.Scopes = all[:scopeN:scopeN]
			if scopeArray {
				p.fillStrings(p.member(scopeSlot), c.Scopes)
			} else {
				fillFields(scopeStr, c.Scopes)
			}
		}
	}
	if scopeFields != nil {
		c.Scopes = scopeFields
	}
	return c, nil
}

func nameOr(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

// span is the extent of one JSON token or value in the payload.
type span struct{ start, end int }

// member is one top-level member of the claim set.
type member struct {
	name     span // the name's string token, quotes included
	value    span
	nameEsc  bool // the name has an escape or a non-ASCII byte
	valueEsc bool // the value is a string with an escape or a non-ASCII byte
}

// parsed is a validated claim set: two private copies of the payload (bytes
// for Raw, a string for the decoded names and values) and the members of
// the claims Parse types.
type parsed struct {
	buf   []byte
	text  string
	slots [numSlots]member // the member of each typed claim, zero if absent
}

// member returns the member carrying the claim in slot, nil if absent.
func (p *parsed) member(slot int) *member {
	if m := &p.slots[slot]; m.value.end > 0 {
		return m
	}
	return nil
}

// stringValue decodes the member's value when it is a JSON string.
func (p *parsed) stringValue(m *member) (string, bool) {
	if p.buf[m.value.start] != '"' {
		return "", false
	}
	return p.decode(m.value, m.valueEsc)
}

// decode decodes the (valid) JSON string token at sp. A token without escapes
// and of valid UTF-8 is its own content, a substring of the string copy;
// anything else goes through encoding/json, which also decides how invalid
// UTF-8 and lone surrogates read (U+FFFD).
func (p *parsed) decode(sp span, esc bool) (string, bool) {
	s := p.text[sp.start+1 : sp.end-1]
	if !esc || strings.IndexByte(s, '\\') < 0 && utf8.ValidString(s) {
		return s, true
	}
	var out string
	if err := json.Unmarshal(p.buf[sp.start:sp.end], &out); err != nil {
		return "", false
	}
	return out, true
}

func (p *parsed) registeredString(slot int, name string) (string, error) {
	m := p.member(slot)
	if m == nil {
		return "", nil
	}
	s, ok := p.stringValue(m)
	if !ok {
		return "", &ParseError{Claim: name, Msg: "not a string"}
	}
	return s, nil
}

func (p *parsed) registeredDate(slot int, name string) (time.Time, error) {
	m := p.member(slot)
	if m == nil {
		return time.Time{}, nil
	}
	t, msg := numericDate(p.buf[m.value.start:m.value.end])
	if msg != "" {
		return time.Time{}, &ParseError{Claim: name, Msg: msg}
	}
	return t, nil
}

// countStrings returns the length of the member's value when it is an array
// of strings, -1 otherwise.
func (p *parsed) countStrings(m *member) int {
	b := p.buf[:m.value.end]
	i := m.value.start
	if b[i] != '[' {
		return -1
	}
	n := 0
	i = skipWS(b, i+1)
	if b[i] == ']' {
		return 0
	}
	for {
		if b[i] != '"' {
			return -1
		}
		start := i
		var esc bool
		if i, esc = scanString(b, i); esc {
			if _, ok := p.decode(span{start, i}, esc); !ok {
				return -1 // unreachable for a valid token; fail closed
			}
		}
		n++
		i = skipWS(b, i)
		if b[i] == ']' {
			return n
		}
		i = skipWS(b, i+1) // ','
	}
}

// fillStrings decodes the elements of the member's value, an array of
// exactly len(out) strings that countStrings accepted, into out.
func (p *parsed) fillStrings(m *member, out []string) {
	b := p.buf[:m.value.end]
	i := skipWS(b, m.value.start+1)
	for k := range out {
		end, esc := scanString(b, i)
		out[k], _ = p.decode(span{i, end}, esc)
		i = skipWS(b, end)
		i = skipWS(b, i+1) // ',' or ']'
	}
}

// fieldByte classifies bytes for splitting a scope string the way
// strings.Fields does: 1 for the six ASCII spaces, 2 for a non-ASCII byte
// (where strings.Fields splits on Unicode spaces instead), 0 otherwise.
var fieldByte = func() (t [256]uint8) {
	for _, c := range "\t\n\v\f\r " {
		t[c] = 1
	}
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = 2
	}
	return t
}()

// countFields counts what strings.Fields would return for s, or returns -1
// when s is not plain ASCII.
func countFields(s string) int {
	n := 0
	var prev uint8 = 1
	for i := 0; i < len(s); i++ {
		t := fieldByte[s[i]]
		if t == 2 {
			return -1
		}
		if t == 0 && prev == 1 {
			n++
		}
		prev = t
	}
	return n
}

// fillFields stores the fields of the ASCII s in out, as strings.Fields
// would return them; len(out) is countFields(s).
func fillFields(s string, out []string) {
	k, start := 0, -1
	for i := 0; i < len(s); i++ {
		if fieldByte[s[i]] == 1 {
			if start >= 0 {
				out[k] = s[start:i]
				k++
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out[k] = s[start:]
	}
}

// scanObject validates b as exactly one JSON object, accepting what
// json.Valid accepts, and appends its top-level members to ms.
func scanObject(b []byte, ms []member) ([]member, *ParseError) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		if json.Valid(b) {
			return nil, &ParseError{Msg: "not a json object"}
		}
		return nil, &ParseError{Msg: "malformed json"}
	}
	malformed := func() ([]member, *ParseError) { return nil, &ParseError{Msg: "malformed json"} }
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipWS(b, i+1) != len(b) {
			return malformed()
		}
		return ms, nil
	}
	for {
		var m member
		if i >= len(b) || b[i] != '"' {
			return malformed()
		}
		m.name.start = i
		if i, m.nameEsc = scanString(b, i); i < 0 {
			return malformed()
		}
		m.name.end = i
		if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
			return malformed()
		}
		i = skipWS(b, i+1)
		m.value.start = i
		if i, m.valueEsc = scanValue(b, i); i < 0 {
			return malformed()
		}
		m.value.end = i
		ms = append(ms, m)
		if i = skipWS(b, i); i >= len(b) {
			return malformed()
		}
		switch b[i] {
		case '}':
			if skipWS(b, i+1) != len(b) {
				return malformed()
			}
			return ms, nil
		case ',':
			i = skipWS(b, i+1)
		default:
			return malformed()
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString validates the JSON string token starting with the '"' at b[i]
// and returns the index after it (-1 if invalid) and whether it holds an
// escape or a non-ASCII byte. Like json.Valid, it accepts any byte >= 0x20
// besides the quote and the backslash, invalid UTF-8 included.
func scanString(b []byte, i int) (int, bool) {
	esc := false
	for i++; i < len(b); {
		c := b[i]
		if plainByte[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			return i + 1, esc
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return -1, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, false
				}
				i += 6
			default:
				return -1, false
			}
		case c < 0x20:
			return -1, false
		default:
			esc = true
			i++
		}
	}
	return -1, false
}

// plainByte holds the bytes that stand for themselves in a JSON string
// token: printable ASCII other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber validates the JSON number starting at b[i] and returns the
// index after it, -1 if invalid.
func scanNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	return i
}

// scanLiteral validates the literal lit at b[i].
func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanValue validates the JSON value starting at b[i], a member of the
// top-level object, and returns the index after it (-1 if invalid) and, for
// a string, whether it holds an escape or a non-ASCII byte. Nested arrays
// and objects are walked without recursion, their kinds kept in a bit
// stack, down to encoding/json's depth limit.
func scanValue(b []byte, i int) (int, bool) {
	var small [4]uint64
	open := small[:] // bit d set: the container at nesting d is an object
	d := 0           // containers open below the top-level object
	for {
		if i >= len(b) {
			return -1, false
		}
		switch c := b[i]; c {
		case '{', '[':
			if d+2 > maxJSONDepth { // the top-level object, d open, this one
				return -1, false
			}
			if d>>6 >= len(open) {
				open = append(open, 0)
			}
			if c == '{' {
				open[d>>6] |= 1 << (d & 63)
			} else {
				open[d>>6] &^= 1 << (d & 63)
			}
			d++
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' or ']'
				d--
				i++
				break
			}
			if c == '{' {
				if i = scanKey(b, i); i < 0 {
					return -1, false
				}
			}
			continue
		case '"':
			var esc bool
			if i, esc = scanString(b, i); d == 0 {
				return i, esc
			}
		case 't':
			i = scanLiteral(b, i, "true")
		case 'f':
			i = scanLiteral(b, i, "false")
		case 'n':
			i = scanLiteral(b, i, "null")
		default:
			i = scanNumber(b, i)
		}
		// After a value: close containers until the next value or the end.
		for {
			if i < 0 {
				return -1, false
			}
			if d == 0 {
				return i, false
			}
			if i = skipWS(b, i); i >= len(b) {
				return -1, false
			}
			obj := open[(d-1)>>6]&(1<<((d-1)&63)) != 0
			if b[i] == ',' {
				i = skipWS(b, i+1)
				if obj {
					i = scanKey(b, i)
				}
				break
			}
			if obj && b[i] == '}' || !obj && b[i] == ']' {
				d--
				i++
				continue
			}
			return -1, false
		}
		if i < 0 {
			return -1, false
		}
	}
}

// scanKey validates a member name and its colon at b[i] and returns the
// index of the value, -1 if invalid.
func scanKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i, _ = scanString(b, i); i < 0 {
		return -1
	}
	if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipWS(b, i+1)
}

// numericDate decodes a NumericDate (RFC 7519 §2): a JSON number of seconds
// since the epoch, integer or not, kept to the nanosecond when written
// without an exponent. v is a valid JSON value; the message is "" on
// success, else what is wrong.
func numericDate(v []byte) (time.Time, string) {
	if len(v) == 0 || (v[0] != '-' && !isDigit(v[0])) {
		return time.Time{}, "not a number"
	}
	if bytes.IndexByte(v, 'e') >= 0 || bytes.IndexByte(v, 'E') >= 0 {
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || f < minNumericDate || f > maxNumericDate {
			return time.Time{}, "numeric date out of range"
		}
		sec := math.Floor(f)
		nsec := math.Round((f - sec) * 1e9)
		return time.Unix(int64(sec), int64(nsec)).UTC(), ""
	}
	// A valid JSON number without exponent: -?digits(.digits)?, no leading
	// zeros, so more than 12 integer digits is beyond either bound.
	i := 0
	neg := v[0] == '-'
	if neg {
		i++
	}
	var sec int64
	for start := i; i < len(v) && isDigit(v[i]); i++ {
		if i-start == 12 {
			return time.Time{}, "numeric date out of range"
		}
		sec = sec*10 + int64(v[i]-'0')
	}
	if neg {
		sec = -sec
	}
	if sec < minNumericDate || sec > maxNumericDate {
		return time.Time{}, "numeric date out of range"
	}
	var nsec int64
	if i < len(v) && v[i] == '.' {
		// Digits below a nanosecond are truncated.
		digits := 0
		for i++; i < len(v) && digits < 9; i, digits = i+1, digits+1 {
			nsec = nsec*10 + int64(v[i]-'0')
		}
		for ; digits < 9; digits++ {
			nsec *= 10
		}
		if neg {
			nsec = -nsec // -1.5 is one and a half seconds before the epoch
		}
	}
	return time.Unix(sec, nsec).UTC(), ""
}
