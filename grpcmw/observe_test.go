package grpcmw_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

// TestHooksAndLogger: every decision hook sees each refusal, in order,
// under its rule, and WithLogger logs each decision at Debug without the
// token.
func TestHooksAndLogger(t *testing.T) {
	is := newIssuer(t, "k1")
	v := newVerifier(t, is)
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: methodUnary, Requirement: transfer},
		grpcmw.Rule{Method: "/grpc.testing.TestService/*"},
	)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	hook := func(name string) grpcmw.Option {
		return refusals(func(_ context.Context, method string, err error) {
			got = append(got, name+" "+method)
		})
	}
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	intercept := newInterceptors(t, v, m, hook("first"), hook("second"), grpcmw.WithLogger(l)).Unary()
	tok := is.mint(t, token{acr: claims.ACRMultiFactor, scope: scopeTransfer, authTime: testNow.Add(-time.Minute), sub: "subject-PII-2"})
	weak := is.mint(t, token{sub: "subject-PII-2"})
	call := func(method, tok string) {
		md := metadata.MD{}
		if tok != "" {
			md.Append("authorization", "Bearer "+tok)
		}
		ctx := metadata.NewIncomingContext(context.Background(), md)
		_, _ = intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) { return nil, nil })
	}
	call(methodUnary, tok)
	call(methodUnary, weak)
	call(methodEmpty, "")
	call("/other.Service/Method", tok)

	// The hooks get the governing rule, never the client's method name:
	// "" for an unlisted method.
	wantHooks := []string{"first " + methodUnary, "second " + methodUnary, "first /grpc.testing.TestService/*", "second /grpc.testing.TestService/*", "first ", "second "}
	if strings.Join(got, "|") != strings.Join(wantHooks, "|") {
		t.Errorf("hooks: got %q, want %q", got, wantHooks)
	}
	logs := buf.String()
	for _, want := range []string{
		`level=DEBUG msg="grpcmw: call allowed" rule=` + methodUnary + ` grpc_code=OK`,
		`level=DEBUG msg="grpcmw: call refused" rule=` + methodUnary + ` grpc_code=Unauthenticated code=insufficient_user_authentication`,
		`level=DEBUG msg="grpcmw: call refused" rule=/grpc.testing.TestService/* grpc_code=Unauthenticated code=none`,
		`level=DEBUG msg="grpcmw: call refused" rule=unlisted grpc_code=PermissionDenied code=unlisted`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q\nlogs:\n%s", want, logs)
		}
	}
	// The name of an unlisted method is the client's: never logged.
	for _, secret := range []string{tok, weak, "subject-PII-2", "/other.Service/Method"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

// TestDecisionHook: every decision reaches the decision hooks once, with
// the rule's Method ("" for an unlisted method, never the client's name)
// and a nil error when allowed; public methods are not decided on.
func TestDecisionHook(t *testing.T) {
	is := newIssuer(t, "k1")
	v := newVerifier(t, is)
	const public = "/grpc.testing.TestService/Public"
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: methodUnary, Requirement: transfer},
		grpcmw.Rule{Method: public, Public: true},
		grpcmw.Rule{Method: "/grpc.testing.TestService/*"},
	)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	hook := func(name string) grpcmw.Option {
		return grpcmw.WithDecisionHook(func(_ context.Context, rule string, err error) {
			code := "ok"
			if err != nil {
				code = "refused"
				var ce *claims.Error
				if errors.As(err, &ce) {
					code = string(ce.Code)
				}
			}
			got = append(got, name+" "+rule+" "+code)
		})
	}
	intercept := newInterceptors(t, v, m, hook("first"), hook("second")).Unary()
	tok := is.mint(t, token{acr: claims.ACRMultiFactor, scope: scopeTransfer, authTime: testNow.Add(-time.Minute)})
	weak := is.mint(t, token{})
	call := func(method, tok string) {
		md := metadata.MD{}
		if tok != "" {
			md.Append("authorization", "Bearer "+tok)
		}
		ctx := metadata.NewIncomingContext(context.Background(), md)
		_, _ = intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) { return nil, nil })
	}
	call(methodUnary, tok)
	call(methodUnary, weak)
	call(methodEmpty, weak)
	call(public, "")
	call("/other.Service/Method", tok)
	want := []string{
		"first " + methodUnary + " ok", "second " + methodUnary + " ok",
		"first " + methodUnary + " insufficient_user_authentication", "second " + methodUnary + " insufficient_user_authentication",
		"first /grpc.testing.TestService/* ok", "second /grpc.testing.TestService/* ok",
		"first  refused", "second  refused",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("decision hooks:\ngot  %q\nwant %q", got, want)
	}
}

// TestWarnAbsentClaim: when the acr a rule needs is absent from most
// tokens, the logger says so once at Warn, naming the claim and the rule.
func TestWarnAbsentClaim(t *testing.T) {
	is := newIssuer(t, "k1")
	v := newVerifier(t, is)
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: methodUnary, Requirement: claims.Requirement{ACR: []string{claims.ACRMultiFactor}}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	intercept := newInterceptors(t, v, m, grpcmw.WithLogger(l)).Unary()
	tok := is.mint(t, token{sub: "subject-PII-3"})
	for range 200 {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
		if _, err := intercept(ctx, nil, &grpc.UnaryServerInfo{FullMethod: methodUnary}, func(context.Context, any) (any, error) { return nil, nil }); err == nil {
			t.Fatal("call without acr allowed")
		}
	}
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("logs at Warn: got %d lines, want 1:\n%s", n, out)
	}
	for _, want := range []string{`level=WARN`, `claim=acr`, `read_as=acr`, `rule=` + methodUnary} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
	if strings.Contains(out, tok) || strings.Contains(out, "subject-PII-3") {
		t.Errorf("log holds the token or a claim value: %s", out)
	}
}
