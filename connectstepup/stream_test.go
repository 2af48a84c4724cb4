package connectstepup_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/stepupauth/stepup/connectstepup"
	"github.com/stepupauth/stepup/stepuptest"
)

// TestStreamExpiry: a stream that outlives its token has its context
// cancelled, its next Send refused, and ends Unauthenticated invalid_token.
func TestStreamExpiry(t *testing.T) {
	e := newEnv(t)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			e.takeDecisions()
			now := time.Now()
			raw := e.mint(t, stepuptest.Token{IssuedAt: now, Expiry: now.Add(1500 * time.Millisecond)})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stream, err := e.client(procWait, p.opts).CallServerStream(ctx, request("w", raw))
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			var got []string
			for stream.Receive() {
				got = append(got, stream.Msg().GetValue())
			}
			if strings.Join(got, "|") != "first" {
				t.Errorf("got messages %q, want only %q", got, "first")
			}
			var ce *connect.Error
			if !errors.As(stream.Err(), &ce) {
				t.Fatalf("stream ended with %v, want a *connect.Error", stream.Err())
			}
			if ce.Code() != connect.CodeUnauthenticated || !strings.Contains(ce.Message(), `error="invalid_token"`) {
				t.Errorf("got %v %q, want Unauthenticated invalid_token", ce.Code(), ce.Message())
			}
			if infos := errorInfo(t, ce); len(infos) != 1 || infos[0].GetReason() != "INVALID_TOKEN" {
				t.Errorf("got ErrorInfo %v, want INVALID_TOKEN", infos)
			}
			stream.Close()
			d := e.takeDecisions()
			if len(d) != 1 || d[0].rule != procWait || !errors.Is(d[0].err, connectstepup.ErrStreamExpired) {
				t.Errorf("got decisions %v, want one ErrStreamExpired under %s", d, procWait)
			}
		})
	}
}

// TestChoose: a rule's Choose gets the unary request message.
func TestChoose(t *testing.T) {
	e := newEnv(t)
	plain := e.mint(t, stepuptest.Token{ACR: "pwd"})
	stepUp := e.httpChallenge(t, reqMFA, plain)
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			res, err := e.client(procChoose, p.opts).CallUnary(context.Background(), request("small", plain))
			if err != nil {
				t.Fatalf("small: got %v, want success", err)
			}
			if want := "small sub=" + stepuptest.DefaultSubject + " acr=pwd"; res.Msg.GetValue() != want {
				t.Errorf("small: got %q, want %q", res.Msg.GetValue(), want)
			}
			_, err = e.client(procChoose, p.opts).CallUnary(context.Background(), request("big", plain))
			checkRefusal(t, err, wantRefusal{code: connect.CodeUnauthenticated, challenge: stepUp, reason: "INSUFFICIENT_USER_AUTHENTICATION"})
		})
	}
}

// TestClientPassthrough: on a client the interceptor changes nothing.
func TestClientPassthrough(t *testing.T) {
	e := newEnv(t)
	guard, err := connectstepup.New(e.v, testMethods(t))
	if err != nil {
		t.Fatal(err)
	}
	raw := e.mint(t, stepuptest.Token{ACR: "mfa"})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			opts := append([]connect.ClientOption{connect.WithInterceptors(guard)}, p.opts...)
			res, err := e.client(procTransfer, opts).CallUnary(context.Background(), request("hi", raw))
			if err != nil {
				t.Fatalf("got %v, want success", err)
			}
			if want := "hi sub=" + stepuptest.DefaultSubject + " acr=mfa"; res.Msg.GetValue() != want {
				t.Errorf("got %q, want %q", res.Msg.GetValue(), want)
			}
			stream, err := e.client(procWatch, opts).CallServerStream(context.Background(), request("w", raw))
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			n := 0
			for stream.Receive() {
				n++
			}
			if err := stream.Err(); err != nil || n != 2 {
				t.Errorf("got %d messages and %v, want 2 and nil", n, err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	e := newEnv(t)
	m := testMethods(t)
	tests := []struct {
		name string
		fn   func() (*connectstepup.Interceptor, error)
	}{
		{"nil verifier", func() (*connectstepup.Interceptor, error) { return connectstepup.New(nil, m) }},
		{"nil methods", func() (*connectstepup.Interceptor, error) { return connectstepup.New(e.v, nil) }},
		{"nil option", func() (*connectstepup.Interceptor, error) { return connectstepup.New(e.v, m, nil) }},
		{"nil hook", func() (*connectstepup.Interceptor, error) {
			return connectstepup.New(e.v, m, connectstepup.WithDecisionHook(nil))
		}},
		{"realm with a control character", func() (*connectstepup.Interceptor, error) {
			return connectstepup.New(e.v, m, connectstepup.WithRealm("a\nb"))
		}},
		{"http resource metadata", func() (*connectstepup.Interceptor, error) {
			return connectstepup.New(e.v, m, connectstepup.WithResourceMetadata("http://api.example/.well-known/oauth-protected-resource"))
		}},
		{"resource metadata with a fragment", func() (*connectstepup.Interceptor, error) {
			return connectstepup.New(e.v, m, connectstepup.WithResourceMetadata("https://api.example/m#x"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, err := tt.fn()
			if err == nil || i != nil {
				t.Fatalf("got %v, %v, want an error", i, err)
			}
			if !strings.HasPrefix(err.Error(), "connectstepup: ") {
				t.Errorf("got error %q, want the package prefix", err)
			}
		})
	}
	i, err := connectstepup.New(e.v, m, connectstepup.WithRealm("ok"), connectstepup.WithResourceMetadata("https://api.example/.well-known/oauth-protected-resource"))
	if err != nil || i == nil {
		t.Fatalf("valid configuration: got %v, %v", i, err)
	}
}

// TestResourceMetadata: the challenge carries the configured
// resource_metadata, as httpmw's does.
func TestResourceMetadata(t *testing.T) {
	const url = "https://api.example/.well-known/oauth-protected-resource"
	e := newEnv(t, connectstepup.WithResourceMetadata(url))
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			_, err := e.client(procRead, p.opts).CallUnary(context.Background(), request("hi", ""))
			checkRefusal(t, err, wantRefusal{code: connect.CodeUnauthenticated, challenge: `Bearer realm="test", resource_metadata="` + url + `"`})
		})
	}
}

// TestMalformedCredentials: two Authorization headers, or a Bearer
// without a token, are invalid_request: InvalidArgument.
func TestMalformedCredentials(t *testing.T) {
	e := newEnv(t)
	raw := e.mint(t, stepuptest.Token{ACR: "mfa"})
	for _, p := range protocols {
		for name, values := range map[string][]string{
			"two headers":     {"Bearer " + raw, "Bearer " + raw},
			"bearer no token": {"Bearer"},
		} {
			t.Run(p.name+"/"+name, func(t *testing.T) {
				req := request("hi", "")
				for _, v := range values {
					req.Header().Add("Authorization", v)
				}
				_, err := e.client(procRead, p.opts).CallUnary(context.Background(), req)
				var ce *connect.Error
				if !errors.As(err, &ce) {
					t.Fatalf("got %v, want a *connect.Error", err)
				}
				if ce.Code() != connect.CodeInvalidArgument {
					t.Errorf("got code %v, want invalid_argument", ce.Code())
				}
				if got := ce.Meta().Get("WWW-Authenticate"); !strings.HasPrefix(got, `Bearer realm="test", error="invalid_request"`) {
					t.Errorf("got WWW-Authenticate %q, want an invalid_request challenge", got)
				}
				if infos := errorInfo(t, ce); len(infos) != 1 || infos[0].GetReason() != "INVALID_REQUEST" {
					t.Errorf("got ErrorInfo %v, want INVALID_REQUEST", infos)
				}
			})
		}
	}
}
