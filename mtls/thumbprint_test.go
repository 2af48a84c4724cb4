package mtls_test

import (
	"crypto/x509"
	"testing"

	"github.com/stepupauth/stepup/mtls"
)

func TestThumbprint(t *testing.T) {
	// SHA-256("abc") is the FIPS 180-2 test vector
	// ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad;
	// here base64url without padding.
	got := mtls.Thumbprint(&x509.Certificate{Raw: []byte("abc")})
	if want := "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"; got != want {
		t.Errorf("Thumbprint = %q, want %q", got, want)
	}

	leaf := newPKI(t).client(t, "alice").Leaf
	if got, want := mtls.Thumbprint(leaf), wantThumbprint(leaf.Raw); got != want {
		t.Errorf("Thumbprint = %q, want %q", got, want)
	}
}
