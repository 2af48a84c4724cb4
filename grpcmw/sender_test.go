package grpcmw_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/stepuptest"
)

const publicURL = "https://bank.example.com"

// dpopClient is a DPoP client's key (EdDSA) and the proofs it makes at
// testNow (RFC 9449 §4.2), by stepuptest.
type dpopClient struct {
	key *stepuptest.DPoPKey
	jkt string // RFC 7638 thumbprint of its public key
}

func newDPoPClient(t *testing.T) *dpopClient {
	t.Helper()
	k, err := stepuptest.NewDPoPKey("EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	return &dpopClient{key: k, jkt: k.JKT()}
}

// proof signs a proof for method and uri with the token's hash, at testNow.
func (c *dpopClient) proof(method, uri, token, nonce string) string {
	p, err := c.key.Proof(stepuptest.DPoPProof{Method: method, URL: uri, AccessToken: token, Nonce: nonce, IssuedAt: testNow})
	if err != nil {
		panic(err)
	}
	return p
}

// TestDPoP: a gRPC call is an HTTP/2 POST to its full method: the proof's
// htm is POST and its htu the public URL plus the method, for unary calls
// and streams; the answers carry the DPoP challenges of RFC 9449 §7.1 in
// the www-authenticate metadata and the status message.
func TestDPoP(t *testing.T) {
	is := newIssuer(t, "k1")
	client, other := newDPoPClient(t), newDPoPClient(t)
	bound := is.mint(t, token{cnf: map[string]any{"jkt": client.jkt}})
	bearer := is.mint(t, token{})
	nonces, err := dpop.NewNonces([]byte(strings.Repeat("n", 32)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	dv, err := dpop.New(dpop.Config{Algorithms: []string{"EdDSA"}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	dvNonce, err := dpop.New(dpop.Config{Algorithms: []string{"EdDSA"}, Nonces: nonces, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: "/grpc.testing.TestService/*", Requirement: claims.Requirement{Binding: claims.BindingDPoP}},
		grpcmw.Rule{Method: methodEmpty},
	)
	if err != nil {
		t.Fatal(err)
	}
	c := startServer(t, newVerifier(t, is), m, grpcmw.WithRealm(testRealm), grpcmw.WithDPoP(dv, publicURL))
	cn := startServer(t, newVerifier(t, is), m, grpcmw.WithDPoP(dvNonce, publicURL))
	call := func(c conns, auth string, proofs ...string) (metadata.MD, error) {
		ctx := context.Background()
		md := metadata.MD{}
		if auth != "" {
			md.Append("authorization", auth)
		}
		for _, p := range proofs {
			md.Append("dpop", p)
		}
		ctx = metadata.NewOutgoingContext(ctx, md)
		var header metadata.MD
		_, err := testgrpc.NewTestServiceClient(c.raw).UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.Header(&header))
		return header, err
	}
	unary := publicURL + methodUnary
	realm := `realm="` + testRealm + `"`
	for _, tt := range []struct {
		name   string
		auth   string
		proofs []string
		code   codes.Code
		header string
		reason string
	}{
		{"DPoP token and its proof", "DPoP " + bound, []string{client.proof("POST", unary, bound, "")}, codes.OK, "", ""},
		{"no token: both schemes", "", nil, codes.Unauthenticated, "Bearer " + realm + ", DPoP " + realm + `, algs="EdDSA"`, ""},
		{"DPoP-bound token as Bearer", "Bearer " + bound, nil, codes.Unauthenticated,
			`DPoP ` + realm + `, error="invalid_token", error_description="The access token is invalid", algs="EdDSA"`, "INVALID_TOKEN"},
		{"bearer token where DPoP is required", "Bearer " + bearer, nil, codes.Unauthenticated,
			`DPoP ` + realm + `, error="invalid_token", error_description="A DPoP-bound access token is required", algs="EdDSA"`, "INVALID_TOKEN"},
		{"proof for GET", "DPoP " + bound, []string{client.proof("GET", unary, bound, "")}, codes.Unauthenticated,
			`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="The DPoP proof is invalid", algs="EdDSA"`, "INVALID_DPOP_PROOF"},
		{"proof for another method", "DPoP " + bound, []string{client.proof("POST", publicURL+methodEmpty, bound, "")}, codes.Unauthenticated,
			`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="The DPoP proof is invalid", algs="EdDSA"`, "INVALID_DPOP_PROOF"},
		{"two proofs", "DPoP " + bound, []string{client.proof("POST", unary, bound, ""), client.proof("POST", unary, bound, "")}, codes.Unauthenticated,
			`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="The DPoP proof is invalid", algs="EdDSA"`, "INVALID_DPOP_PROOF"},
		{"proof by another key", "DPoP " + bound, []string{other.proof("POST", unary, bound, "")}, codes.Unauthenticated,
			`DPoP ` + realm + `, error="invalid_token", error_description="The access token is invalid", algs="EdDSA"`, "INVALID_TOKEN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			header, err := call(c, tt.auth, tt.proofs...)
			st := status.Convert(err)
			if st.Code() != tt.code || strings.Join(header.Get(grpcmw.WWWAuthenticateKey), "|") != tt.header {
				t.Fatalf("got %v %q\nwant %v %q", st.Code(), header.Get(grpcmw.WWWAuthenticateKey), tt.code, tt.header)
			}
			if tt.header != "" && st.Message() != tt.header {
				t.Errorf("status message: got %q, want the challenge", st.Message())
			}
			if tt.reason != "" {
				info, ok := st.Details()[0].(*errdetails.ErrorInfo)
				if !ok || info.GetReason() != tt.reason {
					t.Errorf("ErrorInfo: got %v, want reason %s", st.Details(), tt.reason)
				}
			}
		})
	}

	// A stream's proof is checked when it opens.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "DPoP "+bound, "dpop", client.proof("POST", publicURL+methodDuplex, bound, ""))
	if _, _, err := callBidi(ctx, testgrpc.NewTestServiceClient(c.raw)); err != nil {
		t.Errorf("bidi stream with its proof: %v", err)
	}
	ctx = metadata.AppendToOutgoingContext(context.Background(), "authorization", "DPoP "+bound, "dpop", client.proof("POST", unary, bound, ""))
	if _, _, err := callBidi(ctx, testgrpc.NewTestServiceClient(c.raw)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("bidi stream with a unary call's proof: got %v, want Unauthenticated", err)
	}

	// Nonces: use_dpop_nonce with a dpop-nonce header, then the retry passes.
	header, err := call(cn, "DPoP "+bound, client.proof("POST", unary, bound, ""))
	nonce := strings.Join(header.Get("dpop-nonce"), "")
	if want := `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="EdDSA"`; status.Code(err) != codes.Unauthenticated || strings.Join(header.Get(grpcmw.WWWAuthenticateKey), "") != want || nonce == "" {
		t.Fatalf("without a nonce: got %v %q nonce %q; want %q and a nonce", err, header.Get(grpcmw.WWWAuthenticateKey), nonce, want)
	}
	if _, err := call(cn, "DPoP "+bound, client.proof("POST", unary, bound, nonce)); err != nil {
		t.Errorf("with the nonce: %v", err)
	}
	// The typed client error carries the DPoP scheme.
	_, err = testgrpc.NewTestServiceClient(c.typed).UnaryCall(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+bearer), &testgrpc.SimpleRequest{})
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Scheme != "DPoP" || ce.Code != claims.CodeInvalidToken {
		t.Errorf("typed client: got %v, want an invalid_token *claims.Error in the DPoP scheme", err)
	}
}

// TestDPoPConfig: WithDPoP needs a verifier and an https public URL.
func TestDPoPConfig(t *testing.T) {
	is := newIssuer(t, "k1")
	m, err := grpcmw.NewMethods()
	if err != nil {
		t.Fatal(err)
	}
	dv, err := dpop.New(dpop.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []grpcmw.Option{grpcmw.WithDPoP(nil, publicURL), grpcmw.WithDPoP(dv, "http://bank.example.com"), grpcmw.WithDPoP(dv, ""), grpcmw.WithClientCertificates(nil)} {
		if _, err := grpcmw.New(newVerifier(t, is), m, opt); err == nil || !strings.HasPrefix(err.Error(), "grpcmw: ") {
			t.Errorf("New: got %v, want a grpcmw configuration error", err)
		}
	}
}

// TestCertificateBound: a certificate-bound token (RFC 8705) passes over
// mutual TLS with its certificate, and only with it; a bearer token on a
// method that demands a certificate-bound one is refused.
func TestCertificateBound(t *testing.T) {
	is := newIssuer(t, "k1")
	certA, certB, serverCert := selfSigned(t, "a"), selfSigned(t, "b"), selfSigned(t, "bufnet")
	bound := is.mint(t, token{cnf: map[string]any{"x5t#S256": mtls.Thumbprint(certA.Leaf)}})
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*", Requirement: claims.Requirement{Binding: claims.BindingMTLS}})
	if err != nil {
		t.Fatal(err)
	}
	s := newInterceptors(t, newVerifier(t, is), m)
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{serverCert}, ClientAuth: tls.RequestClientCert})),
		grpc.ChainUnaryInterceptor(s.Unary()))
	testgrpc.RegisterTestServiceServer(srv, testService{})
	served := make(chan struct{})
	go func() { defer close(served); _ = srv.Serve(lis) }()
	t.Cleanup(func() { srv.Stop(); <-served })
	for _, tt := range []struct {
		name  string
		cert  *tls.Certificate
		token string
		code  codes.Code
		desc  string
	}{
		{"its certificate", &certA, bound, codes.OK, ""},
		{"another certificate", &certB, bound, codes.Unauthenticated, "The access token is invalid"},
		{"no certificate", nil, bound, codes.Unauthenticated, "The access token is invalid"},
		{"bearer token", &certA, is.mint(t, token{}), codes.Unauthenticated, "A certificate-bound access token is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &tls.Config{InsecureSkipVerify: true} // the test's self-signed server
			if tt.cert != nil {
				cfg.Certificates = []tls.Certificate{*tt.cert}
			}
			cc, err := grpc.NewClient("passthrough:///bufnet",
				grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
				grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tt.token)
			_, err = testgrpc.NewTestServiceClient(cc).UnaryCall(ctx, &testgrpc.SimpleRequest{})
			st := status.Convert(err)
			if st.Code() != tt.code || (tt.desc != "" && !strings.Contains(st.Message(), `error_description="`+tt.desc+`"`)) {
				t.Errorf("got %v %q, want %v with %q", st.Code(), st.Message(), tt.code, tt.desc)
			}
		})
	}
}

// selfSigned is a certificate for name, made for the test.
func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// TestDPoPStreamExpiry: a DPoP stream that outlives its token ends with an
// invalid_token challenge in the DPoP scheme, with algs, in the trailer.
func TestDPoPStreamExpiry(t *testing.T) {
	is := newIssuer(t, "k1")
	client := newDPoPClient(t)
	bound := is.mint(t, token{cnf: map[string]any{"jkt": client.jkt}})
	exp := testNow.Add(time.Hour)
	dv, err := dpop.New(dpop.Config{Algorithms: []string{"EdDSA"}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	svc := expiryService{cause: make(chan error, 1), sendErr: make(chan error, 1)}
	cc := serveExpiry(t, newVerifierAt(t, is, func() time.Time { return exp.Add(-time.Second) }), svc, grpcmw.WithDPoP(dv, publicURL))
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "DPoP "+bound, "dpop", client.proof("POST", publicURL+methodDuplex, bound, ""))
	st, err := testgrpc.NewTestServiceClient(cc).FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&testgrpc.StreamingOutputCallRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != nil {
		t.Fatalf("first message: %v", err)
	}
	_, err = st.Recv()
	<-svc.cause
	<-svc.sendErr
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken || ce.Scheme != "DPoP" {
		t.Fatalf("after exp: got %v, want an invalid_token challenge in the DPoP scheme", err)
	}
	if got, want := strings.Join(st.Trailer().Get(grpcmw.WWWAuthenticateKey), ""), `DPoP error="invalid_token", error_description="The access token is invalid", algs="EdDSA"`; got != want {
		t.Errorf("trailer: got %q, want %q", got, want)
	}
}
