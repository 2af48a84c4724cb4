package verify

import (
	"crypto/ecdsa"
	"errors"
)

// errECDSASignature is the cause of an ES256/384/512 signature that does
// not verify, or has the wrong length for its curve.
var errECDSASignature = errors.New("invalid ECDSA signature")

// verifyECDSA checks a JWS ECDSA signature, the fixed-width r || s of RFC
// 7518 §3.4, over digest with pub. The math is crypto/ecdsa's
// (VerifyASN1, which also refuses r or s of 0 or at least the order,
// CVE-2022-21449); this only re-encodes r || s as the DER SEQUENCE of two
// INTEGERs that VerifyASN1 reads, instead of going through math/big as
// ecdsa.Verify does: one buffer of at most 143 bytes (VerifyASN1 takes it
// to the heap, in the compiler's escape analysis), where big.Int made
// several allocations. FuzzVerifyECDSA checks it against
// the library path (github.com/lestrrat-go/dsig) on every input.
func verifyECDSA(pub *ecdsa.PublicKey, digest, sig []byte) error {
	size := (pub.Curve.Params().BitSize + 7) / 8
	if len(sig) != 2*size {
		return errECDSASignature
	}
	var buf [2*(3+66+1) + 3]byte // P-521: two INTEGERs of up to 67 bytes, SEQUENCE header
	der := appendSignatureDER(buf[:0], sig[:size], sig[size:])
	if !ecdsa.VerifyASN1(pub, digest, der) {
		return errECDSASignature
	}
	return nil
}

// appendSignatureDER appends SEQUENCE { INTEGER r, INTEGER s } (X.690
// DER) for the big-endian unsigned r and s.
func appendSignatureDER(dst, r, s []byte) []byte {
	r, s = trimZeros(r), trimZeros(s)
	n := intLen(r) + intLen(s)
	dst = append(dst, 0x30)
	dst = appendLength(dst, n)
	dst = appendInt(dst, r)
	return appendInt(dst, s)
}

// trimZeros drops leading zero bytes, keeping one byte for zero.
func trimZeros(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// intLen is the encoded length of INTEGER b: tag, length and content
// (with a leading 0x00 when the high bit is set, DER integers being
// signed). b is at most 66 bytes, so its length fits one byte.
func intLen(b []byte) int {
	n := len(b)
	if b[0]&0x80 != 0 {
		n++
	}
	return 2 + n
}

func appendInt(dst, b []byte) []byte {
	dst = append(dst, 0x02)
	if b[0]&0x80 != 0 {
		dst = append(dst, byte(len(b)+1), 0)
	} else {
		dst = append(dst, byte(len(b)))
	}
	return append(dst, b...)
}

// appendLength appends a DER length: short form below 128, else 0x81 and
// one byte (a P-521 signature's SEQUENCE is at most 138 bytes long).
func appendLength(dst []byte, n int) []byte {
	if n < 0x80 {
		return append(dst, byte(n))
	}
	return append(dst, 0x81, byte(n))
}
