package grpcmw_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

func TestNewMethodsErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules []grpcmw.Rule
		index int
		want  error // errors.Is target; nil: any RuleError wrapping a Validate error
	}{
		{"empty", []grpcmw.Rule{{Method: ""}}, 0, grpcmw.ErrBadMethod},
		{"no leading slash", []grpcmw.Rule{{Method: "bank.v1.Bank/Transfer"}}, 0, grpcmw.ErrBadMethod},
		{"no method", []grpcmw.Rule{{Method: "/bank.v1.Bank/"}}, 0, grpcmw.ErrBadMethod},
		{"no service", []grpcmw.Rule{{Method: "//Transfer"}}, 0, grpcmw.ErrBadMethod},
		{"service only", []grpcmw.Rule{{Method: "/bank.v1.Bank"}}, 0, grpcmw.ErrBadMethod},
		{"three parts", []grpcmw.Rule{{Method: "/bank/v1/Transfer"}}, 0, grpcmw.ErrBadMethod},
		{"global wildcard", []grpcmw.Rule{{Method: "/*"}}, 0, grpcmw.ErrBadMethod},
		{"service wildcard in service", []grpcmw.Rule{{Method: "/bank.*/Transfer"}}, 0, grpcmw.ErrBadMethod},
		{"partial wildcard", []grpcmw.Rule{{Method: "/bank.v1.Bank/Trans*"}}, 0, grpcmw.ErrBadMethod},
		{"empty package part", []grpcmw.Rule{{Method: "/bank..Bank/Transfer"}}, 0, grpcmw.ErrBadMethod},
		{"space", []grpcmw.Rule{{Method: "/bank.v1.Bank/Trans fer"}}, 0, grpcmw.ErrBadMethod},
		{"trailing space", []grpcmw.Rule{{Method: "/bank.v1.Bank/Transfer "}}, 0, grpcmw.ErrBadMethod},
		{"digit first", []grpcmw.Rule{{Method: "/bank.1v.Bank/Transfer"}}, 0, grpcmw.ErrBadMethod},
		{
			"duplicate method",
			[]grpcmw.Rule{{Method: "/bank.v1.Bank/Transfer"}, {Method: "/bank.v1.Bank/Balance"}, {Method: "/bank.v1.Bank/Transfer", Public: true}},
			2, grpcmw.ErrDuplicateMethod,
		},
		{
			"duplicate wildcard",
			[]grpcmw.Rule{{Method: "/bank.v1.Bank/*"}, {Method: "/bank.v1.Bank/*"}},
			1, grpcmw.ErrDuplicateMethod,
		},
		{
			"public with requirement",
			[]grpcmw.Rule{{Method: "/bank.v1.Bank/Transfer", Public: true, Requirement: claims.Requirement{Scopes: []string{"x"}}}},
			0, grpcmw.ErrPublicRequirement,
		},
		{
			"public with check",
			[]grpcmw.Rule{{Method: "/bank.v1.Bank/Transfer", Public: true, Requirement: claims.Requirement{Check: func(*claims.Claims) *claims.Error { return nil }}}},
			0, grpcmw.ErrPublicRequirement,
		},
		{
			"invalid requirement",
			[]grpcmw.Rule{{Method: "/bank.v1.Bank/Transfer", Requirement: claims.Requirement{MaxAge: -time.Second}}},
			0, nil,
		},
		{
			"acr_min outside levels",
			[]grpcmw.Rule{{Method: "/bank.v1.Bank/Transfer"}, {Method: "/bank.v1.Bank/Balance", Requirement: claims.Requirement{ACRMin: "loa9", ACRLevels: []string{"loa1", "loa2"}}}},
			1, nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := grpcmw.NewMethods(tt.rules...)
			if m != nil || err == nil {
				t.Fatalf("NewMethods = %v, %v; want nil and an error", m, err)
			}
			var re *grpcmw.RuleError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v (%T), want a *grpcmw.RuleError", err, err)
			}
			if re.Index != tt.index || re.Method != tt.rules[tt.index].Method {
				t.Errorf("RuleError at %d %q, want %d %q", re.Index, re.Method, tt.index, tt.rules[tt.index].Method)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.want)
			}
			if tt.want == nil && (re.Err == nil || errors.Is(err, grpcmw.ErrBadMethod) || errors.Is(err, grpcmw.ErrDuplicateMethod)) {
				t.Errorf("err = %v, want the requirement's validation error", err)
			}
			if msg := err.Error(); len(msg) < 7 || msg[:7] != "grpcmw:" {
				t.Errorf("Error() = %q, want the grpcmw: prefix", msg)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	strict := claims.Requirement{ACR: []string{claims.ACRMultiFactor}}
	scoped := claims.Requirement{Scopes: []string{"admin"}}
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: "/bank.v1.Admin/*", Requirement: scoped},
		grpcmw.Rule{Method: "/bank.v1.Admin/Health", Public: true},
		grpcmw.Rule{Method: "/bank.v1.Bank/Transfer", Requirement: strict},
		grpcmw.Rule{Method: "/Plain/Call"},
		grpcmw.Rule{Method: "/bank.v1.Bank_2/Get_1"},
	)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method     string
		ok         bool
		wantMethod string // the rule's Method
		public     bool
	}{
		{"/bank.v1.Admin/Delete", true, "/bank.v1.Admin/*", false},
		{"/bank.v1.Admin/Health", true, "/bank.v1.Admin/Health", true},
		{"/bank.v1.Bank/Transfer", true, "/bank.v1.Bank/Transfer", false},
		{"/bank.v1.Bank/Balance", false, "", false},
		{"/bank.v1.Admin2/Delete", false, "", false},
		{"/bank.v1/Admin", false, "", false},
		{"/Plain/Call", true, "/Plain/Call", false},
		{"/bank.v1.Bank_2/Get_1", true, "/bank.v1.Bank_2/Get_1", false},
		{"/bank.v1.Admin/*", true, "/bank.v1.Admin/*", false},
		{"/bank.v1.Admin/", false, "", false},
		{"bank.v1.Admin/Delete", false, "", false},
		{"", false, "", false},
		{"/", false, "", false},
	}
	for _, tt := range tests {
		r, ok := m.Lookup(tt.method)
		if ok != tt.ok || r.Method != tt.wantMethod || r.Public != tt.public {
			t.Errorf("Lookup(%q) = {%q public:%v}, %v; want {%q public:%v}, %v", tt.method, r.Method, r.Public, ok, tt.wantMethod, tt.public, tt.ok)
		}
	}
	if r, _ := m.Lookup("/bank.v1.Admin/Delete"); len(r.Requirement.Scopes) != 1 || r.Requirement.Scopes[0] != "admin" {
		t.Errorf("wildcard requirement = %+v, want scopes [admin]", r.Requirement)
	}
	var nilTable *grpcmw.Methods
	if _, ok := nilTable.Lookup("/bank.v1.Bank/Transfer"); ok {
		t.Errorf("nil table found a rule, want none (deny)")
	}
	empty, err := grpcmw.NewMethods()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := empty.Lookup("/bank.v1.Bank/Transfer"); ok {
		t.Errorf("empty table found a rule, want none (deny)")
	}
}
