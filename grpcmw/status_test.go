package grpcmw_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

func withInfo(t *testing.T, st *status.Status, info *errdetails.ErrorInfo) *status.Status {
	t.Helper()
	d, err := st.WithDetails(info)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestErrorFromStatus(t *testing.T) {
	unauth := status.New(codes.Unauthenticated, "x")
	stepUpInfo := &errdetails.ErrorInfo{
		Reason: "INSUFFICIENT_USER_AUTHENTICATION", Domain: grpcmw.ErrorDomain,
		Metadata: map[string]string{"acrValues": "urn:a urn:b", "maxAge": "120"},
	}
	hdr := func(v ...string) metadata.MD {
		md := metadata.MD{}
		md.Append(grpcmw.WWWAuthenticateKey, v...)
		return md
	}
	tests := []struct {
		name string
		st   *status.Status
		md   metadata.MD
		want *claims.Error // nil: not a step-up rejection
	}{
		{"nil status", nil, nil, nil},
		{"ok", status.New(codes.OK, ""), nil, nil},
		{"unavailable with challenge", status.New(codes.Unavailable, "down"), hdr(`Bearer error="invalid_token"`), nil},
		{"unauthenticated, nothing", unauth, nil, nil},
		{"header, no token", unauth, hdr(`Bearer realm="bank"`), &claims.Error{}},
		{"header, scheme case", unauth, hdr(`bearer error="invalid_token"`), &claims.Error{Code: claims.CodeInvalidToken}},
		{
			"header step-up",
			unauth, hdr(`Bearer realm="bank", error="insufficient_user_authentication", acr_values="urn:a urn:b", max_age=60`),
			&claims.Error{Code: claims.CodeInsufficientUserAuthentication, ACRValues: []string{"urn:a", "urn:b"}, MaxAge: claims.MaxAgeOf(time.Minute)},
		},
		{
			"header scope",
			status.New(codes.PermissionDenied, "x"), hdr(`Bearer error="insufficient_scope", scope="a b"`),
			&claims.Error{Code: claims.CodeInsufficientScope, Scope: []string{"a", "b"}},
		},
		{
			"header wins over details",
			withInfo(t, unauth, stepUpInfo), hdr(`Bearer error="invalid_token"`),
			&claims.Error{Code: claims.CodeInvalidToken},
		},
		{
			"Bearer challenge among others",
			unauth, hdr(`DPoP algs="ES256"`, `Bearer error="invalid_token"`),
			&claims.Error{Code: claims.CodeInvalidToken},
		},
		{
			"details when the header is missing",
			withInfo(t, unauth, stepUpInfo), nil,
			&claims.Error{Code: claims.CodeInsufficientUserAuthentication, ACRValues: []string{"urn:a", "urn:b"}, MaxAge: claims.MaxAgeOf(2 * time.Minute)},
		},
		{
			"details when the header is garbage",
			withInfo(t, unauth, stepUpInfo), hdr(`Bearer error="unterminated`),
			&claims.Error{Code: claims.CodeInsufficientUserAuthentication, ACRValues: []string{"urn:a", "urn:b"}, MaxAge: claims.MaxAgeOf(2 * time.Minute)},
		},
		{
			"details when no Bearer challenge",
			withInfo(t, unauth, stepUpInfo), hdr(`Basic realm="x"`),
			&claims.Error{Code: claims.CodeInsufficientUserAuthentication, ACRValues: []string{"urn:a", "urn:b"}, MaxAge: claims.MaxAgeOf(2 * time.Minute)},
		},
		{
			"details max_age=0",
			withInfo(t, unauth, &errdetails.ErrorInfo{Reason: "INSUFFICIENT_USER_AUTHENTICATION", Domain: grpcmw.ErrorDomain, Metadata: map[string]string{"maxAge": "0"}}), nil,
			&claims.Error{Code: claims.CodeInsufficientUserAuthentication, MaxAge: claims.MaxAgeOf(-time.Second)},
		},
		{
			"details bad max_age ignored",
			withInfo(t, unauth, &errdetails.ErrorInfo{Reason: "INSUFFICIENT_USER_AUTHENTICATION", Domain: grpcmw.ErrorDomain, Metadata: map[string]string{"maxAge": "-5"}}), nil,
			&claims.Error{Code: claims.CodeInsufficientUserAuthentication},
		},
		{
			"details scope",
			withInfo(t, status.New(codes.PermissionDenied, "x"), &errdetails.ErrorInfo{Reason: "INSUFFICIENT_SCOPE", Domain: grpcmw.ErrorDomain, Metadata: map[string]string{"scope": "admin"}}), nil,
			&claims.Error{Code: claims.CodeInsufficientScope, Scope: []string{"admin"}},
		},
		{
			"details invalid_request",
			withInfo(t, status.New(codes.InvalidArgument, "x"), &errdetails.ErrorInfo{Reason: "INVALID_REQUEST", Domain: grpcmw.ErrorDomain}), nil,
			&claims.Error{Code: claims.CodeInvalidRequest},
		},
		{
			"details of another domain",
			withInfo(t, unauth, &errdetails.ErrorInfo{Reason: "INVALID_TOKEN", Domain: "example.com"}), nil,
			nil,
		},
		{
			"details with an unknown reason",
			withInfo(t, unauth, &errdetails.ErrorInfo{Reason: "EXPIRED", Domain: grpcmw.ErrorDomain}), nil,
			nil,
		},
		{
			"invalid argument without anything",
			status.New(codes.InvalidArgument, "bad amount"), nil,
			nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := grpcmw.ErrorFromStatus(tt.st, tt.md)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("ErrorFromStatus = %+v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("ErrorFromStatus = nil, want %+v", tt.want)
			}
			if got.Code != tt.want.Code || !slices.Equal(got.ACRValues, tt.want.ACRValues) || got.MaxAge != tt.want.MaxAge || !slices.Equal(got.Scope, tt.want.Scope) {
				t.Errorf("got {Code:%q ACRValues:%q MaxAge:%v Scope:%q}, want {Code:%q ACRValues:%q MaxAge:%v Scope:%q}",
					got.Code, got.ACRValues, got.MaxAge, got.Scope, tt.want.Code, tt.want.ACRValues, tt.want.MaxAge, tt.want.Scope)
			}
			if s, ok := status.FromError(got); !ok || s.Code() != tt.st.Code() {
				t.Errorf("status.FromError(result) = %v, %v; want code %v", s.Code(), ok, tt.st.Code())
			}
		})
	}
}

// TestErrorFromStatusBounded: a server sending many www-authenticate
// values, or one huge one, makes the client parse no more than
// the 65536 bytes claims.ParseChallenges reads; beyond that the header is
// ignored and the details used.
func TestErrorFromStatusBounded(t *testing.T) {
	const (
		maxChallengesLength = 64 << 10 // the limits of claims.ParseChallenges
		maxChallenges       = 64
	)
	info := &errdetails.ErrorInfo{
		Reason: "INSUFFICIENT_USER_AUTHENTICATION", Domain: grpcmw.ErrorDomain,
		Metadata: map[string]string{"acrValues": "urn:details"},
	}
	st := withInfo(t, status.New(codes.Unauthenticated, "x"), info)
	const value = `Bearer error="invalid_token", acr_values="urn:a urn:b"`
	values := func(n int) metadata.MD {
		md := metadata.MD{}
		for range n {
			md.Append(grpcmw.WWWAuthenticateKey, value)
		}
		return md
	}
	fits := maxChallengesLength / (len(value) + 1) // values, by length
	for _, tt := range []struct {
		name string
		md   metadata.MD
		want []string // ACRValues
	}{
		{"within the limits", values(maxChallenges), []string{"urn:a", "urn:b"}},
		{"many values", values(20 * fits), []string{"urn:details"}},
		{"many empty values", metadata.MD{grpcmw.WWWAuthenticateKey: append(make([]string, maxChallengesLength), value)}, []string{"urn:details"}},
		{"one huge value", metadata.Pairs(grpcmw.WWWAuthenticateKey, value+", Basic realm=\""+strings.Repeat("x", 1<<20)+"\""), []string{"urn:details"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := grpcmw.ErrorFromStatus(st, tt.md)
			if got == nil || !slices.Equal(got.ACRValues, tt.want) {
				t.Fatalf("ErrorFromStatus = %+v, want ACRValues %q", got, tt.want)
			}
		})
	}
	// The cost does not grow with what the server sent beyond the limit.
	few, many := values(2*fits), values(20*fits)
	allocs := func(md metadata.MD) float64 {
		return testing.AllocsPerRun(10, func() { grpcmw.ErrorFromStatus(st, md) })
	}
	if a, b := allocs(few), allocs(many); a != b {
		t.Errorf("allocations: %v for %d values, %v for %d, want the same", a, 2*fits, b, 20*fits)
	}
}
