package httpmw_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

// es256Client makes ES256 DPoP proofs, the algorithm of the test tokens.
type es256Client struct {
	key *ecdsa.PrivateKey
	hdr string // encoded protected header
	jkt string
	n   int
}

func newES256Client(tb testing.TB) *es256Client {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding
	pub, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		tb.Fatal(err)
	}
	x, y := enc.EncodeToString(pub[1:33]), enc.EncodeToString(pub[33:])
	hdr, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": map[string]string{"kty": "EC", "crv": "P-256", "x": x, "y": y}})
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return &es256Client{key: key, hdr: enc.EncodeToString(hdr), jkt: enc.EncodeToString(sum[:])}
}

func (c *es256Client) proof(tb testing.TB, method, uri, token string) string {
	enc := base64.RawURLEncoding
	c.n++
	sum := sha256.Sum256([]byte(token))
	payload, _ := json.Marshal(map[string]any{"jti": fmt.Sprintf("jti-%d", c.n), "htm": method, "htu": uri, "iat": testNow.Unix(), "ath": enc.EncodeToString(sum[:])})
	in := c.hdr + "." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(in))
	r, s, err := ecdsa.Sign(rand.Reader, c.key, digest[:])
	if err != nil {
		tb.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return in + "." + enc.EncodeToString(sig)
}

// BenchmarkDPoP measures, in one run, a DPoP request (an ES256 token seen
// for the first time and its ES256 proof, with the in-memory replay
// store) against a bearer request with the same token, and against the
// floor of the two raw signature checks. Targets (issue 16): at most 2.2x
// the bearer request, at most 1.2x the floor.
func BenchmarkDPoP(b *testing.B) {
	is := newIssuer(b)
	client := newES256Client(b)
	tok := is.mint(b, map[string]any{"cnf": map[string]any{"jkt": client.jkt}})
	set, err := jwks.NewStatic(is.jwks)
	if err != nil {
		b.Fatal(err)
	}
	// No token cache: every request is a first sight.
	v, err := verify.New(set, verify.Config{Issuer: testIssuer, Audience: testAudience, Now: func() time.Time { return testNow }, NoTokenCache: true})
	if err != nil {
		b.Fatal(err)
	}
	dv, err := dpop.New(dpop.Config{Algorithms: []string{"ES256"}, Now: func() time.Time { return testNow }, Replay: dpop.NewMemoryStore(1 << 20)})
	if err != nil {
		b.Fatal(err)
	}
	g, err := httpmw.New(v, httpmw.WithDPoP(dv, publicURL))
	if err != nil {
		b.Fatal(err)
	}
	h := g.Require(claims.Requirement{}, okHandler())
	uri := publicURL + "/x"
	nsPerOp := func(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }

	var bearerNS, floorNS float64
	b.Run("bearer", func(b *testing.B) {
		b.ReportAllocs()
		r := httptest.NewRequest("GET", "/x", nil)
		// The bound token as Bearer is refused after its signature check,
		// at the cost of a valid bearer token: time an unbound one instead.
		bearer := is.mint(b, nil)
		r.Header.Set("Authorization", "Bearer "+bearer)
		for range b.N {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				b.Fatalf("bearer: %d", rec.Code)
			}
		}
		bearerNS = nsPerOp(b)
	})
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		tokDigest, tokR, tokS := splitES256(b, tok)
		pr := client.proof(b, "GET", uri, tok)
		prDigest, prR, prS := splitES256(b, pr)
		tokKey, prKey := &is.priv.PublicKey, &client.key.PublicKey
		for range b.N {
			if !ecdsa.Verify(tokKey, tokDigest, tokR, tokS) || !ecdsa.Verify(prKey, prDigest, prR, prS) {
				b.Fatal("floor: a signature does not verify")
			}
		}
		floorNS = nsPerOp(b)
	})
	b.Run("dpop", func(b *testing.B) {
		b.ReportAllocs()
		const chunk = 512
		reqs := make([]*http.Request, 0, chunk)
		for i := range b.N {
			if i%chunk == 0 {
				b.StopTimer()
				reqs = reqs[:0]
				for range chunk {
					r := httptest.NewRequest("GET", "/x", nil)
					r.Header.Set("Authorization", "DPoP "+tok)
					r.Header.Set("DPoP", client.proof(b, "GET", uri, tok))
					reqs = append(reqs, r)
				}
				b.StartTimer()
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, reqs[i%chunk])
			if rec.Code != http.StatusOK {
				b.Fatalf("dpop: %d %s", rec.Code, rec.Header().Get("WWW-Authenticate"))
			}
		}
		ns := nsPerOp(b)
		if bearerNS == 0 || floorNS == 0 {
			b.Fatal("run the whole benchmark: the ratios need bearer and floor")
		}
		b.ReportMetric(ns/bearerNS, "x-bearer")
		b.ReportMetric(ns/floorNS, "x-floor")
		if b.N < 100 {
			return // the framework's probing runs: too short to judge
		}
		if ns/bearerNS > 2.2 {
			b.Errorf("a DPoP request costs %.2fx a bearer first sight, want at most 2.2x", ns/bearerNS)
		}
		if ns/floorNS > 1.2 {
			b.Errorf("a DPoP request costs %.2fx the two signature checks, want at most 1.2x", ns/floorNS)
		}
	})
}

// splitES256 returns the digest of a compact ES256 JWS's signing input and
// its signature's r and s.
func splitES256(tb testing.TB, jws string) ([]byte, *big.Int, *big.Int) {
	tb.Helper()
	i := strings.LastIndexByte(jws, '.')
	sig, err := base64.RawURLEncoding.DecodeString(jws[i+1:])
	if err != nil || len(sig) != 64 {
		tb.Fatalf("signature: %v", err)
	}
	d := sha256.Sum256([]byte(jws[:i]))
	return d[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
}
