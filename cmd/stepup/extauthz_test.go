package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/google/go-cmp/cmp"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

func dialAuthz(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// checkRequest is the CheckRequest Envoy sends for a client request.
func checkRequest(method, path, token string, headers map[string]string) *authv3.CheckRequest {
	h := map[string]string{":authority": "api.example.com", ":method": method, ":path": path, "user-agent": "curl"}
	if token != "" {
		h["authorization"] = "Bearer " + token
	}
	for k, v := range headers {
		h[k] = v
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "192.0.2.10", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 40000}}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: method, Path: path, Host: "api.example.com", Scheme: "https", Protocol: "HTTP/1.1", Headers: h,
		}},
	}}
}

func hv(k, v string, a corev3.HeaderValueOption_HeaderAppendAction) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v}, AppendAction: a}
}

const overwrite = corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD

func denied(code codes.Code, status typev3.StatusCode, body string, headers ...*corev3.HeaderValueOption) *authv3.CheckResponse {
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(code)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status: &typev3.HttpStatus{Code: status}, Headers: headers, Body: body,
		}},
	}
}

func TestExtAuthzCheck(t *testing.T) {
	e := startAuthz(t, nil, nil)
	client := authv3.NewAuthorizationClient(dialAuthz(t, e.addrs.grpc))
	mfa, pwd := mfaToken(e, t), passwordToken(e, t)
	noMFA := e.mint(t, stepuptest.Token{Subject: "bob", ACR: claims.ACRMultiFactor, AuthTime: time.Now(), ClientID: "-"})
	stepUpBody := `{"error":"insufficient_user_authentication","error_description":"A different authentication level is required","acr_values":"http://schemas.openid.net/pape/policies/2007/06/multi-factor"}`
	for _, tc := range []struct {
		name string
		req  *authv3.CheckRequest
		want *authv3.CheckResponse
	}{
		{"mfa transfer, forged identity", checkRequest("POST", "/transfer?from=a", mfa, map[string]string{"x-stepup-subject": "mallory", "x-stepup-amr": "hwk"}),
			&authv3.CheckResponse{
				Status: &rpcstatus.Status{Code: int32(codes.OK)},
				HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
					Headers: []*corev3.HeaderValueOption{
						hv("x-stepup-subject", "alice", overwrite),
						hv("x-stepup-acr", claims.ACRMultiFactor, overwrite),
						hv("x-stepup-amr", "pwd otp", overwrite),
						hv("x-stepup-client-id", "bank-app", overwrite),
					},
				}},
			}},
		{"no amr: its forged copy removed", checkRequest("GET", "/profile", noMFA, map[string]string{"x-stepup-amr": "hwk"}),
			&authv3.CheckResponse{
				Status: &rpcstatus.Status{Code: int32(codes.OK)},
				HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
					Headers: []*corev3.HeaderValueOption{
						hv("x-stepup-subject", "bob", overwrite),
						hv("x-stepup-acr", claims.ACRMultiFactor, overwrite),
						hv("x-stepup-client-id", "-", overwrite),
					},
					HeadersToRemove: []string{"x-stepup-amr"},
				}},
			}},
		{"public", checkRequest("GET", "/public", "", map[string]string{"x-stepup-subject": "mallory"}),
			&authv3.CheckResponse{
				Status: &rpcstatus.Status{Code: int32(codes.OK)},
				HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
					HeadersToRemove: []string{"x-stepup-subject", "x-stepup-acr", "x-stepup-amr", "x-stepup-client-id"},
				}},
			}},
		{"password transfer: step-up", checkRequest("POST", "/transfer", pwd, nil),
			denied(codes.Unauthenticated, typev3.StatusCode_Unauthorized, stepUpBody,
				hv("cache-control", "no-store", overwrite),
				hv("content-type", "application/json", overwrite),
				hv("www-authenticate", wantStepUp, overwrite),
				hv("x-content-type-options", "nosniff", overwrite))},
		{"no token", checkRequest("GET", "/profile", "", nil),
			denied(codes.Unauthenticated, typev3.StatusCode_Unauthorized, `{}`,
				hv("cache-control", "no-store", overwrite),
				hv("content-type", "application/json", overwrite),
				hv("www-authenticate", `Bearer realm="api"`, overwrite),
				hv("x-content-type-options", "nosniff", overwrite))},
		{"two tokens", checkRequest("GET", "/profile", mfa+",Bearer "+mfa, nil),
			denied(codes.InvalidArgument, typev3.StatusCode_BadRequest, `{"error":"invalid_request","error_description":"The request is malformed"}`,
				hv("cache-control", "no-store", overwrite),
				hv("content-type", "application/json", overwrite),
				hv("www-authenticate", `Bearer realm="api", error="invalid_request", error_description="The request is malformed"`, overwrite),
				hv("x-content-type-options", "nosniff", overwrite))},
		{"unlisted", checkRequest("GET", "/admin", mfa, nil),
			denied(codes.PermissionDenied, typev3.StatusCode_Forbidden, `{"error_description":"no rule of the policy takes this request"}`,
				hv("cache-control", "no-store", overwrite),
				hv("content-type", "application/json", overwrite),
				hv("x-content-type-options", "nosniff", overwrite))},
		{"lookalike identity header", checkRequest("POST", "/transfer?from=a", mfa, map[string]string{"x_stepup_subject": "mallory"}),
			denied(codes.InvalidArgument, typev3.StatusCode_BadRequest, `{"error":"invalid_request","error_description":"a header is named like identity header X-Stepup-Subject but for case or '_'"}`,
				hv("cache-control", "no-store", overwrite),
				hv("content-type", "application/json", overwrite),
				hv("x-content-type-options", "nosniff", overwrite))},
		{"no path", &authv3.CheckRequest{},
			denied(codes.InvalidArgument, typev3.StatusCode_BadRequest, `{"error":"invalid_request","error_description":"the method is not an HTTP method token"}`,
				hv("cache-control", "no-store", overwrite),
				hv("content-type", "application/json", overwrite),
				hv("x-content-type-options", "nosniff", overwrite))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := client.Check(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// TestExtAuthzHeaderMap reads the headers from header_map (Envoy's
// encode_raw_headers), raw values included, and two Authorization headers
// there are two, as the middleware sees them.
func TestExtAuthzHeaderMap(t *testing.T) {
	e := startAuthz(t, nil, nil)
	client := authv3.NewAuthorizationClient(dialAuthz(t, e.addrs.grpc))
	req := checkRequest("POST", "/transfer", "", nil)
	req.Attributes.Request.Http.Headers = nil
	req.Attributes.Request.Http.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{
		{Key: ":path", RawValue: []byte("/public")},
		{Key: "authorization", RawValue: []byte("Bearer " + mfaToken(e, t))},
	}}
	got, err := client.Check(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetOkResponse() == nil || got.GetOkResponse().GetHeaders()[0].GetHeader().GetValue() != "alice" {
		t.Errorf("header_map: %v", got)
	}
	req.Attributes.Request.Http.HeaderMap.Headers = append(req.Attributes.Request.Http.HeaderMap.Headers,
		&corev3.HeaderValue{Key: "authorization", Value: "Bearer x"})
	if got, err = client.Check(context.Background(), req); err != nil || got.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_BadRequest {
		t.Errorf("two authorization headers: %v, %v", got, err)
	}
}

// TestExtAuthzCertificate: a certificate-bound token (cnf x5t#S256, RFC
// 8705) is allowed with its certificate in source.certificate, and refused
// without it or with another one.
func TestExtAuthzCertificate(t *testing.T) {
	e := startAuthz(t, nil, nil)
	client := authv3.NewAuthorizationClient(dialAuthz(t, e.addrs.grpc))
	cert, pemURL := testCertificate(t)
	other, otherURL := testCertificate(t)
	_ = other
	sum := sha256.Sum256(cert.Raw)
	tok := e.mint(t, stepuptest.Token{Subject: "svc", Claims: map[string]any{"cnf": map[string]string{"x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])}}})
	for _, tc := range []struct {
		name string
		cert string
		code codes.Code
	}{
		{"its certificate", pemURL, codes.OK},
		{"another certificate", otherURL, codes.Unauthenticated},
		{"no certificate", "", codes.Unauthenticated},
		{"garbage", "%zz", codes.Unauthenticated},
	} {
		req := checkRequest("GET", "/profile", tok, nil)
		req.Attributes.Source.Certificate = tc.cert
		got, err := client.Check(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if codes.Code(got.GetStatus().GetCode()) != tc.code {
			t.Errorf("%s: got %v, want %v (%v)", tc.name, codes.Code(got.GetStatus().GetCode()), tc.code, got)
		}
	}
}

func testCertificate(t testing.TB) (*x509.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, url.QueryEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
}

func TestExtAuthzHealth(t *testing.T) {
	e := startAuthz(t, nil, nil)
	h := healthpb.NewHealthClient(dialAuthz(t, e.addrs.grpc))
	for _, svc := range []string{"", "envoy.service.auth.v3.Authorization"} {
		got, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || got.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("%q: %v, %v", svc, got, err)
		}
	}
}

// TestExtAuthzDPoP: a DPoP-bound token with its proof (RFC 9449, htu from
// the policy's public_url and the request's path) is allowed once; the
// replayed proof and the token sent as Bearer are refused in the DPoP scheme.
func TestExtAuthzDPoP(t *testing.T) {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	e := startAuthz(t, iss, func(c *authzConfig) {
		writePolicy(t, c.policyPath, iss, `issuer: ISSUER
audience: AUDIENCE
jwks_uri: JWKS
dpop:
  public_url: https://api.example.com
rules:
  - http: "POST /transfer"
    sender_constraint: dpop
`)
	})
	client := authv3.NewAuthorizationClient(dialAuthz(t, e.addrs.grpc))
	key, err := stepuptest.NewDPoPKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	tok := e.mint(t, stepuptest.Token{Subject: "alice", Claims: map[string]any{"cnf": map[string]string{"jkt": key.JKT()}}})
	proof, err := key.Proof(stepuptest.DPoPProof{Method: "POST", URL: "https://api.example.com/transfer", AccessToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	check := func(scheme, proof string) *authv3.CheckResponse {
		t.Helper()
		h := map[string]string{"authorization": scheme + " " + tok}
		if proof != "" {
			h["dpop"] = proof
		}
		got, err := client.Check(context.Background(), checkRequest("POST", "/transfer", "", h))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := check("DPoP", proof); got.GetOkResponse() == nil || got.GetOkResponse().GetHeaders()[0].GetHeader().GetValue() != "alice" {
		t.Fatalf("DPoP: %v", got)
	}
	wwwAuth := func(r *authv3.CheckResponse) string {
		for _, h := range r.GetDeniedResponse().GetHeaders() {
			if h.GetHeader().GetKey() == "www-authenticate" {
				return h.GetHeader().GetValue()
			}
		}
		return ""
	}
	if got := check("DPoP", proof); got.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_Unauthorized ||
		!strings.HasPrefix(wwwAuth(got), `DPoP `) || !strings.Contains(wwwAuth(got), `error="invalid_dpop_proof"`) {
		t.Errorf("replayed proof: %v", got)
	}
	if got := check("Bearer", ""); got.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_Unauthorized || !strings.Contains(wwwAuth(got), "DPoP ") {
		t.Errorf("bound token as Bearer: %v", got)
	}
	// A reload keeps the replay store: a proof used before it stays used.
	proof2, err := key.Proof(stepuptest.DPoPProof{Method: "POST", URL: "https://api.example.com/transfer", AccessToken: tok})
	if err != nil {
		t.Fatal(err)
	}
	if got := check("DPoP", proof2); got.GetOkResponse() == nil {
		t.Fatalf("second proof: %v", got)
	}
	e.hup <- syscallHUP
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.log.String(), "msg=reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload:\n%s", e.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := check("DPoP", proof2); !strings.Contains(wwwAuth(got), `error="invalid_dpop_proof"`) {
		t.Errorf("proof replayed after a reload: %v", got)
	}
}
