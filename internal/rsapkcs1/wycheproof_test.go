package rsapkcs1

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// wycheproofDir holds the Wycheproof RSASSA-PKCS1-v1_5 vectors (see
// ../../testdata/README.md for their source).
const wycheproofDir = "../../testdata/wycheproof/rsa_pkcs1"

// The parts of a rsassa_pkcs1_verify_schema_v1.json file these tests read.
// A group gives its key three ways (publicKey, keyJwk, publicKeyDer); the
// test builds it from publicKey and checks that the DER agrees.
type wpFile struct {
	Schema        string    `json:"schema"`
	NumberOfTests int       `json:"numberOfTests"`
	TestGroups    []wpGroup `json:"testGroups"`
}

type wpGroup struct {
	Type      string `json:"type"` // RsassaPkcs1Verify
	KeySize   int    `json:"keySize"`
	SHA       string `json:"sha"`
	PublicKey struct {
		Modulus        string `json:"modulus"`        // hex, big-endian, may have a leading 00
		PublicExponent string `json:"publicExponent"` // hex
	} `json:"publicKey"`
	PublicKeyDer string   `json:"publicKeyDer"` // SubjectPublicKeyInfo, hex
	Tests        []wpTest `json:"tests"`
}

type wpTest struct {
	TcID    int      `json:"tcId"`
	Comment string   `json:"comment"`
	Flags   []string `json:"flags"`
	Msg     string   `json:"msg"` // hex
	Sig     string   `json:"sig"` // hex
	Result  string   `json:"result"`
}

// wpAcceptable is the verdict given to each "acceptable" vector, by flag.
// A vector marked acceptable with any other flag fails the test, so that a
// new kind is decided here, explicitly.
//
// MissingNull (tcId 8 of every file, 10 vectors): the DigestInfo's
// AlgorithmIdentifier has no NULL parameters. RFC 8017 §9.2 note 1 gives
// the encoding with the NULL, which is what Verify builds and compares
// against; Wycheproof calls the omission invalid but tolerated by some
// legacy libraries. Refused, as crypto/rsa refuses it.
var wpAcceptable = map[string]bool{
	"MissingNull": false,
}

var wpHashes = map[string]crypto.Hash{
	"SHA-256": crypto.SHA256,
	"SHA-384": crypto.SHA384,
	"SHA-512": crypto.SHA512,
}

func TestWycheproof(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(wycheproofDir, "rsa_signature_*_test.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 10 {
		t.Fatalf("got %d vector files in %s, want 10", len(files), wycheproofDir)
	}
	counts := map[string]int{} // result -> vectors
	var refusedKeys, acceptable int
	for _, file := range files {
		var f wpFile
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if f.Schema != "rsassa_pkcs1_verify_schema_v1.json" {
			t.Fatalf("%s: got schema %q", file, f.Schema)
		}
		n := 0
		for _, g := range f.TestGroups {
			n += len(g.Tests)
			hash, ok := wpHashes[g.SHA]
			if g.Type != "RsassaPkcs1Verify" || !ok {
				t.Fatalf("%s: group type %q sha %q", file, g.Type, g.SHA)
			}
			pub := groupKey(t, file, &g)
			prep, err := Prepare(pub)
			// Groups whose key is outside the bounds (in these files, the
			// 2048- and 3072-bit keys with e = 3 and their valid small
			// signatures) are refused by Prepare: no signature is ever
			// checked with such a key. crypto/rsa accepts them; its
			// verdicts are still checked below.
			inBounds := pub.E == Exponent && pub.N.BitLen() >= MinBits && pub.N.BitLen() <= MaxBits
			if inBounds != (err == nil) {
				t.Fatalf("%s: key of %d bits, e=%d: Prepare error %v, want refusal %v", file, pub.N.BitLen(), pub.E, err, !inBounds)
			}
			if err != nil {
				refusedKeys++
			}
			for _, tc := range g.Tests {
				counts[tc.Result]++
				msg, sig := unhex(t, tc.Msg), unhex(t, tc.Sig)
				h := hash.New()
				h.Write(msg)
				digest := h.Sum(nil)

				var want bool
				switch tc.Result {
				case "valid":
					want = true
				case "invalid":
					want = false
				case "acceptable":
					acceptable++
					if len(tc.Flags) != 1 {
						t.Fatalf("%s tc %d: acceptable with flags %v, decide each", file, tc.TcID, tc.Flags)
					}
					verdict, known := wpAcceptable[tc.Flags[0]]
					if !known {
						t.Fatalf("%s tc %d: acceptable vector with flag %q: add it to wpAcceptable", file, tc.TcID, tc.Flags[0])
					}
					want = verdict
				default:
					t.Fatalf("%s tc %d: result %q", file, tc.TcID, tc.Result)
				}

				std := rsa.VerifyPKCS1v15(pub, hash, digest, sig) == nil
				if std != want {
					t.Errorf("%s tc %d (%s %v): crypto/rsa says %v, want %v", file, tc.TcID, tc.Comment, tc.Flags, std, want)
				}
				if prep == nil {
					continue
				}
				got := Verify(prep, hash, digest, sig) == nil
				if got != want {
					t.Errorf("%s tc %d (%s %v): Verify says %v, want %v", file, tc.TcID, tc.Comment, tc.Flags, got, want)
				}
			}
		}
		if n != f.NumberOfTests {
			t.Fatalf("%s: read %d tests, file says %d", file, n, f.NumberOfTests)
		}
	}
	t.Logf("vectors: %d valid, %d invalid, %d acceptable (all refused); %d groups' keys refused by Prepare", counts["valid"], counts["invalid"], counts["acceptable"], refusedKeys)
	if acceptable == 0 {
		t.Error("no acceptable vector: the files changed, review wpAcceptable")
	}
}

// groupKey builds the group's key from publicKey and checks that
// publicKeyDer says the same where crypto/x509 parses it.
func groupKey(t *testing.T, file string, g *wpGroup) *rsa.PublicKey {
	t.Helper()
	e := new(big.Int).SetBytes(unhex(t, g.PublicKey.PublicExponent))
	if !e.IsInt64() || e.Int64() > 1<<31-1 {
		t.Fatalf("%s: exponent %v", file, e)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(unhex(t, g.PublicKey.Modulus)), E: int(e.Int64())}
	if pub.N.BitLen() != g.KeySize {
		t.Fatalf("%s: modulus of %d bits, keySize %d", file, pub.N.BitLen(), g.KeySize)
	}
	if k, err := x509.ParsePKIXPublicKey(unhex(t, g.PublicKeyDer)); err == nil {
		if !pub.Equal(k) {
			t.Fatalf("%s: publicKeyDer is another key", file)
		}
	}
	return pub
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDigestInfo checks the DigestInfo prefixes against an encoding of the
// structure by encoding/asn1 (RFC 8017 Appendix A.2.4, with the OIDs of
// Appendix B.1).
func TestDigestInfo(t *testing.T) {
	oids := map[crypto.Hash]string{
		crypto.SHA256: "2.16.840.1.101.3.4.2.1",
		crypto.SHA384: "2.16.840.1.101.3.4.2.2",
		crypto.SHA512: "2.16.840.1.101.3.4.2.3",
	}
	for h, oid := range oids {
		der := digestInfoDER(t, oid, make([]byte, h.Size()))
		want := der[:len(der)-h.Size()]
		if got := digestInfo(h); !bytes.Equal(got, want) {
			t.Errorf("%v: got prefix %x, want %x", h, got, want)
		}
	}
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.MD5, crypto.SHA3_256, 0} {
		if digestInfo(h) != nil {
			t.Errorf("%v: got a prefix, want none", h)
		}
	}
	if !slices.Equal(prefixSHA256[:2], []byte{0x30, 0x31}) {
		t.Error("prefixSHA256 changed")
	}
}
