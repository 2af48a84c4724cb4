package mtls_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/mtls"
)

// x5t is a well-formed x5t#S256: that of a certificate whose DER is
// "abc" (see TestThumbprint).
const x5t = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"

// rfc8705Example is the x5t#S256 of the example in RFC 8705 §3.1. Its last
// character carries non-zero pad bits: no SHA-256 hash encodes to it, and
// it could never equal a Thumbprint.
const rfc8705Example = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"

func TestBound(t *testing.T) {
	tests := []struct {
		name    string
		cnf     string
		want    string
		wantOK  bool
		wantErr bool
	}{
		{"no cnf claim", "", "", false, false},
		{"x5t#S256", `{"x5t#S256":"` + x5t + `"}`, x5t, true, false},
		{"beside jkt", `{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", "x5t#S256" : "` + x5t + `" }`, x5t, true, false},
		{"escaped name and value", `{"x5t\u0023S256":"\u0075` + x5t[1:] + `"}`, x5t, true, false},
		{"jkt only: not bound to a certificate", `{"jkt":"abc"}`, "", false, false},
		{"empty object", `{}`, "", false, false},
		{"other case is another member", `{"X5T#S256":1}`, "", false, false},
		{"number", `{"x5t#S256":1}`, "", false, true},
		{"null", `{"x5t#S256":null}`, "", false, true},
		{"array", `{"x5t#S256":["` + x5t + `"]}`, "", false, true},
		{"object", `{"x5t#S256":{}}`, "", false, true},
		{"twice", `{"x5t#S256":"` + x5t + `","x5t#S256":"` + x5t + `"}`, "", false, true},
		{"empty string", `{"x5t#S256":""}`, "", false, true},
		{"padded", `{"x5t#S256":"` + x5t + `="}`, "", false, true},
		{"base64 alphabet", `{"x5t#S256":"` + strings.ReplaceAll(strings.ReplaceAll(x5t, "-", "+"), "_", "/") + `"}`, "", false, true},
		{"line break", `{"x5t#S256":"` + x5t[:20] + `\n` + x5t[20:] + `"}`, "", false, true},
		{"non-zero pad bits (the RFC 8705 §3.1 example)", `{"x5t#S256":"` + rfc8705Example + `"}`, "", false, true},
		{"too short", `{"x5t#S256":"` + x5t[:42] + `"}`, "", false, true},
		{"too long", `{"x5t#S256":"` + x5t + `AAAA"}`, "", false, true},
		{"not an object", `"` + x5t + `"`, "", false, true},
		{"null cnf", `null`, "", false, true},
		{"malformed JSON", `{"x5t#S256":"` + x5t + `"`, "", false, true},
		{"trailing data", `{"x5t#S256":"` + x5t + `"} {}`, "", false, true},
		{"invalid UTF-8 elsewhere", "{\"x5t#S256\":\"" + x5t + "\",\"a\":\"\xff\"}", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := mtls.Bound(json.RawMessage(tt.cnf))
			if got != tt.want || ok != tt.wantOK || (err != nil) != tt.wantErr {
				t.Errorf("Bound(%s) = %q, %v, %v; want %q, %v, error %v", tt.cnf, got, ok, err, tt.want, tt.wantOK, tt.wantErr)
			}
			if err != nil && !errors.Is(err, mtls.ErrMalformedConfirmation) {
				t.Errorf("err = %v, want one matching ErrMalformedConfirmation", err)
			}
		})
	}
}

// FuzzBound checks Bound against encoding/json: whatever Bound accepts,
// encoding/json reads as an object with that string under x5t#S256.
func FuzzBound(f *testing.F) {
	for _, seed := range []string{`{"x5t#S256":"` + x5t + `"}`, `{"jkt":"a"}`, `{"x5t#S256":1}`, `{}`, `[]`, ``, `{"x5t\u0023S256":"` + x5t + `"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, cnf []byte) {
		got, ok, err := mtls.Bound(cnf)
		if err != nil {
			if got != "" || ok || !errors.Is(err, mtls.ErrMalformedConfirmation) {
				t.Fatalf("got %q, %v, %v", got, ok, err)
			}
			return
		}
		if len(cnf) == 0 {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cnf, &m); err != nil || m == nil {
			t.Fatalf("Bound accepted %q, encoding/json refuses it: %v", cnf, err)
		}
		v, present := m["x5t#S256"]
		if present != ok {
			t.Fatalf("Bound ok = %v, encoding/json finds x5t#S256: %v", ok, present)
		}
		if !ok {
			return
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil || s != got {
			t.Fatalf("Bound = %q, encoding/json reads %s (%v)", got, v, err)
		}
	})
}
