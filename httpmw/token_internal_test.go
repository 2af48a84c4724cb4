package httpmw

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/internal/bearer"
)

func formRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestBodyToken(t *testing.T) {
	g := &Guard{formToken: true, maxForm: 32}
	tests := []struct {
		name       string
		body       string
		haveHeader bool
		want       string
		wantErr    error
	}{
		{"token", "access_token=abc&x=1", false, "abc", nil},
		{"none", "x=1", false, "", nil},
		{"two", "access_token=a&access_token=b", false, "", errMultipleTokens},
		{"not b64token", "access_token=a%20b", false, "", errMalformedBody},
		{"bad escape", "access_token=%zz", false, "", errMalformedBody},
		{"too large", "x=" + strings.Repeat("a", 40), false, "", errBodyTooLarge},
		{"too large, header token", "access_token=b&x=" + strings.Repeat("a", 40), true, "", nil},
		{"within limit, header token", "access_token=b", true, "b", nil},
	}
	for _, tt := range tests {
		r := formRequest(tt.body)
		got, err := g.bodyToken(r, tt.haveHeader)
		if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
			t.Errorf("%s: bodyToken = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
		}
		if b, _ := io.ReadAll(r.Body); string(b) != tt.body {
			t.Errorf("%s: body after bodyToken = %q; want %q", tt.name, b, tt.body)
		}
	}
}

// FuzzBodyToken checks that any form body is handled without a panic, that
// the body always stays readable byte for byte, and that a token found is a
// b64token that the body's form really carries once.
func FuzzBodyToken(f *testing.F) {
	for _, s := range []string{
		"access_token=abc", "access_token=a&access_token=b", "access_token=%zz", "a=1&access_token=x%3D%3D",
		"access_token=", "access_token", ";access_token=a", "access_token=a b", strings.Repeat("x", 70), "",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	g := &Guard{formToken: true, maxForm: 64}
	f.Fuzz(func(t *testing.T, body string, haveHeader bool) {
		r := formRequest(body)
		tok, err := g.bodyToken(r, haveHeader)
		if b, rerr := io.ReadAll(r.Body); rerr != nil || string(b) != body {
			t.Fatalf("body after bodyToken(%q) = %q, %v; want it unchanged", body, b, rerr)
		}
		if err != nil {
			if tok != "" {
				t.Fatalf("bodyToken(%q) = %q with error %v", body, tok, err)
			}
			if haveHeader && errors.Is(err, errBodyTooLarge) {
				t.Fatalf("bodyToken(%q) with a header token: %v", body, err)
			}
			return
		}
		if tok == "" {
			return
		}
		form, perr := url.ParseQuery(body)
		if perr != nil || len(body) > 64 || !bearer.IsB64Token(tok) || len(form["access_token"]) != 1 || form.Get("access_token") != tok {
			t.Fatalf("bodyToken(%q) = %q; not the one b64token of a well-formed form within the limit", body, tok)
		}
	})
}
