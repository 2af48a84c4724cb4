package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stepupauth/stepup/gateway"
)

// FuzzForwardAuth feeds arbitrary forwarding headers from a trusted proxy:
// the answer is always 200 (public), 400, 401 or 403, never a panic or a
// 500, and only a request that reaches a public rule is allowed.
func FuzzForwardAuth(f *testing.F) {
	fx := newFixture(f, gateway.Config{AllowUnlisted: []string{"open.example"}})
	h := fx.gw.ForwardAuth([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	f.Add("GET", "/public", "api.example.com", "https", "")
	f.Add("POST", "/transfer?x=1", "api.example.com:443", "http", "Bearer abc")
	f.Add("GET", "/public/../transfer", "open.example", "", "")
	f.Add("G\x00T", "//x", "[::1]:80", "HTTPS", "Bearer")
	f.Fuzz(func(t *testing.T, method, uri, host, proto, authz string) {
		req := httptest.NewRequest("GET", "/auth", nil)
		req.RemoteAddr = "127.0.0.1:1000"
		for k, v := range map[string]string{"X-Forwarded-Method": method, "X-Forwarded-Uri": uri, "X-Forwarded-Host": host, "X-Forwarded-Proto": proto, "Authorization": authz} {
			if v != "" {
				req.Header[k] = []string{v}
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 403:
		default:
			t.Fatalf("status %d for %q %q %q %q", rec.Code, method, uri, host, proto)
		}
		d := fx.gw.Decide(context.Background(), gateway.Request{Method: method, URI: uri, Host: host, Scheme: proto, Header: http.Header{"Authorization": {authz}}})
		if d.Allowed && d.Claims != nil {
			t.Fatalf("allowed with claims from a made-up token: %q", authz)
		}
	})
}
