package cnf

import "testing"

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		want Confirmation
		err  bool
	}{
		{"", Confirmation{}, false},
		{"null", Confirmation{}, false},
		{`{}`, Confirmation{}, false},
		{`{"jkt":"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}`, Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}, false},
		{`{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}`, Confirmation{X5T: "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}, false},
		{`{"jkt":"a","x5t#S256":"b"}`, Confirmation{JKT: "a", X5T: "b"}, false},
		{`{"jwk":{"kty":"EC"}}`, Confirmation{Other: true}, false},
		{`{"jkt":"a","kid":"k"}`, Confirmation{JKT: "a", Other: true}, false},
		{`{"jkt":""}`, Confirmation{}, true},
		{`{"jkt":5}`, Confirmation{}, true},
		{`{"jkt":"a","jkt":"b"}`, Confirmation{}, true},
		{`"jkt"`, Confirmation{}, true},
		{`[]`, Confirmation{}, true},
		{`{"jkt":"a"`, Confirmation{}, true},
	} {
		got, err := Parse([]byte(tt.raw))
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("Parse(%s) = %+v, %v; want %+v, error %v", tt.raw, got, err, tt.want, tt.err)
		}
	}
	if (Confirmation{}).Bound() || !(Confirmation{Other: true}).Bound() || !(Confirmation{JKT: "a"}).Bound() {
		t.Error("Bound: wrong")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"jkt":"a","x5t#S256":"b"}`))
	f.Add([]byte(`{"jkt":"\u0061"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw)
		if err == nil && (c.JKT == "" && c.X5T == "" && !c.Other) && len(raw) > 0 && string(raw) != "null" && raw[0] != '{' {
			t.Fatalf("accepted a non-object %q", raw)
		}
	})
}
