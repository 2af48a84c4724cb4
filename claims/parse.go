package claims

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/stepupauth/stepup/internal/jsonscan"
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
// object (strictly: RFC 8259, UTF-8 only and no lone surrogate escape at any
// depth, RFC 8259 §8.1 and §8.2, so that two distinct byte strings never
// decode to one identity), has a duplicate top-level member (compared after unescaping, RFC
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
// the standard name is not consulted: it is only reachable through
// Claims.Claim.
//
// The values Claim returns, Confirmation and the string fields share one
// private copy of the payload, which does not alias payload: a Claims keeps
// the payload once, and modifying a value Claim returns (which a read-only
// Claims never does) would change the strings decoded from it.
func Parse(payload []byte, names Names) (*Claims, error) {
	// One validating pass over the payload finds the top-level members; the
	// rest works on their offsets, decoding only the claims it types.
	var stack [24]member
	members := stack[:0]
	if err := jsonscan.Members(payload, func(m member) error {
		members = append(members, m)
		return nil
	}); err != nil {
		return nil, &ParseError{Msg: err.Error()}
	}
	if len(payload) > math.MaxUint32 {
		return nil, &ParseError{Msg: "claim set larger than 4 GiB"}
	}
	// One allocation holds the private copy of the payload and, after it,
	// the member index (see Claims.index): bytes only, nothing for the
	// garbage collector to trace.
	whole := make([]byte, len(payload)+indexEntry*len(members))
	buf := whole[:len(payload):len(payload)]
	copy(buf, payload)
	// The string view of the same bytes: nothing writes to buf once
	// Parse returns, so its strings stay immutable (see the doc above).
	p := parsed{buf: buf, text: unsafe.String(unsafe.SliceData(buf), len(buf))}
	c := &Claims{payload: buf, index: whole[len(payload):]}
	if err := p.unique(members); err != nil {
		return nil, err
	}

	acrName := nameOr(names.ACR, "acr")
	amrName := nameOr(names.AMR, "amr")
	authTimeName := nameOr(names.AuthTime, "auth_time")
	for k := range members {
		m := &members[k]
		e := c.index[k*indexEntry : (k+1)*indexEntry]
		binary.LittleEndian.PutUint32(e, uint32(m.Name.Start))
		binary.LittleEndian.PutUint32(e[4:], uint32(m.Name.End))
		binary.LittleEndian.PutUint32(e[8:], uint32(m.Value.Start))
		binary.LittleEndian.PutUint32(e[12:], uint32(m.Value.End))
		name := p.decode(m.Name, m.NameEsc)
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
		if t, msg := numericDate(p.buf[m.Value.Start:m.Value.End]); msg == "" {
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
		if p.buf[m.Value.Start] == '{' {
			c.Confirmation = p.buf[m.Value.Start:m.Value.End:m.Value.End]
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

// member is one top-level member of the claim set.
type member = jsonscan.Member

// parsed is a validated claim set: one private copy of the payload, seen
// as bytes (for Claim's values) and as a string (for the decoded names and values),
// and the members of the claims Parse types.
type parsed struct {
	buf   []byte
	text  string
	slots [numSlots]member // the member of each typed claim, zero if absent
}

// uniqueBelow is the member count up to which unique compares names pair
// by pair instead of building a set.
const uniqueBelow = 24

// unique refuses a claim set that names a member twice (RFC 7519 §4:
// "MUST either reject JWTs with duplicate Claim Names or ..."). Names are
// compared after unescaping. Up to uniqueBelow members it compares pairs
// and allocates only for escaped names; above, a set.
func (p *parsed) unique(members []member) error {
	if len(members) <= uniqueBelow {
		// A name's length, first and last byte in one word: most pairs
		// differ there, so few comparisons read the names.
		var names [uniqueBelow]string
		var keys [uniqueBelow]uint32
		for k := range members {
			name := p.decode(members[k].Name, members[k].NameEsc)
			key := uint32(len(name)) << 16
			if name != "" {
				key |= uint32(name[0])<<8 | uint32(name[len(name)-1])
			}
			for i := range k {
				if keys[i] == key && names[i] == name {
					return &ParseError{Claim: name, Msg: "duplicate member"}
				}
			}
			names[k], keys[k] = name, key
		}
		return nil
	}
	seen := make(map[string]struct{}, len(members))
	for k := range members {
		name := p.decode(members[k].Name, members[k].NameEsc)
		if _, dup := seen[name]; dup {
			return &ParseError{Claim: name, Msg: "duplicate member"}
		}
		seen[name] = struct{}{}
	}
	return nil
}

// member returns the member carrying the claim in slot, nil if absent.
func (p *parsed) member(slot int) *member {
	if m := &p.slots[slot]; m.Value.End > 0 {
		return m
	}
	return nil
}

// stringValue decodes the member's value when it is a JSON string.
func (p *parsed) stringValue(m *member) (string, bool) {
	if p.buf[m.Value.Start] != '"' {
		return "", false
	}
	return p.decode(m.Value, m.ValueEsc), true
}

// decode decodes the string token at sp, which jsonscan accepted (so it is
// valid UTF-8 with no lone surrogate). A token without escapes is its own
// content, a substring of the string copy.
func (p *parsed) decode(sp jsonscan.Span, esc bool) string {
	if !esc {
		return p.text[sp.Start+1 : sp.End-1]
	}
	return jsonscan.Unquote(p.buf[sp.Start:sp.End])
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
	t, msg := numericDate(p.buf[m.Value.Start:m.Value.End])
	if msg != "" {
		return time.Time{}, &ParseError{Claim: name, Msg: msg}
	}
	return t, nil
}

// countStrings returns the length of the member's value when it is an array
// of strings, -1 otherwise.
func (p *parsed) countStrings(m *member) int {
	b := p.buf[:m.Value.End]
	i := m.Value.Start
	if b[i] != '[' {
		return -1
	}
	n := 0
	i = jsonscan.SkipWS(b, i+1)
	if b[i] == ']' {
		return 0
	}
	for {
		if b[i] != '"' {
			return -1
		}
		i, _ = jsonscan.ScanString(b, i)
		n++
		i = jsonscan.SkipWS(b, i)
		if b[i] == ']' {
			return n
		}
		i = jsonscan.SkipWS(b, i+1) // ','
	}
}

// fillStrings decodes the elements of the member's value, an array of
// exactly len(out) strings that countStrings accepted, into out.
func (p *parsed) fillStrings(m *member, out []string) {
	b := p.buf[:m.Value.End]
	i := jsonscan.SkipWS(b, m.Value.Start+1)
	for k := range out {
		end, esc := jsonscan.ScanString(b, i)
		out[k] = p.decode(jsonscan.Span{Start: i, End: end}, esc)
		i = jsonscan.SkipWS(b, end)
		i = jsonscan.SkipWS(b, i+1) // ',' or ']'
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

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
