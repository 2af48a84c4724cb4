package rsapkcs1

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"math/big"

	"filippo.io/bigmod"
)

// The RSA keys Prepare accepts, the bounds of the jwks package doc (which
// says why): a modulus of 2048 to 8192 bits and the public exponent 65537.
// The jwks and verify packages apply the same constants.
const (
	MinBits  = 2048
	MaxBits  = 8192
	Exponent = 65537
)

// ErrVerification is returned by Verify for a signature that does not
// verify, whatever the reason.
var ErrVerification = errors.New("rsapkcs1: verification error")

// errHash is returned by Verify for a hash it does not support or a digest
// of the wrong length: a caller's error, not a bad signature.
var errHash = errors.New("rsapkcs1: unsupported hash or digest length")

// PublicKey is an RSA public key prepared for Verify: the modulus with its
// Montgomery constants. It is immutable and safe for concurrent use.
type PublicKey struct {
	n *bigmod.Modulus
	k int // modulus length in bytes
	// src is a private copy of the modulus Prepare was given, for Matches.
	src *big.Int
}

// Prepare does the work of a verification that depends only on the key
// (bigmod.NewModulus: the modulus and its Montgomery constants). It
// refuses a key without a modulus, an even modulus, a modulus outside
// MinBits to MaxBits bits and any exponent but Exponent.
func Prepare(pub *rsa.PublicKey) (*PublicKey, error) {
	if pub == nil || pub.N == nil || pub.N.Sign() <= 0 {
		return nil, errors.New("rsapkcs1: missing public modulus")
	}
	if bits := pub.N.BitLen(); bits < MinBits || bits > MaxBits {
		return nil, errors.New("rsapkcs1: modulus not of 2048 to 8192 bits")
	}
	if pub.E != Exponent {
		return nil, errors.New("rsapkcs1: public exponent not 65537")
	}
	// bigmod computes the Montgomery constants of an odd modulus only
	// (ExpShortVarTime panics on an even one); crypto/rsa refuses an even
	// modulus too.
	if pub.N.Bit(0) == 0 {
		return nil, errors.New("rsapkcs1: public modulus is even")
	}
	nb := pub.N.Bytes()
	n, err := bigmod.NewModulus(nb)
	if err != nil {
		return nil, errors.New("rsapkcs1: invalid public modulus")
	}
	return &PublicKey{n: n, k: len(nb), src: new(big.Int).Set(pub.N)}, nil
}

// Matches reports whether k was prepared from a key with the modulus and
// exponent of pub, as they are now. A cache of prepared keys uses it so
// that a key changed in place after it was prepared is never checked with
// the old modulus.
func (k *PublicKey) Matches(pub *rsa.PublicKey) bool {
	return pub != nil && pub.E == Exponent && pub.N != nil && pub.N.Cmp(k.src) == 0
}

// Size returns the modulus length in bytes, which is the length of every
// signature Verify accepts.
func (k *PublicKey) Size() int { return k.k }

// Verify checks that sig is a valid RSASSA-PKCS1-v1_5 signature by pub of
// digest, the hash of the message by hash (RFC 8017 §8.2.2). hash must be
// crypto.SHA256, crypto.SHA384 or crypto.SHA512 and digest of its size;
// anything else is an error. A signature that does not verify returns
// ErrVerification.
func Verify(pub *PublicKey, hash crypto.Hash, digest, sig []byte) error {
	prefix := digestInfo(hash)
	if prefix == nil || len(digest) != hash.Size() {
		return errHash
	}

	// RFC 8017 §8.2.2 step 1: if the length of the signature S is not k
	// octets, "invalid signature".
	if len(sig) != pub.k {
		return ErrVerification
	}

	// Step 2: s = OS2IP(S); RSAVP1 (§5.2.1) refuses s outside [0, n-1],
	// which SetBytes does (s < 0 cannot be written); m = s^e mod n;
	// EM = I2OSP(m, k), which cannot fail since m < n < 256^k.
	s, err := bigmod.NewNat().SetBytes(sig, pub.n)
	if err != nil {
		return ErrVerification
	}
	m := bigmod.NewNat().ExpShortVarTime(s, Exponent, pub.n)

	// Step 3: EM' = EMSA-PKCS1-V1_5-ENCODE(M, k), from the digest.
	var buf [MaxBits / 8]byte
	want, ok := encode(buf[:pub.k], prefix, digest)
	if !ok {
		return ErrVerification
	}

	// Step 4: compare EM and EM'. EM = I2OSP(m, k) and EM' are both k
	// octets, so they are equal exactly when m equals OS2IP(EM'): the
	// comparison is made on the integers, which spares the k-byte EM
	// (bigmod's Bytes allocates it). EM' begins 0x00 0x01, so OS2IP(EM') <
	// 2^(8(k-1)) <= n and SetBytes takes it. Nothing here is secret; Equal
	// is constant time all the same, as crypto/rsa's comparison is.
	w, err := bigmod.NewNat().SetBytes(want, pub.n)
	if err != nil || m.Equal(w) != 1 {
		return ErrVerification
	}
	return nil
}

// encode writes EMSA-PKCS1-v1_5 (RFC 8017 §9.2) of the digest into em,
// whose length is emLen (k): 0x00 || 0x01 || PS || 0x00 || T, with T the
// DigestInfo prefix followed by the digest and PS emLen - tLen - 3 bytes
// of 0xff. It reports false when emLen < tLen + 11 (step 3), which no key
// of MinBits or more can reach.
func encode(em, prefix, digest []byte) ([]byte, bool) {
	tLen := len(prefix) + len(digest)
	if len(em) < tLen+11 {
		return nil, false
	}
	em[0] = 0x00
	em[1] = 0x01
	ps := em[2 : len(em)-tLen-1]
	for i := range ps {
		ps[i] = 0xff
	}
	em[len(em)-tLen-1] = 0x00
	copy(em[len(em)-tLen:], prefix)
	copy(em[len(em)-len(digest):], digest)
	return em, true
}

// The DER encodings of DigestInfo without the digest (RFC 8017 §9.2 note
// 1): SEQUENCE { SEQUENCE { OID, NULL }, OCTET STRING of hLen bytes }. The
// NULL parameters are part of the encoding; a signature whose DigestInfo
// omits them does not verify (as with crypto/rsa).
var (
	prefixSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
	prefixSHA384 = []byte{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30}
	prefixSHA512 = []byte{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40}
)

// digestInfo returns the DigestInfo prefix of hash, or nil for a hash
// Verify does not support.
func digestInfo(hash crypto.Hash) []byte {
	switch hash {
	case crypto.SHA256:
		return prefixSHA256
	case crypto.SHA384:
		return prefixSHA384
	case crypto.SHA512:
		return prefixSHA512
	}
	return nil
}
