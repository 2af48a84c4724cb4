package jwks_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/stepupauth/stepup/jwks"
)

var testdata = filepath.Join("..", "testdata")

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, path))
	if err != nil {
		t.Fatalf("reference data missing (testdata/ at the repository root): %v", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// verdict runs one compact JWS through a set built by NewStatic: the token
// is accepted when the set returns a key for its kid and the signature
// verifies with that key and the header alg. Signature checking belongs to
// the verify package; jws.Verify stands in for it here so that the
// key-set verdict can be compared with Wycheproof's.
func verdict(set *jwks.Set, compact string) (bool, string) {
	parts := strings.Split(compact, ".")
	if len(parts) != 3 {
		return false, "not compact"
	}
	msg, err := jws.Parse([]byte(compact))
	if err != nil || len(msg.Signatures()) != 1 {
		return false, "unparseable jws"
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	kid, _ := h.KeyID()
	alg, _ := h.Algorithm()
	k, err := set.Key(context.Background(), "", kid)
	if err != nil {
		return false, err.Error()
	}
	if k.Algorithm != "" && k.Algorithm != alg.String() {
		return false, "header alg differs from the jwk alg"
	}
	if _, err := jws.Verify([]byte(compact), jws.WithKey(alg, k.Public)); err != nil {
		return false, "signature: " + err.Error()
	}
	return true, ""
}

// TestWycheproofJSONWebKey runs the Wycheproof JSON Web Key vectors through
// NewStatic. Each group's public set (its private set when it has none:
// the oct groups) becomes a Set; NewStatic failing counts as "invalid".
func TestWycheproofJSONWebKey(t *testing.T) {
	var file struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			Comment string          `json:"comment"`
			Private json.RawMessage `json:"private"`
			Public  json.RawMessage `json:"public"`
			Tests   []struct {
				TcID    int      `json:"tcId"`
				Comment string   `json:"comment"`
				JWS     string   `json:"jws"`
				Result  string   `json:"result"`
				Flags   []string `json:"flags"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	readJSON(t, filepath.Join("wycheproof", "json_web_key_test.json"), &file)

	// Vectors whose verdict we do not share, and why.
	deviations := map[int]string{
		2:  "HS256 set marked valid: symmetric (oct) keys are never taken from a JWKS (RFC 8725 §3.1, and the package documentation), so the set has no usable key",
		7:  "ROCA-vulnerable RSA key (CVE-2017-15361): 2048 bits, odd e, so accepted; we do not fingerprint ROCA moduli",
		13: "long HS256 key marked valid: oct keys never taken from a JWKS",
		14: "long HS384 key marked valid: oct keys never taken from a JWKS",
		15: "long HS512 key marked valid: oct keys never taken from a JWKS",
	}
	seen := 0
	for _, g := range file.TestGroups {
		doc := g.Public
		if len(doc) == 0 {
			doc = g.Private
		}
		set, setErr := jwks.NewStatic(doc)
		for _, tc := range g.Tests {
			seen++
			t.Run(strings.Join([]string{g.Comment, tc.Comment}, "/"), func(t *testing.T) {
				got, why := false, ""
				if setErr != nil {
					why = setErr.Error()
				} else {
					got, why = verdict(set, tc.JWS)
				}
				want := tc.Result == "valid"
				if reason, ok := deviations[tc.TcID]; ok {
					if got == want {
						t.Errorf("tc%d: listed as a deviation (%s) but our verdict now matches %q", tc.TcID, reason, tc.Result)
					}
					return
				}
				if got != want {
					t.Errorf("tc%d %s %v: got accepted=%v (%s), want %s", tc.TcID, tc.Comment, tc.Flags, got, why, tc.Result)
				}
			})
		}
	}
	if seen != file.NumberOfTests {
		t.Errorf("ran %d vectors, file declares %d", seen, file.NumberOfTests)
	}
}

// TestRFC7515Appendix: the RFC 7517 A.1 example set keeps only its RSA
// signing key (the EC key is use "enc"); the RFC 7515 A.2-A.4 keys verify
// their example tokens through a Set; the A.1 HMAC key is refused.
func TestRFC7515Appendix(t *testing.T) {
	var file struct {
		JWS []struct {
			ID      string          `json:"id"`
			Alg     string          `json:"alg"`
			Key     json.RawMessage `json:"key"`
			Compact string          `json:"compact"`
		} `json:"jws"`
		JWKS json.RawMessage `json:"jwks_rfc7517_A1"`
	}
	readJSON(t, filepath.Join("rfc7515", "appendix_examples.json"), &file)

	set, err := jwks.NewStatic(file.JWKS)
	if err != nil {
		t.Fatalf("RFC 7517 A.1: %v", err)
	}
	if got := strings.Join(kids(set), ","); got != "2011-04-29" {
		t.Errorf("RFC 7517 A.1 usable kids: got %q, want %q", got, "2011-04-29")
	}
	if r := set.Rejected(); len(r) != 1 || r[0].KID != "1" || r[0].Reason != "use is not sig" {
		t.Errorf("RFC 7517 A.1 rejected: got %+v, want kid 1 for use enc", r)
	}

	for _, ex := range file.JWS {
		t.Run(ex.ID, func(t *testing.T) {
			if len(ex.Key) == 0 || string(ex.Key) == "null" {
				return // A.5 is unsecured: no key to test here
			}
			set, err := jwks.NewStatic([]byte(`{"keys":[` + string(ex.Key) + `]}`))
			if ex.Alg == "HS256" {
				if !errors.Is(err, jwks.ErrNoUsableKeys) {
					t.Errorf("HMAC key: got %v, want ErrNoUsableKeys", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewStatic: %v", err)
			}
			k, err := set.Key(context.Background(), "", "")
			if err != nil {
				t.Fatalf("Key without kid in a one-key set: %v", err)
			}
			alg, ok := jwa.LookupSignatureAlgorithm(ex.Alg)
			if !ok {
				t.Fatalf("unknown alg %q", ex.Alg)
			}
			if _, err := jws.Verify([]byte(ex.Compact), jws.WithKey(alg, k.Public)); err != nil {
				t.Errorf("signature with the key from the set: %v", err)
			}
		})
	}
}
