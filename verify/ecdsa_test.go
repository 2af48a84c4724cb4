package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/lestrrat-go/dsig"
)

// ecdsaKeys are fixed keys of the three JOSE curves, so that fuzz inputs
// reproduce.
var ecdsaKeys = func() []*ecdsa.PrivateKey {
	var keys []*ecdsa.PrivateKey
	for i, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		d := make([]byte, (c.Params().BitSize+7)/8)
		d[len(d)-1] = byte(7 + i) // a small valid scalar
		d[1] = 0x5a
		k, err := ecdsa.ParseRawPrivateKey(c, d)
		if err != nil {
			panic(err)
		}
		keys = append(keys, k)
	}
	return keys
}()

// rawSig signs digest with k and returns the JWS r || s.
func rawSig(t testing.TB, k *ecdsa.PrivateKey, digest []byte) []byte {
	der, err := ecdsa.SignASN1(rand.Reader, k, digest)
	if err != nil {
		t.Fatal(err)
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		t.Fatal(err)
	}
	size := (k.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out
}

func digestFor(k *ecdsa.PrivateKey, msg []byte) []byte {
	switch k.Curve.Params().BitSize {
	case 256:
		d := sha256.Sum256(msg)
		return d[:]
	case 384:
		d := sha512.Sum384(msg)
		return d[:]
	}
	d := sha512.Sum512(msg)
	return d[:]
}

// TestVerifyECDSA: valid signatures of every curve verify; zero, the
// order, a flipped bit, a wrong length and another key's signature do not;
// the DER it builds is what encoding/asn1 builds.
func TestVerifyECDSA(t *testing.T) {
	for _, k := range ecdsaKeys {
		size := (k.Curve.Params().BitSize + 7) / 8
		d := digestFor(k, []byte("message"))
		sig := rawSig(t, k, d)
		if err := verifyECDSA(&k.PublicKey, d, sig); err != nil {
			t.Errorf("%s: valid signature: %v", k.Curve.Params().Name, err)
		}
		n := k.Curve.Params().N
		bad := map[string][]byte{
			"zero r":    append(make([]byte, size), sig[size:]...),
			"zero s":    append(append([]byte(nil), sig[:size]...), make([]byte, size)...),
			"r = order": append(n.FillBytes(make([]byte, size)), sig[size:]...),
			"short":     sig[:len(sig)-1],
			"long":      append(append([]byte(nil), sig...), 0),
			"flipped":   append([]byte{sig[0] ^ 1}, sig[1:]...),
		}
		for name, b := range bad {
			if err := verifyECDSA(&k.PublicKey, d, b); err == nil {
				t.Errorf("%s: %s verified", k.Curve.Params().Name, name)
			}
		}
		// The encoding is DER, byte for byte as encoding/asn1 makes it.
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		want, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil {
			t.Fatal(err)
		}
		if got := appendSignatureDER(nil, sig[:size], sig[size:]); string(got) != string(want) {
			t.Errorf("%s: DER\ngot  %x\nwant %x", k.Curve.Params().Name, got, want)
		}
	}
}

// FuzzVerifyECDSA: on any signature bytes, for every curve, verifyECDSA
// agrees with the library path it replaced (dsig.VerifyECDSADigest over
// crypto/ecdsa.Verify).
func FuzzVerifyECDSA(f *testing.F) {
	for i, k := range ecdsaKeys {
		d := digestFor(k, []byte("seed"))
		f.Add(uint8(i), []byte("seed"), rawSig(f, k, d), uint16(0), uint8(0))
	}
	f.Fuzz(func(t *testing.T, curve uint8, msg, sig []byte, pos uint16, flip uint8) {
		k := ecdsaKeys[int(curve)%len(ecdsaKeys)]
		d := digestFor(k, msg)
		if len(sig) > 0 && flip != 0 {
			sig = append([]byte(nil), sig...)
			sig[int(pos)%len(sig)] ^= flip
		}
		got := verifyECDSA(&k.PublicKey, d, sig) == nil
		want := dsig.VerifyECDSADigest(&k.PublicKey, d, sig) == nil
		if got != want {
			t.Fatalf("%s: verifyECDSA %v, dsig %v for sig %x", k.Curve.Params().Name, got, want, sig)
		}
	})
}
