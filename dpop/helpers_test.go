package dpop_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testURL   = "https://api.example.com/resource"
	testToken = "access-token-value"
)

var epoch = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock { c := new(clock); c.set(epoch); return c }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// signer makes proofs with one key.
type signer struct {
	alg  string
	key  crypto.Signer
	jwk  map[string]any // public members
	hash crypto.Hash
}

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		if _, edKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
			panic(err)
		}
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// newSigner returns a signer for alg (ES256, RS256, PS256, EdDSA) with the
// test key of its type.
func newSigner(t testing.TB, alg string) *signer {
	testKeys(t)
	switch alg {
	case "ES256":
		pub, _ := ecKey.PublicKey.Bytes()
		return &signer{alg: alg, key: ecKey, hash: crypto.SHA256, jwk: map[string]any{
			"kty": "EC", "crv": "P-256", "x": b64(pub[1:33]), "y": b64(pub[33:])}}
	case "RS256", "PS256":
		return &signer{alg: alg, key: rsaKey, hash: crypto.SHA256, jwk: map[string]any{
			"kty": "RSA", "n": b64(rsaKey.N.Bytes()), "e": "AQAB"}}
	case "EdDSA", "Ed25519":
		return &signer{alg: alg, key: edKey, jwk: map[string]any{
			"kty": "OKP", "crv": "Ed25519", "x": b64(edKey.Public().(ed25519.PublicKey))}}
	}
	t.Fatalf("no signer for %s", alg)
	return nil
}

// newECSigner returns an ES256 signer with a fresh key.
func newECSigner(t testing.TB) *signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := k.PublicKey.Bytes()
	return &signer{alg: "ES256", key: k, hash: crypto.SHA256, jwk: map[string]any{
		"kty": "EC", "crv": "P-256", "x": b64(pub[1:33]), "y": b64(pub[33:])}}
}

func (s *signer) jwkCopy() map[string]any {
	m := make(map[string]any, len(s.jwk))
	for k, v := range s.jwk {
		m[k] = v
	}
	return m
}

func (s *signer) header() map[string]any {
	return map[string]any{"typ": "dpop+jwt", "alg": s.alg, "jwk": s.jwkCopy()}
}

var jtiSeq atomic.Int64

func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return b64(sum[:])
}

// claims returns a valid claim set for a GET of testURL at now.
func validClaims(now time.Time) map[string]any {
	return map[string]any{
		"jti": "jti-" + strconv.FormatInt(jtiSeq.Add(1), 10),
		"htm": "GET",
		"htu": testURL,
		"iat": now.Unix(),
		"ath": ath(testToken),
	}
}

func mustJSON(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sign makes a proof of hdr and claims.
func (s *signer) sign(t testing.TB, hdr, claims map[string]any) string {
	return s.signRaw(t, mustJSON(t, hdr), mustJSON(t, claims))
}

// signRaw makes a proof of the given header and payload JSON, signed with
// s's key by s.alg.
func (s *signer) signRaw(t testing.TB, hdr, payload []byte) string {
	input := b64(hdr) + "." + b64(payload)
	return input + "." + b64(s.signature(t, []byte(input)))
}

func (s *signer) signature(t testing.TB, input []byte) []byte {
	var sum []byte
	if s.hash != 0 {
		h := s.hash.New()
		h.Write(input)
		sum = h.Sum(nil)
	}
	var sig []byte
	var err error
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		var r, ss *big.Int
		r, ss, err = ecdsa.Sign(rand.Reader, k, sum)
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			ss.FillBytes(sig[32:])
		}
	case *rsa.PrivateKey:
		if s.alg == "PS256" {
			sig, err = rsa.SignPSS(rand.Reader, k, s.hash, sum, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, s.hash, sum)
		}
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, input)
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func b64Dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// fixedSigner returns an ES256 or EdDSA signer whose key is the same in
// every process (the fuzzer's workers recompute the seeds' keys).
func fixedSigner(t testing.TB, alg string) *signer {
	d := make([]byte, 32)
	d[31] = 7
	switch alg {
	case "ES256":
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := k.PublicKey.Bytes()
		return &signer{alg: alg, key: k, hash: crypto.SHA256, jwk: map[string]any{
			"kty": "EC", "crv": "P-256", "x": b64(pub[1:33]), "y": b64(pub[33:])}}
	case "EdDSA":
		k := ed25519.NewKeyFromSeed(d)
		return &signer{alg: alg, key: k, jwk: map[string]any{
			"kty": "OKP", "crv": "Ed25519", "x": b64(k.Public().(ed25519.PublicKey))}}
	}
	t.Fatalf("no fixed signer for %s", alg)
	return nil
}
