package dpop_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
)

func request() dpop.Request {
	return dpop.Request{Method: "GET", URL: testURL, AccessToken: testToken}
}

func newVerifier(t testing.TB, cfg dpop.Config, c *clock) *dpop.Verifier {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	v, err := dpop.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// wantRefusal checks that err is an *dpop.Error with code and reason.
func wantRefusal(t *testing.T, err error, code claims.Code, reason string) *dpop.Error {
	t.Helper()
	var e *dpop.Error
	if !errors.As(err, &e) {
		t.Fatalf("got error %v, want a *dpop.Error %s/%s", err, code, reason)
	}
	if e.Code != code || e.Reason != reason {
		t.Fatalf("got %s/%s (%v), want %s/%s", e.Code, e.Reason, e, code, reason)
	}
	return e
}

func TestVerifyValid(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "PS256", "EdDSA", "Ed25519"} {
		t.Run(alg, func(t *testing.T) {
			c := newClock()
			v := newVerifier(t, dpop.Config{}, c)
			s := newSigner(t, alg)
			cl := validClaims(c.Now())
			p, err := v.Verify(context.Background(), s.sign(t, s.header(), cl), request())
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.ID != cl["jti"] || !p.IssuedAt.Equal(c.Now()) {
				t.Errorf("got ID %q IssuedAt %v, want %q %v", p.ID, p.IssuedAt, cl["jti"], c.Now())
			}
			if len(p.JKT) != 43 || strings.ContainsAny(p.JKT, "+/=") {
				t.Errorf("got JKT %q, want 43 base64url characters", p.JKT)
			}
		})
	}
}

// TestVerifyRefusals has one case per check of RFC 9449 §4.3.
func TestVerifyRefusals(t *testing.T) {
	type edit func(hdr, cl map[string]any)
	tests := []struct {
		name   string
		alg    string
		edit   edit
		proof  func(t *testing.T, s *signer, now time.Time) string // instead of edit
		req    func(r *dpop.Request)
		cfg    dpop.Config
		reason string
	}{
		{name: "typ missing", edit: func(h, _ map[string]any) { delete(h, "typ") }, reason: dpop.ReasonType},
		{name: "typ JWT", edit: func(h, _ map[string]any) { h["typ"] = "JWT" }, reason: dpop.ReasonType},
		{name: "typ at+jwt", edit: func(h, _ map[string]any) { h["typ"] = "at+jwt" }, reason: dpop.ReasonType},
		{name: "typ not a string", edit: func(h, _ map[string]any) { h["typ"] = 1 }, reason: dpop.ReasonMalformed},
		{name: "alg none", edit: func(h, _ map[string]any) { h["alg"] = "none" }, reason: dpop.ReasonAlgorithm},
		{name: "alg HS256", edit: func(h, _ map[string]any) { h["alg"] = "HS256" }, reason: dpop.ReasonAlgorithm},
		{name: "alg missing", edit: func(h, _ map[string]any) { delete(h, "alg") }, reason: dpop.ReasonAlgorithm},
		{name: "alg not configured", cfg: dpop.Config{Algorithms: []string{"EdDSA"}}, reason: dpop.ReasonAlgorithm},
		{name: "alg ES384 with a P-256 key", edit: func(h, _ map[string]any) { h["alg"] = "ES384" }, reason: dpop.ReasonKey},
		{name: "alg RS256 with an EC key", edit: func(h, _ map[string]any) { h["alg"] = "RS256" }, reason: dpop.ReasonKey},
		{name: "alg EdDSA with an RSA key", alg: "RS256", edit: func(h, _ map[string]any) { h["alg"] = "EdDSA" }, reason: dpop.ReasonKey},
		{name: "jwk alg not the proof's", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["alg"] = "ES384" }, reason: dpop.ReasonKey},
		{name: "jwk missing", edit: func(h, _ map[string]any) { delete(h, "jwk") }, reason: dpop.ReasonKey},
		{name: "jwk not an object", edit: func(h, _ map[string]any) { h["jwk"] = "key" }, reason: dpop.ReasonKey},
		{name: "jwk private d (EC)", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["d"] = "AAAA" }, reason: dpop.ReasonKey},
		{name: "jwk private p (RSA)", alg: "RS256", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["p"] = "AAAA" }, reason: dpop.ReasonKey},
		{name: "jwk private qi (RSA)", alg: "RS256", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["qi"] = "AAAA" }, reason: dpop.ReasonKey},
		{name: "jwk symmetric k", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["k"] = "AAAA" }, reason: dpop.ReasonKey},
		{name: "jwk kty oct", edit: func(h, _ map[string]any) { h["jwk"] = map[string]any{"kty": "oct", "k": "AAAA"} }, reason: dpop.ReasonKey},
		{name: "jwk wrong curve", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["crv"] = "P-384" }, reason: dpop.ReasonKey},
		{name: "jwk point off the curve", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["y"] = b64(make([]byte, 32)) }, reason: dpop.ReasonKey},
		{name: "jwk short coordinate", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["x"] = b64(make([]byte, 31)) }, reason: dpop.ReasonKey},
		{name: "jwk rsa exponent 3", alg: "RS256", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["e"] = "Aw" }, reason: dpop.ReasonKey},
		{name: "jwk rsa exponent with a leading zero", alg: "RS256", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["e"] = "AAEAAQ" }, reason: dpop.ReasonKey},
		{name: "jwk rsa 1024 bits", alg: "RS256", edit: func(h, _ map[string]any) {
			h["jwk"].(map[string]any)["n"] = b64(append([]byte{0xc0}, make([]byte, 127)...))
		}, reason: dpop.ReasonKey},
		{name: "jwk ed25519 x short", alg: "EdDSA", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["x"] = b64(make([]byte, 31)) }, reason: dpop.ReasonKey},
		{name: "jwk okp wrong curve", alg: "EdDSA", edit: func(h, _ map[string]any) { h["jwk"].(map[string]any)["crv"] = "X25519" }, reason: dpop.ReasonKey},
		{name: "jwk padded base64", edit: func(h, _ map[string]any) {
			j := h["jwk"].(map[string]any)
			j["x"] = j["x"].(string) + "="
		}, reason: dpop.ReasonKey},
		{name: "jku", edit: func(h, _ map[string]any) { h["jku"] = "https://attacker.example/jwks" }, reason: dpop.ReasonHeader},
		{name: "x5u", edit: func(h, _ map[string]any) { h["x5u"] = "https://attacker.example/cert" }, reason: dpop.ReasonHeader},
		{name: "x5c", edit: func(h, _ map[string]any) { h["x5c"] = []string{"MIIB"} }, reason: dpop.ReasonHeader},
		{name: "crit", edit: func(h, _ map[string]any) { h["crit"] = []string{"exp"}; h["exp"] = 1 }, reason: dpop.ReasonHeader},
		{name: "b64", edit: func(h, _ map[string]any) { h["b64"] = false }, reason: dpop.ReasonHeader},
		{name: "signature by another key", proof: func(t *testing.T, s *signer, now time.Time) string {
			other := newECSigner(t)
			hdr := s.header() // s's jwk, other's signature
			return other.sign(t, hdr, validClaims(now))
		}, reason: dpop.ReasonSignature},
		{name: "signature stripped", proof: func(t *testing.T, s *signer, now time.Time) string {
			p := s.sign(t, s.header(), validClaims(now))
			return p[:strings.LastIndexByte(p, '.')+1]
		}, reason: dpop.ReasonSignature},
		{name: "signature truncated", proof: func(t *testing.T, s *signer, now time.Time) string {
			p := strings.Split(s.sign(t, s.header(), validClaims(now)), ".")
			sig := mustDecode(t, p[2])
			p[2] = b64(sig[:len(sig)-1])
			return strings.Join(p, ".")
		}, reason: dpop.ReasonSignature},
		{name: "payload changed after signing", proof: func(t *testing.T, s *signer, now time.Time) string {
			p := strings.Split(s.sign(t, s.header(), validClaims(now)), ".")
			cl := validClaims(now)
			cl["htm"] = "GET"
			p[1] = b64(mustJSON(t, cl))
			return strings.Join(p, ".")
		}, reason: dpop.ReasonSignature},
		{name: "jti missing", edit: func(_, c map[string]any) { delete(c, "jti") }, reason: dpop.ReasonID},
		{name: "jti empty", edit: func(_, c map[string]any) { c["jti"] = "" }, reason: dpop.ReasonID},
		{name: "jti not a string", edit: func(_, c map[string]any) { c["jti"] = 7 }, reason: dpop.ReasonID},
		{name: "jti too long", edit: func(_, c map[string]any) { c["jti"] = strings.Repeat("j", 257) }, reason: dpop.ReasonID},
		{name: "htm missing", edit: func(_, c map[string]any) { delete(c, "htm") }, reason: dpop.ReasonMethod},
		{name: "htm POST for GET", edit: func(_, c map[string]any) { c["htm"] = "POST" }, reason: dpop.ReasonMethod},
		{name: "htm lower case", edit: func(_, c map[string]any) { c["htm"] = "get" }, reason: dpop.ReasonMethod},
		{name: "htu missing", edit: func(_, c map[string]any) { delete(c, "htu") }, reason: dpop.ReasonURI},
		{name: "htu other host", edit: func(_, c map[string]any) { c["htu"] = "https://evil.example.com/resource" }, reason: dpop.ReasonURI},
		{name: "htu other path", edit: func(_, c map[string]any) { c["htu"] = "https://api.example.com/other" }, reason: dpop.ReasonURI},
		{name: "htu path case", edit: func(_, c map[string]any) { c["htu"] = "https://api.example.com/Resource" }, reason: dpop.ReasonURI},
		{name: "htu other scheme", edit: func(_, c map[string]any) { c["htu"] = "http://api.example.com/resource" }, reason: dpop.ReasonURI},
		{name: "htu other port", edit: func(_, c map[string]any) { c["htu"] = "https://api.example.com:8443/resource" }, reason: dpop.ReasonURI},
		{name: "htu with a query", edit: func(_, c map[string]any) { c["htu"] = testURL + "?a=1" }, reason: dpop.ReasonURI},
		{name: "htu with a fragment", edit: func(_, c map[string]any) { c["htu"] = testURL + "#f" }, reason: dpop.ReasonURI},
		{name: "htu with userinfo", edit: func(_, c map[string]any) { c["htu"] = "https://u@api.example.com/resource" }, reason: dpop.ReasonURI},
		{name: "htu relative", edit: func(_, c map[string]any) { c["htu"] = "/resource" }, reason: dpop.ReasonURI},
		{name: "htu not a string", edit: func(_, c map[string]any) { c["htu"] = []string{testURL} }, reason: dpop.ReasonURI},
		{name: "iat missing", edit: func(_, c map[string]any) { delete(c, "iat") }, reason: dpop.ReasonIssuedAt},
		{name: "iat a string", edit: func(_, c map[string]any) { c["iat"] = "1700000000" }, reason: dpop.ReasonIssuedAt},
		{name: "iat too old", edit: func(_, c map[string]any) {
			c["iat"] = epoch.Add(-dpop.DefaultMaxAge - dpop.DefaultLeeway - time.Second).Unix()
		}, reason: dpop.ReasonIssuedAt},
		{name: "iat in the future", edit: func(_, c map[string]any) { c["iat"] = epoch.Add(dpop.DefaultLeeway + time.Second).Unix() }, reason: dpop.ReasonIssuedAt},
		{name: "iat in the future, NoLeeway", cfg: dpop.Config{NoLeeway: true}, edit: func(_, c map[string]any) { c["iat"] = epoch.Add(time.Second).Unix() }, reason: dpop.ReasonIssuedAt},
		{name: "ath missing", edit: func(_, c map[string]any) { delete(c, "ath") }, reason: dpop.ReasonTokenHash},
		{name: "ath of another token", edit: func(_, c map[string]any) { c["ath"] = ath("other") }, reason: dpop.ReasonTokenHash},
		{name: "ath padded", edit: func(_, c map[string]any) { c["ath"] = ath(testToken) + "=" }, reason: dpop.ReasonTokenHash},
		{name: "ath of the token, other request token", req: func(r *dpop.Request) { r.AccessToken = "another-token" }, reason: dpop.ReasonTokenHash},
		{name: "method of the request differs", req: func(r *dpop.Request) { r.Method = "DELETE" }, reason: dpop.ReasonMethod},
		{name: "nonce not a string", edit: func(_, c map[string]any) { c["nonce"] = 5 }, reason: dpop.ReasonMalformed},
		{name: "duplicate claim", proof: func(t *testing.T, s *signer, now time.Time) string {
			cl := mustJSON(t, validClaims(now))
			dup := `{"htm":"POST",` + string(cl[1:])
			return s.signRaw(t, mustJSON(t, s.header()), []byte(dup))
		}, reason: dpop.ReasonMalformed},
		{name: "duplicate claim, escaped name", proof: func(t *testing.T, s *signer, now time.Time) string {
			cl := mustJSON(t, validClaims(now))
			dup := `{"\u0068tm":"POST",` + string(cl[1:])
			return s.signRaw(t, mustJSON(t, s.header()), []byte(dup))
		}, reason: dpop.ReasonMalformed},
		{name: "duplicate header member", proof: func(t *testing.T, s *signer, now time.Time) string {
			h := mustJSON(t, s.header())
			dup := `{"alg":"none",` + string(h[1:])
			return s.signRaw(t, []byte(dup), mustJSON(t, validClaims(now)))
		}, reason: dpop.ReasonMalformed},
		{name: "duplicate jwk member", proof: func(t *testing.T, s *signer, now time.Time) string {
			j := mustJSON(t, s.jwk)
			hdr := `{"typ":"dpop+jwt","alg":"ES256","jwk":{"x":"AAAA",` + string(j[1:]) + `}`
			return s.signRaw(t, []byte(hdr), mustJSON(t, validClaims(now)))
		}, reason: dpop.ReasonKey},
		{name: "claims not an object", proof: func(t *testing.T, s *signer, now time.Time) string {
			return s.signRaw(t, mustJSON(t, s.header()), []byte(`["jti"]`))
		}, reason: dpop.ReasonMalformed},
		{name: "claims invalid utf-8", proof: func(t *testing.T, s *signer, now time.Time) string {
			cl := mustJSON(t, validClaims(now))
			return s.signRaw(t, mustJSON(t, s.header()), append([]byte(`{"x":"\xff",`), cl[1:]...))
		}, reason: dpop.ReasonMalformed},
		{name: "empty", proof: func(*testing.T, *signer, time.Time) string { return "" }, reason: dpop.ReasonMalformed},
		{name: "two parts", proof: func(*testing.T, *signer, time.Time) string { return "eyJ.eyJ" }, reason: dpop.ReasonMalformed},
		{name: "five parts (JWE)", proof: func(*testing.T, *signer, time.Time) string { return "a.b.c.d.e" }, reason: dpop.ReasonMalformed},
		{name: "padding", proof: func(t *testing.T, s *signer, now time.Time) string {
			return s.sign(t, s.header(), validClaims(now)) + "=="
		}, reason: dpop.ReasonMalformed},
		{name: "standard base64", proof: func(*testing.T, *signer, time.Time) string { return "ab+c.de/f.ghi" }, reason: dpop.ReasonMalformed},
		{name: "line break", proof: func(t *testing.T, s *signer, now time.Time) string {
			p := s.sign(t, s.header(), validClaims(now))
			return p[:10] + "\n" + p[10:]
		}, reason: dpop.ReasonMalformed},
		{name: "header not json", proof: func(*testing.T, *signer, time.Time) string { return b64([]byte("{typ")) + ".e30.AAAA" }, reason: dpop.ReasonMalformed},
		{name: "two proofs, comma", proof: func(t *testing.T, s *signer, now time.Time) string {
			return s.sign(t, s.header(), validClaims(now)) + ", " + s.sign(t, s.header(), validClaims(now))
		}, reason: dpop.ReasonMultiple},
		{name: "two proofs, space", proof: func(t *testing.T, s *signer, now time.Time) string {
			return s.sign(t, s.header(), validClaims(now)) + " " + s.sign(t, s.header(), validClaims(now))
		}, reason: dpop.ReasonMultiple},
		{name: "oversized", proof: func(t *testing.T, s *signer, now time.Time) string {
			cl := validClaims(now)
			cl["pad"] = strings.Repeat("p", dpop.MaxProofSize)
			return s.sign(t, s.header(), cl)
		}, reason: dpop.ReasonSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			v := newVerifier(t, tt.cfg, c)
			alg := tt.alg
			if alg == "" {
				alg = "ES256"
			}
			s := newSigner(t, alg)
			var proof string
			if tt.proof != nil {
				proof = tt.proof(t, s, c.Now())
			} else {
				hdr, cl := s.header(), validClaims(c.Now())
				if tt.edit != nil {
					tt.edit(hdr, cl)
				}
				proof = s.sign(t, hdr, cl)
			}
			req := request()
			if tt.req != nil {
				tt.req(&req)
			}
			p, err := v.Verify(context.Background(), proof, req)
			if err == nil {
				t.Fatalf("Verify accepted the proof (%+v)", p)
			}
			e := wantRefusal(t, err, claims.CodeInvalidDPoPProof, tt.reason)
			if e.Nonce != "" {
				t.Errorf("got Nonce %q on %s, want none", e.Nonce, e.Code)
			}
			if msg := e.Error(); strings.Contains(msg, testToken) || (len(proof) > 20 && strings.Contains(msg, proof[:20])) {
				t.Errorf("error text %q holds the token or the proof", msg)
			}
			if !strings.HasPrefix(e.Error(), "dpop: "+tt.reason) {
				t.Errorf("got error text %q, want prefix %q", e.Error(), "dpop: "+tt.reason)
			}
		})
	}
}

// TestVerifyAccepts covers what must be accepted: the edges of the iat
// window, typ spellings, extra members, and htu normalisation.
func TestVerifyAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(hdr, cl map[string]any)
		req  func(r *dpop.Request)
		cfg  dpop.Config
	}{
		{name: "iat at the oldest", edit: func(_, c map[string]any) { c["iat"] = epoch.Add(-dpop.DefaultMaxAge - dpop.DefaultLeeway).Unix() }},
		{name: "iat in the future within leeway", edit: func(_, c map[string]any) { c["iat"] = epoch.Add(dpop.DefaultLeeway).Unix() }},
		{name: "iat with a fraction", edit: func(_, c map[string]any) { c["iat"] = float64(epoch.Unix()) + 0.25 }},
		{name: "iat older with a longer MaxAge", cfg: dpop.Config{MaxAge: 10 * time.Minute}, edit: func(_, c map[string]any) { c["iat"] = epoch.Add(-9 * time.Minute).Unix() }},
		{name: "typ application/dpop+jwt", edit: func(h, _ map[string]any) { h["typ"] = "application/dpop+jwt" }},
		{name: "typ DPoP+JWT", edit: func(h, _ map[string]any) { h["typ"] = "DPoP+JWT" }},
		{name: "kid ignored", edit: func(h, _ map[string]any) { h["kid"] = "k1" }},
		{name: "webcrypto jwk members", edit: func(h, _ map[string]any) {
			j := h["jwk"].(map[string]any)
			j["ext"], j["key_ops"], j["alg"] = true, []string{"verify"}, "ES256"
		}},
		{name: "extra claim", edit: func(_, c map[string]any) { c["extra"] = map[string]any{"a": []int{1}} }},
		{name: "unrequested nonce ignored", edit: func(_, c map[string]any) { c["nonce"] = "whatever" }},
		{name: "request URL with a query and fragment", req: func(r *dpop.Request) { r.URL = testURL + "?q=1#frag" }},
		{name: "htu upper-case scheme and host, default port", edit: func(_, c map[string]any) { c["htu"] = "HTTPS://API.Example.COM:443/resource" }},
		{name: "request URL upper-case, default port", req: func(r *dpop.Request) { r.URL = "HTTPS://Api.Example.Com:443/resource" }},
		{name: "htu percent-encoded unreserved", edit: func(_, c map[string]any) { c["htu"] = "https://api.example.com/%72esource" }},
		{name: "htu dot segments", edit: func(_, c map[string]any) { c["htu"] = "https://api.example.com/a/../resource" }},
		{name: "htu empty port", edit: func(_, c map[string]any) { c["htu"] = "https://api.example.com:/resource" }},
		{name: "empty path is /", edit: func(_, c map[string]any) { c["htu"] = "https://api.example.com" }, req: func(r *dpop.Request) { r.URL = "https://api.example.com/" }},
		{name: "http default port", edit: func(_, c map[string]any) { c["htu"] = "http://api.example.com:80/resource" }, req: func(r *dpop.Request) { r.URL = "http://api.example.com/resource" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			v := newVerifier(t, tt.cfg, c)
			s := newSigner(t, "ES256")
			hdr, cl := s.header(), validClaims(c.Now())
			if tt.edit != nil {
				tt.edit(hdr, cl)
			}
			req := request()
			if tt.req != nil {
				tt.req(&req)
			}
			p, err := v.Verify(context.Background(), s.sign(t, hdr, cl), req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if p.ID != cl["jti"] {
				t.Errorf("got ID %q, want %q", p.ID, cl["jti"])
			}
		})
	}
}

func TestVerifyReplay(t *testing.T) {
	c := newClock()
	v := newVerifier(t, dpop.Config{}, c)
	s := newSigner(t, "EdDSA")
	proof := s.sign(t, s.header(), validClaims(c.Now()))
	if _, err := v.Verify(context.Background(), proof, request()); err != nil {
		t.Fatalf("first Verify: %v", err)
	}
	_, err := v.Verify(context.Background(), proof, request())
	wantRefusal(t, err, claims.CodeInvalidDPoPProof, dpop.ReasonReplay)

	// The same jti from another key is another proof.
	other := newECSigner(t)
	var cl map[string]any
	parts := strings.Split(proof, ".")
	if err := json.Unmarshal(mustDecode(t, parts[1]), &cl); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), other.sign(t, other.header(), cl), request()); err != nil {
		t.Errorf("same jti, other key: %v", err)
	}

	// Still refused at the end of the window; once the proof can no longer
	// be accepted, it is refused for its iat, not its jti.
	c.advance(dpop.DefaultMaxAge + dpop.DefaultLeeway)
	_, err = v.Verify(context.Background(), proof, request())
	wantRefusal(t, err, claims.CodeInvalidDPoPProof, dpop.ReasonReplay)
	c.advance(time.Second)
	_, err = v.Verify(context.Background(), proof, request())
	wantRefusal(t, err, claims.CodeInvalidDPoPProof, dpop.ReasonIssuedAt)
}

// TestVerifyRefusalConsumesNoJTI: a proof refused for another reason does
// not reach the replay store.
func TestVerifyRefusalConsumesNoJTI(t *testing.T) {
	c := newClock()
	st := &recordingStore{}
	v := newVerifier(t, dpop.Config{Replay: st}, c)
	s := newSigner(t, "ES256")
	cl := validClaims(c.Now())
	cl["htm"] = "POST"
	_, err := v.Verify(context.Background(), s.sign(t, s.header(), cl), request())
	wantRefusal(t, err, claims.CodeInvalidDPoPProof, dpop.ReasonMethod)
	if len(st.keys) != 0 {
		t.Fatalf("store got %d keys, want 0", len(st.keys))
	}
	cl = validClaims(c.Now())
	p, err := v.Verify(context.Background(), s.sign(t, s.header(), cl), request())
	if err != nil {
		t.Fatal(err)
	}
	wantKey := p.JKT + ":" + p.ID
	wantExp := c.Now().Add(dpop.DefaultMaxAge + dpop.DefaultLeeway)
	if len(st.keys) != 1 || st.keys[0] != wantKey || !st.exps[0].Equal(wantExp) {
		t.Fatalf("store got %q %v, want [%q] [%v]", st.keys, st.exps, wantKey, wantExp)
	}
}

type recordingStore struct {
	keys []string
	exps []time.Time
}

func (r *recordingStore) Use(_ context.Context, key string, exp time.Time) (bool, error) {
	r.keys = append(r.keys, key)
	r.exps = append(r.exps, exp)
	return true, nil
}

type failingStore struct{ err error }

func (f failingStore) Use(context.Context, string, time.Time) (bool, error) { return false, f.err }

func TestVerifyStoreOutage(t *testing.T) {
	c := newClock()
	s := newSigner(t, "ES256")
	for _, tt := range []struct {
		name    string
		err     error
		wantCtx bool
	}{
		{name: "plain error", err: errors.New("connection refused")},
		{name: "already unavailable", err: claims.ErrUnavailable},
		{name: "deadline of the store", err: context.DeadlineExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, dpop.Config{Replay: failingStore{tt.err}}, c)
			_, err := v.Verify(context.Background(), s.sign(t, s.header(), validClaims(c.Now())), request())
			if !errors.Is(err, claims.ErrUnavailable) {
				t.Fatalf("got %v, want claims.ErrUnavailable", err)
			}
			var e *dpop.Error
			if errors.As(err, &e) {
				t.Fatalf("got a *dpop.Error %v, want an outage", e)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("got %v, want the cause %v kept", err, tt.err)
			}
		})
	}
	t.Run("caller gone", func(t *testing.T) {
		v := newVerifier(t, dpop.Config{Replay: failingStore{context.Canceled}}, c)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := v.Verify(ctx, s.sign(t, s.header(), validClaims(c.Now())), request())
		if !errors.Is(err, context.Canceled) || errors.Is(err, claims.ErrUnavailable) {
			t.Fatalf("got %v, want context.Canceled and not ErrUnavailable", err)
		}
	})
}

func TestVerifyFullMemoryStore(t *testing.T) {
	c := newClock()
	st := dpop.NewMemoryStore(1) // one entry a shard
	v := newVerifier(t, dpop.Config{Replay: st}, c)
	s := newSigner(t, "EdDSA")
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		_, full = v.Verify(context.Background(), s.sign(t, s.header(), validClaims(c.Now())), request())
	}
	if !errors.Is(full, claims.ErrUnavailable) || !strings.Contains(full.Error(), "replay store full") {
		t.Fatalf("got %v, want a full store wrapping claims.ErrUnavailable", full)
	}
	// Once the entries expire there is room again.
	c.advance(dpop.DefaultMaxAge + dpop.DefaultLeeway + time.Second)
	if _, err := v.Verify(context.Background(), s.sign(t, s.header(), validClaims(c.Now())), request()); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestVerifyBadRequest(t *testing.T) {
	c := newClock()
	v := newVerifier(t, dpop.Config{}, c)
	s := newSigner(t, "ES256")
	proof := s.sign(t, s.header(), validClaims(c.Now()))
	for _, req := range []dpop.Request{
		{URL: testURL, AccessToken: testToken},
		{Method: "GET", URL: testURL},
		{Method: "GET", URL: "/resource", AccessToken: testToken},
		{Method: "GET", URL: "ftp://api.example.com/resource", AccessToken: testToken},
	} {
		_, err := v.Verify(context.Background(), proof, req)
		var e *dpop.Error
		if !errors.Is(err, dpop.ErrRequest) || errors.As(err, &e) {
			t.Errorf("%+v: got %v, want ErrRequest and no *dpop.Error", req, err)
		}
	}
	// The proof was never consumed.
	if _, err := v.Verify(context.Background(), proof, request()); err != nil {
		t.Errorf("valid request after bad ones: %v", err)
	}
}

func mustDecode(t testing.TB, s string) []byte {
	b, err := b64Dec(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
