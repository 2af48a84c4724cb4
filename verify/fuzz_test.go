package verify

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stepupauth/stepup/claims"
)

// FuzzVerify feeds arbitrary tokens to Verify: it must never panic, and
// every failure must be an invalid_token *claims.Error carrying a
// *TokenError with a known reason.
func FuzzVerify(f *testing.F) {
	es := mint("ES256", nil)
	f.Add(es)
	f.Add(mint("EdDSA", nil))
	f.Add(enc(`{"alg":"none"}`) + "." + enc(`{}`) + ".")
	f.Add(enc(`{"alg":"ES256","kid":"p256","typ":"at+jwt","jwk":{"kty":"EC"}}`) + ".e30.AAAA")
	f.Add(enc(`{"alg":"ES256","kid":["p256"],"typ":"at+jwt","a":{"b":[1,"\"",{}]}}`) + ".e30.AAAA")
	f.Add(enc(`{"\u0061lg":"ES256","alg":"ES256"}`) + ".e30.AAAA")
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Add("a.b.c.d.e")
	src := newTestSource()
	v := newTestVerifier(f, src, nil)
	known := Reasons()
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := v.Verify(context.Background(), raw)
		if err == nil {
			if c == nil {
				t.Fatal("nil claims without an error")
			}
			return
		}
		var ce *claims.Error
		var te *TokenError
		if !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken || !errors.As(err, &te) {
			t.Fatalf("got %v, want an invalid_token rejection", err)
		}
		ok := false
		for _, r := range known {
			ok = ok || r == te.Reason
		}
		if !ok {
			t.Fatalf("unknown reason %q", te.Reason)
		}
	})
}

// FuzzParseHeader checks the header reader against encoding/json on any
// input: it must not panic, and whenever it accepts a header that
// encoding/json also reads, both must agree on alg and kid.
func FuzzParseHeader(f *testing.F) {
	for _, h := range []string{
		`{"alg":"ES256","kid":"p256","typ":"at+jwt"}`,
		`{"alg":"ES256","kid":"p\u0032\"56","typ":"at+jwt","x":[{"y":"}"}]}`,
		` { "alg" : "EdDSA" , "typ" : "AT+JWT" } `,
		`{"alg":"ES256","alg":"ES256"}`,
		`{"alg":"ES256","kid":1}`,
	} {
		f.Add([]byte(h))
	}
	pol := &policy{algs: joseAlgs}
	f.Fuzz(func(t *testing.T, b []byte) {
		var (
			tok    jwsToken
			tokKID string
		)
		if rej := parseHeader(b, pol, &tok, &tokKID); rej != nil {
			return
		}
		// A map, not a struct: encoding/json matches struct fields
		// case-insensitively, JOSE names are case-sensitive.
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(b, &ref); err != nil {
			t.Fatalf("accepted %q, encoding/json refuses it: %v", b, err)
		}
		var alg, kid string
		if err := json.Unmarshal(ref["alg"], &alg); err != nil {
			t.Fatalf("accepted %q with a non-string alg: %v", b, err)
		}
		if k, ok := ref["kid"]; ok {
			if err := json.Unmarshal(k, &kid); err != nil {
				t.Fatalf("accepted %q with a non-string kid: %v", b, err)
			}
		}
		if alg != tok.alg.name || kid != tokKID {
			t.Fatalf("%q: got alg %q kid %q, encoding/json reads %q %q", b, tok.alg.name, tokKID, alg, kid)
		}
	})
}

// FuzzReadIssuer checks the unverified read that chooses the key against
// the strict parse that runs after the signature: on every payload that
// claims.Parse accepts, readIssuer must accept it too and read the same
// iss and template claim; on any payload it must not panic.
func FuzzReadIssuer(f *testing.F) {
	for _, s := range []string{
		`{"iss":"https://issuer.example.com/","tid":"t"}`,
		`{"i\u0073s":"a","t\u0069d":1,"x":[{"iss":"b"}]}`,
		`{"x":"{\"iss\":\"b\"}","iss":"a"}`,
		`{"iss":"a","iss":"b"}`,
		`{"tid":"a","tid":"b","iss":"c"}`,
		`{"x":[[[["]"]]]],"iss":"\ud83d\ude00"}`,
		"{\"iss\":\"\xff\"}",
		`{"iss":1}`,
	} {
		f.Add([]byte(s))
	}
	v := newTestVerifier(f, anyIssuerSource{newTestSource()}, func(c *Config) {
		c.IssuerTemplates = []string{"https://login.example.com/{tid}/v2.0"}
		c.InsecureSharedKeys = true
	})
	f.Fuzz(func(t *testing.T, payload []byte) {
		ic, rej := v.readIssuer(payload)
		c, err := claims.Parse(payload, claims.Names{})
		if err != nil {
			return
		}
		iss, hasIss := c.Claim("iss")
		switch {
		case hasIss && rej != nil:
			t.Fatalf("%q: strict parse reads iss %q, readIssuer refuses: %v", payload, c.Issuer, rej.err)
		case rej != nil:
			return // no iss: refused either way
		case ic.hasIss != hasIss || ic.iss != c.Issuer:
			t.Fatalf("%q: readIssuer reads iss %q (%v), strict parse %q (%v)", payload, ic.iss, ic.hasIss, c.Issuer, iss)
		}
		tid, ok := stringClaim(c, "tid")
		if ic.isStr[0] != ok || ic.vals[0] != tid {
			t.Fatalf("%q: readIssuer reads tid %q (%v), strict parse %q (%v)", payload, ic.vals[0], ic.isStr[0], tid, ok)
		}
		if v.acceptIssuer(&ic) != v.acceptVerified(c, &ic) {
			t.Fatalf("%q: the unverified and the verified issuer checks disagree", payload)
		}
	})
}
