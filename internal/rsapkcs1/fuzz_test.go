package rsapkcs1

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"math/big"
	"sync"
	"testing"
)

var fuzzHashes = []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512}

// The signature FuzzVerify checks, chosen by op from the fuzzer's input.
const (
	opRaw         = iota // sig as the fuzzer gives it: a random signature
	opValid              // the valid signature of msg
	opFlipBit            // the valid signature with bit arg flipped
	opTruncate           // the valid signature without its last 1+arg%k bytes
	opPrefix             // the valid signature after 1+arg%4 zero bytes
	opAppend             // the valid signature followed by sig
	opXOR                // the valid signature XOR sig (repeated)
	opZero               // k zero bytes
	opNMinus             // n - 1 - arg
	opN                  // n
	opNPlus              // n + 1 + arg (when it fits in k bytes)
	opSPlusN             // the valid signature + n (when it fits)
	opForgedEM           // the expected EM with byte arg%k set to arg>>8, signed with the private key
	opShortDigest        // the valid signature, checked against a truncated digest
	opStripZeros         // the valid signature without its leading zero bytes
	numOps
)

// randomKeyBits are the sizes of the keys fuzzKeys generates when the
// fuzzer runs: sizes that are not a whole number of 64-bit limbs or bytes
// (bigmod's last limb partly used, the top byte of the modulus nearly
// empty), the smallest and a large one.
var randomKeyBits = []int{2048, 2049, 2111, 3000, 4096}

// fuzzKeys returns the keys FuzzVerify draws from: the three fixed test
// keys, then, only when the fuzzer runs (-test.fuzz), one key of each
// randomKeyBits size generated afresh in this process, so that a long
// run meets keys no test fixed. Without -test.fuzz (go test running the
// seed corpus) the list is the fixed keys and every input reproduces.
var fuzzKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := append([]*rsa.PrivateKey(nil), testKeys()...)
	if f := flag.Lookup("test.fuzz"); f == nil || f.Value.String() == "" {
		return keys
	}
	for _, bits := range randomKeyBits {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		keys = append(keys, k)
	}
	return keys
})

// keyPEM is the PKCS #8 PEM of a test key, printed with a disagreement on
// a generated key so that the input can be replayed by hand.
func keyPEM(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err.Error()
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "TESTING KEY", Bytes: der}))
}

// FuzzVerify is the differential gate: on every input, Verify with a
// prepared key and crypto/rsa.VerifyPKCS1v15 with the same key must give
// the same verdict. Keys are the three fixed test keys (2048, 2048 and 3072
// bits) and, when fuzzing, keys of other sizes generated for the run
// (fuzzKeys); hashes SHA-256/384/512; the signature is random or a mutation of
// the valid one (see the op constants). The seed corpus holds a valid
// signature for every key and hash and one input per op, so a plain go
// test runs it.
func FuzzVerify(f *testing.F) {
	keys := fuzzKeys()
	for ki := range testKeys() {
		for hi := range fuzzHashes {
			msg := []byte("seed message")
			f.Add(uint8(ki), uint8(hi), msg, uint8(opRaw), uint16(0), sign(ki, hi, msg))
		}
	}
	// Messages whose SHA-256 signature by key 0, 1, 2 starts with a zero
	// byte: stripped (opStripZeros), it is the same integer in fewer than
	// k bytes, which only the length check refuses.
	for ki, msg := range leadingZeroMsgs {
		f.Add(uint8(ki), uint8(0), []byte(msg), uint8(opStripZeros), uint16(0), []byte(nil))
	}
	for op := range numOps {
		f.Add(uint8(op%len(keys)), uint8(op%len(fuzzHashes)), []byte("op"), uint8(op), uint16(op*37), []byte{0x01, 0x80})
	}

	prepared := make([]*PublicKey, len(keys))
	for i, k := range keys {
		p, err := Prepare(&k.PublicKey)
		if err != nil {
			f.Fatal(err)
		}
		prepared[i] = p
	}

	f.Fuzz(func(t *testing.T, ki, hi uint8, msg []byte, op uint8, arg uint16, in []byte) {
		ki %= uint8(len(keys))
		hi %= uint8(len(fuzzHashes))
		priv, hash := keys[ki], fuzzHashes[hi]
		pub, k := &priv.PublicKey, prepared[ki].Size()
		switch op % numOps {
		case opRaw, opValid, opZero, opNMinus, opN, opNPlus, opForgedEM, opStripZeros:
		default:
			// A mutation of a valid signature: of a message cut to its
			// first byte, so that signing (a hundred verifications' worth)
			// is cached after the first sight of each, and the fuzzer's
			// time goes to the mutations. opValid signs the whole message,
			// opStripZeros too (its seeds need their messages).
			msg = msg[:min(len(msg), 1)]
		}
		h := hash.New()
		h.Write(msg)
		digest := h.Sum(nil)
		kBytes := func(n *big.Int) []byte {
			if n.BitLen() > 8*k {
				return nil
			}
			return n.FillBytes(make([]byte, k))
		}

		var sig []byte
		switch op % numOps {
		case opRaw:
			sig = in
		case opValid, opShortDigest:
			sig = sign(int(ki), int(hi), msg)
		case opFlipBit:
			sig = sign(int(ki), int(hi), msg)
			i := int(arg) % (8 * k)
			sig[i/8] ^= 1 << (i % 8)
		case opTruncate:
			sig = sign(int(ki), int(hi), msg)
			sig = sig[:k-1-int(arg)%k]
		case opPrefix:
			sig = append(make([]byte, 1+int(arg)%4), sign(int(ki), int(hi), msg)...)
		case opAppend:
			sig = append(sign(int(ki), int(hi), msg), in...)
		case opXOR:
			sig = sign(int(ki), int(hi), msg)
			if len(in) > 0 {
				for i := range sig {
					sig[i] ^= in[i%len(in)]
				}
			}
		case opZero:
			sig = make([]byte, k)
		case opNMinus:
			sig = kBytes(new(big.Int).Sub(pub.N, big.NewInt(1+int64(arg))))
		case opN:
			sig = kBytes(pub.N)
		case opNPlus:
			sig = kBytes(new(big.Int).Add(pub.N, big.NewInt(1+int64(arg))))
		case opSPlusN:
			s := new(big.Int).SetBytes(sign(int(ki), int(hi), msg))
			sig = kBytes(s.Add(s, pub.N))
		case opStripZeros:
			sig = sign(int(ki), int(hi), msg)
			for len(sig) > 0 && sig[0] == 0 {
				sig = sig[1:]
			}
		case opForgedEM:
			var buf [MaxBits / 8]byte
			em, _ := encode(buf[:k], digestInfo(hash), digest)
			em[int(arg)%k] = byte(arg >> 8)
			// RSASP1 of the altered EM, when it is below n (it always is
			// unless byte 0 became nonzero): a real signature of a wrong
			// encoding.
			sig = kBytes(new(big.Int).Exp(new(big.Int).SetBytes(em), priv.D, pub.N))
		}
		if op%numOps == opShortDigest {
			digest = digest[:len(digest)-1-int(arg)%len(digest)]
		}

		got := Verify(prepared[ki], hash, digest, sig) == nil
		want := rsa.VerifyPKCS1v15(pub, hash, digest, sig) == nil
		if got != want {
			generated := ""
			if int(ki) >= len(testKeys()) {
				generated = "\ngenerated key:\n" + keyPEM(priv)
			}
			t.Fatalf("key %d (%d bits) %v op %d: Verify says %v, crypto/rsa says %v\nmsg %x\nsig %x%s", ki, pub.N.BitLen(), hash, op%numOps, got, want, msg, sig, generated)
		}
		if op%numOps == opValid && !got {
			t.Fatalf("key %d %v: valid signature refused by both", ki, hash)
		}
	})
}

// leadingZeroMsgs[i] is a message whose SHA-256 signature by test key i
// starts with 0x00.
var leadingZeroMsgs = []string{"leading zero 162", "leading zero 28", "leading zero 75"}

// sigCache holds valid signatures by key, hash and message, since signing
// costs a hundred verifications and the fuzzer reuses messages.
var sigCache struct {
	sync.Mutex
	m map[sigKey][]byte
}

type sigKey struct {
	ki, hi int
	msg    string
}

// sign returns a fresh copy of the valid signature of msg by fuzz key ki
// with hash fuzzHashes[hi].
func sign(ki, hi int, msg []byte) []byte {
	key := sigKey{ki, hi, string(msg)}
	sigCache.Lock()
	sig, ok := sigCache.m[key]
	sigCache.Unlock()
	if !ok {
		h := fuzzHashes[hi].New()
		h.Write(msg)
		var err error
		sig, err = rsa.SignPKCS1v15(nil, fuzzKeys()[ki], fuzzHashes[hi], h.Sum(nil))
		if err != nil {
			panic(err)
		}
		sigCache.Lock()
		if sigCache.m == nil || len(sigCache.m) >= 4096 {
			sigCache.m = make(map[sigKey][]byte)
		}
		sigCache.m[key] = sig
		sigCache.Unlock()
	}
	return append([]byte(nil), sig...)
}
