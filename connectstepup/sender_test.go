package connectstepup_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/stepupauth/stepup/connectstepup"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// More procedures: a client stream and a bidi stream.
const (
	procUpload = "/test.v1.Test/Upload" // client stream, acr mfa
	procChat   = "/test.v1.Test/Chat"   // bidi stream, any token
)

// senderEnv is the test service with DPoP and client certificates: the
// interceptor built WithDPoP for the server's own URL, its handlers mounted
// through Handler (unless bare), TLS asking for client certificates.
type senderEnv struct {
	iss    *stepuptest.Issuer
	v      *verify.Verifier
	dv     *dpop.Verifier
	srv    *httptest.Server
	client *http.Client // with the client certificate
	cert   *x509.Certificate
}

func newSenderEnv(t *testing.T, bare bool) *senderEnv {
	t.Helper()
	return newSenderEnvWith(t, bare, dpop.Config{})
}

func newSenderEnvWith(t *testing.T, bare bool, dcfg dpop.Config) *senderEnv {
	t.Helper()
	iss, v := newIssuer(t)
	dv, err := dpop.New(dcfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &senderEnv{iss: iss, v: v, dv: dv}
	var h http.Handler
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	e.srv.EnableHTTP2 = true
	e.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)

	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: procRead},
		grpcmw.Rule{Method: procTransfer, Requirement: reqMFA},
		grpcmw.Rule{Method: procUpload, Requirement: reqMFA},
		grpcmw.Rule{Method: procChat},
	)
	if err != nil {
		t.Fatal(err)
	}
	guard, err := connectstepup.New(v, m, connectstepup.WithRealm(testRealm), connectstepup.WithDPoP(dv, e.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	opt := connect.WithInterceptors(guard)
	mux := http.NewServeMux()
	mux.Handle(procRead, connect.NewUnaryHandler(procRead, unary, opt))
	mux.Handle(procTransfer, connect.NewUnaryHandler(procTransfer, unary, opt))
	mux.Handle(procUpload, connect.NewClientStreamHandler(procUpload, upload, opt))
	mux.Handle(procChat, connect.NewBidiStreamHandler(procChat, chat, opt))
	h = guard.Handler(mux)
	if bare {
		h = mux
	}

	cert, pair := clientCert(t)
	e.cert = cert
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.Certificates = []tls.Certificate{pair}
	e.client = &http.Client{Transport: tr}
	return e
}

// clientCert makes a self-signed client certificate.
func clientCert(t *testing.T) (*x509.Certificate, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}
}

// upload concatenates the messages of a client stream, with the caller.
func upload(ctx context.Context, stream *connect.ClientStream[wrapperspb.StringValue]) (*connect.Response[wrapperspb.StringValue], error) {
	var got []string
	for stream.Receive() {
		got = append(got, stream.Msg().GetValue())
	}
	if err := stream.Err(); err != nil {
		return nil, err
	}
	return connect.NewResponse(wrapperspb.String(strings.Join(got, "+") + " " + who(ctx))), nil
}

// chat answers every message of a bidi stream with it and the caller.
func chat(ctx context.Context, stream *connect.BidiStream[wrapperspb.StringValue, wrapperspb.StringValue]) error {
	for {
		msg, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(wrapperspb.String(msg.GetValue() + " " + who(ctx))); err != nil {
			return err
		}
	}
}

func (e *senderEnv) mint(t *testing.T, tok stepuptest.Token) string {
	t.Helper()
	raw, err := e.iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// creds sets the credentials of a call: "Bearer raw", or "DPoP raw" with
// the proof when proof is not empty.
func creds(h http.Header, raw, proof string) {
	if proof == "" {
		h.Set("Authorization", "Bearer "+raw)
		return
	}
	h.Set("Authorization", "DPoP "+raw)
	h.Set("DPoP", proof)
}

// TestDPoP: a DPoP-bound token is accepted with a proof by its key for the
// call's method and URL (unary and client stream, every protocol), refused
// as Bearer (no downgrade) and with a proof for another URL, in the DPoP
// scheme with the challenge httpmw sends.
func TestDPoP(t *testing.T) {
	e := newSenderEnv(t, false)
	key, err := stepuptest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	bound := e.mint(t, stepuptest.Token{ACR: "mfa", Claims: map[string]any{"cnf": map[string]any{"jkt": key.JKT()}}})
	proof := func(url string) string {
		p, err := key.Proof(stepuptest.DPoPProof{Method: "POST", URL: url, AccessToken: bound})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// httpmw's answer to the same downgrade, with the same verifiers.
	g, err := httpmw.New(e.v, httpmw.WithRealm(testRealm), httpmw.WithDPoP(e.dv, e.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", procTransfer, nil)
	r.Header.Set("Authorization", "Bearer "+bound)
	rec := httptest.NewRecorder()
	g.Require(reqMFA, http.NotFoundHandler()).ServeHTTP(rec, r)
	downgrade := rec.Header().Get("WWW-Authenticate")
	if !strings.HasPrefix(downgrade, "DPoP ") {
		t.Fatalf("httpmw's downgrade answer %q is not a DPoP challenge", downgrade)
	}

	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](e.client, e.srv.URL+procTransfer, p.opts...)
			req := connect.NewRequest(wrapperspb.String("hi"))
			creds(req.Header(), bound, proof(e.srv.URL+procTransfer))
			res, err := c.CallUnary(context.Background(), req)
			if err != nil {
				t.Fatalf("DPoP with a good proof: %v", err)
			}
			if want := "hi sub=" + stepuptest.DefaultSubject + " acr=mfa"; res.Msg.GetValue() != want {
				t.Errorf("got %q, want %q", res.Msg.GetValue(), want)
			}

			req = connect.NewRequest(wrapperspb.String("hi"))
			creds(req.Header(), bound, "")
			_, err = c.CallUnary(context.Background(), req)
			checkRefusal(t, err, wantRefusal{code: connect.CodeUnauthenticated, challenge: downgrade, reason: "INVALID_TOKEN"})

			req = connect.NewRequest(wrapperspb.String("hi"))
			creds(req.Header(), bound, proof(e.srv.URL+procRead))
			_, err = c.CallUnary(context.Background(), req)
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeUnauthenticated ||
				!strings.HasPrefix(ce.Meta().Get("WWW-Authenticate"), "DPoP ") || !strings.Contains(ce.Meta().Get("WWW-Authenticate"), `error="invalid_dpop_proof"`) {
				t.Errorf("proof for another URL: got %v (challenge %q), want Unauthenticated invalid_dpop_proof in the DPoP scheme", err, ce.Meta().Get("WWW-Authenticate"))
			}

			up := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](e.client, e.srv.URL+procUpload, p.opts...)
			stream := up.CallClientStream(context.Background())
			creds(stream.RequestHeader(), bound, proof(e.srv.URL+procUpload))
			for _, m := range []string{"a", "b"} {
				if err := stream.Send(wrapperspb.String(m)); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			got, err := stream.CloseAndReceive()
			if err != nil {
				t.Fatalf("client stream with DPoP: %v", err)
			}
			if want := "a+b sub=" + stepuptest.DefaultSubject + " acr=mfa"; got.Msg.GetValue() != want {
				t.Errorf("client stream: got %q, want %q", got.Msg.GetValue(), want)
			}
		})
	}
}

// TestClientCertificate: a certificate-bound token is accepted with its
// client certificate on the TLS connection, which the interceptor sees
// through Handler; with another certificate, or mounted without Handler,
// it is refused invalid_token.
func TestClientCertificate(t *testing.T) {
	for _, tt := range []struct {
		name    string
		bare    bool
		other   bool // the token is bound to another certificate
		allowed bool
	}{
		{"bound", false, false, true},
		{"other certificate", false, true, false},
		{"without Handler", true, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newSenderEnv(t, tt.bare)
			x5t := mtls.Thumbprint(e.cert)
			if tt.other {
				other, _ := clientCert(t)
				x5t = mtls.Thumbprint(other)
			}
			raw := e.mint(t, stepuptest.Token{ACR: "mfa", Claims: map[string]any{"cnf": map[string]any{"x5t#S256": x5t}}})
			for _, p := range protocols {
				c := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](e.client, e.srv.URL+procRead, p.opts...)
				req := connect.NewRequest(wrapperspb.String("hi"))
				creds(req.Header(), raw, "")
				_, err := c.CallUnary(context.Background(), req)
				if tt.allowed {
					if err != nil {
						t.Errorf("%s: got %v, want success", p.name, err)
					}
					continue
				}
				checkRefusal(t, err, wantRefusal{code: connect.CodeUnauthenticated,
					challenge: `Bearer realm="test", error="invalid_token", error_description="The access token is invalid"`, reason: "INVALID_TOKEN"})
			}
		})
	}
}

// TestClientAndBidiStreams: a client stream and a bidi stream are
// authorized when they open, with real Connect clients on every protocol:
// refused with the step-up challenge before the handler reads a message,
// allowed with the claims in the handler's context.
func TestClientAndBidiStreams(t *testing.T) {
	e := newSenderEnv(t, false)
	plain := e.mint(t, stepuptest.Token{ACR: "pwd"})
	mfa := e.mint(t, stepuptest.Token{ACR: "mfa"})
	for _, p := range protocols {
		t.Run(p.name+"/client stream", func(t *testing.T) {
			up := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](e.client, e.srv.URL+procUpload, p.opts...)
			for _, tt := range []struct {
				token string
				want  string // the answer; "" for the step-up refusal
			}{{plain, ""}, {mfa, "x+y sub=" + stepuptest.DefaultSubject + " acr=mfa"}} {
				stream := up.CallClientStream(context.Background())
				creds(stream.RequestHeader(), tt.token, "")
				_ = stream.Send(wrapperspb.String("x")) // may fail once the server refused
				_ = stream.Send(wrapperspb.String("y"))
				res, err := stream.CloseAndReceive()
				if tt.want == "" {
					checkRefusal(t, err, wantRefusal{code: connect.CodeUnauthenticated,
						challenge: `Bearer realm="test", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="mfa"`,
						reason:    "INSUFFICIENT_USER_AUTHENTICATION"})
					continue
				}
				if err != nil || res.Msg.GetValue() != tt.want {
					t.Errorf("got %v, %v; want %q", res, err, tt.want)
				}
			}
		})
		t.Run(p.name+"/bidi stream", func(t *testing.T) {
			c := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](e.client, e.srv.URL+procChat, p.opts...)
			stream := c.CallBidiStream(context.Background())
			creds(stream.RequestHeader(), plain, "")
			var got []string
			for _, m := range []string{"one", "two"} {
				if err := stream.Send(wrapperspb.String(m)); err != nil {
					t.Fatalf("Send: %v", err)
				}
				res, err := stream.Receive()
				if err != nil {
					t.Fatalf("Receive: %v", err)
				}
				got = append(got, res.GetValue())
			}
			_ = stream.CloseRequest()
			_ = stream.CloseResponse()
			if want := "one sub=" + stepuptest.DefaultSubject + " acr=pwd|two sub=" + stepuptest.DefaultSubject + " acr=pwd"; strings.Join(got, "|") != want {
				t.Errorf("got %q, want %q", got, want)
			}

			stream = c.CallBidiStream(context.Background())
			_ = stream.Send(wrapperspb.String("anonymous"))
			_, err := stream.Receive()
			_ = stream.CloseRequest()
			_ = stream.CloseResponse()
			checkRefusal(t, err, wantRefusal{code: connect.CodeUnauthenticated,
				challenge: `Bearer realm="test", DPoP realm="test", algs="` + strings.Join(e.dv.Algorithms(), " ") + `"`})
		})
	}
}

func TestNewSenderOptions(t *testing.T) {
	e := newSenderEnv(t, false)
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: procRead})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		opt  connectstepup.Option
		msg  string
	}{
		{"nil dpop verifier", connectstepup.WithDPoP(nil, "https://api.example.com"), "WithDPoP: nil *dpop.Verifier"},
		{"http public URL", connectstepup.WithDPoP(e.dv, "http://api.example.com"), "WithDPoP: public URL"},
		{"public URL with a query", connectstepup.WithDPoP(e.dv, "https://api.example.com/?a=b"), "WithDPoP: public URL"},
		{"nil certificate source", connectstepup.WithClientCertificates(nil), "WithClientCertificates: nil *mtls.Source"},
	} {
		if _, err := connectstepup.New(e.v, m, tt.opt); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: got %v, want an error with %q", tt.name, err, tt.msg)
		}
	}
}

// TestDPoPNonce: a proof without the server's nonce is refused with
// use_dpop_nonce and a DPoP-Nonce header the client can read, on every
// protocol; the proof made with that nonce is accepted.
func TestDPoPNonce(t *testing.T) {
	nonces, err := dpop.NewNonces([]byte(strings.Repeat("k", 32)), 0)
	if err != nil {
		t.Fatal(err)
	}
	e := newSenderEnvWith(t, false, dpop.Config{Nonces: nonces})
	key, err := stepuptest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	bound := e.mint(t, stepuptest.Token{Claims: map[string]any{"cnf": map[string]any{"jkt": key.JKT()}}})
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			c := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](e.client, e.srv.URL+procRead, p.opts...)
			call := func(nonce string) error {
				proof, err := key.Proof(stepuptest.DPoPProof{Method: "POST", URL: e.srv.URL + procRead, AccessToken: bound, Nonce: nonce})
				if err != nil {
					t.Fatal(err)
				}
				req := connect.NewRequest(wrapperspb.String("hi"))
				creds(req.Header(), bound, proof)
				_, err = c.CallUnary(context.Background(), req)
				return err
			}
			err := call("")
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeUnauthenticated || !strings.Contains(ce.Meta().Get("WWW-Authenticate"), `error="use_dpop_nonce"`) {
				t.Fatalf("no nonce: got %v, want Unauthenticated use_dpop_nonce", err)
			}
			nonce := ce.Meta().Get("DPoP-Nonce")
			if nonce != nonces.Issue() {
				t.Fatalf("DPoP-Nonce: got %q, want the server's nonce %q", nonce, nonces.Issue())
			}
			if err := call(nonce); err != nil {
				t.Errorf("with the nonce: got %v, want success", err)
			}
		})
	}
}

// TestDPoPStreamExpiry: a stream authorized by a DPoP-bound token that
// outlives it ends with invalid_token in the DPoP scheme, as grpcmw's
// streams do: the client must come back with DPoP.
func TestDPoPStreamExpiry(t *testing.T) {
	e := newSenderEnv(t, false)
	key, err := stepuptest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			now := time.Now()
			bound := e.mint(t, stepuptest.Token{ACR: "mfa", IssuedAt: now, Expiry: now.Add(time.Second),
				Claims: map[string]any{"cnf": map[string]any{"jkt": key.JKT()}}})
			proof, err := key.Proof(stepuptest.DPoPProof{Method: "POST", URL: e.srv.URL + procUpload, AccessToken: bound})
			if err != nil {
				t.Fatal(err)
			}
			up := connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](e.client, e.srv.URL+procUpload, p.opts...)
			stream := up.CallClientStream(context.Background())
			creds(stream.RequestHeader(), bound, proof)
			if err := stream.Send(wrapperspb.String("a")); err != nil {
				t.Fatalf("Send before the expiry: %v", err)
			}
			time.Sleep(time.Until(now.Add(1500 * time.Millisecond)))
			_ = stream.Send(wrapperspb.String("b")) // may already fail: the answer says why
			_, err = stream.CloseAndReceive()
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeUnauthenticated {
				t.Fatalf("stream past the token's exp: got %v, want Unauthenticated", err)
			}
			if ch := ce.Meta().Get("WWW-Authenticate"); !strings.HasPrefix(ch, "DPoP ") || !strings.Contains(ch, `error="invalid_token"`) {
				t.Errorf("got challenge %q, want invalid_token in the DPoP scheme", ch)
			}
		})
	}
}
