package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/policy"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestDemo runs the demo exactly as `go run ./examples/demo` does.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(testContext(t), &out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	for _, want := range []string{
		"All 23 steps behaved as expected.",
		`error="insufficient_user_authentication"`,
		"max_age=300",
		`error="insufficient_scope"`,
		"status PermissionDenied",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoCatchesMisbehaviour runs the story against APIs whose tables were
// altered: the demo must fail at the step that shows it.
func TestDemoCatchesMisbehaviour(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(*tables)
		step   string
	}{
		{"HTTP transfer without step-up", func(t *tables) { setHTTP(t, "POST /transfer", anyToken) }, "step 5 "},
		{"HTTP transfer without max_age", func(t *tables) {
			setHTTP(t, "POST /transfer", claims.Requirement{ACR: moveMoney.ACR})
		}, "step 7 "},
		{"HTTP admin without scope", func(t *tables) {
			setHTTP(t, "GET /admin/", claims.Requirement{AMRAll: administer.AMRAll, AMRACRValues: administer.AMRACRValues})
		}, "step 9 "},
		{"gRPC transfer without step-up", func(t *tables) { setGRPC(t, bankpb.Bank_Transfer_FullMethodName, anyToken) }, "step 13 "},
		{"gRPC upload listed", func(t *tables) {
			t.grpc = append(t.grpc, grpcRule(bankpb.Bank_UploadTransfers_FullMethodName))
		}, "step 18 "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := play(testContext(t), &out, tt.tamper)
			if err == nil {
				t.Fatalf("play succeeded, want a failure at %s\n%s", tt.step, out.String())
			}
			if !strings.HasPrefix(err.Error(), tt.step) {
				t.Errorf("error %q, want one starting %q", err, tt.step)
			}
			if !strings.Contains(out.String(), "FAILED: ") {
				t.Errorf("output does not say FAILED:\n%s", out.String())
			}
		})
	}
}

func setHTTP(t *tables, pattern string, req claims.Requirement) {
	for i := range t.http {
		if t.http[i].Pattern == pattern {
			t.http[i].Requirement = req
		}
	}
}

func grpcRule(method string) grpcmw.Rule { return grpcmw.Rule{Method: method} }

func setGRPC(t *tables, method string, req claims.Requirement) {
	for i := range t.grpc {
		if t.grpc[i].Method == method {
			t.grpc[i].Requirement = req
		}
	}
}

// TestTablesMatchPolicy checks that the requirements written in Go are
// those of examples/policies/demo.yaml.
func TestTablesMatchPolicy(t *testing.T) {
	p, err := policy.Load(filepath.Join("..", "policies", "demo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tb := newTables()

	httpRules := p.HTTPRules()
	if len(httpRules) != len(tb.http) {
		t.Errorf("%d http routes in Go, %d in the policy", len(tb.http), len(httpRules))
	}
	for _, r := range httpRules {
		found := false
		for _, route := range tb.http {
			if route.Pattern != r.HTTP {
				continue
			}
			found = true
			if route.Public != r.Public || !reflect.DeepEqual(route.Requirement, r.Requirement) {
				t.Errorf("%s: Go has public=%v %+v, policy public=%v %+v", r.HTTP, route.Public, route.Requirement, r.Public, r.Requirement)
			}
		}
		if !found {
			t.Errorf("%s: in the policy, not in Go", r.HTTP)
		}
	}

	grpcRules := p.GRPCRules()
	if len(grpcRules) != len(tb.grpc) {
		t.Errorf("%d grpc rules in Go, %d in the policy", len(tb.grpc), len(grpcRules))
	}
	for _, r := range grpcRules {
		found := false
		for _, rule := range tb.grpc {
			if rule.Method != r.GRPC {
				continue
			}
			found = true
			if rule.Public != r.Public || !reflect.DeepEqual(rule.Requirement, r.Requirement) {
				t.Errorf("%s: Go has public=%v %+v, policy public=%v %+v", r.GRPC, rule.Public, rule.Requirement, r.Public, r.Requirement)
			}
		}
		if !found {
			t.Errorf("%s: in the policy, not in Go", r.GRPC)
		}
	}
}

func TestCheckHTTP(t *testing.T) {
	const meta = "http://127.0.0.1:1/.well-known/oauth-protected-resource"
	stepUp := `Bearer realm="demo", error="insufficient_user_authentication", acr_values="a b", max_age=300, resource_metadata="` + meta + `"`
	want := httpWant{status: 401, challenge: true, code: claims.CodeInsufficientUserAuthentication,
		acrValues: []string{"a", "b"}, maxAge: claims.MaxAgeOf(5 * time.Minute), realm: "demo", resourceMetadata: meta}
	header := func(values ...string) http.Header {
		h := http.Header{}
		for _, v := range values {
			h.Add("WWW-Authenticate", v)
		}
		return h
	}
	tests := []struct {
		name    string
		status  int
		header  http.Header
		want    httpWant
		wantErr string // substring; "" means a match
	}{
		{"match", 401, header(stepUp), want, ""},
		{"match among other schemes", 401, header(`DPoP algs="ES256"`, stepUp), want, ""},
		{"no challenge expected", 200, header(), httpWant{status: 200}, ""},
		{"wrong status", 403, header(stepUp), want, "status 403, want 401"},
		{"missing challenge", 401, header(), want, "no Bearer challenge"},
		{"unexpected challenge", 200, header(stepUp), httpWant{status: 200}, "unexpected WWW-Authenticate"},
		{"wrong code", 401, header(`Bearer realm="demo", error="invalid_token", acr_values="a b", max_age=300, resource_metadata="` + meta + `"`), want, `error "invalid_token", want "insufficient_user_authentication"`},
		{"wrong acr order", 401, header(`Bearer realm="demo", error="insufficient_user_authentication", acr_values="b a", max_age=300, resource_metadata="` + meta + `"`), want, "acr_values"},
		{"missing max_age", 401, header(`Bearer realm="demo", error="insufficient_user_authentication", acr_values="a b", resource_metadata="` + meta + `"`), want, "no max_age, want max_age=300"},
		{"extra scope", 401, header(stepUp[:len(stepUp)-1] + `", scope="admin"`), want, "scope"},
		{"wrong realm", 401, header(strings.Replace(stepUp, `"demo"`, `"other"`, 1)), want, `realm "other"`},
		{"missing resource_metadata", 401, header(`Bearer realm="demo", error="insufficient_user_authentication", acr_values="a b", max_age=300`), want, "resource_metadata"},
		{"unparsable", 401, header(`Bearer realm="demo`), want, "unreadable WWW-Authenticate"},
		{"two Bearer challenges", 401, header(stepUp, stepUp), want, "two Bearer challenges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkHTTP(tt.status, tt.header, tt.want)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("checkHTTP: %v, want a match", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("checkHTTP: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckGRPC(t *testing.T) {
	unauth := status.Error(codes.Unauthenticated, "x")
	typed := func(code claims.Code, acr []string, maxAge claims.MaxAge, scope []string) error {
		return &claims.Error{Code: code, ACRValues: acr, MaxAge: maxAge, Scope: scope, Err: unauth}
	}
	stepUp := grpcWant{code: codes.Unauthenticated, typed: true, errCode: claims.CodeInsufficientUserAuthentication, acrValues: []string{"a"}}
	tests := []struct {
		name    string
		err     error
		want    grpcWant
		wantErr string
	}{
		{"success", nil, grpcWant{}, ""},
		{"typed match", typed(claims.CodeInsufficientUserAuthentication, []string{"a"}, claims.MaxAge{}, nil), stepUp, ""},
		{"untyped match", status.Error(codes.PermissionDenied, "no"), grpcWant{code: codes.PermissionDenied}, ""},
		{"unexpected success", nil, stepUp, "call succeeded"},
		{"unexpected failure", unauth, grpcWant{}, "call failed"},
		{"wrong code", status.Error(codes.Unavailable, "down"), stepUp, "status Unavailable, want Unauthenticated"},
		{"not typed", unauth, stepUp, "not a *claims.Error"},
		{"typed, want untyped", typed(claims.CodeInsufficientScope, nil, claims.MaxAge{}, []string{"s"}), grpcWant{code: codes.Unauthenticated}, "unexpected *claims.Error"},
		{"wrong acr", typed(claims.CodeInsufficientUserAuthentication, []string{"b"}, claims.MaxAge{}, nil), stepUp, "acr_values"},
		{"extra max_age", typed(claims.CodeInsufficientUserAuthentication, []string{"a"}, claims.MaxAgeOf(time.Minute), nil), stepUp, "max_age=60, want no max_age"},
		{"wrapped", errors.Join(errors.New("ctx"), typed(claims.CodeInsufficientUserAuthentication, []string{"a"}, claims.MaxAge{}, nil)), stepUp, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkGRPC(tt.err, tt.want)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("checkGRPC: %v, want a match", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("checkGRPC: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckCaller(t *testing.T) {
	since := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name, body, acr string
		ok              bool
	}{
		{"match", `{"sub":"alice","acr":"x","auth_time":1700000000}`, "x", true},
		{"wrong acr", `{"sub":"alice","acr":"y","auth_time":1700000000}`, "x", false},
		{"wrong sub", `{"sub":"bob","acr":"x","auth_time":1700000000}`, "x", false},
		{"stale", `{"sub":"alice","acr":"x","auth_time":1699999999}`, "x", false},
		{"not JSON", `<html>`, "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCaller([]byte(tt.body), tt.acr, since)
			if (err == nil) != tt.ok {
				t.Errorf("checkCaller: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
