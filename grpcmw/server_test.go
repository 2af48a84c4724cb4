package grpcmw_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

const (
	methodUnary     = "/grpc.testing.TestService/UnaryCall"
	methodOutput    = "/grpc.testing.TestService/StreamingOutputCall"
	methodInput     = "/grpc.testing.TestService/StreamingInputCall"
	methodDuplex    = "/grpc.testing.TestService/FullDuplexCall"
	methodCacheable = "/grpc.testing.TestService/CacheableUnaryCall"
	methodEmpty     = "/grpc.testing.TestService/EmptyCall"
	scopeTransfer   = "bank:transfer"
)

// transfer is the requirement of the four methods under test.
var transfer = claims.Requirement{
	ACR:    []string{claims.ACRMultiFactor},
	MaxAge: 5 * time.Minute,
	Scopes: []string{scopeTransfer},
}

// want is the expected answer to a call.
type want struct {
	code   codes.Code
	reason string            // ErrorInfo reason; "" for no ErrorInfo
	info   map[string]string // ErrorInfo metadata
	// challenge is the expected www-authenticate challenge (realm and
	// resource_metadata added by the test); nil when none is expected.
	challenge *claims.Challenge
	// typed is the *claims.Error the client interceptors return; nil when
	// they must return the status unchanged.
	typed *claims.Error
	sub   string // x-sub header on success
}

func TestInterceptorsAllKinds(t *testing.T) {
	is := newIssuer(t, "k1")
	other := newIssuer(t, "k1") // same kid, other key: bad signature
	v := newVerifier(t, is)
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: methodUnary, Requirement: transfer},
		grpcmw.Rule{Method: methodOutput, Requirement: transfer},
		grpcmw.Rule{Method: methodInput, Requirement: transfer},
		grpcmw.Rule{Method: methodDuplex, Requirement: transfer},
	)
	if err != nil {
		t.Fatal(err)
	}
	var (
		hookMu sync.Mutex
		hooked []error
	)
	cs := startServer(t, v, m,
		grpcmw.WithRealm(testRealm),
		grpcmw.WithResourceMetadata(testMetadata),
		refusals(func(_ context.Context, _ string, err error) {
			hookMu.Lock()
			defer hookMu.Unlock()
			hooked = append(hooked, err)
		}),
	)

	fresh := testNow.Add(-time.Minute)
	good := token{acr: claims.ACRMultiFactor, authTime: fresh, scope: "openid " + scopeTransfer}
	bearer := func(tk token) []string { return []string{"Bearer " + is.mint(t, tk)} }
	withACR := func(tk token, acr string) token { tk.acr = acr; return tk }
	withAuthTime := func(tk token, at time.Time) token { tk.authTime = at; return tk }
	withScope := func(tk token, s string) token { tk.scope = s; return tk }
	withKID := func(tk token, kid string) token { tk.kid = kid; return tk }

	tests := []struct {
		name string
		auth []string // authorization metadata values
		want want
	}{
		{
			name: "no token",
			want: want{
				code:      codes.Unauthenticated,
				challenge: &claims.Challenge{},
				typed:     &claims.Error{},
			},
		},
		{
			name: "two authorization values",
			auth: append(bearer(good), bearer(good)...),
			want: want{
				code:      codes.InvalidArgument,
				reason:    "INVALID_REQUEST",
				info:      map[string]string{},
				challenge: &claims.Challenge{Error: claims.CodeInvalidRequest},
				typed:     &claims.Error{Code: claims.CodeInvalidRequest},
			},
		},
		{
			name: "invalid token",
			auth: []string{"Bearer " + other.mint(t, good)},
			want: want{
				code:      codes.Unauthenticated,
				reason:    "INVALID_TOKEN",
				info:      map[string]string{},
				challenge: &claims.Challenge{Error: claims.CodeInvalidToken},
				typed:     &claims.Error{Code: claims.CodeInvalidToken},
			},
		},
		{
			name: "step-up on acr",
			auth: bearer(withACR(good, "urn:example:pwd")),
			want: want{
				code:      codes.Unauthenticated,
				reason:    "INSUFFICIENT_USER_AUTHENTICATION",
				info:      map[string]string{"acrValues": claims.ACRMultiFactor},
				challenge: &claims.Challenge{Error: claims.CodeInsufficientUserAuthentication, ACRValues: []string{claims.ACRMultiFactor}},
				typed:     &claims.Error{Code: claims.CodeInsufficientUserAuthentication, ACRValues: []string{claims.ACRMultiFactor}},
			},
		},
		{
			name: "step-up on max_age",
			auth: bearer(withAuthTime(good, testNow.Add(-time.Hour))),
			want: want{
				code:      codes.Unauthenticated,
				reason:    "INSUFFICIENT_USER_AUTHENTICATION",
				info:      map[string]string{"maxAge": "300"},
				challenge: &claims.Challenge{Error: claims.CodeInsufficientUserAuthentication, MaxAge: claims.MaxAgeOf(5 * time.Minute)},
				typed:     &claims.Error{Code: claims.CodeInsufficientUserAuthentication, MaxAge: claims.MaxAgeOf(5 * time.Minute)},
			},
		},
		{
			name: "insufficient scope",
			auth: bearer(withScope(good, "openid")),
			want: want{
				code:      codes.PermissionDenied,
				reason:    "INSUFFICIENT_SCOPE",
				info:      map[string]string{"scope": scopeTransfer},
				challenge: &claims.Challenge{Error: claims.CodeInsufficientScope, Scope: []string{scopeTransfer}},
				typed:     &claims.Error{Code: claims.CodeInsufficientScope, Scope: []string{scopeTransfer}},
			},
		},
		{
			name: "key outage",
			auth: bearer(withKID(good, outageKID)),
			want: want{code: codes.Unavailable},
		},
		{
			name: "success",
			auth: bearer(good),
			want: want{code: codes.OK, sub: "alice"},
		},
	}
	for _, k := range kinds {
		for _, tt := range tests {
			t.Run(k.name+"/"+tt.name, func(t *testing.T) {
				ctx := withAuthorization(t.Context(), tt.auth...)
				header, trailer, err := k.call(ctx, testgrpc.NewTestServiceClient(cs.raw))
				checkWire(t, tt.want, header, trailer, err, tt.auth)

				header, _, err = k.call(ctx, testgrpc.NewTestServiceClient(cs.typed))
				checkTyped(t, tt.want, err)
				if tt.want.code == codes.OK {
					if got := header.Get("x-acr"); !slices.Equal(got, []string{claims.ACRMultiFactor}) {
						t.Errorf("typed client: handler saw acr %q, want %q", got, claims.ACRMultiFactor)
					}
				}
			})
		}
	}

	// The hook saw the causes, which the client never sees.
	hookMu.Lock()
	defer hookMu.Unlock()
	var sawUnavailable, sawInvalidCause bool
	for _, err := range hooked {
		var ce *claims.Error
		if errors.Is(err, claims.ErrUnavailable) {
			sawUnavailable = true
		} else if errors.As(err, &ce) && ce.Code == claims.CodeInvalidToken && ce.Err != nil {
			sawInvalidCause = true
		}
	}
	if !sawUnavailable || !sawInvalidCause {
		t.Errorf("error hook: saw outage %v, invalid_token with cause %v; want both", sawUnavailable, sawInvalidCause)
	}
	// 7 refusals x 4 kinds x 2 clients.
	if got, want := len(hooked), 7*len(kinds)*2; got != want {
		t.Errorf("error hook called %d times, want %d", got, want)
	}
}

// checkWire asserts the answer as the server sent it.
func checkWire(t *testing.T, w want, header, trailer metadata.MD, err error, auth []string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != w.code {
		t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), w.code)
	}
	if w.code == codes.OK {
		if got := header.Get("x-sub"); !slices.Equal(got, []string{w.sub}) {
			t.Errorf("handler saw sub %q, want %q", got, w.sub)
		}
		return
	}
	for _, a := range auth {
		tok := strings.TrimPrefix(a, "Bearer ")
		if strings.Contains(st.Message(), tok) || strings.Contains(strings.Join(header.Get(grpcmw.WWWAuthenticateKey), ""), tok) {
			t.Errorf("token echoed to the client")
		}
	}
	if got := trailer.Get(grpcmw.WWWAuthenticateKey); len(got) != 0 {
		t.Errorf("www-authenticate in trailer = %q, want it in the header only", got)
	}

	// ErrorInfo.
	var infos []*errdetails.ErrorInfo
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			infos = append(infos, info)
		}
	}
	switch {
	case w.reason == "" && len(infos) != 0:
		t.Errorf("ErrorInfo = %v, want none", infos)
	case w.reason != "" && len(infos) != 1:
		t.Errorf("got %d ErrorInfo details, want 1", len(infos))
	case w.reason != "":
		info := infos[0]
		if info.GetReason() != w.reason || info.GetDomain() != grpcmw.ErrorDomain {
			t.Errorf("ErrorInfo reason, domain = %q, %q, want %q, %q", info.GetReason(), info.GetDomain(), w.reason, grpcmw.ErrorDomain)
		}
		got := info.GetMetadata()
		if got == nil {
			got = map[string]string{}
		}
		if !maps.Equal(got, w.info) {
			t.Errorf("ErrorInfo metadata = %v, want %v", got, w.info)
		}
	}

	// www-authenticate header and status message.
	values := header.Get(grpcmw.WWWAuthenticateKey)
	if w.challenge == nil {
		if len(values) != 0 {
			t.Errorf("www-authenticate = %q, want none", values)
		}
		if strings.Contains(st.Message(), "Bearer") {
			t.Errorf("message = %q, want no challenge", st.Message())
		}
		return
	}
	if len(values) != 1 {
		t.Fatalf("www-authenticate = %q, want one value", values)
	}
	if st.Message() != values[0] {
		t.Errorf("message = %q, want the challenge %q", st.Message(), values[0])
	}
	chs, perr := claims.ParseChallenges(values...)
	if perr != nil || len(chs) != 1 {
		t.Fatalf("ParseChallenges(%q) = %v, %v; want one challenge", values[0], chs, perr)
	}
	got, exp := chs[0], *w.challenge
	exp.Realm, exp.ResourceMetadata = testRealm, testMetadata
	if !strings.EqualFold(got.Scheme, "Bearer") || got.Realm != exp.Realm || got.ResourceMetadata != exp.ResourceMetadata ||
		got.Error != exp.Error || !slices.Equal(got.ACRValues, exp.ACRValues) || got.MaxAge != exp.MaxAge ||
		!slices.Equal(got.Scope, exp.Scope) {
		t.Errorf("challenge %q parses to %+v, want %+v", values[0], got, exp)
	}
	if exp.Error == "" {
		const want = `Bearer realm="bank", resource_metadata="https://api.test/.well-known/oauth-protected-resource"`
		if values[0] != want {
			t.Errorf("challenge without token = %q, want %q", values[0], want)
		}
	}
}

// checkTyped asserts what the client interceptors return.
func checkTyped(t *testing.T, w want, err error) {
	t.Helper()
	if got := status.Code(err); got != w.code {
		t.Errorf("typed client: status.Code = %v, want %v", got, w.code)
	}
	var ce *claims.Error
	if !errors.As(err, &ce) {
		if w.typed != nil {
			t.Errorf("typed client: err = %v (%T), want a *claims.Error", err, err)
		}
		return
	}
	if w.typed == nil {
		t.Errorf("typed client: err = %v, want the plain status", err)
		return
	}
	if ce.Code != w.typed.Code || !slices.Equal(ce.ACRValues, w.typed.ACRValues) || ce.MaxAge != w.typed.MaxAge || !slices.Equal(ce.Scope, w.typed.Scope) {
		t.Errorf("typed client: got {Code:%q ACRValues:%q MaxAge:%v Scope:%q}, want {Code:%q ACRValues:%q MaxAge:%v Scope:%q}",
			ce.Code, ce.ACRValues, ce.MaxAge, ce.Scope, w.typed.Code, w.typed.ACRValues, w.typed.MaxAge, w.typed.Scope)
	}
	// The description comes only with the www-authenticate challenge, so
	// its presence shows the client read the header metadata.
	if (ce.Code != "") != (ce.Description != "") {
		t.Errorf("typed client: Description = %q for code %q, want one exactly with a code", ce.Description, ce.Code)
	}
	if _, ok := status.FromError(ce.Err); !ok {
		t.Errorf("typed client: Err = %v, want the status error", ce.Err)
	}
}

// TestMethodTable runs the unlisted, wildcard and public rules on a real
// server.
func TestMethodTable(t *testing.T) {
	is := newIssuer(t, "k1")
	v := newVerifier(t, is)
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: "/grpc.testing.TestService/*", Requirement: claims.Requirement{Scopes: []string{"svc"}}},
		grpcmw.Rule{Method: methodEmpty, Public: true},
		grpcmw.Rule{Method: methodCacheable, Requirement: claims.Requirement{ACR: []string{claims.ACRMultiFactor}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	cs := startServer(t, v, m, grpcmw.WithRealm(testRealm))
	svcToken := "Bearer " + is.mint(t, token{acr: "urn:example:pwd", scope: "svc"})

	type call func(ctx context.Context, cc *grpc.ClientConn) (metadata.MD, error)
	unary := func(method string) call {
		return func(ctx context.Context, cc *grpc.ClientConn) (metadata.MD, error) {
			var h metadata.MD
			err := cc.Invoke(ctx, method, &testgrpc.Empty{}, &testgrpc.Empty{}, grpc.Header(&h))
			return h, err
		}
	}
	// The handlers take other request types; Empty decodes as any of them.
	bidi := func(ctx context.Context, cc *grpc.ClientConn) (metadata.MD, error) {
		h, _, err := callBidi(ctx, testgrpc.NewTestServiceClient(cc))
		return h, err
	}
	tests := []struct {
		name      string
		call      call
		auth      []string
		code      codes.Code
		sub       string // handler's x-sub on success
		challenge bool   // www-authenticate expected
	}{
		{"wildcard without token", unary(methodUnary), nil, codes.Unauthenticated, "", true},
		{"wildcard with token", unary(methodUnary), []string{svcToken}, codes.OK, "alice", false},
		{"wildcard covers streams", bidi, []string{svcToken}, codes.OK, "alice", false},
		{"exact beats wildcard: public without token", unary(methodEmpty), nil, codes.OK, "<none>", false},
		{"public ignores a bad token", unary(methodEmpty), []string{"Bearer not.a.token"}, codes.OK, "<none>", false},
		{"public ignores two tokens", unary(methodEmpty), []string{svcToken, svcToken}, codes.OK, "<none>", false},
		{"exact beats wildcard: stricter rule", unary(methodCacheable), []string{svcToken}, codes.Unauthenticated, "", true},
		{"unlisted service denied", unary("/grpc.testing.UnimplementedService/UnimplementedCall"), []string{svcToken}, codes.PermissionDenied, "", false},
		{"unlisted service denied without token", unary("/grpc.testing.UnimplementedService/UnimplementedCall"), nil, codes.PermissionDenied, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := withAuthorization(t.Context(), tt.auth...)
			h, err := tt.call(ctx, cs.raw)
			st := status.Convert(err)
			if st.Code() != tt.code {
				t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), tt.code)
			}
			if tt.code == codes.OK {
				if got := h.Get("x-sub"); !slices.Equal(got, []string{tt.sub}) {
					t.Errorf("handler saw sub %q, want %q", got, tt.sub)
				}
				return
			}
			if got := len(h.Get(grpcmw.WWWAuthenticateKey)) > 0; got != tt.challenge {
				t.Errorf("www-authenticate present = %v, want %v", got, tt.challenge)
			}
			if tt.code == codes.PermissionDenied {
				if len(st.Details()) != 0 || st.Message() != "grpcmw: method not allowed" {
					t.Errorf("unlisted: message %q, details %v; want the fixed message, no details", st.Message(), st.Details())
				}
				_, err := tt.call(ctx, cs.typed)
				var ce *claims.Error
				if errors.As(err, &ce) || status.Code(err) != codes.PermissionDenied {
					t.Errorf("typed client: unlisted method gave %v, want the plain PermissionDenied status", err)
				}
			}
		})
	}
}

// TestStreamUnlisted denies an unlisted streaming method.
func TestStreamUnlisted(t *testing.T) {
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: methodUnary})
	if err != nil {
		t.Fatal(err)
	}
	cs := startServer(t, newVerifier(t, is), m)
	ctx := withAuthorization(t.Context(), "Bearer "+is.mint(t, token{}))
	for _, k := range kinds[1:] {
		_, _, err := k.call(ctx, testgrpc.NewTestServiceClient(cs.raw))
		if got := status.Code(err); got != codes.PermissionDenied {
			t.Errorf("%s: code = %v, want PermissionDenied", k.name, got)
		}
	}
	// The listed unary method with any valid token passes.
	if _, _, err := callUnary(ctx, testgrpc.NewTestServiceClient(cs.raw)); err != nil {
		t.Errorf("unary: %v, want success", err)
	}
}
