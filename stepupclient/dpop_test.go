package stepupclient_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"golang.org/x/oauth2"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/stepupclient"
	"github.com/stepupauth/stepup/stepuptest"
)

// signerOnly hides the concrete key type, as a KMS signer would.
type signerOnly struct{ crypto.Signer }

func dpopKeys(t *testing.T) map[string]crypto.Signer {
	t.Helper()
	keys := map[string]crypto.Signer{}
	for name, c := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys["EdDSA"] = ed
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keys["RS256"] = rk
	keys["ES256 behind crypto.Signer"] = signerOnly{keys["ES256"]}
	return keys
}

// TestDPoP: against the real dpop verifier behind httpmw.WithDPoP with
// nonces, for every key type: the first request learns the nonce (one
// retry), a step-up keeps the DPoP scheme and the remembered nonce, the
// proof's htu has no query, its ath is the token's hash, and DPoPJKT is
// the thumbprint the server binds.
func TestDPoP(t *testing.T) {
	for name, key := range dpopKeys(t) {
		t.Run(name, func(t *testing.T) {
			iss := newIssuer(t)
			nonces, err := dpop.NewNonces([]byte(strings.Repeat("k", 32)), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			v, err := dpop.New(dpop.Config{Nonces: nonces})
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var proofs []string
			a := newAPIWith(t, iss, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					proofs = append(proofs, r.Header.Get("DPoP"))
					mu.Unlock()
					h.ServeHTTP(w, r)
				})
			}, map[string]claims.Requirement{
				"GET /profile":   {Binding: claims.BindingDPoP},
				"POST /transfer": {Binding: claims.BindingDPoP, ACR: []string{claims.ACRMultiFactor}},
			})
			ls := &logins{}
			ls.mint = func(l stepupclient.Login) (string, error) {
				acr := stepuptest.ACRPassword
				if len(l.ACRValues) > 0 {
					acr = l.ACRValues[0]
				}
				return iss.Mint(stepuptest.Token{ACR: acr, AuthTime: time.Now(), Claims: map[string]any{"cnf": map[string]any{"jkt": l.DPoPJKT}}})
			}
			c, _ := newClient(t, stepupclient.Config{DPoP: key}, ls, a.URL, nil)
			a.setDPoP(t, v)

			if res := do(t, c, "GET", a.URL+"/profile", ""); res.status != 200 {
				t.Fatalf("GET /profile: %d %s", res.status, res.header.Get("WWW-Authenticate"))
			}
			if n := a.requests.Load(); n != 2 {
				t.Errorf("%d requests, want 2 (the nonce retry)", n)
			}
			if res := do(t, c, "POST", a.URL+"/transfer?amount=5#frag", "x"); res.status != 200 || res.body != claims.ACRMultiFactor {
				t.Fatalf("POST /transfer: %d %q %s", res.status, res.body, res.header.Get("WWW-Authenticate"))
			}
			if n := a.requests.Load(); n != 4 {
				t.Errorf("%d requests, want 4 (the nonce remembered, one step-up retry)", n)
			}
			got := ls.calls()
			if len(got) != 2 {
				t.Fatalf("%d logins, want 2", len(got))
			}
			if want := thumbprint(t, key.Public()); got[0].DPoPJKT != want {
				t.Errorf("DPoPJKT %q, want %q", got[0].DPoPJKT, want)
			}
			hdr, cl := decodeProof(t, proofs[3])
			if hdr["typ"] != "dpop+jwt" || hdr["jwk"] == nil {
				t.Errorf("proof header %v", hdr)
			}
			if cl["htu"] != a.URL+"/transfer" || cl["htm"] != "POST" || cl["nonce"] == nil || cl["jti"] == nil || cl["iat"] == nil {
				t.Errorf("proof claims %v: want htm POST, htu %s/transfer, nonce, jti, iat", cl, a.URL)
			}
			if _, c0 := decodeProof(t, proofs[0]); c0["nonce"] != nil {
				t.Errorf("first proof carries a nonce %v before the server gave one", c0["nonce"])
			}
			if _, c2 := decodeProof(t, proofs[2]); c2["ath"] == cl["ath"] {
				t.Errorf("ath unchanged across tokens")
			}
		})
	}
}

// newAPIWith is newAPI with a wrapper around the mux and a DPoP verifier
// set later by setDPoP (the public URL is the server's own).
func newAPIWith(t *testing.T, iss *stepuptest.Issuer, wrap func(http.Handler) http.Handler, routes map[string]claims.Requirement) *dpopAPI {
	t.Helper()
	d := &dpopAPI{iss: iss, routes: routes}
	d.api = newAPI(t, iss, nil)
	d.api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.api.requests.Add(1)
		d.mu.Lock()
		h := d.h
		d.mu.Unlock()
		wrap(h).ServeHTTP(w, r)
	})
	return d
}

type dpopAPI struct {
	*api
	iss    *stepuptest.Issuer
	routes map[string]claims.Requirement
	mu     sync.Mutex
	h      http.Handler
}

func (d *dpopAPI) setDPoP(t *testing.T, v *dpop.Verifier) {
	t.Helper()
	mux := newMux(t, d.iss, d.routes, httpmw.WithDPoP(v, d.URL))
	d.mu.Lock()
	d.h = mux
	d.mu.Unlock()
}

func thumbprint(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	k, err := jwk.Import(pub)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

func decodeProof(t *testing.T, p string) (hdr, cl map[string]any) {
	t.Helper()
	parts := strings.Split(p, ".")
	if len(parts) != 3 {
		t.Fatalf("proof %q is not a compact JWS", p)
	}
	for i, m := range []*map[string]any{&hdr, &cl} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
	}
	return hdr, cl
}

// TestDPoPNonceBound: a server that keeps asking for a nonce gets one
// retry per token, and none when it refuses the nonce it gave.
func TestDPoPNonceBound(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name  string
		nonce func(i int) string
		want  int
	}{
		{"same nonce", func(int) string { return "n1" }, 2},
		{"new nonce each time", func(i int) string { return "n" + string(rune('a'+i)) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			for i := range 10 {
				rec.next = append(rec.next, answer(401, "WWW-Authenticate", `DPoP error="use_dpop_nonce", algs="EdDSA"`, "DPoP-Nonce", tc.nonce(i)))
			}
			c, _ := newClient(t, stepupclient.Config{DPoP: key}, counted(), "http://127.0.0.1:1", rec)
			res, err := c.Get("http://127.0.0.1:1/x")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 401 || len(rec.reqs) != tc.want {
				t.Errorf("got %d after %d requests, want 401 after %d", res.StatusCode, len(rec.reqs), tc.want)
			}
			if a := rec.reqs[0].Header.Get("Authorization"); a != "DPoP tok-1" {
				t.Errorf("Authorization %q, want DPoP tok-1", a)
			}
		})
	}
	t.Run("refused nonce", func(t *testing.T) {
		// The server gave n1 earlier, then refuses a proof with n1 asking for n1.
		rec := &recorder{next: []func() *http.Response{
			answer(200, "DPoP-Nonce", "n1"),
			answer(401, "WWW-Authenticate", `DPoP error="use_dpop_nonce"`, "DPoP-Nonce", "n1"),
		}}
		c, _ := newClient(t, stepupclient.Config{DPoP: key}, counted(), "http://127.0.0.1:1", rec)
		for range 2 {
			res, err := c.Get("http://127.0.0.1:1/x")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		if len(rec.reqs) != 2 {
			t.Errorf("%d requests, want 2: no retry with the nonce just refused", len(rec.reqs))
		}
	})
	t.Run("bad nonce", func(t *testing.T) {
		for _, n := range []string{"", "a b", `"q"`, strings.Repeat("n", 1025)} {
			rec := &recorder{next: []func() *http.Response{answer(401, "WWW-Authenticate", `DPoP error="use_dpop_nonce"`, "DPoP-Nonce", n)}}
			c, _ := newClient(t, stepupclient.Config{DPoP: key}, counted(), "http://127.0.0.1:1", rec)
			_, err := c.Get("http://127.0.0.1:1/x")
			var ce *stepupclient.ChallengeError
			if !errors.As(err, &ce) || len(rec.reqs) != 1 {
				t.Errorf("nonce %.10q: error %v after %d requests, want a *ChallengeError after 1", n, err, len(rec.reqs))
			}
		}
	})
}

// TestDPoPBearerToken: a token of type Bearer is sent as one, without a
// proof, even with a DPoP key, and its use_dpop_nonce refusal is returned.
func TestDPoPBearerToken(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	// A use_dpop_nonce answer to it is not retried: a nonce cannot help a
	// request without proof.
	rec := &recorder{next: []func() *http.Response{answer(401, "WWW-Authenticate", `DPoP error="use_dpop_nonce"`, "DPoP-Nonce", "n1")}}
	src, _ := stepupclient.New(stepupclient.Config{DPoP: key, Token: func(context.Context, stepupclient.Login) (*oauth2.Token, error) {
		return &oauth2.Token{AccessToken: "b", TokenType: "bearer"}, nil
	}})
	tr, _ := stepupclient.NewTransport(src, "http://127.0.0.1:1", rec)
	res, err := (&http.Client{Transport: tr}).Get("http://127.0.0.1:1/x")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if r := rec.reqs[0]; r.Header.Get("Authorization") != "Bearer b" || r.Header.Get("DPoP") != "" {
		t.Errorf("Authorization %q DPoP %q, want a bearer token without proof", r.Header.Get("Authorization"), r.Header.Get("DPoP"))
	}
	if len(rec.reqs) != 1 || res.StatusCode != 401 {
		t.Errorf("%d requests, status %d; want the 401 after 1", len(rec.reqs), res.StatusCode)
	}
}

// TestDPoPProofVerifies: each proof verifies with the dpop package for its
// method, URL and token, and a proof is never reused.
func TestDPoPProofVerifies(t *testing.T) {
	v, err := dpop.New(dpop.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range dpopKeys(t) {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			c, _ := newClient(t, stepupclient.Config{DPoP: key}, counted(), "https://api.example.com", rec)
			for _, u := range []string{"https://api.example.com/a/b?q=1", "https://API.example.com:443/a/b"} {
				res, err := c.Post(u, "text/plain", strings.NewReader("x"))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			for _, r := range rec.reqs {
				p, err := v.Verify(context.Background(), r.Header.Get("DPoP"), dpop.Request{Method: "POST", URL: "https://api.example.com/a/b", AccessToken: "tok-1"})
				if err != nil {
					t.Fatalf("proof refused: %v", err)
				}
				if p.JKT != thumbprint(t, key.Public()) {
					t.Errorf("JKT %q, want the key's thumbprint", p.JKT)
				}
				sum := sha256.Sum256([]byte("tok-1"))
				if _, cl := decodeProof(t, r.Header.Get("DPoP")); cl["ath"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
					t.Errorf("ath %v", cl["ath"])
				}
			}
		})
	}
}

// TestDPoPBadKeys: keys a proof cannot use are refused by New.
func TestDPoPBadKeys(t *testing.T) {
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	tok := func(context.Context, stepupclient.Login) (*oauth2.Token, error) { return nil, nil }
	for name, k := range map[string]crypto.Signer{"P-224": p224, "RSA 1024": small, "failing signer": failing{p256}} {
		if _, err := stepupclient.New(stepupclient.Config{Token: tok, DPoP: k}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

type failing struct{ *ecdsa.PrivateKey }

func (f failing) Public() crypto.PublicKey { return &f.PublicKey }
func (failing) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("hsm unplugged")
}

// TestDPoPProofMethod: Source.DPoPProof signs proofs for a token request
// (no ath, a nonce) and for a resource (ath, which the dpop verifier
// accepts), and fails without a key.
func TestDPoPProofMethod(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	src := mustSourceCfg(t, stepupclient.Config{DPoP: key})
	p, err := src.DPoPProof("POST", "https://idp.example.com/token?x=1", "", "n-1")
	if err != nil {
		t.Fatal(err)
	}
	// The resource-server verifier needs a token: check one with ath.
	withToken, err := src.DPoPProof("GET", "https://api.example.com/r#f", "tok", "")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := dpop.New(dpop.Config{})
	if _, err := v.Verify(context.Background(), withToken, dpop.Request{Method: "GET", URL: "https://api.example.com/r", AccessToken: "tok"}); err != nil {
		t.Errorf("proof refused: %v", err)
	}
	if _, cl := decodeProof(t, p); cl["ath"] != nil || cl["nonce"] != "n-1" {
		t.Errorf("claims %v: want no ath, nonce n-1", cl)
	}
	for _, bad := range [][2]string{{"", "https://a.example/"}, {"POST", "/relative"}, {"POST", "::"}} {
		if _, err := src.DPoPProof(bad[0], bad[1], "", ""); err == nil {
			t.Errorf("DPoPProof(%q, %q): no error", bad[0], bad[1])
		}
	}
	if _, err := mustSourceCfg(t, stepupclient.Config{}).DPoPProof("GET", "https://a.example/", "", ""); !errors.Is(err, stepupclient.ErrNoDPoPKey) {
		t.Errorf("without a key: %v, want ErrNoDPoPKey", err)
	}
}

func mustSourceCfg(t *testing.T, cfg stepupclient.Config) *stepupclient.Source {
	t.Helper()
	cfg.Token = counted().token
	src, err := stepupclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestDPoPProofHTU: the htu of the Transport's proofs is the URI the
// request is sent to, without query and fragment (RFC 9449 §4.2), also
// for a URL whose request target is set by Opaque (as done to keep a
// %2F), which net/http sends instead of Path; the htm of a request with
// an empty Method is the GET net/http sends.
func TestDPoPProofHTU(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	rec := &recorder{}
	c, _ := newClient(t, stepupclient.Config{DPoP: key}, counted(), "http://127.0.0.1:1", rec)
	for _, tc := range []struct {
		u    *url.URL
		want string
	}{
		{&url.URL{Scheme: "http", Host: "127.0.0.1:1", Path: "/a b", RawQuery: "q=1", Fragment: "f"}, "http://127.0.0.1:1/a%20b"},
		{&url.URL{Scheme: "http", Host: "127.0.0.1:1", Path: "/a/b", RawPath: "/a%2Fb"}, "http://127.0.0.1:1/a%2Fb"},
		{&url.URL{Scheme: "http", Host: "127.0.0.1:1"}, "http://127.0.0.1:1/"},
		{&url.URL{Scheme: "http", Host: "127.0.0.1:1", Path: "a"}, "http://127.0.0.1:1/a"},
		{&url.URL{Scheme: "http", Host: "127.0.0.1:1", Opaque: "//127.0.0.1:1/a%2Fb", RawQuery: "q=1"}, "http://127.0.0.1:1/a%2Fb"},
		{&url.URL{Scheme: "http", Host: "127.0.0.1:1", Opaque: "/a%2Fb"}, "http://127.0.0.1:1/a%2Fb"},
		{&url.URL{Scheme: "http", Host: "127.0.0.1:1", Opaque: "//127.0.0.1:1"}, "http://127.0.0.1:1/"},
	} {
		res, err := c.Do(&http.Request{URL: tc.u, Header: http.Header{}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		sent := rec.reqs[len(rec.reqs)-1]
		parts := strings.Split(sent.Header.Get("DPoP"), ".")
		if len(parts) != 3 {
			t.Fatalf("%s: no proof", tc.u)
		}
		b, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var cl struct{ HTM, HTU string }
		if err := json.Unmarshal(b, &cl); err != nil {
			t.Fatal(err)
		}
		if cl.HTM != "GET" {
			t.Errorf("%s: htm %q, want GET", tc.u, cl.HTM)
		}
		if cl.HTU != tc.want {
			t.Errorf("%s (request target %s): htu %q, want %q", tc.u, sent.URL.RequestURI(), cl.HTU, tc.want)
		}
	}
}
