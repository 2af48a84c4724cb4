package mtls_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/stepupauth/stepup/mtls"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func mustNew(t *testing.T, cfg mtls.Config) *mtls.Source {
	t.Helper()
	s, err := mtls.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// answer serves FromRequest's result as "thumbprint ok err".
func answer(src *mtls.Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th, ok, err := src.FromRequest(r)
		fmt.Fprintf(w, "%s %v %v", th, ok, err)
	})
}

func get(t *testing.T, c *http.Client, url, clientCert string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if clientCert != "" {
		req.Header.Set("Client-Cert", clientCert)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tlsServer is a real TLS server that asks every client for a certificate,
// and a client presenting cert.
func tlsServer(t *testing.T, src *mtls.Source, cert tls.Certificate) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(answer(src))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	return srv, c
}

func TestFromRequestTLS(t *testing.T) {
	pki := newPKI(t)
	alice := pki.client(t, "alice")
	srv, c := tlsServer(t, mustNew(t, mtls.Config{}), alice)

	want := wantThumbprint(alice.Certificate[0]) + " true <nil>"
	if got := get(t, c, srv.URL, ""); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestFromRequestTLSCertWinsOverHeader(t *testing.T) {
	pki := newPKI(t)
	alice, mallory := pki.client(t, "alice"), pki.client(t, "mallory")
	// The client is on loopback, a trusted proxy: the header would be
	// taken if the connection had no certificate of its own.
	srv, c := tlsServer(t, mustNew(t, mtls.Config{TrustedProxies: loopback}), alice)

	want := wantThumbprint(alice.Certificate[0]) + " true <nil>"
	if got := get(t, c, srv.URL, header(mallory.Certificate[0])); got != want {
		t.Errorf("got %q, want %q (the connection's certificate)", got, want)
	}
	if got := get(t, c, srv.URL, ":not base64!:"); got != want {
		t.Errorf("malformed header beside a TLS certificate: got %q, want %q", got, want)
	}
}

func TestFromRequestHeaderFromProxy(t *testing.T) {
	alice := newPKI(t).client(t, "alice")
	tests := []struct {
		name    string
		proxies []netip.Prefix
		want    string
	}{
		{"trusted loopback proxy", loopback, wantThumbprint(alice.Certificate[0]) + " true <nil>"},
		{"untrusted peer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, " false <nil>"},
		{"no trusted proxies", nil, " false <nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(answer(mustNew(t, mtls.Config{TrustedProxies: tt.proxies})))
			defer srv.Close()
			if got := get(t, srv.Client(), srv.URL, header(alice.Certificate[0])); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFromRequestMalformedHeader(t *testing.T) {
	pki := newPKI(t)
	alice, bob := pki.client(t, "alice"), pki.client(t, "bob")
	a, b := header(alice.Certificate[0]), header(bob.Certificate[0])
	tests := []struct {
		name   string
		values []string
	}{
		{"not sf-binary", []string{"MIIB" + a[1:len(a)-1]}},
		{"sf-string", []string{`"` + a[1:len(a)-1] + `"`}},
		{"unterminated", []string{a[:len(a)-1]}},
		{"bad base64", []string{":" + a[1:len(a)-1] + "===:"}},
		{"base64url alphabet", []string{":-_-_:"}},
		{"not DER", []string{":aGVsbG8gd29ybGQ=:"}},
		{"DER with trailing data", []string{header(append(append([]byte{}, alice.Certificate[0]...), 0))}},
		{"empty byte sequence", []string{"::"}},
		{"empty value", []string{""}},
		{"two certs comma separated", []string{a + ", " + b}},
		{"two field lines", []string{a, b}},
		{"parameters", []string{a + ";x=1"}},
		{"trailing garbage", []string{a + " x"}},
		{"PEM", []string{":-----BEGIN CERTIFICATE-----:"}},
	}
	trusted := mustNew(t, mtls.Config{TrustedProxies: loopback})
	untrusted := mustNew(t, mtls.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "127.0.0.1:4711"
			r.Header["Client-Cert"] = tt.values
			th, ok, err := trusted.FromRequest(r)
			if !errors.Is(err, mtls.ErrMalformedClientCert) || ok || th != "" {
				t.Errorf("trusted proxy: got %q, %v, %v; want an error matching ErrMalformedClientCert", th, ok, err)
			}
			// From an untrusted peer the header is not read at all.
			th, ok, err = untrusted.FromRequest(r)
			if err != nil || ok || th != "" {
				t.Errorf("untrusted peer: got %q, %v, %v; want \"\", false, nil", th, ok, err)
			}
		})
	}
}

func TestFromRequestRemoteAddr(t *testing.T) {
	alice := newPKI(t).client(t, "alice")
	want := wantThumbprint(alice.Certificate[0])
	src := mustNew(t, mtls.Config{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.1.2.0/24"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("::ffff:192.0.2.7/128"), // read as 192.0.2.7/32
		netip.MustParsePrefix("fe80::1/128"),
	}})
	tests := []struct {
		remote  string
		trusted bool
	}{
		{"10.1.2.3:443", true},
		{"10.1.3.3:443", false},
		{"[::ffff:10.1.2.3]:443", true}, // IPv4-mapped peer
		{"[2001:db8::5]:1", true},
		{"[2001:db9::5]:1", false},
		{"192.0.2.7:80", true},
		{"[::ffff:192.0.2.7]:80", true},
		{"192.0.2.8:80", false},
		{"[fe80::1%eth0]:80", true}, // the zone does not matter
		{"10.1.2.3", false},         // no port: not an address net/http sets
		{"@", false},                // a Unix socket
		{"", false},
		{"proxy.internal:443", false}, // never a name
	}
	for _, tt := range tests {
		t.Run(tt.remote, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			r.Header.Set("Client-Cert", header(alice.Certificate[0]))
			th, ok, err := src.FromRequest(r)
			if err != nil {
				t.Fatalf("FromRequest: %v", err)
			}
			if ok != tt.trusted || (ok && th != want) || (!ok && th != "") {
				t.Errorf("got %q, %v; want trusted=%v", th, ok, tt.trusted)
			}
		})
	}
}

func TestFromRequestNoCertificate(t *testing.T) {
	src := mustNew(t, mtls.Config{TrustedProxies: loopback})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.TLS = &tls.ConnectionState{} // TLS without a client certificate
	if th, ok, err := src.FromRequest(r); th != "" || ok || err != nil {
		t.Errorf("got %q, %v, %v; want \"\", false, nil", th, ok, err)
	}
}

func TestZeroSourceReadsTLSOnly(t *testing.T) {
	pki := newPKI(t)
	alice, bob := pki.client(t, "alice"), pki.client(t, "bob")
	var src mtls.Source
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("Client-Cert", header(bob.Certificate[0]))
	if th, ok, err := src.FromRequest(r); th != "" || ok || err != nil {
		t.Errorf("header only: got %q, %v, %v; want \"\", false, nil", th, ok, err)
	}
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{alice.Leaf}}
	if th, ok, err := src.FromRequest(r); th != wantThumbprint(alice.Certificate[0]) || !ok || err != nil {
		t.Errorf("TLS: got %q, %v, %v; want alice's thumbprint", th, ok, err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     mtls.Config
		wantErr bool
	}{
		{"zero", mtls.Config{}, false},
		{"loopback", mtls.Config{TrustedProxies: loopback}, false},
		{"0.0.0.0/0", mtls.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}, true},
		{"::/0", mtls.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::/0")}}, true},
		{"::ffff:0.0.0.0/96", mtls.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::ffff:0.0.0.0/96")}}, true},
		{"invalid prefix", mtls.Config{TrustedProxies: []netip.Prefix{{}}}, true},
		{"0.0.0.0/0 with InsecureTrustAnyProxy", mtls.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, InsecureTrustAnyProxy: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mtls.New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("New: err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestInsecureTrustAnyProxy(t *testing.T) {
	alice := newPKI(t).client(t, "alice")
	src := mustNew(t, mtls.Config{InsecureTrustAnyProxy: true})
	for _, remote := range []string{"203.0.113.9:1", "@"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("Client-Cert", header(alice.Certificate[0]))
		if th, ok, err := src.FromRequest(r); th != wantThumbprint(alice.Certificate[0]) || !ok || err != nil {
			t.Errorf("RemoteAddr %q: got %q, %v, %v; want alice's thumbprint", remote, th, ok, err)
		}
	}
}

func TestNewCopiesTrustedProxies(t *testing.T) {
	alice := newPKI(t).client(t, "alice")
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32")}
	src := mustNew(t, mtls.Config{TrustedProxies: proxies})
	proxies[0] = netip.MustParsePrefix("127.0.0.1/32") // after New: no effect

	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Client-Cert", header(alice.Certificate[0]))
	r.RemoteAddr = "127.0.0.1:1"
	if _, ok, err := src.FromRequest(r); ok || err != nil {
		t.Errorf("127.0.0.1 after mutating the caller's slice: got ok=%v err=%v, want not trusted", ok, err)
	}
	r.RemoteAddr = "10.0.0.1:1"
	if th, ok, err := src.FromRequest(r); !ok || err != nil || th != wantThumbprint(alice.Certificate[0]) {
		t.Errorf("10.0.0.1: got %q, %v, %v; want alice's thumbprint", th, ok, err)
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

func TestFromConn(t *testing.T) {
	pki := newPKI(t)
	alice, bob := pki.client(t, "alice"), pki.client(t, "bob")
	aliceTh, bobTh := wantThumbprint(alice.Certificate[0]), wantThumbprint(bob.Certificate[0])
	withAlice := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{alice.Leaf}}
	proxy := &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5000}
	proxy16 := &net.TCPAddr{IP: net.ParseIP("127.0.0.1").To16(), Port: 5000}
	stranger := &net.TCPAddr{IP: net.ParseIP("198.51.100.1"), Port: 5000}
	bobHeader := []string{header(bob.Certificate[0])}
	var nilTCP *net.TCPAddr

	tests := []struct {
		name    string
		state   *tls.ConnectionState
		remote  net.Addr
		values  []string
		want    string
		wantOK  bool
		wantErr bool
	}{
		{"TLS certificate", withAlice, stranger, nil, aliceTh, true, false},
		{"TLS certificate wins over metadata", withAlice, proxy, bobHeader, aliceTh, true, false},
		{"metadata from trusted proxy", nil, proxy, bobHeader, bobTh, true, false},
		{"metadata from trusted proxy, 16-byte IP", &tls.ConnectionState{}, proxy16, bobHeader, bobTh, true, false},
		{"metadata from stranger", nil, stranger, bobHeader, "", false, false},
		{"metadata over a pipe", nil, pipeAddr{}, bobHeader, "", false, false},
		{"nil address", nil, nil, bobHeader, "", false, false},
		{"nil *TCPAddr", nil, nilTCP, bobHeader, "", false, false},
		{"no certificate", nil, proxy, nil, "", false, false},
		{"two values", nil, proxy, []string{bobHeader[0], bobHeader[0]}, "", false, true},
		{"malformed from trusted proxy", nil, proxy, []string{"bob"}, "", false, true},
		{"malformed from stranger", nil, stranger, []string{"bob"}, "", false, false},
	}
	src := mustNew(t, mtls.Config{TrustedProxies: loopback})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, ok, err := src.FromConn(tt.state, tt.remote, tt.values)
			if th != tt.want || ok != tt.wantOK || (err != nil) != tt.wantErr {
				t.Errorf("got %q, %v, %v; want %q, %v, error %v", th, ok, err, tt.want, tt.wantOK, tt.wantErr)
			}
			if err != nil && !errors.Is(err, mtls.ErrMalformedClientCert) {
				t.Errorf("err = %v, want one matching ErrMalformedClientCert", err)
			}
		})
	}
}
