package methodtable

import "testing"

func TestTable(t *testing.T) {
	var tab Table[string]
	for _, tt := range []struct {
		method  string
		ok, dup bool
	}{
		{"/pkg.Svc/Get", true, false},
		{"/pkg.Svc/*", true, false},
		{"/pkg.Svc/Get", true, true},
		{"/pkg.Svc/*", true, true},
		{"/other.Svc/Put", true, false},
		{"pkg.Svc/Get", false, false},
		{"/pkg.Svc/", false, false},
	} {
		ok, dup := tab.Add(tt.method, "rule "+tt.method)
		if ok != tt.ok || dup != tt.dup {
			t.Errorf("Add(%q): got ok %v dup %v, want %v %v", tt.method, ok, dup, tt.ok, tt.dup)
		}
	}
	for _, tt := range []struct {
		method, want string
		ok           bool
	}{
		{"/pkg.Svc/Get", "rule /pkg.Svc/Get", true},
		{"/pkg.Svc/List", "rule /pkg.Svc/*", true},
		{"/other.Svc/Put", "rule /other.Svc/Put", true},
		{"/other.Svc/Get", "", false},
		{"/pkg.Svc", "", false},
		{"", "", false},
	} {
		got, ok := tab.Lookup(tt.method)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q): got %q, %v; want %q, %v", tt.method, got, ok, tt.want, tt.ok)
		}
	}
	var nilTab *Table[string]
	if _, ok := nilTab.Lookup("/pkg.Svc/Get"); ok {
		t.Error("a nil table found a rule")
	}
}

type methods struct{ t Table[int] }

func TestOf(t *testing.T) {
	if _, ok := Of[*methods, int](&methods{}); ok {
		t.Fatal("Of before SetOf: got ok")
	}
	SetOf(func(m *methods) *Table[int] { return &m.t })
	m := &methods{}
	m.t.Add("/a.B/C", 7)
	tab, ok := Of[*methods, int](m)
	if !ok {
		t.Fatal("Of after SetOf: not ok")
	}
	if r, ok := tab.Lookup("/a.B/C"); !ok || r != 7 {
		t.Errorf("Lookup through Of: got %d, %v", r, ok)
	}
	if _, ok := Of[*methods, string](m); ok {
		t.Error("Of with another rule type: got ok")
	}
}
