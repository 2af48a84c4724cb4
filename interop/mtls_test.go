package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/mtls"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	n    int64
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stepup interop test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool, n: 1}
}

// issue returns a certificate for name signed by the CA: a server
// certificate for 127.0.0.1, or a client certificate.
func (ca *testCA) issue(t *testing.T, name string, server bool) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca.n++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.n), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// tlsFiles is a server certificate for 127.0.0.1 written as PEM files for
// provider.mjs, and the CA that issued it.
type tlsFiles struct {
	certFile, keyFile string
	cert              tls.Certificate
	roots             *x509.CertPool
}

func writeServerCert(t *testing.T, ca *testCA) *tlsFiles {
	t.Helper()
	cert := ca.issue(t, "127.0.0.1", true)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := &tlsFiles{certFile: filepath.Join(dir, "server.pem"), keyFile: filepath.Join(dir, "server-key.pem"), cert: cert, roots: ca.pool}
	for path, block := range map[string]*pem.Block{
		f.certFile: {Type: "CERTIFICATE", Bytes: cert.Certificate[0]},
		f.keyFile:  {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// client returns an HTTP client that trusts the CA and presents cert
// (none when nil) to servers that ask for one.
func (f *tlsFiles) client(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: f.roots, MinVersion: tls.VersionTLS12}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr, Timeout: httpTimeout}
}

// TestCertificateBoundTokens: RFC 8705 certificate-bound access tokens
// between oidc-provider and an httpmw Guard over mutual TLS. The provider
// serves HTTPS and, for a client registered with
// tls_client_certificate_bound_access_tokens, binds the client_credentials
// token that x/oauth2 gets with client certificate A to A (cnf.x5t#S256,
// as the provider computes it, equal to mtls.Thumbprint); the Guard, over
// TLS asking for client certificates, accepts it with A only: with
// certificate B or none it answers invalid_token. A route whose
// requirement demands the binding refuses a bearer token.
func TestCertificateBoundTokens(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	ca := newTestCA(t)
	files := writeServerCert(t, ca)
	certA, certB := ca.issue(t, "client A", false), ca.issue(t, "client B", false)
	p := startProviderWith(t, providerOptions{tls: files})
	if u, _ := url.Parse(p.issuer); u.Scheme != "https" {
		t.Fatalf("issuer %s, want https", p.issuer)
	}

	tokenWith := func(clientID, secret string, cert *tls.Certificate) (*oauth2.Token, error) {
		conf := &clientcredentials.Config{
			ClientID: clientID, ClientSecret: secret, TokenURL: p.tokenURL, Scopes: []string{"accounts"},
			EndpointParams: url.Values{"resource": {audience}}, AuthStyle: oauth2.AuthStyleInHeader,
		}
		return conf.Token(context.WithValue(ctx, oauth2.HTTPClient, files.client(cert)))
	}
	tok, err := tokenWith(mtlsClientID, mtlsSecret, &certA)
	if err != nil {
		t.Fatalf("client_credentials with certificate A: %v", err)
	}
	// RFC 8705 §3: a certificate-bound token is still of type Bearer.
	if tok.TokenType != "Bearer" {
		t.Errorf("token_type %q, want Bearer", tok.TokenType)
	}
	if got, want := confirmation(t, tok.AccessToken, "x5t#S256"), mtls.Thumbprint(certA.Leaf); got != want {
		t.Fatalf("cnf.x5t#S256 %q, want certificate A's %q", got, want)
	}
	// The provider refuses the client's token request without a
	// certificate (its log says "mutual TLS client certificate not
	// provided"; the answer keeps the detail to itself).
	_, err = tokenWith(mtlsClientID, mtlsSecret, nil)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || re.ErrorDescription != "grant request is invalid" {
		t.Errorf("client_credentials without a certificate: %v, want invalid_grant", err)
	}
	const why = "grant.error: invalid_grant: grant request is invalid: mutual TLS client certificate not provided"
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.proc.Stderr(), why); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("provider log lacks %q:\n%s", why, p.proc.Stderr())
		}
	}
	bearer, err := tokenWith(serviceClientID, serviceSecret, nil)
	if err != nil {
		t.Fatalf("client_credentials of the bearer client: %v", err)
	}
	if got := unverifiedClaims(t, bearer.AccessToken)["cnf"]; got != nil {
		t.Fatalf("bearer client's token has cnf %v, want none", got)
	}

	g, err := httpmw.New(newProviderVerifier(t, ctx, p), httpmw.WithRealm(senderRealm))
	if err != nil {
		t.Fatal(err)
	}
	mux, err := g.Mux([]httpmw.Route{
		{Pattern: "GET /profile", Handler: callerHandler()},
		{Pattern: "GET /statement", Requirement: claims.Requirement{Binding: claims.BindingMTLS}, Handler: callerHandler()},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{files.cert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	const invalid = `Bearer realm="` + senderRealm + `", error="invalid_token", error_description="The access token is invalid"`
	for _, tt := range []struct {
		name   string
		path   string
		token  string
		cert   *tls.Certificate
		status int
		header string
	}{
		{"bound token with its certificate", "/profile", tok.AccessToken, &certA, 200, ""},
		{"bound token where the binding is demanded", "/statement", tok.AccessToken, &certA, 200, ""},
		{"bound token with another certificate", "/profile", tok.AccessToken, &certB, 401, invalid},
		{"bound token without a certificate", "/profile", tok.AccessToken, nil, 401, invalid},
		{"bearer token", "/profile", bearer.AccessToken, &certB, 200, ""},
		{"bearer token where the binding is demanded", "/statement", bearer.AccessToken, &certA, 401,
			`Bearer realm="` + senderRealm + `", error="invalid_token", error_description="A certificate-bound access token is required"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := sendAuth(t, ctx, files.client(tt.cert), http.MethodGet, srv.URL+tt.path, "Bearer "+tt.token, "")
			if r.status != tt.status || r.www != tt.header {
				t.Fatalf("got %d %q (body %s)\nwant %d %q", r.status, r.www, r.body, tt.status, tt.header)
			}
			if tt.status == 200 && r.caller.Route != "GET "+tt.path {
				t.Errorf("caller %+v, want route GET %s", r.caller, tt.path)
			}
		})
	}
}
