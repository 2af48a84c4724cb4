package mtls_test

import (
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/stepupauth/stepup/mtls"
)

// exampleCert is a self-signed Ed25519 certificate, the same every run.
func exampleCert() *x509.Certificate {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "client"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert
}

func ExampleThumbprint() {
	cert := &x509.Certificate{Raw: []byte("abc")} // only the DER counts
	fmt.Println(mtls.Thumbprint(cert))
	// Output: ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0
}

// A TLS-terminating proxy at 10.0.0.7 passes the client certificate in
// Client-Cert; the token's cnf claim names the certificate it is bound to.
func ExampleSource_FromRequest() {
	src, err := mtls.New(mtls.Config{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.7/32")},
	})
	if err != nil {
		panic(err)
	}
	cert := exampleCert()
	want := mtls.Thumbprint(cert) // what the token's cnf x5t#S256 holds

	for _, peer := range []string{"10.0.0.7:36001", "192.0.2.1:36001"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = peer
		r.Header.Set("Client-Cert", ":"+base64.StdEncoding.EncodeToString(cert.Raw)+":")

		got, ok, err := src.FromRequest(r)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: certificate %v, match %v\n", peer, ok, ok && got == want)
	}
	// Output:
	// 10.0.0.7:36001: certificate true, match true
	// 192.0.2.1:36001: certificate false, match false
}

func ExampleParseClientCert() {
	cert := exampleCert()
	value := ":" + base64.StdEncoding.EncodeToString(cert.Raw) + ":"

	parsed, err := mtls.ParseClientCert(value)
	if err != nil {
		panic(err)
	}
	fmt.Println(parsed.Subject.CommonName)

	_, err = mtls.ParseClientCert(value + ", " + value)
	fmt.Println(err != nil)
	// Output:
	// client
	// true
}
