package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stepupauth/stepup/jwks"
)

// testdata is the third-party reference data copied into the repository
// (testdata/README.md names each source); a missing file fails the tests.
var testdata = filepath.Join("..", "testdata")

func readJSON(t *testing.T, v any, elem ...string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{testdata}, elem...)...))
	if err != nil {
		t.Fatalf("reference data: %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("reference data %v: %v", elem, err)
	}
}

// testJWK is the subset of a JWK (RFC 7517) the conformance tests read.
type testJWK struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N, E   string
	X, Y   string
	K      string
}

func b64u(s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("test JWK: %v", err))
	}
	return b
}

// loadJWK turns a public JWK into a jwks.Key the way the jwks package
// publishes keys: a key whose use is not "sig" or whose key_ops lack
// "verify" is not published at all (usable false). Private members are
// ignored. oct keys become []byte, for the HMAC vectors only.
func loadJWK(t *testing.T, raw json.RawMessage) (key *jwks.Key, usable bool) {
	t.Helper()
	var j testJWK
	if err := json.Unmarshal(raw, &j); err != nil {
		t.Fatalf("test JWK: %v", err)
	}
	if (j.Use != "" && j.Use != "sig") || (j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify")) {
		return nil, false
	}
	key = &jwks.Key{ID: j.Kid, Algorithm: j.Alg, KeyType: j.Kty}
	switch j.Kty {
	case "RSA":
		key.Public = &rsa.PublicKey{N: new(big.Int).SetBytes(b64u(j.N)), E: int(new(big.Int).SetBytes(b64u(j.E)).Int64())}
	case "EC":
		curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[j.Crv]
		if curve == nil {
			t.Fatalf("test JWK: curve %q", j.Crv)
		}
		size := (curve.Params().BitSize + 7) / 8
		point := []byte{4}
		point = append(point, leftPad(b64u(j.X), size)...)
		point = append(point, leftPad(b64u(j.Y), size)...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			t.Fatalf("test JWK: %v", err)
		}
		key.Public = pub
	case "OKP":
		if j.Crv != "Ed25519" {
			t.Fatalf("test JWK: OKP curve %q", j.Crv)
		}
		key.Public = ed25519.PublicKey(b64u(j.X))
	case "oct":
		key.Public = b64u(j.K)
	default:
		t.Fatalf("test JWK: kty %q", j.Kty)
	}
	return key, true
}

func leftPad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	return append(make([]byte, n-len(b)), b...)
}

// conformance runs one vector through verifyJWS and compares with the
// reference verdict, honouring the listed deviations.
func conformance(t *testing.T, id string, raw string, key *jwks.Key, usable, refValid bool, deviations map[string]string) {
	t.Helper()
	got := false
	var why string
	if usable {
		_, rej := verifyJWS(raw, key, jwsLayerPolicy(), true)
		got = rej == nil
		if rej != nil {
			why = string(rej.reason) + ": " + rej.err.Error()
		}
	} else {
		why = "key not published (use/key_ops)"
	}
	reason, deviates := deviations[id]
	switch {
	case deviates && got == refValid:
		t.Errorf("%s: listed as a deviation (%s) but we agree with the reference verdict valid=%v", id, reason, refValid)
	case !deviates && got != refValid:
		t.Errorf("%s: got valid=%v (%s), reference says valid=%v", id, got, why, refValid)
	case deviates && got:
		t.Errorf("%s: a deviation may only make us stricter, got valid", id)
	}
}

// wycheproofDeviations are the Wycheproof JWS vectors whose verdict we do
// not share, with the reason. All of them are "valid" vectors we reject.
var wycheproofDeviations = map[string]string{
	"tc346": "key alg PS256, header alg PS384: the header alg must equal the JWK's alg (RFC 8725 §3.1)",
	"tc350": "key alg PS256, header alg PS384: the header alg must equal the JWK's alg (RFC 8725 §3.1)",
	"tc347": `key alg "ES521" (not a JOSE name), header alg ES512: the header alg must equal the JWK's alg`,
	"tc351": `key alg "ES521" (not a JOSE name), header alg ES512: the header alg must equal the JWK's alg`,
	"tc372": "'?' inside the header base64url: strict base64url decoding, no stripping of illegal characters (RFC 7515 §2)",
	"tc373": "'?' inside the payload base64url: strict base64url decoding, no stripping of illegal characters (RFC 7515 §2)",
}

// wycheproofDuplicates are "invalid" vectors byte-identical to the "valid"
// tc357 (the padding their names promise is absent from the data of the
// pinned Wycheproof commit): no verifier can reject them and accept tc357.
// We accept them like tc357; the padding they meant is covered by the
// "padded header" and "padded signature" cases of TestAttacks.
var wycheproofDuplicates = map[int]int{367: 357, 370: 357}

// TestWycheproofJWS runs Project Wycheproof's JSON Web Signature vectors
// through the JWS layer (header rules, key binding, signature; the payloads
// are not claim sets). HS* groups run with symmetric keys enabled, which the
// Verifier itself never allows.
func TestWycheproofJWS(t *testing.T) {
	var file struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			Comment string          `json:"comment"`
			Public  json.RawMessage `json:"public"`
			Private json.RawMessage `json:"private"`
			Tests   []struct {
				TcID    int    `json:"tcId"`
				Comment string `json:"comment"`
				JWS     string `json:"jws"`
				Result  string `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	readJSON(t, &file, "wycheproof", "json_web_signature_test.json")
	ran, valid := 0, 0
	byID := map[int]string{}
	for _, g := range file.TestGroups {
		for _, tc := range g.Tests {
			byID[tc.TcID] = tc.JWS
		}
	}
	for _, g := range file.TestGroups {
		jwk := g.Public
		if jwk == nil { // oct groups only have the secret key
			jwk = g.Private
		}
		key, usable := loadJWK(t, jwk)
		for _, tc := range g.Tests {
			ran++
			if tc.Result == "valid" {
				valid++
			}
			if twin, ok := wycheproofDuplicates[tc.TcID]; ok {
				if tc.JWS != byID[twin] {
					t.Errorf("tc%d: no longer identical to tc%d: drop it from wycheproofDuplicates", tc.TcID, twin)
				}
				conformance(t, fmt.Sprintf("tc%d", tc.TcID), tc.JWS, key, usable, true, nil)
				continue
			}
			conformance(t, fmt.Sprintf("tc%d", tc.TcID), tc.JWS, key, usable, tc.Result == "valid", wycheproofDeviations)
		}
	}
	if ran != file.NumberOfTests || ran != 401 {
		t.Errorf("ran %d vectors, file declares %d, want 401", ran, file.NumberOfTests)
	}
	t.Logf("%d Wycheproof JWS vectors, %d valid, %d deviations, %d contradictory duplicates", ran, valid, len(wycheproofDeviations), len(wycheproofDuplicates))
}

// TestRFC7520JWS runs the JOSE cookbook (RFC 7520 §4, RFC 8037 Ed25519 and
// RFC 7797 b64) examples through the JWS layer.
func TestRFC7520JWS(t *testing.T) {
	type example struct {
		Input struct {
			Key json.RawMessage `json:"key"`
		} `json:"input"`
		Output struct {
			Compact  string          `json:"compact"`
			JSONFlat json.RawMessage `json:"json_flat"`
		} `json:"output"`
	}
	deviations := map[string]string{
		"4.5 compact":  "detached content: a bearer token always carries its payload, so the empty payload part is verified as an empty payload",
		"7797 compact": "b64=false with crit: RFC 7797 unencoded payloads are not supported and any crit is refused",
	}
	const jsonOnly = "JSON serialization: the verifier accepts the compact serialization only"
	for _, f := range []struct{ id, path string }{
		{"4.1", "jws/4_1.rsa_v15_signature.json"},
		{"4.2", "jws/4_2.rsa-pss_signature.json"},
		{"4.3", "jws/4_3.ecdsa_signature.json"},
		{"4.4", "jws/4_4.hmac-sha2_integrity_protection.json"},
		{"4.5", "jws/4_5.signature_with_detached_content.json"},
		{"4.6", "jws/4_6.protecting_specific_header_fields.json"},
		{"4.7", "jws/4_7.protecting_content_only.json"},
		{"ed25519", "curve25519/jws.json"},
		{"7797", "rfc7797/hmac-sha2_b64_false.json"},
		{"7797 4.2", "rfc7797/4.2.hmac-sha2_b64_false.json"},
	} {
		t.Run(f.id, func(t *testing.T) {
			var ex example
			readJSON(t, &ex, "rfc7520", f.path)
			key, usable := loadJWK(t, ex.Input.Key)
			ran := 0
			if ex.Output.Compact != "" {
				ran++
				conformance(t, f.id+" compact", ex.Output.Compact, key, usable, true, deviations)
			}
			if ex.Output.JSONFlat != nil {
				ran++
				id := f.id + " json_flat"
				conformance(t, id, string(ex.Output.JSONFlat), key, usable, true, map[string]string{id: jsonOnly})
			}
			if ran == 0 {
				t.Fatal("no serialization in the example")
			}
		})
	}
	// 4.8 (multiple signatures) exists only in the general JSON
	// serialization, which the compact-only layer refuses.
	var multi struct {
		Input struct {
			Key []json.RawMessage `json:"key"`
		} `json:"input"`
		Output struct {
			JSON json.RawMessage `json:"json"`
		} `json:"output"`
	}
	readJSON(t, &multi, "rfc7520", "jws", "4_8.multiple_signatures.json")
	for i, k := range multi.Input.Key {
		key, _ := loadJWK(t, k)
		conformance(t, fmt.Sprintf("4.8 json key %d", i), string(multi.Output.JSON), key, true, true,
			map[string]string{fmt.Sprintf("4.8 json key %d", i): jsonOnly})
	}
}

// TestRFC7515Appendix runs RFC 7515 appendix A.1-A.5 through the JWS layer.
// A.1-A.3 carry exp in 2011 and typ JWT or none: valid signatures that the
// access-token Verifier refuses (checked below); A.4's payload is not a
// claim set; A.5 is unsecured.
func TestRFC7515Appendix(t *testing.T) {
	var file struct {
		JWS []struct {
			ID      string          `json:"id"`
			Alg     string          `json:"alg"`
			Key     json.RawMessage `json:"key"`
			Compact string          `json:"compact"`
		} `json:"jws"`
	}
	readJSON(t, &file, "rfc7515", "appendix_examples.json")
	if len(file.JWS) != 5 {
		t.Fatalf("got %d examples, want 5", len(file.JWS))
	}
	for _, ex := range file.JWS {
		t.Run(ex.ID, func(t *testing.T) {
			if ex.Alg == "none" {
				_, rej := verifyJWS(ex.Compact, nil, jwsLayerPolicy(), true)
				if rej == nil || rej.reason != ReasonAlgorithm {
					t.Fatalf("got %v, want an algorithm rejection", rej)
				}
				return
			}
			key, _ := loadJWK(t, ex.Key)
			conformance(t, ex.ID, ex.Compact, key, true, true, nil)
		})
	}

	// Through the full Verifier, A.2 (RS256, no typ, iss "joe", exp 2011)
	// is refused even with the clock pinned to 2011: untyped first, then,
	// with untyped tokens allowed, for its audience.
	a2 := file.JWS[1]
	key, _ := loadJWK(t, a2.Key)
	src := &mapSource{keys: map[string]map[string]*jwks.Key{"joe": {"": key}}}
	for _, tc := range []struct {
		untyped bool
		want    Reason
	}{{false, ReasonType}, {true, ReasonAudience}} {
		v, err := New(src, Config{Issuer: "joe", Audience: testAudience, InsecureAllowMissingType: tc.untyped,
			Now: func() time.Time { return time.Unix(1300819000, 0) }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = v.Verify(context.Background(), a2.Compact)
		if got := rejectionOf(t, err); got != tc.want {
			t.Errorf("A.2 untyped=%v: got %q, want %q", tc.untyped, got, tc.want)
		}
	}
}
