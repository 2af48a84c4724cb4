package stepupclient_test

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/stepupauth/stepup/stepupclient"
)

// FuzzTransport: whatever a server answers (status, WWW-Authenticate,
// DPoP-Nonce), the Transport neither panics nor sends more than its bound
// of requests, and its errors are the documented ones.
func FuzzTransport(f *testing.F) {
	f.Add(401, stepUpChallenge, "")
	f.Add(403, `Bearer error="insufficient_scope", scope="a b"`, "")
	f.Add(401, `DPoP error="use_dpop_nonce", algs="EdDSA"`, "n-1")
	f.Add(401, `Bearer realm="", authorization_uri="https://x", error="insufficient_claims", claims="e30="`, "")
	f.Add(401, `Bearer error="insufficient_user_authentication", max_age="5", Basic realm="x"`, "")
	f.Add(401, `Bearer error=`, "")
	_, key, _ := ed25519.GenerateKey(nil)
	f.Fuzz(func(t *testing.T, status int, challenge, nonce string) {
		if status < 100 || status > 999 {
			status = 401
		}
		for _, k := range []ed25519.PrivateKey{nil, key} {
			rec := &recorder{}
			for range 100 {
				rec.next = append(rec.next, answer(status, "WWW-Authenticate", challenge, "DPoP-Nonce", nonce))
			}
			cfg := stepupclient.Config{MaxRetries: 2}
			if k != nil {
				cfg.DPoP = k
			}
			c, src := newClient(t, cfg, counted(), "http://127.0.0.1:1", rec)
			res, err := c.Get("http://127.0.0.1:1/x")
			if err == nil {
				res.Body.Close()
			} else {
				var ce *stepupclient.ChallengeError
				var le *stepupclient.LoginError
				if !errors.As(err, &ce) && !errors.As(err, &le) {
					t.Fatalf("error %v is neither a ChallengeError nor a LoginError", err)
				}
			}
			if max := 2 * (1 + src.MaxRetries()); len(rec.reqs) > max {
				t.Fatalf("%d requests, want at most %d", len(rec.reqs), max)
			}
		}
	})
}
