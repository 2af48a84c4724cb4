package grpcmw_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

const (
	testIssuer   = "https://issuer.test/"
	testAudience = "https://api.test"
	testRealm    = "bank"
	testMetadata = "https://api.test/.well-known/oauth-protected-resource"
	// outageKID is a kid for which outageSource reports the key set
	// unavailable.
	outageKID = "down"
)

// testNow is the injected clock of every verifier in these tests.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// issuer holds an ES256 key pair, its JWKS and mints access tokens.
type issuer struct {
	priv *ecdsa.PrivateKey
	kid  string
	jwks []byte
}

func newIssuer(t testing.TB, kid string) *issuer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.Import(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.ES256(), jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return &issuer{priv: priv, kid: kid, jwks: raw}
}

// token describes the claims of a minted access token that vary in tests.
type token struct {
	kid      string // default: the issuer's
	acr      string
	authTime time.Time // zero: none
	scope    string
	sub      string         // default "alice"
	cnf      map[string]any // the confirmation claim, nil: none
}

// mint signs an RFC 9068 access token valid at testNow.
func (is *issuer) mint(t testing.TB, tk token) string {
	t.Helper()
	payload := map[string]any{
		"iss":       testIssuer,
		"aud":       testAudience,
		"sub":       "alice",
		"client_id": "client-1",
		"jti":       fmt.Sprintf("jti-%d", time.Now().UnixNano()),
		"iat":       testNow.Add(-time.Minute).Unix(),
		"exp":       testNow.Add(time.Hour).Unix(),
	}
	if tk.sub != "" {
		payload["sub"] = tk.sub
	}
	if tk.acr != "" {
		payload["acr"] = tk.acr
	}
	if !tk.authTime.IsZero() {
		payload["auth_time"] = tk.authTime.Unix()
	}
	if tk.scope != "" {
		payload["scope"] = tk.scope
	}
	if tk.cnf != nil {
		payload["cnf"] = tk.cnf
	}
	body, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	kid := tk.kid
	if kid == "" {
		kid = is.kid
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	if err := hdr.Set(jws.TypeKey, "at+jwt"); err != nil {
		t.Fatal(err)
	}
	signed, err := jws.Sign(body, jws.WithKey(jwa.ES256(), is.priv, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// outageSource reports the key set unavailable for outageKID, as a remote
// source does once the issuer has been down past the staleness bound.
type outageSource struct{ jwks.Source }

func (s outageSource) Key(ctx context.Context, iss, kid string) (*jwks.Key, error) {
	if kid == outageKID {
		return nil, fmt.Errorf("test: jwks fetch: connection refused: %w", claims.ErrUnavailable)
	}
	return s.Source.Key(ctx, iss, kid)
}

func newVerifier(t testing.TB, is *issuer) *verify.Verifier {
	t.Helper()
	return newVerifierAt(t, is, func() time.Time { return testNow })
}

// newVerifierAt is newVerifier with the clock now, which times stream
// expiry too.
func newVerifierAt(t testing.TB, is *issuer, now func() time.Time) *verify.Verifier {
	t.Helper()
	set, err := jwks.NewStatic(is.jwks)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(outageSource{set}, verify.Config{
		Issuer:   testIssuer,
		Audience: testAudience,
		Now:      now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newInterceptors is grpcmw.New for arguments a test knows to be valid.
func newInterceptors(t testing.TB, v *verify.Verifier, m *grpcmw.Methods, opts ...grpcmw.Option) *grpcmw.Interceptors {
	t.Helper()
	s, err := grpcmw.New(v, m, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// refusals is a decision hook that sees the refusals only.
func refusals(f func(ctx context.Context, rule string, err error)) grpcmw.Option {
	return grpcmw.WithDecisionHook(func(ctx context.Context, rule string, err error) {
		if err != nil {
			f(ctx, rule, err)
		}
	})
}

// testService answers every method and tells the client, in header
// metadata, which caller the interceptors put in the handler's context.
type testService struct {
	testgrpc.UnimplementedTestServiceServer
}

// caller renders the claims of ctx as header metadata.
func caller(ctx context.Context) metadata.MD {
	c, ok := claims.FromContext(ctx)
	if !ok {
		return metadata.Pairs("x-sub", "<none>")
	}
	return metadata.Pairs("x-sub", c.Subject, "x-acr", c.ACR)
}

func (testService) EmptyCall(ctx context.Context, _ *testgrpc.Empty) (*testgrpc.Empty, error) {
	return &testgrpc.Empty{}, grpc.SetHeader(ctx, caller(ctx))
}

func (testService) UnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{}, grpc.SetHeader(ctx, caller(ctx))
}

func (testService) CacheableUnaryCall(ctx context.Context, _ *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	return &testgrpc.SimpleResponse{}, grpc.SetHeader(ctx, caller(ctx))
}

func (testService) StreamingOutputCall(_ *testgrpc.StreamingOutputCallRequest, st testgrpc.TestService_StreamingOutputCallServer) error {
	if err := st.SetHeader(caller(st.Context())); err != nil {
		return err
	}
	return st.Send(&testgrpc.StreamingOutputCallResponse{})
}

func (testService) StreamingInputCall(st testgrpc.TestService_StreamingInputCallServer) error {
	if err := st.SetHeader(caller(st.Context())); err != nil {
		return err
	}
	for {
		_, err := st.Recv()
		if err == io.EOF {
			return st.SendAndClose(&testgrpc.StreamingInputCallResponse{})
		}
		if err != nil {
			return err
		}
	}
}

func (testService) FullDuplexCall(st testgrpc.TestService_FullDuplexCallServer) error {
	if err := st.SetHeader(caller(st.Context())); err != nil {
		return err
	}
	for {
		_, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := st.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
			return err
		}
	}
}

// conns are two clients of one server: raw sees the wire answer, typed goes
// through the client interceptors.
type conns struct {
	raw, typed *grpc.ClientConn
}

// startServer serves testService on bufconn behind the server interceptors.
func startServer(t testing.TB, v *verify.Verifier, m *grpcmw.Methods, opts ...grpcmw.Option) conns {
	t.Helper()
	dial := serve(t, v, m, opts...)
	return conns{
		raw: dial(),
		typed: dial(
			grpc.WithChainUnaryInterceptor(grpcmw.UnaryClientInterceptor()),
			grpc.WithChainStreamInterceptor(grpcmw.StreamClientInterceptor()),
		),
	}
}

// serve serves testService on bufconn behind the server interceptors and
// returns a function that dials it with extra options.
func serve(t testing.TB, v *verify.Verifier, m *grpcmw.Methods, opts ...grpcmw.Option) func(extra ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	s := newInterceptors(t, v, m, opts...)
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(s.Unary()),
		grpc.ChainStreamInterceptor(s.Stream()),
	)
	testgrpc.RegisterTestServiceServer(srv, testService{})
	testgrpc.RegisterUnimplementedServiceServer(srv, testgrpc.UnimplementedUnimplementedServiceServer{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-served
	})
	dial := func(extra ...grpc.DialOption) *grpc.ClientConn {
		opts := append([]grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
		}, extra...)
		cc, err := grpc.NewClient("passthrough:///bufnet", opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cc.Close() })
		return cc
	}
	return dial
}

// rpcKind calls one method of a kind and returns the response header and
// trailer metadata and the call's error.
type rpcKind struct {
	name string
	call func(ctx context.Context, c testgrpc.TestServiceClient) (header, trailer metadata.MD, err error)
}

var kinds = []rpcKind{
	{"unary", callUnary},
	{"server-streaming", callServerStreaming},
	{"client-streaming", callClientStreaming},
	{"bidi", callBidi},
}

func callUnary(ctx context.Context, c testgrpc.TestServiceClient) (header, trailer metadata.MD, err error) {
	_, err = c.UnaryCall(ctx, &testgrpc.SimpleRequest{}, grpc.Header(&header), grpc.Trailer(&trailer))
	return header, trailer, err
}

func callServerStreaming(ctx context.Context, c testgrpc.TestServiceClient) (header, trailer metadata.MD, err error) {
	st, err := c.StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{})
	if err != nil {
		return nil, nil, err
	}
	for err == nil {
		_, err = st.Recv()
	}
	if err == io.EOF {
		err = nil
	}
	header, herr := st.Header()
	if err == nil {
		err = herr
	}
	return header, st.Trailer(), err
}

func callClientStreaming(ctx context.Context, c testgrpc.TestServiceClient) (header, trailer metadata.MD, err error) {
	st, err := c.StreamingInputCall(ctx)
	if err != nil {
		return nil, nil, err
	}
	// io.EOF: the server has already answered; CloseAndRecv tells how.
	if err := st.Send(&testgrpc.StreamingInputCallRequest{}); err != nil && err != io.EOF {
		return nil, nil, err
	}
	_, err = st.CloseAndRecv()
	header, herr := st.Header()
	if err == nil {
		err = herr
	}
	return header, st.Trailer(), err
}

func callBidi(ctx context.Context, c testgrpc.TestServiceClient) (header, trailer metadata.MD, err error) {
	st, err := c.FullDuplexCall(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := st.Send(&testgrpc.StreamingOutputCallRequest{}); err != nil && err != io.EOF {
		return nil, nil, err
	}
	if err := st.CloseSend(); err != nil {
		return nil, nil, err
	}
	for err == nil {
		_, err = st.Recv()
	}
	if err == io.EOF {
		err = nil
	}
	header, herr := st.Header()
	if err == nil {
		err = herr
	}
	return header, st.Trailer(), err
}

// withToken returns ctx with the authorization metadata of each value.
func withAuthorization(ctx context.Context, values ...string) context.Context {
	for _, v := range values {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", v)
	}
	return ctx
}
