package grpcmw_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/stepupclient"
)

const acrPassword = "urn:example:pwd"

// stepUpServer serves testService with every method needing acr (EmptyCall
// any token), counts the decisions (one per call the server sees) and
// returns a client dialed with the step-up interceptors of a Source whose
// TokenFunc mints a token at the first acr value asked for (acrPassword
// at first).
type stepUpServer struct {
	calls  atomic.Int64
	mu     sync.Mutex
	logins []stepupclient.Login
	client testgrpc.TestServiceClient
	src    *stepupclient.Source
}

func newStepUpServer(t *testing.T, acr string, cfg stepupclient.Config) *stepUpServer {
	t.Helper()
	return newStepUpServerGrant(t, acr, cfg, nil)
}

// newStepUpServerGrant is newStepUpServer whose issuer logs in at
// grant(l) when grant is set, and whose cfg.Token, when set, gets the
// issuer.
func newStepUpServerGrant(t *testing.T, acr string, cfg stepupclient.Config, grant func(l stepupclient.Login) string) *stepUpServer {
	t.Helper()
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: "/grpc.testing.TestService/*", Requirement: claims.Requirement{ACR: []string{acr}}},
		grpcmw.Rule{Method: "/grpc.testing.TestService/EmptyCall"},
	)
	if err != nil {
		t.Fatal(err)
	}
	s := &stepUpServer{}
	dial := serve(t, newVerifier(t, is), m, grpcmw.WithDecisionHook(func(context.Context, string, error) { s.calls.Add(1) }))
	if cfg.Token == nil {
		cfg.Token = func(_ context.Context, l stepupclient.Login) (*oauth2.Token, error) {
			s.mu.Lock()
			s.logins = append(s.logins, l)
			s.mu.Unlock()
			a := acrPassword
			if grant != nil {
				a = grant(l)
			} else if len(l.ACRValues) > 0 {
				a = l.ACRValues[0]
			}
			if a == "" {
				return nil, errNoLogin
			}
			return &oauth2.Token{AccessToken: is.mint(t, token{acr: a})}, nil
		}
	}
	s.src, err = stepupclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.client = testgrpc.NewTestServiceClient(dial(
		grpc.WithChainUnaryInterceptor(grpcmw.UnaryClientStepUp(s.src)),
		grpc.WithChainStreamInterceptor(grpcmw.StreamClientStepUp(s.src)),
	))
	return s
}

func (s *stepUpServer) loginCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.logins)
}

// TestClientStepUp: for every kind of call, a password token is refused,
// the interceptor logs in with the refusal's acr_values and the call is
// made again once and succeeds; the handler sees the new acr.
func TestClientStepUp(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			s := newStepUpServer(t, claims.ACRMultiFactor, stepupclient.Config{})
			// The caller's own authorization metadata is replaced.
			ctx := withAuthorization(context.Background(), "Bearer stale")
			header, _, err := k.call(ctx, s.client)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if got := header.Get("x-acr"); !slices.Equal(got, []string{claims.ACRMultiFactor}) {
				t.Errorf("handler saw acr %q, want the multi-factor one", got)
			}
			if n := s.calls.Load(); n != 2 {
				t.Errorf("server decided %d calls, want 2 (one retry)", n)
			}
			if n := s.loginCount(); n != 2 {
				t.Fatalf("%d logins, want 2", n)
			}
			l := s.logins[1]
			if l.Refusal == nil || l.Refusal.Code != claims.CodeInsufficientUserAuthentication || !slices.Equal(l.ACRValues, []string{claims.ACRMultiFactor}) {
				t.Errorf("step-up Login %+v: want the refusal and its acr_values", l)
			}
			// The new token is kept.
			if _, _, err := k.call(context.Background(), s.client); err != nil || s.calls.Load() != 3 {
				t.Errorf("second call: %v after %d decisions, want success after 3", err, s.calls.Load())
			}
		})
	}
}

// TestClientStepUpBound: a server that always refuses gets 1+MaxRetries
// calls, and the caller a *claims.Error wrapping the last status.
func TestClientStepUpBound(t *testing.T) {
	for _, k := range kinds {
		for _, retries := range []int{1, 3} {
			t.Run(k.name, func(t *testing.T) {
				s := newStepUpServerGrant(t, "urn:example:never", stepupclient.Config{MaxRetries: retries},
					func(stepupclient.Login) string { return acrPassword })
				_, _, err := k.call(context.Background(), s.client)
				var ce *claims.Error
				if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientUserAuthentication || status.Code(err) != codes.Unauthenticated {
					t.Fatalf("error %v: want a *claims.Error insufficient_user_authentication, Unauthenticated", err)
				}
				if n := s.calls.Load(); n != int64(1+retries) {
					t.Errorf("server decided %d calls, want %d", n, 1+retries)
				}
			})
		}
	}
}

// TestClientStepUpStreamNotReplayed: a stream is not opened again once it
// sent two messages, or one without closing, or received a message.
func TestClientStepUpStreamNotReplayed(t *testing.T) {
	for name, call := range map[string]func(c testgrpc.TestServiceClient) error{
		"client-streaming, two messages": func(c testgrpc.TestServiceClient) error {
			st, err := c.StreamingInputCall(context.Background())
			if err != nil {
				return err
			}
			for range 2 {
				if err := st.Send(&testgrpc.StreamingInputCallRequest{}); err != nil && err != io.EOF {
					return err
				}
			}
			_, err = st.CloseAndRecv()
			return err
		},
		"bidi, one message, not closed": func(c testgrpc.TestServiceClient) error {
			st, err := c.FullDuplexCall(context.Background())
			if err != nil {
				return err
			}
			if err := st.Send(&testgrpc.StreamingOutputCallRequest{}); err != nil && err != io.EOF {
				return err
			}
			_, err = st.Recv()
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := newStepUpServer(t, claims.ACRMultiFactor, stepupclient.Config{})
			err := call(s.client)
			var ce *claims.Error
			if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientUserAuthentication {
				t.Fatalf("error %v: want the refusal as a *claims.Error", err)
			}
			if n := s.calls.Load(); n != 1 {
				t.Errorf("server decided %d calls, want 1: no replay", n)
			}
		})
	}
	t.Run("bidi, closed without messages", func(t *testing.T) {
		s := newStepUpServer(t, claims.ACRMultiFactor, stepupclient.Config{})
		st, err := s.client.FullDuplexCall(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CloseSend(); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Recv(); err != io.EOF { // the refusal, retried, then the new stream's end
			t.Fatalf("Recv: %v, want io.EOF", err)
		}
		md, err := st.Header()
		if err != nil {
			t.Fatal(err)
		}
		if got := md.Get("x-acr"); !slices.Equal(got, []string{claims.ACRMultiFactor}) {
			t.Errorf("acr %q, want the stepped-up one", got)
		}
		if n := s.calls.Load(); n != 2 {
			t.Errorf("server decided %d calls, want 2", n)
		}
	})
}

// TestClientStepUpNotFollowed: refusals no login cures are returned at
// once: a bad token, and an unlisted method's PermissionDenied.
func TestClientStepUpNotFollowed(t *testing.T) {
	var n atomic.Int64
	s := newStepUpServer(t, claims.ACRMultiFactor, stepupclient.Config{Token: func(context.Context, stepupclient.Login) (*oauth2.Token, error) {
		n.Add(1)
		return &oauth2.Token{AccessToken: "not.a.jwt"}, nil
	}})
	_, err := s.client.EmptyCall(context.Background(), &testgrpc.Empty{})
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken || s.calls.Load() != 1 || n.Load() != 1 {
		t.Errorf("error %v after %d calls, %d logins: want invalid_token after 1, 1", err, s.calls.Load(), n.Load())
	}
}

// TestClientStepUpLoginError: a failed login is the caller's error, with
// the refusal.
func TestClientStepUpLoginError(t *testing.T) {
	s := newStepUpServerGrant(t, claims.ACRMultiFactor, stepupclient.Config{}, func(l stepupclient.Login) string {
		if l.Refusal != nil {
			return "" // the login fails
		}
		return acrPassword
	})
	_, err := s.client.UnaryCall(context.Background(), &testgrpc.SimpleRequest{})
	var le *stepupclient.LoginError
	if !errors.As(err, &le) || !errors.Is(err, errNoLogin) || le.Refusal == nil || le.Refusal.Code != claims.CodeInsufficientUserAuthentication {
		t.Errorf("error %v: want a *stepupclient.LoginError with the refusal", err)
	}
}

var errNoLogin = errors.New("no browser")

// TestClientStepUpDPoP: with WithClientDPoP, against WithDPoP with nonces,
// a call learns the nonce (one retry), steps up (one more, the nonce kept),
// and the next call needs no retry; unary and server-streaming alike.
func TestClientStepUpDPoP(t *testing.T) {
	for _, k := range []rpcKind{kinds[0], kinds[1]} {
		t.Run(k.name, func(t *testing.T) {
			is := newIssuer(t, "k1")
			nonces, err := dpop.NewNonces([]byte(strings.Repeat("n", 32)), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			dv, err := dpop.New(dpop.Config{Nonces: nonces}) // real time: the client's proofs are made now
			if err != nil {
				t.Fatal(err)
			}
			m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*",
				Requirement: claims.Requirement{Binding: claims.BindingDPoP, ACR: []string{claims.ACRMultiFactor}}})
			if err != nil {
				t.Fatal(err)
			}
			var calls atomic.Int64
			var proofs []string
			var mu sync.Mutex
			dial := serve(t, newVerifier(t, is), m, grpcmw.WithDPoP(dv, publicURL),
				grpcmw.WithDecisionHook(func(ctx context.Context, _ string, _ error) {
					calls.Add(1)
					md, _ := metadata.FromIncomingContext(ctx)
					mu.Lock()
					proofs = append(proofs, strings.Join(md.Get("dpop"), ","))
					mu.Unlock()
				}))
			_, key, _ := ed25519.GenerateKey(rand.Reader)
			var logins int
			src, err := stepupclient.New(stepupclient.Config{DPoP: key, Token: func(_ context.Context, l stepupclient.Login) (*oauth2.Token, error) {
				logins++
				acr := acrPassword
				if len(l.ACRValues) > 0 {
					acr = l.ACRValues[0]
				}
				return &oauth2.Token{AccessToken: is.mint(t, token{acr: acr, cnf: map[string]any{"jkt": l.DPoPJKT}}), TokenType: "DPoP"}, nil
			}})
			if err != nil {
				t.Fatal(err)
			}
			client := testgrpc.NewTestServiceClient(dial(
				grpc.WithChainUnaryInterceptor(grpcmw.UnaryClientStepUp(src, grpcmw.WithClientDPoP(publicURL))),
				grpc.WithChainStreamInterceptor(grpcmw.StreamClientStepUp(src, grpcmw.WithClientDPoP(publicURL)))))
			header, _, err := k.call(context.Background(), client)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if got := header.Get("x-acr"); !slices.Equal(got, []string{claims.ACRMultiFactor}) {
				t.Errorf("acr %q, want the multi-factor one", got)
			}
			if calls.Load() != 3 || logins != 2 {
				t.Errorf("%d calls, %d logins; want 3 (nonce retry, step-up retry), 2", calls.Load(), logins)
			}
			if _, _, err := k.call(context.Background(), client); err != nil || calls.Load() != 4 {
				t.Errorf("second call: %v after %d calls, want success with the kept nonce after 4", err, calls.Load())
			}
			mu.Lock()
			defer mu.Unlock()
			for i, p := range proofs {
				if strings.Count(p, ".") != 2 {
					t.Errorf("call %d carried dpop %q, want one proof", i, p)
				}
			}
		})
	}
}

// TestClientStepUpDPoPConfig: a bad public URL, or a Source without key,
// panics at construction.
func TestClientStepUpDPoPConfig(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	tok := func(context.Context, stepupclient.Login) (*oauth2.Token, error) { return nil, errNoLogin }
	withKey, _ := stepupclient.New(stepupclient.Config{DPoP: key, Token: tok})
	noKey, _ := stepupclient.New(stepupclient.Config{Token: tok})
	for name, f := range map[string]func(){
		"http":     func() { grpcmw.UnaryClientStepUp(withKey, grpcmw.WithClientDPoP("http://bank.example.com")) },
		"empty":    func() { grpcmw.StreamClientStepUp(withKey, grpcmw.WithClientDPoP("")) },
		"no key":   func() { grpcmw.UnaryClientStepUp(noKey, grpcmw.WithClientDPoP(publicURL)) },
		"nil src":  func() { grpcmw.UnaryClientStepUp(nil) },
		"fragment": func() { grpcmw.UnaryClientStepUp(withKey, grpcmw.WithClientDPoP(publicURL+"#f")) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	grpcmw.UnaryClientStepUp(withKey, grpcmw.WithClientDPoP(publicURL))
}
