package connectstepup_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/connectstepup"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/stepuptest"
)

// wantRefusal is what a refused call must get.
type wantRefusal struct {
	code      connect.Code
	challenge string // exact WWW-Authenticate; "" for none
	reason    string // ErrorInfo reason; "" for no details
}

// errorInfo returns the stepup ErrorInfo details of err.
func errorInfo(t *testing.T, err *connect.Error) []*errdetails.ErrorInfo {
	t.Helper()
	var out []*errdetails.ErrorInfo
	for _, d := range err.Details() {
		v, derr := d.Value()
		if derr != nil {
			t.Fatalf("detail %s: %v", d.Type(), derr)
		}
		if info, ok := v.(*errdetails.ErrorInfo); ok {
			out = append(out, info)
		}
	}
	return out
}

func checkRefusal(t *testing.T, err error, want wantRefusal) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v, want a *connect.Error", err)
	}
	if ce.Code() != want.code {
		t.Errorf("got code %v, want %v (%v)", ce.Code(), want.code, err)
	}
	if got := ce.Meta().Get("WWW-Authenticate"); got != want.challenge {
		t.Errorf("got WWW-Authenticate %q, want %q", got, want.challenge)
	}
	if want.challenge != "" && ce.Message() != want.challenge {
		t.Errorf("got message %q, want the challenge %q", ce.Message(), want.challenge)
	}
	infos := errorInfo(t, ce)
	if want.reason == "" {
		if len(infos) != 0 {
			t.Errorf("got ErrorInfo %v, want none", infos)
		}
		return
	}
	if len(infos) != 1 {
		t.Fatalf("got %d ErrorInfo details, want 1", len(infos))
	}
	if infos[0].GetDomain() != grpcmw.ErrorDomain || infos[0].GetReason() != want.reason {
		t.Errorf("got ErrorInfo %s/%s, want %s/%s", infos[0].GetDomain(), infos[0].GetReason(), grpcmw.ErrorDomain, want.reason)
	}
}

func TestUnary(t *testing.T) {
	e := newEnv(t)
	plain := e.mint(t, stepuptest.Token{ACR: "pwd"})
	mfa := e.mint(t, stepuptest.Token{ACR: "mfa", Scopes: []string{"read"}})

	noToken := e.httpChallenge(t, claims.Requirement{}, "")
	stepUp := e.httpChallenge(t, reqMFA, plain)
	scope := e.httpChallenge(t, reqAdmin, mfa)
	for _, s := range []string{`error="insufficient_user_authentication"`, `acr_values="mfa"`, `realm="test"`} {
		if !strings.Contains(stepUp, s) {
			t.Fatalf("step-up challenge %q lacks %s", stepUp, s)
		}
	}
	if !strings.Contains(scope, `error="insufficient_scope"`) || !strings.Contains(scope, `scope="admin"`) {
		t.Fatalf("scope challenge %q lacks error or scope", scope)
	}

	tests := []struct {
		name      string
		procedure string
		token     string
		want      *wantRefusal // nil: allowed
		wantBody  string
		wantRule  string // the decision reported; "-" for none
		wantErr   error  // errors.Is of the reported error
	}{
		{name: "no token", procedure: procRead,
			want:     &wantRefusal{code: connect.CodeUnauthenticated, challenge: noToken},
			wantRule: procRead},
		{name: "step-up needed", procedure: procTransfer, token: plain,
			want:     &wantRefusal{code: connect.CodeUnauthenticated, challenge: stepUp, reason: "INSUFFICIENT_USER_AUTHENTICATION"},
			wantRule: procTransfer},
		{name: "scope missing", procedure: procAdmin, token: mfa,
			want:     &wantRefusal{code: connect.CodePermissionDenied, challenge: scope, reason: "INSUFFICIENT_SCOPE"},
			wantRule: procAdmin},
		{name: "bad token", procedure: procRead, token: "not.a.jwt",
			want:     &wantRefusal{code: connect.CodeUnauthenticated, challenge: e.httpChallenge(t, claims.Requirement{}, "not.a.jwt"), reason: "INVALID_TOKEN"},
			wantRule: procRead},
		{name: "unlisted", procedure: procSecret, token: mfa,
			want:     &wantRefusal{code: connect.CodePermissionDenied},
			wantRule: "", wantErr: connectstepup.ErrUnlistedMethod},
		{name: "valid", procedure: procTransfer, token: mfa,
			wantBody: "hi sub=" + stepuptest.DefaultSubject + " acr=mfa", wantRule: procTransfer},
		{name: "public without token", procedure: procOpen,
			wantBody: "hi anonymous", wantRule: "-"},
	}
	for _, p := range protocols {
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				e.takeDecisions()
				res, err := e.client(tt.procedure, p.opts).CallUnary(context.Background(), request("hi", tt.token))
				if tt.want != nil {
					if err == nil {
						t.Fatalf("got %q, want a refusal", res.Msg.GetValue())
					}
					checkRefusal(t, err, *tt.want)
				} else {
					if err != nil {
						t.Fatalf("got error %v, want success", err)
					}
					if got := res.Msg.GetValue(); got != tt.wantBody {
						t.Errorf("got body %q, want %q", got, tt.wantBody)
					}
				}
				checkDecisions(t, e.takeDecisions(), tt.wantRule, tt.want == nil, tt.wantErr)
			})
		}
	}
}

// checkDecisions checks that the call was reported once under rule (not
// at all for "-"), as allowed or refused; wantErr, when set, must match the
// reported error.
func checkDecisions(t *testing.T, got []decision, rule string, allowed bool, wantErr error) {
	t.Helper()
	if rule == "-" {
		if len(got) != 0 {
			t.Errorf("got decisions %v, want none", got)
		}
		return
	}
	if len(got) != 1 {
		t.Fatalf("got %d decisions %v, want 1", len(got), got)
	}
	if got[0].rule != rule {
		t.Errorf("got rule %q, want %q", got[0].rule, rule)
	}
	if allowed != (got[0].err == nil) {
		t.Errorf("got reported error %v, want allowed=%v", got[0].err, allowed)
	}
	if wantErr != nil && !errors.Is(got[0].err, wantErr) {
		t.Errorf("got reported error %v, want %v", got[0].err, wantErr)
	}
}

func TestServerStream(t *testing.T) {
	e := newEnv(t)
	plain := e.mint(t, stepuptest.Token{ACR: "pwd"})
	mfa := e.mint(t, stepuptest.Token{ACR: "mfa"})
	stepUp := e.httpChallenge(t, reqMFA, plain)
	noToken := e.httpChallenge(t, claims.Requirement{}, "")

	for _, p := range protocols {
		t.Run(p.name+"/valid", func(t *testing.T) {
			e.takeDecisions()
			stream, err := e.client(procWatch, p.opts).CallServerStream(context.Background(), request("w", mfa))
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			var got []string
			for stream.Receive() {
				got = append(got, stream.Msg().GetValue())
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream ended with %v", err)
			}
			who := "sub=" + stepuptest.DefaultSubject + " acr=mfa"
			want := []string{"w 0 " + who, "w 1 " + who}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("got messages %q, want %q", got, want)
			}
			stream.Close()
			checkDecisions(t, e.takeDecisions(), procWatch, true, nil)
		})
		for _, tt := range []struct {
			name, token string
			want        wantRefusal
		}{
			{"no token", "", wantRefusal{code: connect.CodeUnauthenticated, challenge: noToken}},
			{"step-up needed", plain, wantRefusal{code: connect.CodeUnauthenticated, challenge: stepUp, reason: "INSUFFICIENT_USER_AUTHENTICATION"}},
		} {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				e.takeDecisions()
				stream, err := e.client(procWatch, p.opts).CallServerStream(context.Background(), request("w", tt.token))
				if err != nil {
					checkRefusal(t, err, tt.want)
					return
				}
				defer stream.Close()
				var n int
				for stream.Receive() {
					n++
				}
				if n != 0 {
					t.Errorf("got %d messages, want none", n)
				}
				checkRefusal(t, stream.Err(), tt.want)
				// Meta of a stream's error: the response header or trailer.
				stream.Close()
				checkDecisions(t, e.takeDecisions(), procWatch, false, nil)
			})
		}
	}
}

// TestConnectHTTPStatus sends the Connect protocol's unary POST by hand:
// a refusal is a real HTTP 401 with the challenge as a response header.
func TestConnectHTTPStatus(t *testing.T) {
	e := newEnv(t)
	plain := e.mint(t, stepuptest.Token{ACR: "pwd"})
	mfa := e.mint(t, stepuptest.Token{ACR: "mfa"})
	tests := []struct {
		name, procedure, token string
		status                 int
		challenge              string
	}{
		{"no token", procRead, "", http.StatusUnauthorized, e.httpChallenge(t, claims.Requirement{}, "")},
		{"step-up needed", procTransfer, plain, http.StatusUnauthorized, e.httpChallenge(t, reqMFA, plain)},
		{"scope missing", procAdmin, mfa, http.StatusForbidden, e.httpChallenge(t, reqAdmin, mfa)},
		{"unlisted", procSecret, mfa, http.StatusForbidden, ""},
		{"valid", procTransfer, mfa, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.srv.URL+tt.procedure, strings.NewReader(`"hi"`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			res, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != tt.status {
				t.Errorf("got HTTP %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Values("WWW-Authenticate"); strings.Join(got, "|") != tt.challenge {
				t.Errorf("got WWW-Authenticate %q, want %q", got, tt.challenge)
			}
		})
	}
}
