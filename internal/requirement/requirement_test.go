package requirement_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/internal/requirement"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

var now = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const audience = "https://api.example.com"

// fixture returns a valid requirement in which every field, at every
// depth, is set, so that mutate finds something to change everywhere.
// Built afresh on each call: it shares nothing with an earlier one.
func fixture() claims.Requirement {
	inner := func() claims.Requirement {
		return claims.Requirement{
			ACR: []string{"l2", "l3"}, ACRMin: "l1", ACRLevels: []string{"l1", "l2", "l3"},
			AMRAll: []string{"pwd", "hwk"}, AMRAny: []string{"otp", "fpt"}, AMRACRValues: []string{"l3"},
			MaxAge: 10 * time.Minute, Scopes: []string{"read", "write"},
			Check: func(*claims.Claims) *claims.Error { return nil },
		}
	}
	r := inner()
	r.MaxAge = 5 * time.Minute
	r.AnyOf = []claims.Requirement{inner()}
	return r
}

// policyFile is the fixture as a policy file can say it (no AnyOf, no
// Check outside Entra ID).
const policyFile = `issuer: https://issuer.example/
audience: ` + audience + `
acr_levels: [l1, l2, l3]
rules:
  - http: GET /x
    grpc: /test.v1.T/Call
    acr: [l2, l3]
    acr_min: l1
    amr_all: [pwd, hwk]
    amr_any: [otp, fpt]
    acr_values: [l3]
    max_age: 5m
    scopes: [read, write]
`

// tokens are what the enforcement is observed with: one passing
// everything, and one failing each condition (so that each challenge,
// acr_values of the amr conditions included, is seen).
func tokens() map[string]stepuptest.Token {
	good := func(mod func(*stepuptest.Token)) stepuptest.Token {
		t := stepuptest.Token{ACR: "l3", AMR: []string{"pwd", "hwk", "otp"}, Scopes: []string{"read", "write"}, AuthTime: now.Add(-time.Minute)}
		if mod != nil {
			mod(&t)
		}
		return t
	}
	return map[string]stepuptest.Token{
		"good":            good(nil),
		"acr l2":          good(func(t *stepuptest.Token) { t.ACR = "l2" }),
		"acr l1":          good(func(t *stepuptest.Token) { t.ACR = "l1" }),
		"no acr":          good(func(t *stepuptest.Token) { t.ACR = "" }),
		"amr fpt":         good(func(t *stepuptest.Token) { t.AMR = []string{"pwd", "hwk", "fpt"} }),
		"amr without hwk": good(func(t *stepuptest.Token) { t.AMR = []string{"pwd", "otp"} }),
		"amr without any": good(func(t *stepuptest.Token) { t.AMR = []string{"pwd", "hwk"} }),
		"scope read":      good(func(t *stepuptest.Token) { t.Scopes = []string{"read"} }),
		"auth 7m ago":     good(func(t *stepuptest.Token) { t.AuthTime = now.Add(-7 * time.Minute) }),
		"auth 1h ago":     good(func(t *stepuptest.Token) { t.AuthTime = now.Add(-time.Hour) }),
	}
}

// mutate changes, in place, every element of every slice and map
// reachable from v, and every field of every struct it reaches, at any
// depth: strings gain a suffix, numbers change, booleans flip, functions
// are replaced by one returning non-nil results. It fails the test on a
// kind it cannot change, or a field it cannot set, so that a field added
// to claims.Requirement later is either mutated or noticed. seen records,
// per struct type and field, whether some value of it held something
// (a non-nil slice, map, pointer or function).
func mutate(t *testing.T, v reflect.Value, path string, seen map[string]bool) {
	t.Helper()
	if !v.CanSet() {
		t.Fatalf("%s: cannot set %s (unexported?): teach this test about it", path, v.Type())
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "-mutated")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		// A Binding is valid only on the top-level requirement.
		if v.Type() == reflect.TypeFor[claims.Binding]() && strings.Contains(path, "AnyOf") {
			return
		}
		v.SetUint(v.Uint() + 1)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			mutate(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i), seen)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutate(t, e, fmt.Sprintf("%s[%v]", path, k), seen)
			v.SetMapIndex(k, e)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			mutate(t, v.Elem(), "(*"+path+")", seen)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			fv := v.Field(i)
			switch fv.Kind() {
			case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Func:
				if !fv.IsNil() && (fv.Kind() != reflect.Slice && fv.Kind() != reflect.Map || fv.Len() > 0) {
					seen[v.Type().String()+"."+f.Name] = true
				}
			}
			mutate(t, fv, path+"."+f.Name, seen)
		}
	case reflect.Func:
		typ := v.Type()
		v.Set(reflect.MakeFunc(typ, func([]reflect.Value) []reflect.Value {
			out := make([]reflect.Value, typ.NumOut())
			for i := range out {
				if o := typ.Out(i); o.Kind() == reflect.Pointer {
					out[i] = reflect.New(o.Elem())
				} else {
					out[i] = reflect.Zero(o)
				}
			}
			return out
		}))
	default:
		t.Fatalf("%s: cannot mutate a %s: teach this test about it", path, v.Kind())
	}
}

// mutateAll mutates req in place, and with full checks that every field
// of every struct type met held something somewhere.
func mutateAll(t *testing.T, req *claims.Requirement, full bool) {
	t.Helper()
	seen := map[string]bool{}
	mutate(t, reflect.ValueOf(req).Elem(), "Requirement", seen)
	if !full {
		return
	}
	typ := reflect.TypeFor[claims.Requirement]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		switch f.Type.Kind() {
		case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Func:
			if !seen[typ.String()+"."+f.Name] {
				t.Fatalf("fixture leaves %s empty everywhere: set it, so that its copy is tested", f.Name)
			}
		}
	}
}

// stack is one enforcement point configured with a requirement, and how to
// ask it about a token: the answer is the status and challenge (HTTP) or
// the code and the *claims.Error the client reads (gRPC).
type stack func(raw string) string

type env struct {
	iss *stepuptest.Issuer
	v   *verify.Verifier
	raw map[string]string // tokens(), minted
}

func newEnv(t *testing.T) *env {
	t.Helper()
	iss, err := stepuptest.NewIssuer(stepuptest.WithClock(func() time.Time { return now }), stepuptest.WithAudience(audience))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	keys, err := jwks.NewRemote(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: audience, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{iss: iss, v: v, raw: map[string]string{}}
	for name, tok := range tokens() {
		if e.raw[name], err = iss.Mint(tok); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) httpStack(t *testing.T, h http.Handler) stack {
	return func(raw string) string {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set("Authorization", "Bearer "+raw)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return fmt.Sprintf("%d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

func ok(w http.ResponseWriter, _ *http.Request) {}

// configure returns the enforcement points under test, each configured
// with req: httpmw Require and Mux, and grpcmw NewMethods behind the unary
// interceptor.
func (e *env) configure(t *testing.T, req claims.Requirement) map[string]stack {
	t.Helper()
	g, err := httpmw.New(e.v)
	if err != nil {
		t.Fatal(err)
	}
	mux, err := g.Mux([]httpmw.Route{{Pattern: "GET /x", Requirement: req, Handler: http.HandlerFunc(ok)}})
	if err != nil {
		t.Fatal(err)
	}
	methods, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/test.v1.T/Call", Requirement: req})
	if err != nil {
		t.Fatal(err)
	}
	interceptors, err := grpcmw.New(e.v, methods)
	if err != nil {
		t.Fatal(err)
	}
	intercept := interceptors.Unary()
	return map[string]stack{
		"httpmw Require": e.httpStack(t, g.Require(req, http.HandlerFunc(ok))),
		"httpmw Mux":     e.httpStack(t, mux),
		"grpcmw NewMethods": func(raw string) string {
			ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+raw))
			_, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/test.v1.T/Call"}, func(context.Context, any) (any, error) {
				return "ok", nil
			})
			st := status.Convert(err)
			ce := grpcmw.ErrorFromStatus(st, nil)
			if ce == nil {
				return st.Code().String()
			}
			return fmt.Sprintf("%s %q %q %q %v %q", st.Code(), st.Message(), ce.Code, ce.ACRValues, ce.MaxAge, ce.Scope)
		},
	}
}

// answers asks every stack about every token.
func (e *env) answers(stacks map[string]stack) map[string]string {
	out := map[string]string{}
	for sname, s := range stacks {
		for tname, raw := range e.raw {
			out[sname+", "+tname] = s(raw)
		}
	}
	return out
}

func diff(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s: %s:\ngot  %s\nwant %s", what, k, g, w)
		}
	}
}

// TestConfiguredRequirementIsCopied: after httpmw's Require and Mux and
// grpcmw's NewMethods took a requirement, changing every element of every
// slice reachable from the caller's value (AnyOf's requirements included)
// changes nothing they enforce: the same tokens pass, the same are refused,
// with the same challenge. The requirement comes from code or from a
// policy file, whose Policy the caller may change too.
func TestConfiguredRequirementIsCopied(t *testing.T) {
	e := newEnv(t)
	want := e.answers(e.configure(t, fixture()))
	// The fixture must tell tokens apart, or nothing is observed.
	if want["httpmw Require, good"] != "200 " || want["httpmw Require, amr without hwk"] == "200 " {
		t.Fatalf("fixture: good %q, amr without hwk %q; want 200, then a refusal", want["httpmw Require, good"], want["httpmw Require, amr without hwk"])
	}

	t.Run("code", func(t *testing.T) {
		req := fixture()
		stacks := e.configure(t, req)
		mutateAll(t, &req, true)
		diff(t, "after mutating the caller's requirement", e.answers(stacks), want)

		// The mutation matters: configured with it, enforcement differs.
		if reflect.DeepEqual(e.answers(e.configure(t, req)), want) {
			t.Error("a requirement configured after the mutation is enforced the same: the mutation observes nothing")
		}
	})

	t.Run("policy", func(t *testing.T) {
		p, err := policy.Parse([]byte(policyFile))
		if err != nil {
			t.Fatal(err)
		}
		base := fixture()
		base.AnyOf, base.Check = nil, nil
		want := e.answers(e.configure(t, base))
		if got := e.answers(e.configure(t, p.Rules[0].Requirement)); !reflect.DeepEqual(got, want) {
			t.Fatalf("the policy's requirement is not the fixture's: %v", got)
		}
		stacks := e.configure(t, p.Rules[0].Requirement)
		mutateAll(t, &p.Rules[0].Requirement, false)
		for i := range p.ACRLevels {
			p.ACRLevels[i] += "-mutated"
		}
		diff(t, "after mutating the policy", e.answers(stacks), want)
	})
}

func TestCloneKeepsNil(t *testing.T) {
	got := requirement.Clone(claims.Requirement{})
	if got.ACR != nil || got.AnyOf != nil || got.Scopes != nil {
		t.Errorf("Clone(zero) = %+v; want nil slices", got)
	}
}

// TestCloneIsDeep: mutating everything reachable from the original leaves
// the clone equal to a requirement built afresh, not to another clone.
func TestCloneIsDeep(t *testing.T) {
	orig := fixture()
	got := requirement.Clone(orig)
	mutateAll(t, &orig, true)
	want := fixture()
	// Functions are never DeepEqual: the clone's must still be the
	// fixture's, which accepts, not mutate's replacement; then drop them.
	for _, r := range []*claims.Requirement{&got, &got.AnyOf[0], &want, &want.AnyOf[0]} {
		if r.Check == nil || r.Check(&claims.Claims{}) != nil {
			t.Fatal("Check lost or replaced")
		}
		r.Check = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("clone changed with the original:\ngot  %+v\nwant %+v", got, want)
	}
}

// TestIsZero: setting any one field of a Requirement, by reflection so that
// a field added later is covered too, makes it non-zero.
func TestIsZero(t *testing.T) {
	if !requirement.IsZero(claims.Requirement{}) {
		t.Fatal("requirement.IsZero(zero requirement) = false")
	}
	typ := reflect.TypeFor[claims.Requirement]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		var req claims.Requirement
		v := reflect.ValueOf(&req).Elem().Field(i)
		switch f.Type.Kind() {
		case reflect.String:
			v.SetString("x")
		case reflect.Slice:
			v.Set(reflect.MakeSlice(f.Type, 1, 1))
		case reflect.Int64:
			v.SetInt(1)
		case reflect.Uint8:
			v.SetUint(1)
		case reflect.Func:
			v.Set(reflect.MakeFunc(f.Type, func([]reflect.Value) []reflect.Value {
				return []reflect.Value{reflect.Zero(f.Type.Out(0))}
			}))
		default:
			t.Fatalf("field %s of kind %s: extend the test", f.Name, f.Type.Kind())
		}
		if requirement.IsZero(req) {
			t.Errorf("IsZero with only %s set = true, want false", f.Name)
		}
	}
}
