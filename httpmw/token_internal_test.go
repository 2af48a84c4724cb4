package httpmw

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "Bearer abc", want: "abc"},
		{in: "bearer abc", want: "abc"},
		{in: "BeArEr abc", want: "abc"},
		{in: "Bearer   abc", want: "abc"},
		{in: "Bearer a-._~+/Z9==", want: "a-._~+/Z9=="},
		{in: "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", want: "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"},
		{in: "Basic YWxhZGRpbjpvcGVuc2VzYW1l", want: ""},
		{in: "DPoP abc", want: ""},
		{in: "Bearerx abc", want: ""},
		{in: "Bearer-token abc", want: ""},
		{in: "Bear abc", want: ""},
		{in: "Negotiate", want: ""},
		{in: "", wantErr: true},
		{in: "Bearer", wantErr: true},
		{in: "bearer ", wantErr: true},
		{in: "Bearer\tabc", wantErr: true},
		{in: "Bearer,abc", wantErr: true},
		{in: "Bearer=abc", wantErr: true},
		{in: "Bearer abc def", wantErr: true},
		{in: "Bearer abc,", wantErr: true},
		{in: "Bearer =abc", wantErr: true},
		{in: "Bearer ab=c", wantErr: true},
		{in: "Bearer abc\x00", wantErr: true},
		{in: "Bearer abcé", wantErr: true},
		{in: `Bearer "abc"`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseAuthorization(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrMalformedAuthorization) || got != "" {
				t.Errorf("parseAuthorization(%q): got %q, %v; want ErrMalformedAuthorization", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseAuthorization(%q): got %q, %v; want %q, nil", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseAuthorization checks parseAuthorization never panics, returns
// only b64tokens, and that a token it returns round-trips.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer a.b.c", "Basic x", "Bearer", "Bearer  a==", "Bearer\ta", "BEARER =", "Bearer a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		tok, err := parseAuthorization(in)
		if err != nil {
			if tok != "" {
				t.Fatalf("parseAuthorization(%q): token %q with error %v", in, tok, err)
			}
			if len(in) >= 6 && !strings.EqualFold(in[:6], "bearer") {
				t.Fatalf("parseAuthorization(%q): error %v for another scheme", in, err)
			}
			return
		}
		if tok == "" {
			return
		}
		if !isB64token(tok) || !strings.HasSuffix(in, tok) {
			t.Fatalf("parseAuthorization(%q): got %q, not a b64token suffix of the input", in, tok)
		}
		if again, err := parseAuthorization("Bearer " + tok); err != nil || again != tok {
			t.Fatalf("round trip of %q: got %q, %v", tok, again, err)
		}
	})
}

func TestIsB64token(t *testing.T) {
	for s, want := range map[string]bool{
		"a": true, "A9-._~+/": true, "a=": true, "a===": true,
		"": false, "=": false, "a=b": false, "a b": false, "a%": false, "a\n": false,
	} {
		if got := isB64token(s); got != want {
			t.Errorf("isB64token(%q): got %v, want %v", s, got, want)
		}
	}
}
