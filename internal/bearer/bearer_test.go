package bearer

import (
	"strings"
	"testing"
)

// parseTests is the one table of Authorization values; httpmw and grpcmw
// both parse with Parse (see internal/conformance for the wire answers).
var parseTests = []struct {
	in     string
	want   string
	wantOK bool
}{
	{"Bearer abc.def.ghi", "abc.def.ghi", true},
	{"bearer abc", "abc", true},
	{"BEARER abc", "abc", true},
	{"bEaReR abc", "abc", true},
	{"Bearer   abc", "abc", true},
	{" Bearer abc\t", "abc", true},
	{"\tBearer abc ", "abc", true},
	{"Bearer a-._~+/Z9==", "a-._~+/Z9==", true},
	{"Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", true},
	// Another scheme: no bearer token, not malformed.
	{"Basic dXNlcjpwYXNz", "", true},
	{"DPoP abc", "", true},
	{"BearerX abc", "", true},
	{"Bearer-abc", "", true},
	{"Bear abc", "", true},
	{"Negotiate", "", true},
	{"abc", "", true},
	// Malformed.
	{"", "", false},
	{" ", "", false},
	{"\t \t", "", false},
	{"Bearer", "", false},
	{"Bearer ", "", false},
	{"Bearer  ", "", false},
	{"Bearer\tabc", "", false},
	{"Bearer \tabc", "", false},
	{"Bearer,abc", "", false},
	{"Bearer=abc", "", false},
	{"Bearer a b", "", false},
	{"Bearer abc,", "", false},
	{"Bearer a=b", "", false},
	{"Bearer ==", "", false},
	{"Bearer =abc", "", false},
	{`Bearer "abc"`, "", false},
	{"Bearer abc\x00", "", false},
	{"Bearer ab\u00e9", "", false},
	{"Bearer abc\r\n", "", false},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		got, ok := Parse(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestIsB64Token(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"abc", true},
		{"a==", true},
		{"A-._~+/9", true},
		{"", false},
		{"=", false},
		{"a=b", false},
		{"a b", false},
		{"a\u00e9", false},
	}
	for _, tt := range tests {
		if got := IsB64Token(tt.in); got != tt.want {
			t.Errorf("IsB64Token(%q) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

// FuzzParse checks that any value parses without a panic, that a token,
// when found, is a b64token taken verbatim from the end of a Bearer value,
// and that rendering it back parses to the same token.
func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, ok := Parse(v)
		if !ok && tok != "" {
			t.Fatalf("Parse(%q) = %q, false", v, tok)
		}
		if tok == "" {
			return
		}
		tv := strings.Trim(v, " \t")
		if !IsB64Token(tok) || !strings.HasSuffix(tv, tok) || !strings.EqualFold(tv[:6], "bearer") {
			t.Fatalf("Parse(%q) = %q, not a b64token of a Bearer value", v, tok)
		}
		if again, ok := Parse("Bearer " + tok); !ok || again != tok {
			t.Fatalf("Parse(Bearer %q) = %q, %v; want the token back", tok, again, ok)
		}
	})
}

// TestB64Chars: exactly the 66 bytes RFC 6750 §2.1 names are b64token
// characters, each byte checked against the grammar spelled out.
func TestB64Chars(t *testing.T) {
	const grammar = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
	for c := 0; c < 256; c++ {
		if want := strings.IndexByte(grammar, byte(c)) >= 0; b64Char(byte(c)) != want {
			t.Errorf("b64Char(%q) = %v, want %v", byte(c), !want, want)
		}
	}
}

// BenchmarkIsB64Token is the check every request's token goes through, on
// a token of typical size.
func BenchmarkIsB64Token(b *testing.B) {
	tok := strings.Repeat("eyJhbGciOiJFUzI1NiJ9.", 40)
	b.SetBytes(int64(len(tok)))
	for b.Loop() {
		if !IsB64Token(tok) {
			b.Fatal("not a b64token")
		}
	}
}
