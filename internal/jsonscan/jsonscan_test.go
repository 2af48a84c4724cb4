package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// escapeRE tokenises the escapes of a JSON text that encoding/json found
// valid: a backslash only occurs inside strings there, and scanning left to
// right consumes "\\" as one escape.
var escapeRE = regexp.MustCompile(`\\(?:["\\/bfnrt]|u([0-9a-fA-F]{4}))`)

// refStrict is the reference for what Members accepts as JSON: encoding/json
// validity, plus RFC 8259 §8.1 (UTF-8 only) and §8.2 (no lone surrogate),
// written the obvious way.
func refStrict(b []byte) bool {
	if !json.Valid(b) || !utf8.Valid(b) {
		return false
	}
	ms := escapeRE.FindAllSubmatchIndex(b, -1)
	for k := 0; k < len(ms); k++ {
		m := ms[k]
		if m[2] < 0 {
			continue
		}
		r, _ := strconv.ParseUint(string(b[m[2]:m[3]]), 16, 32)
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low surrogate not consumed by a high one
		case r >= 0xD800 && r <= 0xDBFF:
			if k+1 >= len(ms) || ms[k+1][0] != m[1] || ms[k+1][2] < 0 {
				return false
			}
			lo, _ := strconv.ParseUint(string(b[ms[k+1][2]:ms[k+1][3]]), 16, 32)
			if lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			k++
		}
	}
	return true
}

// refObject reports what Members should return for b.
func refObject(b []byte) error {
	if !refStrict(b) { // json.Valid also holds encoding/json's depth limit
		return ErrSyntax
	}
	if bytes.TrimLeft(b, " \t\r\n")[0] != '{' {
		return ErrNotObject
	}
	return nil
}

func members(t testing.TB, b []byte) ([]Member, error) {
	var ms []Member
	err := Members(b, func(m Member) error { ms = append(ms, m); return nil })
	return ms, err
}

func TestMembersStrict(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{`{}`, nil},
		{` {"a":1 , "b" : [true,false,null,{"c":"d"}]} `, nil},
		{`{"sub":"alice\u00e9"}`, nil},
		{`{"sub":"\ud83d\ude00"}`, nil},
		{`{"sub":"é"}`, nil},
		{"{\"sub\":\"alice\xff\"}", ErrSyntax},
		{"{\"sub\":\"alice\xfe\"}", ErrSyntax},
		{"{\"su\xffb\":1}", ErrSyntax},
		{"{\"a\":[[{\"b\":\"\xc3\"}]]}", ErrSyntax}, // truncated sequence, deep
		{"{\"a\":\"\xed\xa0\x80\"}", ErrSyntax},     // surrogate encoded in UTF-8
		{"{\"a\":\"\xc0\xaf\"}", ErrSyntax},         // overlong
		{`{"sub":"alice\ud800"}`, ErrSyntax},        // lone high
		{`{"sub":"alice\udbff"}`, ErrSyntax},        // lone high
		{`{"sub":"\udc00x"}`, ErrSyntax},            // lone low
		{`{"sub":"\ud800\u0041"}`, ErrSyntax},       // high then non-low
		{`{"\ud800":1}`, ErrSyntax},                 // in a name
		{`{"a":{"b":["\udfff"]}}`, ErrSyntax},       // at depth
		{`{"a":"\\ud800"}`, nil},                    // an escaped backslash, then text
		{`[1]`, ErrNotObject},
		{`"x"`, ErrNotObject},
		{"\"\xff\"", ErrSyntax},
		{`{"a":1}x`, ErrSyntax},
		{`{"a":01}`, ErrSyntax},
		{`{"a":1,}`, ErrSyntax},
		{``, ErrSyntax},
	}
	for _, tt := range tests {
		_, err := members(t, []byte(tt.in))
		if err != tt.want {
			t.Errorf("Members(%q): got %v, want %v", tt.in, err, tt.want)
		}
		if ref := refObject([]byte(tt.in)); ref != tt.want {
			t.Errorf("reference disagrees with the table on %q: %v", tt.in, ref)
		}
	}
}

func TestMembersDepth(t *testing.T) {
	nest := func(n int) []byte {
		// n levels in all, the top-level object counting as one.
		return []byte(`{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}`)
	}
	if _, err := members(t, nest(MaxDepth)); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	if _, err := members(t, nest(MaxDepth+1)); err != ErrSyntax {
		t.Errorf("depth %d: got %v, want ErrSyntax", MaxDepth+1, err)
	}
	top := []byte(strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth))
	if _, err := members(t, top); err != ErrNotObject {
		t.Errorf("top-level array of depth %d: got %v, want ErrNotObject", MaxDepth, err)
	}
	if ref := refObject(nest(MaxDepth + 1)); ref != ErrSyntax {
		t.Errorf("reference at depth %d: %v", MaxDepth+1, ref)
	}
}

func TestMembersSpans(t *testing.T) {
	in := []byte(`{"a" : "x\"y", "b\n":[1,2] ,"c":{}}`)
	ms, err := members(t, in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, Unquote(in[m.Name.Start:m.Name.End])+"="+string(in[m.Value.Start:m.Value.End])+strconv.FormatBool(m.NameEsc)+strconv.FormatBool(m.ValueEsc))
	}
	want := []string{`a="x\"y"falsetrue`, "b\n=[1,2]truefalse", `c={}falsefalse`}
	if !ms[0].NameIs(in, "a") || ms[0].NameIs(in, "b") || !ms[1].NameIs(in, "b\n") || ms[1].NameIs(in, "b") {
		t.Error("NameIs disagrees with the names")
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestMembersStops(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Members([]byte(`{"a":1,"b":2,"c":3}`), func(Member) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("got %v after %d members, want stop after 2", err, n)
	}
}

// TestTopLevel: the lenient walk reports the top-level members of valid
// input exactly, refuses broken structure, and allocates nothing.
func TestTopLevel(t *testing.T) {
	valid := []string{
		`{}`, `{"a":1}`, ` {"a" : [1,{"b":"]"}], "c":"\"}", "d":{"e":[[]]},"f":-1.5e3 , "g":null} `,
		`{"a":"\ud83d\ude00","b":"x"}`,
	}
	for _, in := range valid {
		ms, err := members(t, []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		var top []Member
		if err := TopLevel([]byte(in), func(m Member) error { top = append(top, m); return nil }); err != nil || !slices.Equal(top, ms) {
			t.Errorf("TopLevel(%q) = %v, %v; want %v", in, top, err, ms)
		}
	}
	for _, in := range []string{``, `[1]`, `{"a"}`, `{"a":}`, `{"a":[}`, `{"a":[1]]}`, `{"a":"\ud800"}`, "{\"a\":[\"\xff\"]}", `{"a":1 "b":2}`, `{"a":1`,
		`{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`} {
		if err := TopLevel([]byte(in), func(Member) error { return nil }); err != ErrSyntax {
			t.Errorf("TopLevel(%.40q): got %v, want ErrSyntax", in, err)
		}
	}
	deep := []byte(`{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + `}`)
	if err := TopLevel(deep, func(Member) error { return nil }); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	if allocs := testing.AllocsPerRun(20, func() { _ = TopLevel(deep, func(Member) error { return nil }) }); allocs != 0 {
		t.Errorf("TopLevel: %v allocations, want 0", allocs)
	}
}

// TestMembersAllocs: validating allocates nothing, at any size or depth.
func TestMembersAllocs(t *testing.T) {
	inputs := [][]byte{
		[]byte(`{"a":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`),
		[]byte(`{"amr":[` + strings.Repeat(`"\u00e9\ud83d\ude00x",`, 2000) + `"z"]}`),
		[]byte("{\"a\":\"" + strings.Repeat("é", 4000) + "\xff\"}"),
	}
	for _, in := range inputs {
		allocs := testing.AllocsPerRun(20, func() {
			_ = Members(in, func(Member) error { return nil })
		})
		if allocs != 0 {
			t.Errorf("%d-byte input: %v allocations, want 0", len(in), allocs)
		}
	}
}

func TestUnquoteEqual(t *testing.T) {
	for _, s := range []string{``, `abc`, `a\"b\\c\/d\b\f\n\r\t`, `\u0000\u00e9\u20ac`, `\ud83d\ude00!`, `é€`, `i\u0073s`} {
		tok := []byte(`"` + s + `"`)
		if end, _ := ScanString(tok, 0); end != len(tok) {
			t.Fatalf("ScanString(%q) = %d", tok, end)
		}
		var want string
		if err := json.Unmarshal(tok, &want); err != nil {
			t.Fatal(err)
		}
		if got := Unquote(tok); got != want {
			t.Errorf("Unquote(%s): got %q, want %q", tok, got, want)
		}
		if !Equal(tok, want) {
			t.Errorf("Equal(%s, %q) = false", tok, want)
		}
		if Equal(tok, want+"x") || (want != "" && Equal(tok, want[:len(want)-1])) {
			t.Errorf("Equal(%s) matches a different string", tok)
		}
	}
	if allocs := testing.AllocsPerRun(20, func() { Equal([]byte(`"i\u0073s"`), "iss") }); allocs != 0 {
		t.Errorf("Equal: %v allocations, want 0", allocs)
	}
}

// FuzzMembers checks Members against the reference on any input, and
// Unquote against encoding/json on every member name and string value.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":"\ud800\udc00","b":[{"c":null}]}`, `{"a":"\ud800"}`,
		"{\"a\":\"\xff\"}", `[1]`, `{"a":-0.5e+3,"b":true}`, `{"a\u0041":"\\u"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := members(t, b)
		if want := refObject(b); err != want {
			t.Fatalf("Members(%q): got %v, want %v", b, err, want)
		}
		var top []Member
		topErr := TopLevel(b, func(m Member) error { top = append(top, m); return nil })
		if err != nil {
			return
		}
		// On valid input TopLevel reports exactly what Members does.
		if topErr != nil || !slices.Equal(top, ms) {
			t.Fatalf("TopLevel(%q) = %v, %v; Members found %v", b, top, topErr, ms)
		}
		for _, m := range ms {
			for _, sp := range []Span{m.Name, m.Value} {
				tok := b[sp.Start:sp.End]
				if tok[0] != '"' {
					continue
				}
				var want string
				if err := json.Unmarshal(tok, &want); err != nil {
					t.Fatalf("reference cannot decode %q: %v", tok, err)
				}
				if got := Unquote(tok); got != want {
					t.Fatalf("Unquote(%q): got %q, want %q", tok, got, want)
				}
				if !Equal(tok, want) {
					t.Fatalf("Equal(%q, %q) = false", tok, want)
				}
			}
		}
	})
}

// TestEqualAllocs: Equal allocates for no want of up to 64 bytes, whatever
// the token's length, escaped or not.
func TestEqualAllocs(t *testing.T) {
	for _, s := range []string{`"` + strings.Repeat("n", 100) + `"`, `"` + strings.Repeat(`\u0041`, 10) + `"`} {
		tok := []byte(s)
		if a := testing.AllocsPerRun(10, func() { Equal(tok, "AAAAAAAAAA") }); a != 0 {
			t.Errorf("Equal(%.20s…): %v allocations, want 0", tok, a)
		}
	}
	tok := []byte(`"a\u00e9\ud83d\ude00\n"`)
	if got := string(AppendUnquote([]byte("x"), tok)); got != "x"+Unquote(tok) {
		t.Errorf("AppendUnquote: got %q", got)
	}
}
