package claims_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

var (
	now    = time.Unix(1_700_000_000, 0).UTC()
	leeway = 30 * time.Second
	levels = []string{"urn:loa:1", "urn:loa:2", "urn:loa:3", "urn:loa:4"}
)

// want is the part of an *Error a test checks; cause is a substring of
// Err's text ("" to skip).
type want struct {
	code   claims.Code
	desc   string
	acr    []string
	maxAge claims.MaxAge
	scope  []string
	cause  string
}

func checkError(t *testing.T, got *claims.Error, w *want) {
	t.Helper()
	if w == nil {
		if got != nil {
			t.Fatalf("Evaluate: got %v (acr_values %q, max_age %v, scope %q), want nil", got, got.ACRValues, got.MaxAge, got.Scope)
		}
		return
	}
	if got == nil {
		t.Fatalf("Evaluate: got nil, want %s", w.code)
	}
	if got.Code != w.code {
		t.Errorf("Code: got %q, want %q", got.Code, w.code)
	}
	if w.desc != "" && got.Description != w.desc {
		t.Errorf("Description: got %q, want %q", got.Description, w.desc)
	}
	if !reflect.DeepEqual(got.ACRValues, w.acr) {
		t.Errorf("ACRValues: got %q, want %q", got.ACRValues, w.acr)
	}
	if got.MaxAge != w.maxAge {
		t.Errorf("MaxAge: got %v, want %v", got.MaxAge, w.maxAge)
	}
	if !reflect.DeepEqual(got.Scope, w.scope) {
		t.Errorf("Scope: got %q, want %q", got.Scope, w.scope)
	}
	if w.cause != "" && (got.Err == nil || !strings.Contains(got.Err.Error(), w.cause)) {
		t.Errorf("Err: got %v, want it to mention %q", got.Err, w.cause)
	}
}

const (
	userAuth = claims.CodeInsufficientUserAuthentication
	descACR  = "A different authentication level is required"
	descNew  = "More recent authentication is required"
	descBoth = "A different authentication level and more recent authentication are required"
)

func TestEvaluate(t *testing.T) {
	mfa := claims.ACRMultiFactor
	tests := []struct {
		name string
		req  claims.Requirement
		c    claims.Claims
		want *want
	}{
		// empty requirement
		{"empty requirement, empty claims", claims.Requirement{}, claims.Claims{}, nil},
		{"empty requirement, malformed claims", claims.Requirement{}, claims.Claims{Malformed: []string{"acr", "amr"}}, nil},

		// acr any-of
		{"acr one of", claims.Requirement{ACR: []string{"a", mfa}}, claims.Claims{ACR: mfa}, nil},
		{"acr not in set", claims.Requirement{ACR: []string{mfa, "b"}}, claims.Claims{ACR: "pwd"},
			&want{code: userAuth, desc: descACR, acr: []string{mfa, "b"}, cause: `acr "pwd" not acceptable`}},
		{"acr missing", claims.Requirement{ACR: []string{mfa}}, claims.Claims{},
			&want{code: userAuth, desc: descACR, acr: []string{mfa}, cause: "acr claim missing"}},
		{"acr non-string", claims.Requirement{ACR: []string{mfa}}, claims.Claims{Malformed: []string{"acr"}},
			&want{code: userAuth, desc: descACR, acr: []string{mfa}, cause: "acr claim malformed"}},

		// acr at least
		{"acr_min exact", claims.Requirement{ACRMin: "urn:loa:2", ACRLevels: levels}, claims.Claims{ACR: "urn:loa:2"}, nil},
		{"acr_min higher", claims.Requirement{ACRMin: "urn:loa:2", ACRLevels: levels}, claims.Claims{ACR: "urn:loa:4"}, nil},
		{"acr_min lower", claims.Requirement{ACRMin: "urn:loa:2", ACRLevels: levels}, claims.Claims{ACR: "urn:loa:1"},
			&want{code: userAuth, desc: descACR, acr: []string{"urn:loa:2", "urn:loa:3", "urn:loa:4"}}},
		{"acr not in the ordering", claims.Requirement{ACRMin: "urn:loa:3", ACRLevels: levels}, claims.Claims{ACR: "urn:other:9"},
			&want{code: userAuth, acr: []string{"urn:loa:3", "urn:loa:4"}, cause: `acr "urn:other:9" not acceptable`}},
		{"acr_min with acr missing", claims.Requirement{ACRMin: "urn:loa:4", ACRLevels: levels}, claims.Claims{},
			&want{code: userAuth, acr: []string{"urn:loa:4"}, cause: "acr claim missing"}},
		{"acr_min and acr set intersect", claims.Requirement{ACR: []string{"urn:loa:4", "urn:loa:1", "urn:loa:3"}, ACRMin: "urn:loa:2", ACRLevels: levels},
			claims.Claims{ACR: "urn:loa:1"}, &want{code: userAuth, acr: []string{"urn:loa:4", "urn:loa:3"}}},
		{"acr_min not in levels fails closed", claims.Requirement{ACRMin: "urn:x", ACRLevels: levels}, claims.Claims{ACR: "urn:x"},
			&want{code: userAuth, cause: "acr_min not in acr_levels"}},

		// amr
		{"amr all met", claims.Requirement{AMRAll: []string{"pwd", "otp"}}, claims.Claims{AMR: []string{"otp", "pwd", "hwk"}}, nil},
		{"amr all short", claims.Requirement{AMRAll: []string{"pwd", "hwk"}, AMRACRValues: []string{"urn:loa:3"}}, claims.Claims{AMR: []string{"pwd"}},
			&want{code: userAuth, desc: descACR, acr: []string{"urn:loa:3"}, cause: `amr lacks "hwk"`}},
		{"amr any met", claims.Requirement{AMRAny: []string{"hwk", "swk"}}, claims.Claims{AMR: []string{"pwd", "swk"}}, nil},
		{"amr any short", claims.Requirement{AMRAny: []string{"hwk", "swk"}, AMRACRValues: []string{"urn:loa:3"}}, claims.Claims{AMR: []string{"pwd"}},
			&want{code: userAuth, acr: []string{"urn:loa:3"}, cause: `amr has none of "hwk swk"`}},
		{"amr missing", claims.Requirement{AMRAny: []string{"hwk"}, AMRACRValues: []string{"urn:loa:3"}}, claims.Claims{},
			&want{code: userAuth, acr: []string{"urn:loa:3"}, cause: "amr claim missing"}},
		{"amr not an array", claims.Requirement{AMRAll: []string{"pwd"}}, claims.Claims{Malformed: []string{"amr"}},
			&want{code: userAuth, cause: "amr claim malformed"}},
		{"amr empty array", claims.Requirement{AMRAll: []string{"pwd"}}, claims.Claims{AMR: []string{}},
			&want{code: userAuth, cause: `amr lacks "pwd"`}},
		{"amr and acr both short ask amr acr values", claims.Requirement{ACRMin: "urn:loa:2", ACRLevels: levels, AMRAll: []string{"hwk"}, AMRACRValues: []string{"urn:loa:4"}},
			claims.Claims{ACR: "urn:loa:1", AMR: []string{"pwd"}}, &want{code: userAuth, desc: descACR, acr: []string{"urn:loa:4"}}},

		// max_age
		{"auth_time exactly max_age ago", claims.Requirement{MaxAge: 5 * time.Minute}, claims.Claims{AuthTime: now.Add(-5 * time.Minute)}, nil},
		{"auth_time within leeway", claims.Requirement{MaxAge: 5 * time.Minute}, claims.Claims{AuthTime: now.Add(-5*time.Minute - leeway)}, nil},
		{"auth_time beyond leeway", claims.Requirement{MaxAge: 5 * time.Minute}, claims.Claims{AuthTime: now.Add(-5*time.Minute - leeway - time.Second)},
			&want{code: userAuth, desc: descNew, maxAge: claims.MaxAgeOf(5 * time.Minute), cause: "exceeds max_age"}},
		{"auth_time missing", claims.Requirement{MaxAge: time.Hour}, claims.Claims{},
			&want{code: userAuth, desc: descNew, maxAge: claims.MaxAgeOf(time.Hour), cause: "auth_time claim missing"}},
		{"auth_time malformed", claims.Requirement{MaxAge: time.Hour}, claims.Claims{Malformed: []string{"auth_time"}},
			&want{code: userAuth, maxAge: claims.MaxAgeOf(time.Hour), cause: "auth_time claim malformed"}},
		{"auth_time in the future within leeway", claims.Requirement{MaxAge: time.Hour}, claims.Claims{AuthTime: now.Add(leeway)}, nil},
		{"auth_time in the future beyond leeway", claims.Requirement{MaxAge: time.Hour}, claims.Claims{AuthTime: now.Add(leeway + time.Second)},
			&want{code: userAuth, maxAge: claims.MaxAgeOf(time.Hour), cause: "auth_time in the future"}},
		{"max_age truncated to seconds", claims.Requirement{MaxAge: 90*time.Second + 900*time.Millisecond}, claims.Claims{},
			&want{code: userAuth, maxAge: claims.MaxAgeOf(90 * time.Second)}},
		{"sub-second max_age asks max_age=0", claims.Requirement{MaxAge: 500 * time.Millisecond}, claims.Claims{},
			&want{code: userAuth, maxAge: claims.MaxAgeOf(-time.Second)}},

		// acr and max_age together
		{"acr wrong and too old", claims.Requirement{ACR: []string{mfa}, MaxAge: 5 * time.Minute},
			claims.Claims{ACR: "pwd", AuthTime: now.Add(-time.Hour)},
			&want{code: userAuth, desc: descBoth, acr: []string{mfa}, maxAge: claims.MaxAgeOf(5 * time.Minute)}},
		{"acr right, too old", claims.Requirement{ACR: []string{mfa}, MaxAge: 5 * time.Minute},
			claims.Claims{ACR: mfa, AuthTime: now.Add(-time.Hour)}, &want{code: userAuth, desc: descNew, maxAge: claims.MaxAgeOf(5 * time.Minute)}},

		// scopes
		{"scopes met", claims.Requirement{Scopes: []string{"read", "write"}}, claims.Claims{Scopes: []string{"write", "read", "x"}}, nil},
		{"scope short", claims.Requirement{Scopes: []string{"read", "write"}}, claims.Claims{Scopes: []string{"read"}},
			&want{code: claims.CodeInsufficientScope, scope: []string{"read", "write"}, cause: `scope lacks "write"`}},
		{"scope malformed", claims.Requirement{Scopes: []string{"read"}}, claims.Claims{Malformed: []string{"scope"}},
			&want{code: claims.CodeInsufficientScope, scope: []string{"read"}, cause: "scope claim malformed"}},
		{"scope and user auth both short", claims.Requirement{ACR: []string{mfa}, Scopes: []string{"admin"}}, claims.Claims{ACR: "pwd"},
			&want{code: userAuth, desc: descACR, acr: []string{mfa}, scope: []string{"admin"}}},
		{"scope met, user auth short: no scope param", claims.Requirement{ACR: []string{mfa}, Scopes: []string{"admin"}}, claims.Claims{ACR: "pwd", Scopes: []string{"admin"}},
			&want{code: userAuth, acr: []string{mfa}}},

		// any-of
		{"any-of first branch passes", claims.Requirement{AnyOf: []claims.Requirement{{ACR: []string{mfa}}, {AMRAll: []string{"hwk"}}}},
			claims.Claims{ACR: mfa}, nil},
		{"any-of second branch passes", claims.Requirement{AnyOf: []claims.Requirement{{ACR: []string{mfa}}, {AMRAll: []string{"hwk"}}}},
			claims.Claims{ACR: "pwd", AMR: []string{"hwk"}}, nil},
		{"any-of union in preference order", claims.Requirement{AnyOf: []claims.Requirement{
			{ACR: []string{mfa, "urn:loa:3"}},
			{AMRAll: []string{"hwk"}, AMRACRValues: []string{"urn:loa:3", "urn:hwk"}},
			{ACR: []string{mfa}, MaxAge: time.Hour},
			{ACR: []string{"urn:loa:4"}, MaxAge: 10 * time.Minute},
		}}, claims.Claims{ACR: "pwd", AuthTime: now.Add(-2 * time.Hour)},
			&want{code: userAuth, desc: descBoth, acr: []string{mfa, "urn:loa:3", "urn:hwk", "urn:loa:4"}, maxAge: claims.MaxAgeOf(10 * time.Minute)}},
		{"any-of and base both short", claims.Requirement{MaxAge: time.Minute, Scopes: []string{"pay"},
			AnyOf: []claims.Requirement{{ACR: []string{mfa}}, {AMRAny: []string{"hwk"}, AMRACRValues: []string{"urn:hwk"}}}},
			claims.Claims{ACR: "pwd", AuthTime: now.Add(-time.Hour)},
			&want{code: userAuth, desc: descBoth, acr: []string{mfa, "urn:hwk"}, maxAge: claims.MaxAgeOf(time.Minute), scope: []string{"pay"}}},
		{"any-of met, base short", claims.Requirement{MaxAge: time.Minute, AnyOf: []claims.Requirement{{ACR: []string{mfa}}}},
			claims.Claims{ACR: mfa}, &want{code: userAuth, desc: descNew, maxAge: claims.MaxAgeOf(time.Minute)}},
		{"any-of scope-only branches", claims.Requirement{AnyOf: []claims.Requirement{{Scopes: []string{"a"}}, {Scopes: []string{"b", "a"}}}},
			claims.Claims{}, &want{code: claims.CodeInsufficientScope, scope: []string{"a", "b"}}},
		{"nested any-of", claims.Requirement{AnyOf: []claims.Requirement{{AnyOf: []claims.Requirement{{ACR: []string{"x"}}, {ACR: []string{"y"}}}}}},
			claims.Claims{ACR: "y"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			got := tt.req.Evaluate(&c, now, leeway)
			checkError(t, got, tt.want)
		})
	}
}

func TestEvaluateCheck(t *testing.T) {
	mfa := claims.ACRMultiFactor
	denied := &claims.Error{Code: claims.CodeInsufficientScope, Description: "Transfers above the limit need the pay scope", Scope: []string{"pay"}}
	hard := claims.InvalidToken(errors.New("revoked"))

	calls := 0
	counting := func(e *claims.Error) func(*claims.Claims) *claims.Error {
		return func(*claims.Claims) *claims.Error { calls++; return e }
	}

	t.Run("runs after fields pass and its error is returned as is", func(t *testing.T) {
		calls = 0
		req := claims.Requirement{ACR: []string{mfa}, Check: counting(denied)}
		got := req.Evaluate(&claims.Claims{ACR: mfa}, now, leeway)
		if got != denied {
			t.Errorf("Evaluate: got %v, want the Check's *Error", got)
		}
		if calls != 1 {
			t.Errorf("Check calls: got %d, want 1", calls)
		}
	})
	t.Run("not run when fields fail", func(t *testing.T) {
		calls = 0
		req := claims.Requirement{ACR: []string{mfa}, Check: counting(nil)}
		got := req.Evaluate(&claims.Claims{ACR: "pwd"}, now, leeway)
		checkError(t, got, &want{code: userAuth, acr: []string{mfa}})
		if calls != 0 {
			t.Errorf("Check calls: got %d, want 0", calls)
		}
	})
	t.Run("nil result passes", func(t *testing.T) {
		req := claims.Requirement{Check: counting(nil)}
		checkError(t, req.Evaluate(&claims.Claims{}, now, leeway), nil)
	})
	t.Run("hard branch failure loses to a satisfiable branch", func(t *testing.T) {
		req := claims.Requirement{AnyOf: []claims.Requirement{{Check: counting(hard)}, {ACR: []string{mfa}}}}
		checkError(t, req.Evaluate(&claims.Claims{}, now, leeway), &want{code: userAuth, acr: []string{mfa}})
	})
	t.Run("all branches hard: first hard error", func(t *testing.T) {
		other := claims.InvalidToken(errors.New("other"))
		req := claims.Requirement{AnyOf: []claims.Requirement{{Check: counting(hard)}, {Check: counting(other)}}}
		if got := req.Evaluate(&claims.Claims{}, now, leeway); got != hard {
			t.Errorf("Evaluate: got %v, want %v", got, hard)
		}
	})
	t.Run("check step-up merges with another branch", func(t *testing.T) {
		stepUp := &claims.Error{Code: userAuth, Description: "x", ACRValues: []string{"urn:big"}, MaxAge: claims.MaxAgeOf(time.Minute)}
		req := claims.Requirement{AnyOf: []claims.Requirement{{Check: counting(stepUp)}, {ACR: []string{mfa}}}}
		checkError(t, req.Evaluate(&claims.Claims{}, now, leeway),
			&want{code: userAuth, desc: descACR, acr: []string{"urn:big", mfa}, maxAge: claims.MaxAgeOf(time.Minute)})
	})
}

func TestEvaluateEdges(t *testing.T) {
	got := claims.Requirement{}.Evaluate(nil, now, leeway)
	checkError(t, got, &want{code: claims.CodeInvalidToken})

	// A negative leeway is no leeway.
	req := claims.Requirement{MaxAge: time.Minute}
	got = req.Evaluate(&claims.Claims{AuthTime: now.Add(-time.Minute - time.Second)}, now, -time.Hour)
	checkError(t, got, &want{code: userAuth, desc: descNew, maxAge: claims.MaxAgeOf(time.Minute)})

	// The challenge does not alias the requirement's slices.
	r := claims.Requirement{ACR: []string{"a"}, Scopes: []string{"s"}}
	e := r.Evaluate(&claims.Claims{}, now, 0)
	e.ACRValues[0], e.Scope[0] = "changed", "changed"
	if r.ACR[0] != "a" || r.Scopes[0] != "s" {
		t.Errorf("Evaluate's error aliases the requirement: %q %q", r.ACR, r.Scopes)
	}

	var ue *claims.UnmetError
	if !errors.As(e, &ue) || len(ue.Reasons) != 2 {
		t.Errorf("errors.As(*UnmetError): got %v, want two reasons", ue)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		req   claims.Requirement
		field string // "" for valid
	}{
		{"zero", claims.Requirement{}, ""},
		{"full", claims.Requirement{ACR: []string{"urn:loa:3"}, ACRMin: "urn:loa:2", ACRLevels: levels, AMRAll: []string{"pwd"},
			AMRAny: []string{"otp", "hwk"}, AMRACRValues: []string{"urn:loa:3"}, MaxAge: time.Minute, Scopes: []string{"read", "a:b/c"},
			AnyOf: []claims.Requirement{{ACR: []string{claims.ACRMultiFactor}}}}, ""},
		{"empty acr", claims.Requirement{ACR: []string{""}}, "ACR[0]"},
		{"acr with space", claims.Requirement{ACR: []string{"a b"}}, "ACR[0]"},
		{"acr non-ascii", claims.Requirement{ACR: []string{"ok", "é"}}, "ACR[1]"},
		{"empty amr", claims.Requirement{AMRAll: []string{""}}, "AMRAll[0]"},
		{"empty amr any", claims.Requirement{AMRAny: []string{"x", ""}}, "AMRAny[1]"},
		{"bad scope", claims.Requirement{Scopes: []string{`a"b`}}, "Scopes[0]"},
		{"empty scope", claims.Requirement{Scopes: []string{""}}, "Scopes[0]"},
		{"acr_min without levels", claims.Requirement{ACRMin: "urn:loa:2"}, "ACRMin"},
		{"acr_min not in levels", claims.Requirement{ACRMin: "urn:loa:9", ACRLevels: levels}, "ACRMin"},
		{"repeated level", claims.Requirement{ACRLevels: []string{"a", "b", "a"}}, "ACRLevels[2]"},
		{"acr and acr_min disjoint", claims.Requirement{ACR: []string{"urn:loa:1"}, ACRMin: "urn:loa:2", ACRLevels: levels}, "ACR"},
		{"amr acr values refused by acr", claims.Requirement{ACR: []string{"x"}, AMRAll: []string{"hwk"}, AMRACRValues: []string{"y"}}, "AMRACRValues[0]"},
		{"negative max_age", claims.Requirement{MaxAge: -time.Second}, "MaxAge"},
		{"bad branch", claims.Requirement{AnyOf: []claims.Requirement{{}, {AnyOf: []claims.Requirement{{MaxAge: -1}}}}}, "AnyOf[1].AnyOf[0].MaxAge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.req.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: got %v, want nil", err)
				}
				return
			}
			var re *claims.RequirementError
			if !errors.As(err, &re) {
				t.Fatalf("Validate: got %v, want *claims.RequirementError for %s", err, tt.field)
			}
			if re.Field != tt.field {
				t.Errorf("Validate: field %q, want %q (%v)", re.Field, tt.field, err)
			}
			if !strings.HasPrefix(err.Error(), "claims: invalid requirement: "+tt.field+": ") {
				t.Errorf("Error(): got %q", err.Error())
			}
		})
	}
}

func BenchmarkEvaluate(b *testing.B) {
	req := claims.Requirement{ACR: []string{claims.ACRMultiFactor}, AMRAny: []string{"otp", "hwk"}, MaxAge: 5 * time.Minute, Scopes: []string{"read"}}
	c := &claims.Claims{ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "otp"}, AuthTime: now.Add(-time.Minute), Scopes: []string{"read", "write"}}
	b.ReportAllocs()
	for b.Loop() {
		if e := req.Evaluate(c, now, leeway); e != nil {
			b.Fatal(e)
		}
	}
}
