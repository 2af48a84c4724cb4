package httpmw_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/stepuptest"
)

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

const publicURL = "https://api.example.com"

func newDPoPVerifier(t *testing.T, nonces *dpop.Nonces) *dpop.Verifier {
	t.Helper()
	v, err := dpop.New(dpop.Config{Algorithms: []string{"EdDSA", "ES256"}, Nonces: nonces, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDPoP: the answers of RFC 9449 §7.1 and §7.2, byte for byte, for every
// way a request can present a DPoP-bound or bearer token.
func TestDPoP(t *testing.T) {
	is := newIssuer(t)
	client := newDPoPClient(t)
	other := newDPoPClient(t)
	bound := is.mint(t, map[string]any{"cnf": map[string]any{"jkt": client.jkt}})
	bearer := is.mint(t, nil)
	g := newGuard(t, is.verifier(t), httpmw.WithRealm(testRealm), httpmw.WithDPoP(newDPoPVerifier(t, nil), publicURL))
	mux, err := g.Mux([]httpmw.Route{
		{Pattern: "GET /profile", Handler: okHandler()},
		{Pattern: "POST /transfer", Requirement: claims.Requirement{Binding: claims.BindingDPoP}, Handler: okHandler()},
		{Pattern: "POST /approve", Requirement: claims.Requirement{ACR: []string{"urn:example:loa:9"}}, Handler: okHandler()},
	})
	if err != nil {
		t.Fatal(err)
	}
	const algs = `algs="EdDSA ES256"`
	realm := `realm="` + testRealm + `"`
	tests := []struct {
		name   string
		method string
		path   string
		auth   string
		proofs []string
		status int
		header string
	}{
		{"DPoP token and its proof", "GET", "/profile", "DPoP " + bound, []string{client.proof("GET", publicURL+"/profile", bound, "")}, 200, ""},
		{"scheme case-insensitive, htu normalised", "GET", "/profile", "dpop " + bound, []string{client.proof("GET", "HTTPS://API.example.com:443/profile", bound, "")}, 200, ""},
		{"bearer token as Bearer", "GET", "/profile", "Bearer " + bearer, nil, 200, ""},
		{"no token: both schemes", "GET", "/profile", "", nil, 401, "Bearer " + realm + ", DPoP " + realm + ", " + algs},
		{"DPoP-bound token as Bearer", "GET", "/profile", "Bearer " + bound, nil, 401,
			`DPoP ` + realm + `, error="invalid_token", error_description="The access token is invalid", ` + algs},
		{"bearer token as DPoP", "GET", "/profile", "DPoP " + bearer, []string{client.proof("GET", publicURL+"/profile", bearer, "")}, 401,
			`DPoP ` + realm + `, error="invalid_token", error_description="The access token is invalid", ` + algs},
		{"no proof", "GET", "/profile", "DPoP " + bound, nil, 401,
			`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="The DPoP proof is invalid", ` + algs},
		{"two proofs", "GET", "/profile", "DPoP " + bound, []string{client.proof("GET", publicURL+"/profile", bound, ""), client.proof("GET", publicURL+"/profile", bound, "")}, 401,
			`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="The DPoP proof is invalid", ` + algs},
		{"proof for another path", "GET", "/profile", "DPoP " + bound, []string{client.proof("GET", publicURL+"/other", bound, "")}, 401,
			`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="The DPoP proof is invalid", ` + algs},
		{"proof for another method", "GET", "/profile", "DPoP " + bound, []string{client.proof("POST", publicURL+"/profile", bound, "")}, 401,
			`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="The DPoP proof is invalid", ` + algs},
		{"proof for another host (Host is not trusted)", "GET", "/profile", "DPoP " + bound, []string{client.proof("GET", "https://evil.example/profile", bound, "")}, 401,
			`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="The DPoP proof is invalid", ` + algs},
		{"proof for another token", "GET", "/profile", "DPoP " + bound, []string{client.proof("GET", publicURL+"/profile", bearer, "")}, 401,
			`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="The DPoP proof is invalid", ` + algs},
		{"proof by another key", "GET", "/profile", "DPoP " + bound, []string{other.proof("GET", publicURL+"/profile", bound, "")}, 401,
			`DPoP ` + realm + `, error="invalid_token", error_description="The access token is invalid", ` + algs},
		{"route demands DPoP, bearer token", "POST", "/transfer", "Bearer " + bearer, nil, 401,
			`DPoP ` + realm + `, error="invalid_token", error_description="A DPoP-bound access token is required", ` + algs},
		{"route demands DPoP, DPoP token", "POST", "/transfer", "DPoP " + bound, []string{client.proof("POST", publicURL+"/transfer", bound, "")}, 200, ""},
		{"step-up over DPoP", "POST", "/approve", "DPoP " + bound, []string{client.proof("POST", publicURL+"/approve", bound, "")}, 401,
			`DPoP ` + realm + `, error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="urn:example:loa:9", ` + algs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://internal:8080"+tt.path, nil)
			r.Host = "evil.example" // the proof's htu never comes from the request
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			for _, p := range tt.proofs {
				r.Header.Add("DPoP", p)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			if rec.Code != tt.status || rec.Header().Get("WWW-Authenticate") != tt.header {
				t.Errorf("got %d %q\nwant %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"), tt.status, tt.header)
			}
		})
	}

	// A proof is spent once (RFC 9449 §11.1).
	p := client.proof("GET", publicURL+"/profile", bound, "")
	for i, want := range []int{200, 401} {
		r := httptest.NewRequest("GET", "/profile", nil)
		r.Header.Set("Authorization", "DPoP "+bound)
		r.Header.Set("DPoP", p)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, r)
		if rec.Code != want {
			t.Errorf("use %d of one proof: got %d, want %d", i+1, rec.Code, want)
		}
	}
}

// TestDPoPNonce: with server nonces, a proof without one gets
// use_dpop_nonce and a DPoP-Nonce header (RFC 9449 §9); the retry with
// that nonce passes.
func TestDPoPNonce(t *testing.T) {
	is := newIssuer(t)
	client := newDPoPClient(t)
	bound := is.mint(t, map[string]any{"cnf": map[string]any{"jkt": client.jkt}})
	nonces, err := dpop.NewNonces([]byte(strings.Repeat("k", 32)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	g := newGuard(t, is.verifier(t), httpmw.WithDPoP(newDPoPVerifier(t, nonces), publicURL), httpmw.WithExposeHeaders())
	h := g.Require(claims.Requirement{}, okHandler())
	send := func(nonce string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/x", nil)
		r.Header.Set("Authorization", "DPoP "+bound)
		r.Header.Set("DPoP", client.proof("GET", publicURL+"/x", bound, nonce))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := send("")
	nonce := rec.Header().Get("DPoP-Nonce")
	if want := `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="EdDSA ES256"`; rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != want || nonce == "" {
		t.Fatalf("without a nonce: got %d %q nonce %q; want 401 %q and a nonce", rec.Code, rec.Header().Get("WWW-Authenticate"), nonce, want)
	}
	if got := strings.Join(rec.Header().Values("Access-Control-Expose-Headers"), ","); got != "WWW-Authenticate,DPoP-Nonce" {
		t.Errorf("Access-Control-Expose-Headers: got %q", got)
	}
	if rec := send(nonce); rec.Code != 200 {
		t.Errorf("with the nonce: got %d %q, want 200", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

// TestDPoPConfig: WithDPoP needs a verifier and an https public URL.
func TestDPoPConfig(t *testing.T) {
	v := newIssuer(t).verifier(t)
	dv := newDPoPVerifier(t, nil)
	for _, opt := range []httpmw.Option{
		httpmw.WithDPoP(nil, publicURL),
		httpmw.WithDPoP(dv, ""),
		httpmw.WithDPoP(dv, "http://api.example.com"),
		httpmw.WithDPoP(dv, "https://api.example.com/?x=1"),
		httpmw.WithDPoP(dv, "/relative"),
		httpmw.WithClientCertificates(nil),
	} {
		if _, err := httpmw.New(v, opt); err == nil || !strings.HasPrefix(err.Error(), "httpmw: ") {
			t.Errorf("New: got %v, want an httpmw configuration error", err)
		}
	}
	if _, err := httpmw.New(v, httpmw.WithDPoP(dv, "http://127.0.0.1:8080/api/")); err != nil {
		t.Errorf("loopback public URL with a prefix: %v", err)
	}
}

// TestCertificateBound: a certificate-bound token (RFC 8705) passes over
// TLS with its certificate, and only with it.
func TestCertificateBound(t *testing.T) {
	is := newIssuer(t)
	certA, certB := selfSigned(t, "a"), selfSigned(t, "b")
	bound := is.mint(t, map[string]any{"cnf": map[string]any{"x5t#S256": mtls.Thumbprint(certA.Leaf)}})
	g := newGuard(t, is.verifier(t), httpmw.WithRealm(testRealm))
	srv := httptest.NewUnstartedServer(g.Require(claims.Requirement{Binding: claims.BindingMTLS}, okHandler()))
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		name   string
		cert   *tls.Certificate
		status int
		header string
	}{
		{"its certificate", &certA, 200, ""},
		{"another certificate", &certB, 401, `Bearer realm="` + testRealm + `", error="invalid_token", error_description="The access token is invalid"`},
		{"no certificate", nil, 401, `Bearer realm="` + testRealm + `", error="invalid_token", error_description="The access token is invalid"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := srv.Client().Transport.(*http.Transport).Clone()
			if tt.cert != nil {
				tr.TLSClientConfig.Certificates = []tls.Certificate{*tt.cert}
			}
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set("Authorization", "Bearer "+bound)
			res, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.status || res.Header.Get("WWW-Authenticate") != tt.header {
				t.Errorf("got %d %q, want %d %q", res.StatusCode, res.Header.Get("WWW-Authenticate"), tt.status, tt.header)
			}
		})
	}
	// A bearer token on a route that demands a certificate-bound one.
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+is.mint(t, nil))
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if want := `Bearer realm="` + testRealm + `", error="invalid_token", error_description="A certificate-bound access token is required"`; res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") != want {
		t.Errorf("bearer token: got %d %q, want 401 %q", res.StatusCode, res.Header.Get("WWW-Authenticate"), want)
	}
}

// selfSigned is a client certificate for name, made for the test.
func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
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
