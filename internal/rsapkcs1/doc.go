// Package rsapkcs1 verifies RSASSA-PKCS1-v1_5 signatures (RFC 8017 §8.2.2)
// with a public key prepared once: the modulus and its Montgomery constants
// are computed by Prepare, not on every call as crypto/rsa.VerifyPKCS1v15
// does, which is most of the cost of an RS256 check that a key set's key
// pays thousands of times.
//
// It follows crypto/rsa (crypto/internal/fips140/rsa/pkcs1v15.go) step by
// step, over filippo.io/bigmod, the standard library's own bigmod exported
// by its author:
//
//  1. the signature must be exactly k bytes, k the modulus length in bytes
//     (RFC 8017 §8.2.2 step 1);
//  2. as an integer it must be below the modulus (§5.2.2, RSAVP1 step 1);
//  3. m = s^65537 mod n, written back as k bytes (§8.2.2 step 2, I2OSP);
//  4. the expected encoded message EM' = 0x00 || 0x01 || PS || 0x00 ||
//     DigestInfo || H (§9.2, EMSA-PKCS1-v1_5, PS at least 8 bytes of 0xff,
//     DigestInfo the DER prefix of §9.2 note 1 with its NULL parameters) is
//     built from the digest, and the two are compared in constant time
//     (§8.2.2 steps 3 and 4).
//
// The decrypted block is never parsed. Only SHA-256, SHA-384 and SHA-512
// (RS256, RS384, RS512 of RFC 7518 §3.3) are supported, and only the keys
// the jwks package admits: a modulus of MinBits to MaxBits bits and the
// public exponent Exponent; Prepare refuses any other.
//
// This is the one signature composition the project allows: everything
// else comes from crypto/* and jwx. It
// is gated by tests: every Wycheproof RSASSA-PKCS1-v1_5 vector in
// testdata/wycheproof/rsa_pkcs1 gives its expected verdict, the same as
// crypto/rsa's, and FuzzVerify checks that Verify and
// crypto/rsa.VerifyPKCS1v15 agree on random and mutated signatures. Plain
// go test runs the vectors and FuzzVerify's seed corpus; CI also fuzzes for
// 45 seconds. A change to this package lands only after the fuzzer has run
// for at least 30 minutes without a disagreement (with keys generated for
// the run beside the fixed ones):
//
//	go test ./internal/rsapkcs1 -run '^$' -fuzz '^FuzzVerify$' -fuzztime 30m
//
// A *PublicKey is immutable once prepared and safe for concurrent use.
package rsapkcs1
