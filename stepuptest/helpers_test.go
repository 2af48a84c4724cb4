package stepuptest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/stepupauth/stepup/stepuptest"
)

// newIssuer starts an issuer closed at the end of the test.
func newIssuer(t testing.TB, opts ...stepuptest.Option) *stepuptest.Issuer {
	t.Helper()
	iss, err := stepuptest.NewIssuer(opts...)
	if err != nil {
		t.Fatalf("NewIssuer: %v", err)
	}
	t.Cleanup(iss.Close)
	return iss
}

// decode splits a compact JWS into its header and claims, without
// verifying anything.
func decode(t testing.TB, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}
	return header, claims
}

// get fetches url with the issuer's client and returns the response and
// its body.
func get(t testing.TB, iss *stepuptest.Issuer, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := iss.Client().Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return resp, b
}

// servedKeys fetches and parses the issuer's JWKS.
func servedKeys(t testing.TB, iss *stepuptest.Issuer) jwk.Set {
	t.Helper()
	resp, b := get(t, iss, iss.JWKSURL())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS status = %d, want 200", resp.StatusCode)
	}
	set, err := jwk.Parse(b)
	if err != nil {
		t.Fatalf("jwk.Parse: %v\n%s", err, b)
	}
	return set
}

// verifies reports whether token verifies against the issuer's served
// JWKS (kid and alg must match a key).
func verifies(t testing.TB, iss *stepuptest.Issuer, token string) bool {
	t.Helper()
	_, err := jws.Verify([]byte(token), jws.WithKeySet(servedKeys(t, iss)))
	return err == nil
}

func kids(set jwk.Set) []string {
	var out []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		kid, _ := k.KeyID()
		out = append(out, kid)
	}
	return out
}
