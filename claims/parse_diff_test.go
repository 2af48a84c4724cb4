package claims_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stepupauth/stepup/claims"
)

// refParse is the reference for Parse: the documented behaviour written the
// obvious way on encoding/json (validity, a token stream for the member
// names, json.Unmarshal for the values), plus RFC 8259 §8.1 and §8.2, which
// encoding/json does not enforce: input that is not UTF-8, or holds a lone
// surrogate escape, is malformed. Parse must agree with it on every input,
// error or not.
func refParse(payload []byte, names claims.Names) (*claims.Claims, map[string]json.RawMessage, error) {
	if !json.Valid(payload) || !refUnicode(payload) {
		return nil, nil, &claims.ParseError{Msg: "malformed json"}
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, &claims.ParseError{Msg: "not a json object"}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		name := tok.(string)
		if seen[name] {
			return nil, nil, &claims.ParseError{Claim: name, Msg: "duplicate member"}
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, err
		}
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, nil, err
	}
	c := &claims.Claims{}

	for _, f := range []struct {
		name string
		dst  *string
	}{{"iss", &c.Issuer}, {"sub", &c.Subject}, {"jti", &c.ID}, {"client_id", &c.ClientID}} {
		if v, ok := raw[f.name]; ok {
			s, ok := refString(v)
			if !ok {
				return nil, nil, &claims.ParseError{Claim: f.name, Msg: "not a string"}
			}
			*f.dst = s
		}
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"exp", &c.Expiry}, {"nbf", &c.NotBefore}, {"iat", &c.IssuedAt}} {
		if v, ok := raw[f.name]; ok {
			t, msg := refNumericDate(v)
			if msg != "" {
				return nil, nil, &claims.ParseError{Claim: f.name, Msg: msg}
			}
			*f.dst = t
		}
	}
	if v, ok := raw["aud"]; ok {
		if s, ok := refString(v); ok {
			c.Audience = []string{s}
		} else if a, ok := refStrings(v); ok {
			c.Audience = a
		} else {
			return nil, nil, &claims.ParseError{Claim: "aud", Msg: "not a string or an array of strings"}
		}
	}
	or := func(name, def string) string {
		if name == "" {
			return def
		}
		return name
	}
	if v, ok := raw[or(names.ACR, "acr")]; ok {
		if s, ok := refString(v); ok {
			c.ACR = s
		} else {
			c.Malformed = append(c.Malformed, "acr")
		}
	}
	if v, ok := raw[or(names.AMR, "amr")]; ok {
		if a, ok := refStrings(v); ok {
			c.AMR = a
		} else {
			c.Malformed = append(c.Malformed, "amr")
		}
	}
	if v, ok := raw[or(names.AuthTime, "auth_time")]; ok {
		if t, msg := refNumericDate(v); msg == "" {
			c.AuthTime = t
		} else {
			c.Malformed = append(c.Malformed, "auth_time")
		}
	}
	if v, ok := raw["acrs"]; ok {
		if a, ok := refStrings(v); ok {
			c.ACRS = a
		} else {
			c.Malformed = append(c.Malformed, "acrs")
		}
	}
	if v, ok := raw["scope"]; ok {
		if s, ok := refString(v); ok {
			c.Scopes = strings.Fields(s)
		} else {
			c.Malformed = append(c.Malformed, "scope")
		}
	} else if v, ok := raw["scp"]; ok {
		if s, ok := refString(v); ok {
			c.Scopes = strings.Fields(s)
		} else if a, ok := refStrings(v); ok {
			c.Scopes = a
		} else {
			c.Malformed = append(c.Malformed, "scp")
		}
	}
	if v, ok := raw["cnf"]; ok {
		if v[0] == '{' {
			c.Confirmation = v
		} else {
			c.Malformed = append(c.Malformed, "cnf")
		}
	}
	return c, raw, nil
}

// refString decodes a JSON string; null (which json.Unmarshal accepts into
// a string) is the wrong type.
func refString(v json.RawMessage) (string, bool) {
	var s string
	if v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

func refStrings(v json.RawMessage) ([]string, bool) {
	var elems []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &elems) != nil {
		return nil, false
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		s, ok := refString(e)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// refNumericDate reads a NumericDate with strconv on the number's text.
func refNumericDate(v json.RawMessage) (time.Time, string) {
	if v[0] != '-' && (v[0] < '0' || v[0] > '9') {
		return time.Time{}, "not a number"
	}
	s := string(v)
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < -62135596800 || f > 253402300799 {
			return time.Time{}, "numeric date out of range"
		}
		sec := math.Floor(f)
		return time.Unix(int64(sec), int64(math.Round((f-sec)*1e9))).UTC(), ""
	}
	intPart, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || sec < -62135596800 || sec > 253402300799 {
		return time.Time{}, "numeric date out of range"
	}
	var nsec int64
	if frac != "" {
		frac = (frac + "000000000")[:9]
		if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return time.Time{}, "malformed number"
		}
		if strings.HasPrefix(intPart, "-") {
			nsec = -nsec
		}
	}
	return time.Unix(sec, nsec).UTC(), ""
}

// checkAgainstRef fails t when Parse and refParse disagree on payload.
func checkAgainstRef(t *testing.T, payload []byte, names claims.Names) {
	t.Helper()
	own := bytes.Clone(payload)
	got, err := claims.Parse(own, names)
	want, wantRaw, wantErr := refParse(payload, names)
	if wantErr != nil {
		var pe, wantPE *claims.ParseError
		if !errors.As(wantErr, &wantPE) {
			t.Fatalf("reference failed on %q: %v", payload, wantErr)
		}
		if !errors.As(err, &pe) || *pe != *wantPE {
			t.Fatalf("Parse(%q, %+v): got %+v, %v; want error %v", payload, names, got, err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse(%q, %+v): %v, want %+v", payload, names, err, want)
	}
	if typed := claims.Typed(got); !reflect.DeepEqual(typed, want) {
		t.Fatalf("Parse(%q, %+v):\ngot  %+v\nwant %+v", payload, names, typed, want)
	}
	raw := claims.RawOf(got)
	if raw == nil || len(raw) != len(wantRaw) {
		t.Fatalf("Parse(%q): All/Claim/Len disagree or miss members: got %q, want %q", payload, raw, wantRaw)
	}
	for k, v := range wantRaw {
		if got, ok := raw[k]; !ok || !bytes.Equal(got, v) {
			t.Fatalf("Parse(%q): claim %q = %s, json.Unmarshal %s", payload, k, got, v)
		}
	}
	// The values are a private copy: the caller may reuse payload.
	for i := range own {
		own[i] ^= 0xff
	}
	for k, v := range got.All() {
		if !bytes.Equal(v, wantRaw[k]) {
			t.Fatalf("Parse(%q): claim %q aliases the payload", payload, k)
		}
	}
}

var diffSeeds = []string{
	fullPayload, rfc9068Payload, `{}`, ` { } `, `[]`, `{"a":1,"a":2}`, `{"exp":1.5e9}`, `{"exp":-0.5}`,
	`{"aud":["a",1]}`, `{"amr":"x"}`, `{"scp":"a b"}`, `{"x":{"y":[1,2,{"z":null}]}}`,
	`{"exp":1700000000.0000000001}`, `{"auth_time":-62135596801}`, "{\"sub\":\"\xff\"}",
	`{"amr":["a\"b","\u00e9", "x" ] , "k" : [ {"a":"]"} , "}" ] }`, `{"a":"\\","b":1}`, `{"amr":[]}`, ` {"a" : {"b":"}"}} `,
	// Names and strings: escapes, UTF-8, invalid UTF-8, surrogates.
	`{"s\u0075b":"a","sub":"b"}`, `{"\ud800":1,"\udbff":2}`, "{\"\xff\":1,\"\xfe\":2}", "{\"\xef\xbf\xbd\":1,\"\\ufffd\":2}",
	`{"sub":"caf\u00e9","iss":"café","jti":"\ud83d\ude00","client_id":"\/x\b\f\n\r\t"}`,
	"{\"acr\":\"\xed\xa0\x80\"}", `{"aud":["\u0041", "b\"", "c"]}`, `{"aud":"\u0000"}`,
	// Scopes: ASCII and Unicode spaces, escaped spaces, scope vs scp.
	"{\"scope\":\" a\\tb\\u000bc\\fd\\re\\nf  \"}", "{\"scope\":\"a\u00a0b\u2003c d\"}", `{"scope":""}`, `{"scope":"   "}`,
	`{"scp":[]}`, `{"scp":"x y"}`, `{"scp":["x",1]}`, `{"scope":null,"scp":["x"]}`, `{"scp":null}`,
	`{"aud":"a","amr":["p","o"],"acrs":["c"],"scope":"s t","acr":"x"}`, `{"aud":[],"amr":[],"acrs":[],"scope":""}`,
	// Numbers.
	`{"exp":0}`, `{"exp":-0}`, `{"exp":-0.0}`, `{"exp":253402300799}`, `{"exp":253402300799.999999999}`,
	`{"exp":253402300800}`, `{"exp":-62135596800}`, `{"exp":-62135596800.5}`, `{"exp":-62135596801}`,
	`{"exp":1000000000000}`, `{"exp":-1000000000000}`, `{"exp":99999999999999999999}`, `{"exp":1E9}`,
	`{"exp":1e-9}`, `{"exp":2.53402300799e11}`, `{"exp":1.5e+9}`, `{"iat":1.123456789123}`, `{"nbf":0.000000001}`,
	`{"auth_time":1e400}`, `{"auth_time":"1"}`, `{"auth_time":true}`,
	// Wrong types and errors in order.
	`{"exp":"x","iss":1}`, `{"aud":1,"sub":2}`, `{"iss":null}`, `{"cnf":[]}`, `{"cnf":{}}`, `{"cnf":null}`,
	`{"a":1,"a":2,"b":x}`, `{"a":1,"a":2,"b":3,"b":4}`,
	// Malformed JSON.
	``, ` `, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
	`{"a":-}`, `{"a":1e}`, `{"a":1e+}`, `{"a":1ex,"b":2}`, `{"a":[1e]}`, `{"a":1.x,"b":2}`, `{"a":tru}`, `{"a":nul}`, `{"a":falsey}`, `{"a":[1,]}`, `{"a":[,1]}`,
	`{"a":{"b"}}`, `{"a":{"b":1,}}`, `{"a":{1:2}}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12g4"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\x1f\"}", "{\"a\":\"\x7f\"}", `{"a":"\a"}`, `{"a":"\U0041"}`,
	"{\"a\":\"\t\"}", `{"a":[1}`, `{"a":{]}`, `{"a":"b"`, `{"a":"b}`, `{} x`, `{}{}`, `"x"`, `1`, `null`, `[{}]`,
	"\ufeff{}", "{\"a\":1}\x00", "{\r\n\t\"a\" :\t1\n}",
}

// escapeRE tokenises the escapes of a text that json.Valid accepted: a
// backslash occurs only inside strings there, and a left-to-right scan
// consumes "\\" as one escape.
var escapeRE = regexp.MustCompile(`\\(?:["\\/bfnrt]|u([0-9a-fA-F]{4}))`)

// refUnicode reports whether a valid JSON text is UTF-8 (RFC 8259 §8.1) and
// every surrogate escape is a high one followed by a low one (§8.2).
func refUnicode(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	ms := escapeRE.FindAllSubmatchIndex(b, -1)
	for k := 0; k < len(ms); k++ {
		if ms[k][2] < 0 {
			continue
		}
		r, _ := strconv.ParseUint(string(b[ms[k][2]:ms[k][3]]), 16, 32)
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false
		case r >= 0xD800 && r <= 0xDBFF:
			if k+1 >= len(ms) || ms[k+1][0] != ms[k][1] || ms[k+1][2] < 0 {
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

// TestParseRefusesInvalidUnicode: two identities that encoding/json would
// read as one (both repaired to U+FFFD) are both refused, at every depth,
// in names and in values.
func TestParseRefusesInvalidUnicode(t *testing.T) {
	for _, s := range []string{
		"{\"sub\":\"alice\xff\"}", "{\"sub\":\"alice\xfe\"}",
		`{"sub":"alice\ud800"}`, `{"sub":"alice\udbff"}`, `{"sub":"\udc00"}`, `{"sub":"\ud800\u0041"}`,
		"{\"su\xffb\":\"a\"}", `{"\ud800":1}`,
		"{\"amr\":[\"pwd\",\"\xc3\"]}", `{"cnf":{"jkt":["\udfff"]}}`, "{\"x\":[[{\"y\":\"\xed\xa0\x80\"}]]}",
	} {
		_, err := claims.Parse([]byte(s), claims.Names{})
		var pe *claims.ParseError
		if !errors.As(err, &pe) || pe.Msg != "malformed json" {
			t.Errorf("Parse(%q): got %v, want malformed json", s, err)
		}
		if refUnicode([]byte(s)) {
			t.Errorf("reference accepts %q", s)
		}
	}
	c, err := claims.Parse([]byte(`{"sub":"\ud83d\ude00 é \u00e9"}`), claims.Names{})
	if err != nil || c.Subject != "\U0001F600 é é" {
		t.Errorf("valid non-ASCII: got %+v, %v", c, err)
	}
}

func TestParseMatchesReference(t *testing.T) {
	names := []claims.Names{
		{},
		{ACR: "https://example.com/acr", AMR: "https://example.com/amr", AuthTime: "https://example.com/auth_time"},
		{ACR: "amr", AMR: "acr", AuthTime: "exp"},
		{ACR: "iss", AMR: "aud"},
	}
	for _, s := range diffSeeds {
		for _, n := range names {
			checkAgainstRef(t, []byte(s), n)
		}
	}
	remapped := `{"acr":"std","https://example.com/acr":"mapped","https://example.com/amr":["a"],"https://example.com/auth_time":5}`
	checkAgainstRef(t, []byte(remapped), names[1])
}

// TestParseDepth pins encoding/json's nesting limit: 10000 levels, the
// top-level object included.
func TestParseDepth(t *testing.T) {
	for _, depth := range []int{2, 64, 65, 128, 129, 9999, 10000, 10001, 20000} {
		for _, open := range []string{"[", `{"k":`} {
			close := map[string]string{"[": "]", `{"k":`: "}"}[open]
			inner := depth - 1 // the top-level object is one level
			payload := `{"a":` + strings.Repeat(open, inner) + "1" + strings.Repeat(close, inner) + `,"b":[]}`
			checkAgainstRef(t, []byte(payload), claims.Names{})
			_, err := claims.Parse([]byte(payload), claims.Names{})
			if got, want := err == nil, depth <= 10000; got != want {
				t.Errorf("depth %d (%s): Parse accepted %v, want %v (%v)", depth, open, got, want, err)
			}
		}
	}
	// Mixed containers, past the first 64-bit word of the bit stack.
	var b strings.Builder
	b.WriteString(`{"a":`)
	for i := range 200 {
		if i%3 == 0 {
			b.WriteString(`[`)
		} else {
			b.WriteString(`{"k":`)
		}
	}
	b.WriteString(`null`)
	for i := 199; i >= 0; i-- {
		if i%3 == 0 {
			b.WriteString(`]`)
		} else {
			b.WriteString(`}`)
		}
	}
	b.WriteString(`}`)
	checkAgainstRef(t, []byte(b.String()), claims.Names{})
	if _, err := claims.Parse([]byte(b.String()), claims.Names{}); err != nil {
		t.Errorf("mixed nesting: %v", err)
	}
	mismatched := strings.Replace(b.String(), `]}`, `}}`, 1)
	checkAgainstRef(t, []byte(mismatched), claims.Names{})
}

// TestParseListsIndependent checks that the string lists sharing one backing
// array do not overwrite each other when a caller appends to one.
func TestParseListsIndependent(t *testing.T) {
	c, err := claims.Parse([]byte(`{"aud":"a","amr":["p","o"],"acrs":["c"],"scope":"s t"}`), claims.Names{})
	if err != nil {
		t.Fatal(err)
	}
	_ = append(c.Audience, "x")
	_ = append(c.AMR, "x")
	_ = append(c.ACRS, "x")
	want := [][]string{{"a"}, {"p", "o"}, {"c"}, {"s", "t"}}
	if got := [][]string{c.Audience, c.AMR, c.ACRS, c.Scopes}; !reflect.DeepEqual(got, want) {
		t.Errorf("after appends: got %q, want %q", got, want)
	}
}

// FuzzParseReference compares Parse with refParse on any payload and a few
// claim-name mappings.
func FuzzParseReference(f *testing.F) {
	for _, s := range diffSeeds {
		f.Add([]byte(s), uint8(0))
	}
	f.Add([]byte(`{"https://example.com/acr":"x","acr":1}`), uint8(1))
	names := []claims.Names{
		{},
		{ACR: "https://example.com/acr", AMR: "https://example.com/amr", AuthTime: "https://example.com/auth_time"},
		{ACR: "amr", AMR: "acr", AuthTime: "exp"},
		{ACR: "iss", AMR: "aud", AuthTime: "iat"},
		{ACR: "a", AMR: "b", AuthTime: "c"},
	}
	f.Fuzz(func(t *testing.T, payload []byte, which uint8) {
		checkAgainstRef(t, payload, names[int(which)%len(names)])
	})
}
