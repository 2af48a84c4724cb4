// Package jsonscan is the one JSON reader behind the JWS protected header
// (package verify) and the JWT claim set (package claims). It validates
// strictly and allocates nothing while doing so.
//
// Accepted is exactly what RFC 8259 calls a JSON text, and no more:
//
//   - the grammar of RFC 8259 §2-§7 (what encoding/json's Valid accepts);
//   - strings are UTF-8 (RFC 8259 §8.1): a byte sequence that is not valid
//     UTF-8, inside a member name or a value at any depth, is malformed
//     (encoding/json silently reads it as U+FFFD, so that "alice\xff" and
//     "alice\xfe" would decode to the same string);
//   - a \u escape of a surrogate must be a high surrogate followed by a
//     low one (RFC 8259 §8.2): a lone surrogate is malformed for the same
//     reason;
//   - nesting at most MaxDepth levels, the top-level value counting as one
//     (encoding/json's own limit).
//
// Duplicate member names are the caller's business: the claim set refuses
// them at the top level (RFC 7519 §4), the header everywhere it reads.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting accepted, the outermost value counting
// as one level.
const MaxDepth = 10000

// Errors of Members. Their text is stable.
var (
	// ErrSyntax: the input is not one strict JSON text (see the package
	// documentation).
	ErrSyntax = errors.New("malformed json")
	// ErrNotObject: the input is a strict JSON text, but not an object.
	ErrNotObject = errors.New("not a json object")
)

// Span is the extent b[Start:End] of one JSON token or value.
type Span struct{ Start, End int }

// Member is one top-level member of an object: the name's string token
// (quotes included) and the value's extent.
type Member struct {
	Name, Value Span
	// NameEsc: the name holds a backslash escape, so it is not its own
	// content (see Unquote).
	NameEsc bool
	// ValueEsc: the value is a string holding a backslash escape.
	ValueEsc bool
}

// NameIs reports whether the member's name, in the input b it was read
// from, is exactly want (after unescaping), without allocating.
func (m Member) NameIs(b []byte, want string) bool {
	if !m.NameEsc {
		return string(b[m.Name.Start+1:m.Name.End-1]) == want
	}
	return Equal(b[m.Name.Start:m.Name.End], want)
}

// Members validates b as exactly one JSON object (optional white space
// around it) and calls fn with each of its top-level members, in order, as
// it meets them. When fn returns an error, Members stops and returns it;
// otherwise it returns nil, ErrSyntax or ErrNotObject. fn may be called for
// members of an input that later turns out malformed.
func Members(b []byte, fn func(Member) error) error {
	var st stack
	return walk(b, fn, &st)
}

// TopLevel calls fn with each top-level member of the object b, in order,
// as Members does, but validates only what it reads: the top-level
// structure, and every string token at any depth (UTF-8, escapes and
// surrogates, as Members). Inside nested arrays and objects it only
// balances brackets (at most MaxDepth deep) and skips other bytes; numbers
// and literals are not checked. It is for reading a few members of an
// input that is parsed strictly later, when that input is valid: on valid
// JSON it reports exactly the members Members reports, and on invalid JSON
// it may report members or return ErrSyntax. It never allocates.
func TopLevel(b []byte, fn func(Member) error) error { return walk(b, fn, nil) }

// walk is Members with st, the bit stack of strict validation, and
// TopLevel without it.
func walk(b []byte, fn func(Member) error, st *stack) error {
	strict := st != nil
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		if strict {
			if end, _ := scanValue(b, i, 0, st); end >= 0 && skipWS(b, end) == len(b) {
				return ErrNotObject
			}
		}
		return ErrSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		if strict && skipWS(b, i+1) != len(b) {
			return ErrSyntax
		}
		return nil
	}
	for {
		var m Member
		if i >= len(b) || b[i] != '"' {
			return ErrSyntax
		}
		m.Name.Start = i
		if i, m.NameEsc = scanString(b, i); i < 0 {
			return ErrSyntax
		}
		m.Name.End = i
		if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
			return ErrSyntax
		}
		i = skipWS(b, i+1)
		m.Value.Start = i
		switch {
		case i >= len(b):
			return ErrSyntax
		case b[i] == '"':
			i, m.ValueEsc = scanString(b, i)
		case strict:
			i, _ = scanValue(b, i, 1, st)
		case b[i] == '{' || b[i] == '[':
			i = skipContainer(b, i)
		default:
			i = skipScalar(b, i)
		}
		if i < 0 {
			return ErrSyntax
		}
		m.Value.End = i
		if err := fn(m); err != nil {
			return err
		}
		if i = skipWS(b, i); i >= len(b) {
			return ErrSyntax
		}
		switch b[i] {
		case '}':
			if strict && skipWS(b, i+1) != len(b) {
				return ErrSyntax
			}
			return nil
		case ',':
			i = skipWS(b, i+1)
		default:
			return ErrSyntax
		}
	}
}

// skipContainer returns the index after the array or object opening at
// b[i], balancing brackets and scanning string tokens; -1 when they do not
// balance, nest deeper than MaxDepth, or a string is malformed.
func skipContainer(b []byte, i int) int {
	d := 0
	for i < len(b) {
		switch b[i] {
		case '"':
			// Short plain strings inline; anything else in scanContent.
			j := i + 1
			for j < len(b) && plainByte[b[j]] {
				j++
			}
			if j < len(b) && b[j] == '"' {
				i = j + 1
			} else if i, _ = scanContent(b, j, false); i < 0 {
				return -1
			}
			continue
		case '{', '[':
			if d++; d+1 > MaxDepth { // the enclosing object counts
				return -1
			}
		case '}', ']':
			if d--; d == 0 {
				return i + 1
			}
		}
		i++
	}
	return -1
}

// skipScalar returns the index after the number or literal at b[i]: the
// next comma, closing bracket or white space. -1 when it is empty.
func skipScalar(b []byte, i int) int {
	start := i
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if i == start {
				return -1
			}
			return i
		}
		i++
	}
	return i
}

// Unquote returns the content of a string token that Members (or
// ScanString) accepted, quotes included in tok. Content without escapes
// is copied once; escapes are decoded.
func Unquote(tok []byte) string {
	s := tok[1 : len(tok)-1]
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); {
		c, r, n := unescapeAt(s, i)
		if n == 1 && r < 0 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(r)
		}
		i += n
	}
	return sb.String()
}

// AppendUnquote appends the content of an accepted string token to dst,
// as Unquote returns it.
func AppendUnquote(dst, tok []byte) []byte {
	s := tok[1 : len(tok)-1]
	for i := 0; i < len(s); {
		c, r, n := unescapeAt(s, i)
		if n == 1 && r < 0 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, r)
		}
		i += n
	}
	return dst
}

// Equal reports whether the content of the accepted string token tok is
// exactly want, without allocating for any want of up to 64 bytes.
func Equal(tok []byte, want string) bool {
	s := tok[1 : len(tok)-1]
	// An escape is never shorter than the bytes it stands for, so content
	// shorter than want cannot be want: most names of a claim set are
	// told apart here, by length alone.
	if len(s) < len(want) {
		return false
	}
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s) == want
	}
	// Every escape stands for at least one byte, so the content is at
	// least len(s)/6 bytes long.
	if len(s) > 6*len(want) {
		return false
	}
	if len(want) > 64 {
		return Unquote(tok) == want
	}
	var buf [6 * 64]byte
	out := buf[:0]
	for i := 0; i < len(s); {
		c, r, n := unescapeAt(s, i)
		if n == 1 && r < 0 {
			out = append(out, c)
		} else {
			out = utf8.AppendRune(out, r)
		}
		if len(out) > len(want) {
			return false
		}
		i += n
	}
	return string(out) == want
}

// unescapeAt decodes the content s of an accepted string token at s[i]:
// a plain byte c (r < 0, n 1) or the rune r of an escape n bytes long.
func unescapeAt(s []byte, i int) (c byte, r rune, n int) {
	if s[i] != '\\' {
		return s[i], -1, 1
	}
	switch s[i+1] {
	case 'b':
		return 0, '\b', 2
	case 'f':
		return 0, '\f', 2
	case 'n':
		return 0, '\n', 2
	case 'r':
		return 0, '\r', 2
	case 't':
		return 0, '\t', 2
	case 'u':
		r = hex4(s[i+2:])
		if utf16.IsSurrogate(r) { // a high surrogate: the scan saw its pair
			return 0, utf16.DecodeRune(r, hex4(s[i+8:])), 12
		}
		return 0, r, 6
	default: // '"', '\\', '/'
		return 0, rune(s[i+1]), 2
	}
}

// ScanString validates the string token starting with the '"' at b[i] and
// returns the index after it (-1 if malformed) and whether it holds a
// backslash escape.
func ScanString(b []byte, i int) (int, bool) { return scanString(b, i) }

func scanString(b []byte, i int) (int, bool) {
	// A short plain string (a member name, most values) ends within a few
	// bytes: check them one by one before the eight-byte steps.
	j := i + 1
	for end := min(len(b), j+16); j < end && plainByte[b[j]]; j++ {
	}
	if j < len(b) && b[j] == '"' {
		return j + 1, false
	}
	return scanContent(b, j, false)
}

// scanContent goes on with a string token at b[i], inside its content;
// esc says whether an escape came before i.
func scanContent(b []byte, i int, esc bool) (int, bool) {
	for i < len(b) {
		// Eight plain bytes at a time: none below 0x20, none non-ASCII,
		// no quote, no backslash.
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if (w|(w-lo20)|hasZero(w^quotes)|hasZero(w^backslashes))&highBits != 0 {
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
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
				if !isHex4(b, i+2) {
					return -1, false
				}
				r := hex4(b[i+2:])
				i += 6
				if !utf16.IsSurrogate(r) {
					break
				}
				// RFC 8259 §8.2: only a high surrogate followed by a low
				// one stands for a character.
				if r >= 0xDC00 || i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' || !isHex4(b, i+2) {
					return -1, false
				}
				if lo := hex4(b[i+2:]); lo < 0xDC00 || lo > 0xDFFF {
					return -1, false
				}
				i += 6
			default:
				return -1, false
			}
		case c < 0x20:
			return -1, false
		default: // the first byte of a multi-byte UTF-8 sequence, or not
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return -1, false
			}
			i += n
		}
	}
	return -1, false
}

// Word constants of scanString's eight-byte step. A byte below 0x20 sets
// its high bit in w-lo20 (a borrow only runs past a byte that already
// did); hasZero sets the high bit of at least the lowest zero byte.
const (
	lo20        = 0x2020202020202020
	ones        = 0x0101010101010101
	highBits    = 0x8080808080808080
	quotes      = 0x2222222222222222
	backslashes = 0x5c5c5c5c5c5c5c5c
)

func hasZero(v uint64) uint64 { return (v - ones) &^ v & highBits }

// plainByte holds the bytes that stand for themselves in a string token:
// printable ASCII (and DEL) other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex4(b []byte, i int) bool {
	return i+4 <= len(b) && hexVal[b[i]]|hexVal[b[i+1]]|hexVal[b[i+2]]|hexVal[b[i+3]] >= 0
}

// hexVal is the value of each hex digit, -1 for other bytes.
var hexVal = func() (t [256]int8) {
	for c := range t {
		switch {
		case '0' <= c && c <= '9':
			t[c] = int8(c - '0')
		case 'a' <= c && c <= 'f':
			t[c] = int8(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			t[c] = int8(c - 'A' + 10)
		default:
			t[c] = -1
		}
	}
	return t
}()

// hex4 decodes four hex digits that isHex4 accepted.
func hex4(b []byte) rune {
	_ = b[3]
	return rune(hexVal[b[0]])<<12 | rune(hexVal[b[1]])<<8 | rune(hexVal[b[2]])<<4 | rune(hexVal[b[3]])
}

// SkipWS returns the index of the first byte at or after i that is not
// JSON white space.
func SkipWS(b []byte, i int) int { return skipWS(b, i) }

func skipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && wsByte[b[i]] {
		i++
	}
	return i
}

// wsByte holds JSON's four white-space bytes.
var wsByte = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber validates the number starting at b[i] and returns the index
// after it, -1 if malformed.
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

func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// stack is the kinds of the open containers: bit d set when the container
// at nesting d is an object. Each opening writes its own bit, so one stack
// serves every value of an input without being cleared.
type stack struct {
	open [MaxDepth/64 + 1]uint64
}

// scanValue validates the value starting at b[i], inside outer enclosing
// containers (1 for a member of the top-level object, 0 for the top-level
// value itself), and returns the index after it (-1 if malformed) and, for a string, whether
// it holds an escape. Nested arrays and objects are walked without
// recursion; their kinds are kept in st, so nothing is allocated at any
// depth.
func scanValue(b []byte, i, outer int, st *stack) (int, bool) {
	open := &st.open
	d := 0 // containers open
	for {
		if i >= len(b) {
			return -1, false
		}
		switch c := b[i]; c {
		case '{', '[':
			if outer+d+1 > MaxDepth { // the enclosing ones, d open, this one
				return -1, false
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
// index of the value, -1 if malformed.
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
