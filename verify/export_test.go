package verify

import (
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"hash"

	"github.com/stepupauth/stepup/jwks"
)

// Test-only machinery: the symmetric algorithms, which production code
// can never enable, so that the Wycheproof and RFC 7520 HMAC vectors still
// tell whether the bare JWS layer reads them right, and that a key set's
// public bytes can never serve as an HMAC secret.

// famHMAC is the family of HS256/384/512; checkKey and verifySignature know
// no such family and refuse it.
const famHMAC family = 100

// hmacAlgs are HS256/384/512, with their hash.
var hmacAlgs = map[string]*algInfo{
	"HS256": {name: "HS256", family: famHMAC, hash: crypto.SHA256, keyType: "oct"},
	"HS384": {name: "HS384", family: famHMAC, hash: crypto.SHA384, keyType: "oct"},
	"HS512": {name: "HS512", family: famHMAC, hash: crypto.SHA512, keyType: "oct"},
}

var hmacHash = map[crypto.Hash]func() hash.Hash{
	crypto.SHA256: sha256.New, crypto.SHA384: sha512.New384, crypto.SHA512: sha512.New,
}

// jwsLayerPolicy is the header policy of the bare JWS layer for the
// conformance vectors: every known algorithm, HS* included, and no typ rule
// (the vectors carry no typ).
func jwsLayerPolicy() *policy {
	algs := make(map[string]*algInfo, len(joseAlgs)+len(hmacAlgs))
	for n, a := range joseAlgs {
		algs[n] = a
	}
	for n, a := range hmacAlgs {
		algs[n] = a
	}
	return &policy{algs: algs}
}

// verifyJWS is the bare JWS layer: header rules of pol, key binding and
// signature, no claim checks. With allowSymmetric, HS* tokens are checked
// against an oct key ([]byte) here, in the test; everything else goes
// through the production checkKey and verifySignature.
func verifyJWS(raw string, key *jwks.Key, pol *policy, allowSymmetric bool) ([]byte, *rejection) {
	tok, _, rej := parseCompact(raw, pol, nil)
	if rej != nil {
		return nil, rej
	}
	if tok.alg.family == famHMAC {
		if key == nil {
			return nil, rejKeyMismatch
		}
		k, ok := key.Public.([]byte)
		if !allowSymmetric || !ok || len(k) == 0 || !algFits(tok.alg, key.Algorithm) ||
			(key.KeyType != "" && key.KeyType != "oct") {
			return nil, rejKeyMismatch
		}
		mac := hmac.New(hmacHash[tok.alg.hash], k)
		mac.Write(tok.signingInput)
		if !hmac.Equal(mac.Sum(nil), tok.sig) {
			return nil, reject(ReasonSignature, errSignature)
		}
		return tok.payload, nil
	}
	if rej := checkKey(tok.alg, key); rej != nil {
		return nil, rej
	}
	if rej := verifySignature(&tok, key, nil); rej != nil { // RS*: prepared per call
		return nil, rej
	}
	return tok.payload, nil
}
