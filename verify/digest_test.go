package verify

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"testing"
)

// TestDigestCoversAlgs: digest knows the hash of every alg of the table
// but EdDSA's (which hashes inside the signature scheme), and gives what
// the hash.Hash of that function gives; any other hash is refused.
func TestDigestCoversAlgs(t *testing.T) {
	msg := []byte("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIn0")
	for name, a := range joseAlgs {
		if a.family == famEdDSA {
			continue
		}
		d, ok := digest(a.hash, msg)
		if !ok {
			t.Fatalf("%s: digest does not know %v", name, a.hash)
		}
		h := a.hash.New()
		h.Write(msg)
		if want := h.Sum(nil); !bytes.Equal(d[:a.hash.Size()], want) {
			t.Errorf("%s: digest %x, want %x", name, d[:a.hash.Size()], want)
		}
	}
	if _, ok := digest(crypto.SHA1, msg); ok {
		t.Error("digest accepted SHA-1")
	}
	if _, ok := digest(crypto.SHA3_256, msg); ok {
		t.Error("digest accepted SHA3-256")
	}
	if d, _ := digest(crypto.SHA256, msg); !bytes.Equal(d[sha256.Size:], make([]byte, len(d)-sha256.Size)) {
		t.Error("digest wrote past SHA-256's size")
	}
}
