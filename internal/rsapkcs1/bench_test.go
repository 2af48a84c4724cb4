package rsapkcs1

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

// BenchmarkRSAPKCS1 compares Verify with a prepared key against
// crypto/rsa.VerifyPKCS1v15 on the same 2048-bit key, digest and
// signature; prepare is the one-off cost Verify no longer pays per call.
func BenchmarkRSAPKCS1(b *testing.B) {
	priv := testKeys()[0]
	pub := &priv.PublicKey
	d := sha256.Sum256([]byte("benchmark"))
	sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d[:])
	if err != nil {
		b.Fatal(err)
	}
	p, err := Prepare(pub)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("prepared", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Verify(p, crypto.SHA256, d[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("prepare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Prepare(pub); err != nil {
				b.Fatal(err)
			}
		}
	})
}
