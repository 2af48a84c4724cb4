package claims_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// RFC 9470 §3 and RFC 9728 §5.1 examples, unfolded onto one line.
const (
	rfc9470ACR    = `Bearer error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="myACR"`
	rfc9470MaxAge = `Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="5"`
	rfc9728       = `Bearer resource_metadata="https://resource.example.com/.well-known/oauth-protected-resource"`
)

func TestChallengeGolden(t *testing.T) {
	tests := []struct {
		name string
		c    claims.Challenge
		want string
	}{
		{"RFC 9470 acr_values", claims.Challenge{Scheme: "Bearer", Error: userAuth,
			Description: "A different authentication level is required", ACRValues: []string{"myACR"}}, rfc9470ACR},
		{"RFC 9470 max_age (token form)", claims.Challenge{Scheme: "Bearer", Error: userAuth,
			Description: "More recent authentication is required", MaxAge: claims.MaxAgeOf(5 * time.Second)},
			`Bearer error="insufficient_user_authentication", error_description="More recent authentication is required", max_age=5`},
		{"RFC 9728 resource_metadata", claims.Challenge{Scheme: "Bearer",
			ResourceMetadata: "https://resource.example.com/.well-known/oauth-protected-resource"}, rfc9728},
		{"no token", claims.Challenge{Scheme: "Bearer", Realm: "api"}, `Bearer realm="api"`},
		{"insufficient_scope", claims.Challenge{Scheme: "Bearer", Realm: "example", Error: claims.CodeInsufficientScope,
			Description: "The access token does not grant the required scope", Scope: []string{"read", "admin:write"}},
			`Bearer realm="example", error="insufficient_scope", error_description="The access token does not grant the required scope", scope="read admin:write"`},
		{"every parameter in order", claims.Challenge{Scheme: "Bearer", Realm: "api", Error: userAuth, Description: "d",
			Scope: []string{"s"}, ACRValues: []string{"a", "b"}, MaxAge: claims.MaxAgeOf(300 * time.Second), ResourceMetadata: "https://r/m",
			Extra: []claims.Param{{Name: "x", Value: "y"}}},
			`Bearer realm="api", error="insufficient_user_authentication", error_description="d", scope="s", acr_values="a b", max_age=300, resource_metadata="https://r/m", x="y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Fatalf("String:\ngot  %s\nwant %s", got, tt.want)
			}
			parsed, err := claims.ParseChallenges(tt.want)
			if err != nil {
				t.Fatalf("ParseChallenges(%s): %v", tt.want, err)
			}
			if len(parsed) != 1 || !reflect.DeepEqual(parsed[0], tt.c) {
				t.Errorf("ParseChallenges(%s):\ngot  %#v\nwant %#v", tt.want, parsed, tt.c)
			}
		})
	}
}

// The RFC 9470 example quotes max_age; the parser reads it as the token form.
func TestParseRFC9470MaxAgeQuoted(t *testing.T) {
	got, err := claims.ParseChallenges(rfc9470MaxAge)
	if err != nil {
		t.Fatalf("ParseChallenges: %v", err)
	}
	want := []claims.Challenge{{Scheme: "Bearer", Error: userAuth, Description: "More recent authentication is required", MaxAge: claims.MaxAgeOf(5 * time.Second)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseChallenges(%s):\ngot  %#v\nwant %#v", rfc9470MaxAge, got, want)
	}
	e := got[0].Err()
	if e.Code != userAuth || e.MaxAge != claims.MaxAgeOf(5*time.Second) {
		t.Errorf("Err(): got code %q max age %v, want %q 5s", e.Code, e.MaxAge, userAuth)
	}
}

func TestErrorChallenge(t *testing.T) {
	tests := []struct {
		name string
		e    *claims.Error
		want string
	}{
		{"missing token", claims.MissingToken(), `Bearer`},
		{"invalid request", claims.InvalidRequest(errors.New("two tokens")), `Bearer error="invalid_request", error_description="The request is malformed"`},
		{"invalid token", claims.InvalidToken(errors.New("bad signature")), `Bearer error="invalid_token", error_description="The access token is invalid"`},
		{"step-up", claims.Requirement{ACR: []string{"urn:loa:3"}, MaxAge: time.Minute}.Evaluate(&claims.Claims{}, now, 0),
			`Bearer error="insufficient_user_authentication", error_description="A different authentication level and more recent authentication are required", acr_values="urn:loa:3", max_age=60`},
		{"nil", nil, `Bearer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Challenge().String(); got != tt.want {
				t.Errorf("Challenge().String():\ngot  %s\nwant %s", got, tt.want)
			}
		})
	}
	ch := claims.MissingToken().Challenge()
	ch.Realm = "api"
	ch.ResourceMetadata = "https://api.example.com/.well-known/oauth-protected-resource"
	if got, want := ch.String(), `Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`; got != want {
		t.Errorf("no-token challenge:\ngot  %s\nwant %s", got, want)
	}
}

func TestErrorString(t *testing.T) {
	cause := errors.New("signature mismatch")
	tests := []struct {
		e    *claims.Error
		want string
	}{
		{claims.MissingToken(), "claims: no access token"},
		{claims.InvalidToken(cause), "claims: invalid_token: The access token is invalid: signature mismatch"},
		{claims.InvalidRequest(nil), "claims: invalid_request: The request is malformed"},
		{&claims.Error{Code: claims.CodeInsufficientScope}, "claims: insufficient_scope"},
		{nil, "claims: <nil>"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error(): got %q, want %q", got, tt.want)
		}
	}
	var err error = claims.InvalidToken(cause)
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(InvalidToken(cause), cause) = false, want true")
	}
	var e *claims.Error
	if !errors.As(err, &e) || e.Code != claims.CodeInvalidToken {
		t.Errorf("errors.As: got %v, want code invalid_token", e)
	}
}

// Every fixed description uses only RFC 6750 error_description characters.
func TestDescriptionsAllowed(t *testing.T) {
	var descs []string
	for _, e := range []*claims.Error{claims.InvalidRequest(nil), claims.InvalidToken(nil)} {
		descs = append(descs, e.Description)
	}
	reqs := []claims.Requirement{{ACR: []string{"a"}}, {MaxAge: time.Minute}, {ACR: []string{"a"}, MaxAge: time.Minute},
		{Scopes: []string{"s"}}, {AnyOf: []claims.Requirement{{Check: func(*claims.Claims) *claims.Error {
			return &claims.Error{Code: userAuth}
		}}, {Scopes: []string{"s"}}}}}
	for _, r := range reqs {
		descs = append(descs, r.Evaluate(&claims.Claims{}, now, 0).Description)
	}
	for _, d := range descs {
		if d == "" {
			t.Errorf("empty description")
		}
		for i := 0; i < len(d); i++ {
			if c := d[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
				t.Errorf("description %q has disallowed character %q", d, c)
			}
		}
	}
}

func TestChallengeSanitize(t *testing.T) {
	tests := []struct {
		name string
		c    claims.Challenge
		want string
	}{
		{"empty scheme is Bearer", claims.Challenge{}, "Bearer"},
		{"other scheme", claims.Challenge{Scheme: "DPoP", Extra: []claims.Param{{Name: "algs", Value: "ES256 PS256"}}}, `DPoP algs="ES256 PS256"`},
		{"scheme keeps tchar only", claims.Challenge{Scheme: "Bea rer\r\n"}, "Bearer"},
		{"CR LF dropped from description", claims.Challenge{Error: "invalid_token", Description: "bad\r\nSet-Cookie: x"},
			`Bearer error="invalid_token", error_description="badSet-Cookie: x"`},
		{"quote and backslash dropped from description", claims.Challenge{Description: `a"b\c`}, `Bearer error_description="abc"`},
		{"non-ascii dropped", claims.Challenge{Realm: "café", Description: "naïve"}, `Bearer realm="caf", error_description="nave"`},
		{"realm escapes quote and backslash", claims.Challenge{Realm: `a"b\c`}, `Bearer realm="a\"b\\c"`},
		{"realm drops tab", claims.Challenge{Realm: "a\tb"}, `Bearer realm="ab"`},
		{"scope tokens cleaned", claims.Challenge{Scope: []string{"read", `wr"ite`, "a b", "", "\x00"}}, `Bearer scope="read write ab"`},
		{"acr values cleaned", claims.Challenge{ACRValues: []string{"a b", `q"`, "\n"}}, `Bearer acr_values="ab q\""`},
		{"all values empty after cleaning", claims.Challenge{Realm: "\r\n", Scope: []string{"\""}, ACRValues: []string{" "}}, "Bearer"},
		{"negative max_age is 0", claims.Challenge{MaxAge: claims.MaxAgeOf(-time.Second)}, "Bearer max_age=0"},
		{"sub-second max_age is 0", claims.Challenge{MaxAge: claims.MaxAgeOf(time.Millisecond)}, "Bearer max_age=0"},
		{"max_age truncated", claims.Challenge{MaxAge: claims.MaxAgeOf(1999 * time.Millisecond)}, "Bearer max_age=1"},
		{"entra claims challenge order", claims.Challenge{Error: claims.CodeInsufficientClaims, Extra: []claims.Param{
			{Name: "realm"}, {Name: "authorization_uri", Value: "https://login.microsoftonline.com/common/oauth2/authorize"},
			{Name: "error"}, {Name: "claims", Value: "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"}}},
			`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"`},
		{"placed realm takes the typed value", claims.Challenge{Realm: "api", Error: claims.CodeInvalidToken, ResourceMetadata: "https://r/m",
			Extra: []claims.Param{{Name: "x", Value: "1"}, {Name: "REALM", Value: "ignored"}}},
			`Bearer error="invalid_token", resource_metadata="https://r/m", x="1", realm="api"`},
		{"placed max_age stays a token", claims.Challenge{MaxAge: claims.MaxAgeOf(300 * time.Second), Extra: []claims.Param{{Name: "max_age", Value: "9"}, {Name: "x", Value: "1"}}},
			`Bearer max_age=300, x="1"`},
		{"placed parameter without typed value", claims.Challenge{Extra: []claims.Param{{Name: "scope", Value: "a b"}, {Name: "error"}}},
			`Bearer scope="a b", error=""`},
		{"extra duplicates dropped, standard names placed", claims.Challenge{Realm: "r", Extra: []claims.Param{
			{Name: "Realm", Value: "x"}, {Name: "a", Value: "1"}, {Name: "A", Value: "2"}, {Name: "", Value: "t"}, {Name: "b c", Value: "3"}}},
			`Bearer realm="r", a="1", bc="3"`},
		{"extra empty value", claims.Challenge{Extra: []claims.Param{{Name: "x", Value: ""}}}, `Bearer x=""`},
		{"token68", claims.Challenge{Scheme: "Basic", Extra: []claims.Param{{Value: "dXNlcjpw\r\nYXNz=="}}}, `Basic dXNlcjpwYXNz==`},
		{"token68 alongside params dropped", claims.Challenge{Realm: "r", Extra: []claims.Param{{Value: "abc"}}}, `Bearer realm="r"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.String()
			if got != tt.want {
				t.Fatalf("String:\ngot  %s\nwant %s", got, tt.want)
			}
			if _, err := claims.ParseChallenges(got); err != nil {
				t.Errorf("ParseChallenges(%s): %v", got, err)
			}
		})
	}
}

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []claims.Challenge
	}{
		{"RFC 9110 example", []string{`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`},
			[]claims.Challenge{
				{Scheme: "Newauth", Realm: "apps", Extra: []claims.Param{{Name: "type", Value: "1"}, {Name: "title", Value: `Login to "apps"`}}},
				{Scheme: "Basic", Realm: "simple"}}},
		{"several lines", []string{`Bearer realm="a"`, `DPoP algs="ES256", Bearer error="invalid_token"`},
			[]claims.Challenge{{Scheme: "Bearer", Realm: "a"}, {Scheme: "DPoP", Extra: []claims.Param{{Name: "algs", Value: "ES256"}}},
				{Scheme: "Bearer", Error: claims.CodeInvalidToken}}},
		{"case-insensitive names", []string{`bEARER Realm="x", ERROR=invalid_token, Max_Age=10, X-Thing=Y`},
			[]claims.Challenge{{Scheme: "Bearer", Realm: "x", Error: claims.CodeInvalidToken, MaxAge: claims.MaxAgeOf(10 * time.Second),
				Extra: []claims.Param{{Name: "x-thing", Value: "Y"}}}}},
		{"schemes without params", []string{`Bearer, Basic`, `Negotiate`},
			[]claims.Challenge{{Scheme: "Bearer"}, {Scheme: "Basic"}, {Scheme: "Negotiate"}}},
		{"token68", []string{`Negotiate a87421000492aa874209af8bc028==, Basic dXNlcjpwYXNz`, `Other abc`},
			[]claims.Challenge{{Scheme: "Negotiate", Extra: []claims.Param{{Value: "a87421000492aa874209af8bc028=="}}},
				{Scheme: "Basic", Extra: []claims.Param{{Value: "dXNlcjpwYXNz"}}}, {Scheme: "Other", Extra: []claims.Param{{Value: "abc"}}}}},
		{"token68 with slash and padding only", []string{`X a/b+c=`}, []claims.Challenge{{Scheme: "X", Extra: []claims.Param{{Value: "a/b+c="}}}}},
		{"token68 that looks like a name", []string{`Bearer realm=`}, []claims.Challenge{{Scheme: "Bearer", Extra: []claims.Param{{Value: "realm="}}}}},
		{"escapes", []string{`Bearer realm="a\"b\\c\d", error_description="x\ y"`},
			[]claims.Challenge{{Scheme: "Bearer", Realm: `a"b\cd`, Description: "x y"}}},
		{"OWS, BWS and empty elements", []string{" ,\t, Bearer  realm = \"x\" ,, ,error= invalid_token\t, Basic realm=y ,", ""},
			[]claims.Challenge{{Scheme: "Bearer", Realm: "x", Error: claims.CodeInvalidToken}, {Scheme: "Basic", Realm: "y"}}},
		{"tab after scheme", []string{"Bearer\trealm=x"}, []claims.Challenge{{Scheme: "Bearer", Realm: "x"}}},
		{"max_age 0 is negative", []string{`Bearer max_age=0`}, []claims.Challenge{{Scheme: "Bearer", MaxAge: claims.MaxAgeOf(-time.Second)}}},
		{"max_age leading zeros", []string{`Bearer max_age="007"`}, []claims.Challenge{{Scheme: "Bearer", MaxAge: claims.MaxAgeOf(7 * time.Second)}}},
		{"acr_values and scope split", []string{`Bearer acr_values="a  b", scope=" read "`},
			[]claims.Challenge{{Scheme: "Bearer", ACRValues: []string{"a", "b"}, Scope: []string{"read"}}}},
		{"empty quoted value", []string{`Bearer realm="", x=""`}, []claims.Challenge{{Scheme: "Bearer", Extra: []claims.Param{{Name: "x"}}}}},
		{"obs-text in quoted-string", []string{"Bearer realm=\"caf\xc3\xa9\""}, []claims.Challenge{{Scheme: "Bearer", Realm: "café"}}},
		{"nothing", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.ParseChallenges(tt.values...)
			if err != nil {
				t.Fatalf("ParseChallenges(%q): %v", tt.values, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseChallenges(%q):\ngot  %#v\nwant %#v", tt.values, got, tt.want)
			}
		})
	}
}

func TestParseChallengesErrors(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		value  int
		msg    string
	}{
		{"repeated parameter", []string{`Bearer realm="a", REALM="b"`}, 0, `repeated parameter "realm"`},
		{"repeated extra", []string{`Bearer x=1, x=2`}, 0, "repeated parameter"},
		{"unterminated quote", []string{`Bearer realm="a`}, 0, "unterminated"},
		{"control character", []string{"Bearer realm=\"a\r\nb\""}, 0, "control character"},
		{"bad quoted-pair", []string{"Bearer realm=\"a\\\x01\""}, 0, "quoted-pair"},
		{"junk after value", []string{`Bearer realm="a" junk`}, 0, "expected a comma"},
		{"no scheme", []string{`="x"`}, 0, "auth-scheme"},
		{"scheme then equals", []string{`Bearer=x`}, 0, "space after the auth-scheme"},
		{"param without value", []string{`Bearer a=b, realm=`}, 0, ""},
		{"param after token68", []string{`Basic abc=, realm="x"`}, 0, ""},
		{"junk after token68", []string{`Basic abc def`}, 0, "after token68"},
		{"max_age negative", []string{`Bearer max_age=-1`}, 0, "max_age"},
		{"max_age not a number", []string{`Bearer max_age="abc"`}, 0, "max_age"},
		{"max_age plus sign", []string{`Bearer max_age="+5"`}, 0, "max_age"},
		{"max_age fraction", []string{`Bearer max_age=1.5`}, 0, "max_age"},
		{"max_age empty", []string{`Bearer max_age=""`}, 0, "max_age"},
		{"max_age too large", []string{`Bearer max_age=9223372036854775807`}, 0, "max_age"},
		{"error in second value", []string{`Bearer`, `Bearer "x"`}, 1, ""},
		{"raw CR in value", []string{"Bearer\r\n realm=x"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.ParseChallenges(tt.values...)
			if err == nil {
				t.Fatalf("ParseChallenges(%q): got %#v, want error", tt.values, got)
			}
			var se *claims.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseChallenges(%q): error %T, want *claims.SyntaxError", tt.values, err)
			}
			if se.Value != tt.value {
				t.Errorf("SyntaxError.Value: got %d, want %d", se.Value, tt.value)
			}
			if !strings.HasPrefix(err.Error(), "claims: www-authenticate value ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Error(): got %q, want it to mention %q", err.Error(), tt.msg)
			}
			if got != nil {
				t.Errorf("challenges returned with an error: %#v", got)
			}
		})
	}
}

func TestChallengeErr(t *testing.T) {
	ch, err := claims.ParseChallenges(`Bearer error="insufficient_user_authentication", error_description="x", acr_values="a b", max_age=0, scope="s"`)
	if err != nil {
		t.Fatal(err)
	}
	got := ch[0].Err()
	want := &claims.Error{Code: userAuth, Description: "x", ACRValues: []string{"a", "b"}, MaxAge: claims.MaxAgeOf(-time.Second), Scope: []string{"s"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Err():\ngot  %#v\nwant %#v", got, want)
	}
	if secs, ok := got.MaxAge.Seconds(); !ok || secs != 0 {
		t.Errorf("max_age=0: MaxAge.Seconds() = %d, %v; want 0, true", secs, ok)
	}
	if got := (claims.Challenge{Realm: "api"}).Err(); got.Code != "" {
		t.Errorf("no-token challenge: Code %q, want empty", got.Code)
	}
}

func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		rfc9470ACR, rfc9470MaxAge, rfc9728, `Bearer realm="api"`, `Bearer, Basic`, `Basic abc==, Bearer realm=x`,
		`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`,
		`Bearer realm="a\"b"`, ` , ,Bearer x = y`, `Bearer realm="`, `Bearer max_age=99999999999999999999`,
		"Bearer realm=\"\xff\"", `Bearer a=b, c="d", E=f, Basic g`, `Basic a/b==`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		chs, err := claims.ParseChallenges(s)
		if err != nil {
			return
		}
		for _, c := range chs {
			r := c.String()
			if len(r) > claims.MaxChallengesLength {
				// String quotes token values and spaces parameters, so a
				// challenge near the limit may render just beyond it.
				continue
			}
			for i := 0; i < len(r); i++ {
				if r[i] < 0x20 || r[i] > 0x7e {
					t.Fatalf("String() of %#v has byte %#x: %q", c, r[i], r)
				}
			}
			again, err := claims.ParseChallenges(r)
			if err != nil || len(again) != 1 {
				t.Fatalf("ParseChallenges(%q) = %#v, %v; want one challenge", r, again, err)
			}
			if r2 := again[0].String(); r2 != r {
				t.Fatalf("render not stable:\n%s\n%s", r, r2)
			}
		}
	})
}

func FuzzRenderParse(f *testing.F) {
	f.Add("Bearer", "api", "insufficient_user_authentication", "More recent authentication is required", "read write", "myACR urn:x", int64(300), "https://r.example/m", "x", "y")
	f.Add("DPoP", `a"b\c`, "", "", "", "", int64(0), "", "", "")
	f.Add("bearer", "", "invalid_token", "d", "s", "", int64(-1), "", "claims", "eyJ=")
	f.Fuzz(func(t *testing.T, scheme, realm, code, desc, scope, acr string, maxAge int64, rm, extraName, extraVal string) {
		c := claims.Challenge{Scheme: scheme, Realm: realm, Error: claims.Code(code), Description: desc,
			Scope: fields(scope), ACRValues: fields(acr), ResourceMetadata: rm}
		if maxAge < 0 {
			c.MaxAge = claims.MaxAgeOf(-time.Second)
		} else if maxAge > 0 && maxAge <= int64(1<<63-1)/int64(time.Second) {
			c.MaxAge = claims.MaxAgeOf(time.Duration(maxAge) * time.Second)
		}
		if extraName != "" {
			c.Extra = []claims.Param{{Name: strings.ToLower(extraName), Value: extraVal}}
		}
		if !validChallenge(c) {
			t.Skip()
		}
		want := c
		if strings.EqualFold(scheme, "bearer") {
			want.Scheme = "Bearer"
		} else if strings.EqualFold(scheme, "dpop") {
			want.Scheme = "DPoP"
		}
		r := c.String()
		got, err := claims.ParseChallenges(r)
		if err != nil {
			t.Fatalf("ParseChallenges(%q): %v", r, err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("round trip of %q:\ngot  %#v\nwant %#v", r, got, want)
		}
	})
}

func fields(s string) []string {
	var out []string
	for _, f := range strings.Split(s, " ") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// validChallenge: values String renders without dropping anything.
func validChallenge(c claims.Challenge) bool {
	isTchar := func(b byte) bool {
		return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
	}
	all := func(s string, ok func(byte) bool) bool {
		for i := 0; i < len(s); i++ {
			if !ok(s[i]) {
				return false
			}
		}
		return true
	}
	printable := func(b byte) bool { return b >= 0x20 && b <= 0x7e }
	rfc6750 := func(b byte) bool { return printable(b) && b != '"' && b != '\\' }
	if c.Scheme == "" || !all(c.Scheme, isTchar) || !all(c.Realm, printable) || !all(string(c.Error), rfc6750) ||
		!all(c.Description, rfc6750) || !all(c.ResourceMetadata, printable) {
		return false
	}
	for _, s := range c.Scope {
		if !all(s, rfc6750) {
			return false
		}
	}
	for _, s := range c.ACRValues {
		if !all(s, printable) {
			return false
		}
	}
	for _, p := range c.Extra {
		if p.Name == "" || !all(p.Name, isTchar) || !all(p.Value, printable) {
			return false
		}
		switch p.Name {
		case "realm", "error", "error_description", "scope", "acr_values", "max_age", "resource_metadata":
			return false
		}
	}
	return true
}

func BenchmarkChallengeString(b *testing.B) {
	c := claims.Challenge{Realm: "api", Error: userAuth, Description: "More recent authentication is required",
		ACRValues: []string{claims.ACRMultiFactor}, MaxAge: claims.MaxAgeOf(300 * time.Second)}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.String()
	}
}
