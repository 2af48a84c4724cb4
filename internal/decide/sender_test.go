package decide_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/decide"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// TestSenderBinding: a bound token is accepted only the way it is bound
// (DPoP scheme and a proof by its key; its client certificate), a bearer
// token never with the DPoP scheme, a token bound by an unknown method
// never; and every refusal of a DPoP request is in the DPoP scheme.
func TestSenderBinding(t *testing.T) {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		t.Fatal(err)
	}
	mint := func(cnf map[string]any) string {
		t.Helper()
		tk := stepuptest.Token{}
		if cnf != nil {
			tk.Claims = map[string]any{"cnf": cnf}
		}
		tok, err := iss.Mint(tk)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	var (
		bearer  = mint(nil)
		dpopTok = mint(map[string]any{"jkt": "key-1"})
		certTok = mint(map[string]any{"x5t#S256": "cert-1"})
		both    = mint(map[string]any{"jkt": "key-1", "x5t#S256": "cert-1"})
		other   = mint(map[string]any{"jwk": map[string]any{"kty": "EC"}})
		badCnf  = mint(map[string]any{"jkt": 7})
	)
	strCnf, err := iss.Mint(stepuptest.Token{Claims: map[string]any{"cnf": "bound somehow"}})
	if err != nil {
		t.Fatal(err)
	}
	proofBy := func(jkt string) func(context.Context, string) (string, error) {
		return func(context.Context, string) (string, error) { return jkt, nil }
	}
	badProof := func(context.Context, string) (string, error) {
		return "", &claims.Error{Scheme: "DPoP", Code: claims.CodeInvalidDPoPProof, Description: "bad proof"}
	}
	storeDown := func(context.Context, string) (string, error) {
		return "", fmt.Errorf("replay store: %w", claims.ErrUnavailable)
	}
	// The certificate is the request's: Cert must be called with From.
	const req = "the request"
	certIs := func(x5t string) func(any) (string, bool, error) {
		return func(from any) (string, bool, error) {
			if from != req {
				return "", false, fmt.Errorf("Cert called with %v, want the Sender's From", from)
			}
			return x5t, true, nil
		}
	}
	noCert := func(any) (string, bool, error) { return "", false, nil }
	for _, tt := range []struct {
		name        string
		token       string
		sender      decide.Sender
		code        claims.Code // "" allowed
		scheme      string
		unavailable bool
	}{
		{"bearer token as Bearer", bearer, decide.Sender{}, "", "", false},
		{"bearer token as DPoP", bearer, decide.Sender{DPoP: true, Proof: proofBy("key-1")}, claims.CodeInvalidToken, "DPoP", false},
		{"DPoP-bound as DPoP, its key", dpopTok, decide.Sender{DPoP: true, Proof: proofBy("key-1")}, "", "", false},
		{"DPoP-bound as DPoP, another key", dpopTok, decide.Sender{DPoP: true, Proof: proofBy("key-2")}, claims.CodeInvalidToken, "DPoP", false},
		{"DPoP-bound as DPoP, bad proof", dpopTok, decide.Sender{DPoP: true, Proof: badProof}, claims.CodeInvalidDPoPProof, "DPoP", false},
		{"DPoP-bound as DPoP, store down", dpopTok, decide.Sender{DPoP: true, Proof: storeDown}, "", "", true},
		{"DPoP-bound as Bearer (no downgrade)", dpopTok, decide.Sender{Proof: proofBy("key-1")}, claims.CodeInvalidToken, "DPoP", false},
		{"DPoP-bound, DPoP off", dpopTok, decide.Sender{}, claims.CodeInvalidToken, "DPoP", false},
		{"certificate-bound, its certificate", certTok, decide.Sender{Cert: certIs("cert-1"), From: req}, "", "", false},
		{"certificate-bound, another certificate", certTok, decide.Sender{Cert: certIs("cert-2"), From: req}, claims.CodeInvalidToken, "", false},
		{"certificate-bound, no certificate", certTok, decide.Sender{Cert: noCert, From: req}, claims.CodeInvalidToken, "", false},
		{"certificate-bound, no certificate source", certTok, decide.Sender{}, claims.CodeInvalidToken, "", false},
		{"bound both ways, both proven", both, decide.Sender{DPoP: true, Proof: proofBy("key-1"), Cert: certIs("cert-1"), From: req}, "", "", false},
		{"bound both ways, certificate missing", both, decide.Sender{DPoP: true, Proof: proofBy("key-1"), Cert: noCert, From: req}, claims.CodeInvalidToken, "DPoP", false},
		{"another confirmation method", other, decide.Sender{}, claims.CodeInvalidToken, "", false},
		{"unreadable cnf", badCnf, decide.Sender{}, claims.CodeInvalidToken, "", false},
		{"cnf not an object", strCnf, decide.Sender{}, claims.CodeInvalidToken, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := decide.Decide(context.Background(), v, tt.token, nil, tt.sender, claims.Requirement{}, nil)
			if tt.unavailable {
				if !errors.Is(err, claims.ErrUnavailable) || c != nil {
					t.Fatalf("got %v, %v; want an outage", c, err)
				}
				return
			}
			if tt.code == "" {
				if err != nil || c == nil {
					t.Fatalf("got %v, %v; want allowed", c, err)
				}
				return
			}
			var ce *claims.Error
			if !errors.As(err, &ce) || ce.Code != tt.code || ce.Scheme != tt.scheme || c != nil {
				t.Fatalf("got %v (claims %v); want %s in scheme %q", err, c, tt.code, tt.scheme)
			}
		})
	}
	// A step-up refusal of a DPoP request asks in the DPoP scheme.
	_, err = decide.Decide(context.Background(), v, dpopTok, nil, decide.Sender{DPoP: true, Proof: proofBy("key-1")},
		claims.Requirement{ACR: []string{claims.ACRMultiFactor}}, nil)
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientUserAuthentication || ce.Scheme != "DPoP" {
		t.Errorf("step-up over DPoP: got %v, want insufficient_user_authentication in the DPoP scheme", err)
	}
}
