package main

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/stepuptest"
)

// clientCertPolicy believes Client-Cert from the proxy on 127.0.0.1, as a
// deployment whose proxy terminates TLS with client certificates has it.
const clientCertPolicy = authzPolicy + `  - http: "GET /bound"
    sender_constraint: mtls
mtls:
  trusted_proxies: [127.0.0.1/32]
`

// TestProxyClientCert: the client reaches the proxy without a client
// certificate and sends a Client-Cert header naming the certificate a
// stolen token is bound to (a certificate is public). The configurations
// of deploy/ must not pass that header to stepup authz, which believes it
// from the proxy's address.
func TestProxyClientCert(t *testing.T) {
	for name, start := range map[string]func(*testing.T, *authzEnv, string) string{"nginx": startNginx, "caddy": startCaddy} {
		t.Run(name, func(t *testing.T) {
			needBinary(t, name)
			iss, err := stepuptest.NewIssuer()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(iss.Close)
			e := startAuthz(t, iss, func(c *authzConfig) { writePolicy(t, c.policyPath, iss, clientCertPolicy) })
			up := newUpstream(t)
			base := start(t, e, up.URL)
			cert, _ := testCertificate(t)
			tok := e.mint(t, stepuptest.Token{Claims: map[string]any{"cnf": map[string]any{"x5t#S256": mtls.Thumbprint(cert)}}})
			forged := ":" + base64.StdEncoding.EncodeToString(cert.Raw) + ":"

			// The gateway believes Client-Cert from 127.0.0.1: the proxy
			// configuration is what keeps the client's copy out.
			if resp := e.forward(t, "GET", "/bound", tok, map[string]string{"Client-Cert": forged}); resp.StatusCode != 200 {
				t.Fatalf("direct from the proxy's address: %d, want 200", resp.StatusCode)
			}
			_, before := up.last()
			req, err := http.NewRequest("GET", base+"/bound", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Client-Cert", forged)
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("Www-Authenticate"), "invalid_token") {
				t.Errorf("forged Client-Cert through %s: %d %q, want 401 invalid_token", name, resp.StatusCode, resp.Header.Get("Www-Authenticate"))
			}
			if _, n := up.last(); n != before {
				t.Errorf("the upstream was reached with a forged client certificate")
			}
		})
	}
}
