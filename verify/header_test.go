package verify

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestParseHeaderEscapedNames: members named with escapes are the members
// they spell: duplicates, refused parameters and kid hygiene see through
// the escapes; the 64-member cap counts alg and typ.
func TestParseHeaderEscapedNames(t *testing.T) {
	pol := &policy{algs: joseAlgs, checkType: true, types: []string{"at+jwt"}}
	cases := []struct {
		hdr  string
		want *rejection
	}{
		{`{"alg":"ES256","typ":"at+jwt","\u0061lg":"ES256"}`, rejMalformed},
		{`{"alg":"ES256","typ":"at+jwt","kid":"a","k\u0069d":"b"}`, rejMalformed},
		{`{"alg":"ES256","typ":"at+jwt","\u0074yp":"JWT"}`, rejMalformed},
		{`{"alg":"ES256","typ":"at+jwt","\u0063rit":["x"]}`, rejHeader},
		{`{"alg":"ES256","typ":"at+jwt","j\u0077k":{}}`, rejHeader},
		{`{"alg":"ES256","typ":"at+jwt","x":1,"\u0078":2}`, rejMalformed},
		{`{"alg":"ES256","typ":"at+jwt","\ud83d\ude00":1,"` + "\U0001F600" + `":2}`, rejMalformed},
		{`{"alg":"ES256","typ":"at+jwt","kid":"a\u0000"}`, rejKeyID},
		{`{"alg":"ES256","typ":"at+jwt","kid":"a\u007f"}`, rejKeyID},
		{`{"alg":"ES\u0032\u0035\u0036","typ":"at\u002bjwt"}`, nil},
		{`{"alg":"ES256","typ":"at+jwt","kid":"` + strings.Repeat(`\u00e9`, 129) + `"}`, rejKeyID}, // 258 bytes decoded
		{`{"alg":"ES256","typ":"at+jwt","kid":"` + strings.Repeat(`\u00e9`, 128) + `"}`, nil},      // 256 bytes decoded
		{`{"alg":"ES256","typ":"at+jwt","alg":"ES256"}`, rejMalformed},
		{`{"alg":"ES256","typ":"at+jwt","x":` + strings.Repeat("[", 9998) + strings.Repeat("]", 9998) + `}`, nil},
		{`{"alg":"ES256","typ":"at+jwt","x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, rejMalformed},
	}
	for _, c := range cases {
		var tok jwsToken
		if got := parseHeader([]byte(c.hdr), pol, &tok, new(string)); got != c.want {
			t.Errorf("parseHeader(%.80s): got %v, want %v", c.hdr, got, c.want)
		}
	}
	// 64 members pass, 65 do not, and the cap counts alg/typ/kid.
	for _, n := range []int{62, 63} {
		h := `{"alg":"ES256","typ":"at+jwt"`
		for k := 0; k < n; k++ {
			h += `,"m` + string(rune('0'+k/10)) + string(rune('0'+k%10)) + `":0`
		}
		h += "}"
		var tok jwsToken
		got := parseHeader([]byte(h), pol, &tok, new(string))
		if (n == 62) != (got == nil) {
			t.Errorf("%d members: %v", n+2, got)
		}
	}
}

// TestParseHeaderAllocs: a header allocates at most once per member.
func TestParseHeaderAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not exact under the race detector")
	}
	pol := &policy{algs: joseAlgs, checkType: true, types: []string{"at+jwt"}}
	h := `{"alg":"ES256","typ":"at+jwt"`
	for k := 0; k < 60; k++ {
		h += fmt.Sprintf(`,"\u0061%040d":0`, k)
	}
	h += "}"
	b := []byte(h)
	a := testing.AllocsPerRun(20, func() {
		var tok jwsToken
		if rej := parseHeader(b, pol, &tok, new(string)); rej != nil {
			t.Fatal(rej)
		}
	})
	if a > 62 {
		t.Errorf("62 members: %v allocations, want at most 62", a)
	}
}

// TestIssuerEscapedNames: the read that chooses the key and the strict
// parse agree on escaped names and values.
func TestIssuerEscapedNames(t *testing.T) {
	const tmpl = "https://login.example.com/{tid}/v2.0"
	v := newTestVerifier(t, anyIssuerSource{newTestSource()}, func(c *Config) {
		c.Issuer = ""
		c.IssuerTemplates = []string{tmpl}
	})
	base := mustJSON(claimSet(func(c map[string]any) { delete(c, "iss") }))
	hdr := stdHeader("ES256")
	for _, c := range []struct {
		extra string
		ok    bool
	}{
		{`"\u0069ss":"https://login.example.com/a/v2.0","t\u0069d":"a"`, true},
		{`"iss":"https://login.example.com/\u0061/v2.0","tid":"\u0061"`, true},
		{`"iss":"https://login.example.com/a/v2.0","tid":"a","t\u0069d":"a"`, false},
		{`"iss":"https://login.example.com/a/v2.0","\u0069ss":"https://login.example.com/a/v2.0","tid":"a"`, false},
		{`"iss":"https://login.example.com/a\/b/v2.0","tid":"a\/b"`, false},
		{`"iss":"https://login.example.com/a/v2.0","tid":["a"]`, false},
		{`"iss":"https://login.example.com/a/v2.0","tid":null`, false},
		{`"iss":"https://login.example.com/a/v2.0","tid":"a","tid ":"b"`, true},
	} {
		raw := sign("ES256", privFor("ES256"), hdr, "{"+c.extra+","+base[1:])
		_, err := v.Verify(context.Background(), raw)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.extra, err, c.ok)
		}
	}
}
