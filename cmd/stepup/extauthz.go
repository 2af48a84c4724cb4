package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/stepupauth/stepup/gateway"
)

// extAuthz is the Envoy external authorization v3 service
// (envoy.service.auth.v3.Authorization/Check). Every answer is a
// CheckResponse, never a gRPC error, so that Envoy's failure_mode_allow
// plays no part: a refusal is a DeniedHttpResponse with the middleware's
// status, headers and body.
type extAuthz struct {
	authv3.UnimplementedAuthorizationServer
	s *server
}

// Check decides on the request the CheckRequest's attribute context
// describes.
func (e *extAuthz) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	g := e.s.acquire()
	if g == nil {
		return checkResponse(stoppedDecision), nil
	}
	defer g.mu.RUnlock()
	return checkResponse(g.gw.Decide(ctx, requestOf(req))), nil
}

// requestOf describes the client's request from the attribute context:
// method, host, path (with the query), scheme, headers (header_map when
// Envoy sends raw headers, else headers; pseudo-headers dropped), the
// downstream address and its certificate (include_peer_certificate).
// What is missing or malformed stays empty, and Decide refuses it.
func requestOf(req *authv3.CheckRequest) gateway.Request {
	attrs := req.GetAttributes()
	h := attrs.GetRequest().GetHttp()
	out := gateway.Request{
		Method: h.GetMethod(),
		Host:   h.GetHost(),
		URI:    h.GetPath(),
		Scheme: h.GetScheme(),
		Header: http.Header{},
	}
	add := func(k, v string) {
		if k == "" || strings.HasPrefix(k, ":") {
			return
		}
		out.Header.Add(k, v)
	}
	if hm := h.GetHeaderMap(); hm != nil && len(hm.GetHeaders()) > 0 {
		for _, hv := range hm.GetHeaders() {
			v := hv.GetValue()
			if len(hv.GetRawValue()) > 0 {
				v = string(hv.GetRawValue())
			}
			add(hv.GetKey(), v)
		}
	} else {
		for k, v := range h.GetHeaders() {
			add(k, v)
		}
	}
	src := attrs.GetSource()
	if sa := src.GetAddress().GetSocketAddress(); sa != nil {
		out.RemoteAddr = net.JoinHostPort(sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10))
	}
	if c := src.GetCertificate(); c != "" {
		// A certificate that does not parse is left out: a token bound to
		// a certificate is then refused, and an unbound one needs none.
		if cert, ok := parseCertificate(c); ok {
			out.PeerCertificates = []*x509.Certificate{cert}
		}
	}
	return out
}

// parseCertificate parses Envoy's URL-encoded PEM certificate.
func parseCertificate(s string) (*x509.Certificate, bool) {
	if s == "" {
		return nil, false
	}
	raw, err := url.QueryUnescape(s)
	if err != nil {
		return nil, false
	}
	b, _ := pem.Decode([]byte(raw))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, false
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, false
	}
	return cert, true
}

// checkResponse turns a decision into Envoy's answer. Allowed: the
// identity headers set with OVERWRITE_IF_EXISTS_OR_ADD (replacing any
// client copy) and every other identity header in headers_to_remove.
// Refused: the decision's status, response headers and body.
func checkResponse(d *gateway.Decision) *authv3.CheckResponse {
	if d.Allowed {
		ok := &authv3.OkHttpResponse{}
		for _, name := range d.Remove {
			if v := d.Header.Get(name); v != "" {
				ok.Headers = append(ok.Headers, &corev3.HeaderValueOption{
					Header:       &corev3.HeaderValue{Key: strings.ToLower(name), Value: v},
					AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
				})
			} else {
				ok.HeadersToRemove = append(ok.HeadersToRemove, strings.ToLower(name))
			}
		}
		return &authv3.CheckResponse{
			Status:       &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
		}
	}
	denied := &authv3.DeniedHttpResponse{
		Status: &typev3.HttpStatus{Code: typev3.StatusCode(d.Status)},
		Body:   string(d.Body),
	}
	for _, k := range slices.Sorted(maps.Keys(d.Header)) {
		for i, v := range d.Header[k] {
			action := corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
			if i > 0 {
				action = corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD
			}
			denied.Headers = append(denied.Headers, &corev3.HeaderValueOption{
				Header:       &corev3.HeaderValue{Key: strings.ToLower(k), Value: v},
				AppendAction: action,
			})
		}
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(grpcCode(d.Status))},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: denied},
	}
}

// stoppedDecision answers a check that arrives after the server stopped.
var stoppedDecision = &gateway.Decision{
	Status: http.StatusServiceUnavailable,
	Header: http.Header{"Retry-After": {"1"}, "Cache-Control": {"no-store"}, "Content-Type": {"application/json"}},
	Body:   []byte("{}"),
}

// grpcCode is the status code of a refusal, as grpcmw maps the same
// answers (DESIGN.md §2).
func grpcCode(status int) codes.Code {
	switch status {
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	}
	return codes.Internal
}
