package mtls_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/mtls"
)

func TestParseClientCert(t *testing.T) {
	der := newPKI(t).client(t, "alice").Certificate[0]
	std := base64.StdEncoding.EncodeToString(der)
	raw := base64.RawStdEncoding.EncodeToString(der)
	tests := []struct {
		name  string
		value string
	}{
		{"padded", ":" + std + ":"},
		{"padding synthesized (RFC 8941 §4.2.7)", ":" + raw + ":"},
		{"leading and trailing spaces (RFC 8941 §4.2)", "  :" + std + ":  "},
	}
	if len(der)%3 != 0 {
		// Set a pad bit in the last character: §4.2.7 asks parsers not to
		// fail on it.
		last := strings.IndexByte(base64Alphabet, raw[len(raw)-1])
		withBit := raw[:len(raw)-1] + string(base64Alphabet[last|1])
		if withBit == raw {
			withBit = raw[:len(raw)-1] + string(base64Alphabet[last&^1])
		}
		tests = append(tests, struct{ name, value string }{"non-zero pad bits", ":" + withBit + ":"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := mtls.ParseClientCert(tt.value)
			if err != nil {
				t.Fatalf("ParseClientCert: %v", err)
			}
			if !bytes.Equal(cert.Raw, der) {
				t.Errorf("got a certificate of %d bytes, want the %d bytes encoded", len(cert.Raw), len(der))
			}
		})
	}
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func TestParseClientCertMalformed(t *testing.T) {
	der := newPKI(t).client(t, "alice").Certificate[0]
	v := header(der)
	for _, value := range []string{
		"", " ", "::", ":", "\t" + v, v + "\t", v + ",", v + ", " + v, v + ";a", v + " ;a",
		v[1:], v[:len(v)-1], ":" + v, v + ":", "*" + v[1:],
		strings.Replace(v, "A", "-", 1), strings.Replace(v, "M", " ", 1),
		":" + base64.StdEncoding.EncodeToString(der[:len(der)-1]) + ":",
		":" + base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff}) + ":",
	} {
		if cert, err := mtls.ParseClientCert(value); err == nil || cert != nil {
			t.Errorf("ParseClientCert(%.40q…) = %v, %v; want an error", value, cert, err)
		} else if !errors.Is(err, mtls.ErrMalformedClientCert) {
			t.Errorf("ParseClientCert(%.40q…): err = %v, want one matching ErrMalformedClientCert", value, err)
		}
	}
}

func FuzzParseClientCert(f *testing.F) {
	der := newPKI(f).client(f, "alice").Certificate[0]
	v := header(der)
	for _, seed := range []string{v, " " + v + " ", v + ", " + v, v + ";a=1", "::", ":AA==:", ":-_:", `"x"`, ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, value string) {
		cert, err := mtls.ParseClientCert(value)
		if err != nil {
			if cert != nil || !errors.Is(err, mtls.ErrMalformedClientCert) {
				t.Fatalf("got %v, %v: an error must match ErrMalformedClientCert and come alone", cert, err)
			}
			return
		}
		// What parsed is one Byte Sequence with only spaces around it;
		// its canonical serialization parses to the same certificate.
		trimmed := strings.Trim(value, " ")
		if len(trimmed) < 2 || trimmed[0] != ':' || trimmed[len(trimmed)-1] != ':' || strings.Count(trimmed, ":") != 2 {
			t.Fatalf("accepted %q, which is not one byte sequence", value)
		}
		again, err := mtls.ParseClientCert(header(cert.Raw))
		if err != nil || !bytes.Equal(again.Raw, cert.Raw) {
			t.Fatalf("the canonical form of an accepted value does not round-trip: %v", err)
		}
	})
}
