package rsapkcs1

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"
)

func TestPrepareRefuses(t *testing.T) {
	k := &testKeys()[0].PublicKey
	odd := func(bits int) *big.Int { // 2^(bits-1) + 1
		n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
		return n.Add(n, big.NewInt(1))
	}
	tests := []struct {
		name string
		pub  *rsa.PublicKey
		ok   bool
	}{
		{"nil", nil, false},
		{"no modulus", &rsa.PublicKey{E: Exponent}, false},
		{"zero modulus", &rsa.PublicKey{N: new(big.Int), E: Exponent}, false},
		{"negative modulus", &rsa.PublicKey{N: new(big.Int).Neg(k.N), E: Exponent}, false},
		{"even modulus", &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), MinBits), E: Exponent}, false},
		{"2047 bits", &rsa.PublicKey{N: odd(2047), E: Exponent}, false},
		{"2048 bits", &rsa.PublicKey{N: odd(2048), E: Exponent}, true},
		{"8192 bits", &rsa.PublicKey{N: odd(8192), E: Exponent}, true},
		{"8193 bits", &rsa.PublicKey{N: odd(8193), E: Exponent}, false},
		{"e=3", &rsa.PublicKey{N: k.N, E: 3}, false},
		{"e=1", &rsa.PublicKey{N: k.N, E: 1}, false},
		{"e=65539", &rsa.PublicKey{N: k.N, E: 65539}, false},
		{"test key", k, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Prepare(tt.pub)
			if (err == nil) != tt.ok {
				t.Fatalf("got error %v, want ok %v", err, tt.ok)
			}
			if err == nil && !p.Matches(tt.pub) {
				t.Fatal("prepared key does not match its source")
			}
		})
	}
}

func TestMatches(t *testing.T) {
	keys := testKeys()
	pub := keys[0].PublicKey // a copy, whose N is replaced below
	p, err := Prepare(&pub)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Matches(&rsa.PublicKey{N: new(big.Int).Set(pub.N), E: Exponent}) {
		t.Error("got no match for an equal key, want a match")
	}
	for name, other := range map[string]*rsa.PublicKey{
		"nil":       nil,
		"nil N":     {E: Exponent},
		"other N":   &keys[1].PublicKey,
		"other E":   {N: pub.N, E: 3},
		"N changed": {N: new(big.Int).Add(pub.N, big.NewInt(2)), E: Exponent},
	} {
		if p.Matches(other) {
			t.Errorf("%s: got a match, want none", name)
		}
	}
	// The prepared key keeps its own copy: changing the caller's modulus
	// in place does not change what it matches.
	n := new(big.Int).Set(pub.N)
	pub.N = n
	p, _ = Prepare(&pub)
	n.Add(n, big.NewInt(2))
	if p.Matches(&pub) {
		t.Error("got a match after the modulus changed in place, want none")
	}
}

// TestVerifyEdges covers the boundaries Verify decides before and after
// the exponentiation, against crypto/rsa.
func TestVerifyEdges(t *testing.T) {
	priv := testKeys()[0]
	pub := &priv.PublicKey
	p, err := Prepare(pub)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("edges"))
	sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	zd := sha256.Sum256([]byte(leadingZeroMsgs[0]))
	zsig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, zd[:])
	if err != nil || zsig[0] != 0 {
		t.Fatalf("got %x..., %v, want a signature starting with 00", zsig[:2], err)
	}
	k := p.Size()
	if k != 256 || len(sig) != k {
		t.Fatalf("got size %d, signature %d bytes, want 256", k, len(sig))
	}
	kBytes := func(n *big.Int) []byte { return n.FillBytes(make([]byte, k)) }
	one := big.NewInt(1)
	sPlusN := new(big.Int).Add(new(big.Int).SetBytes(sig), pub.N)
	tests := []struct {
		name   string
		hash   crypto.Hash
		digest []byte
		sig    []byte
		ok     bool
	}{
		{"valid", crypto.SHA256, d[:], sig, true},
		{"empty", crypto.SHA256, d[:], nil, false},
		{"short", crypto.SHA256, d[:], sig[1:], false},
		{"zero prefixed", crypto.SHA256, d[:], append([]byte{0}, sig...), false},
		{"leading zero", crypto.SHA256, zd[:], zsig, true},
		{"leading zero stripped", crypto.SHA256, zd[:], zsig[1:], false},
		{"zeros", crypto.SHA256, d[:], make([]byte, k), false},
		{"one", crypto.SHA256, d[:], kBytes(one), false},
		{"n-1", crypto.SHA256, d[:], kBytes(new(big.Int).Sub(pub.N, one)), false},
		{"n", crypto.SHA256, d[:], kBytes(pub.N), false},
		{"n+1", crypto.SHA256, d[:], kBytes(new(big.Int).Add(pub.N, one)), false},
		{"all ff", crypto.SHA256, d[:], bytesOf(0xff, k), false},
		{"other digest", crypto.SHA256, make([]byte, 32), sig, false},
		{"other hash", crypto.SHA512, make([]byte, 64), sig, false},
		{"short digest", crypto.SHA256, d[:31], sig, false},
		{"unsupported hash", crypto.SHA224, d[:28], sig, false},
	}
	if sPlusN.BitLen() <= 8*k { // s+n, the malleable twin, when it fits in k bytes
		tests = append(tests, struct {
			name   string
			hash   crypto.Hash
			digest []byte
			sig    []byte
			ok     bool
		}{"s+n", crypto.SHA256, d[:], kBytes(sPlusN), false})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(p, tt.hash, tt.digest, tt.sig)
			if (err == nil) != tt.ok {
				t.Fatalf("got %v, want ok %v", err, tt.ok)
			}
			if std := rsa.VerifyPKCS1v15(pub, tt.hash, tt.digest, tt.sig) == nil; std != tt.ok {
				t.Fatalf("crypto/rsa: got ok %v, want %v", std, tt.ok)
			}
			if err != nil && tt.hash == crypto.SHA256 && len(tt.digest) == 32 && !errors.Is(err, ErrVerification) {
				t.Fatalf("got %v, want ErrVerification", err)
			}
		})
	}
}

func bytesOf(c byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}
