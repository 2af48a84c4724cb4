//lint:file-ignore SA1019 the tests build ecdsa keys from raw coordinates on purpose: a custom Source can, and the verifier must refuse the broken ones.

package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
)

// TestVerifyInvalidKeyMaterial: a custom Source can return any *jwks.Key;
// broken material is refused, never a panic in crypto. Material the
// verifier can see is broken is a key mismatch; an EC point off the curve
// is refused by crypto/ecdsa itself while verifying, a bad signature.
func TestVerifyInvalidKeyMaterial(t *testing.T) {
	m := testKeys()
	// The coordinates are deprecated for use, but a custom Source can
	// still build such keys: that is what is tested here.
	b, err := m.p256.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	px, py := new(big.Int).SetBytes(b[1:33]), new(big.Int).SetBytes(b[33:])
	offCurve := &ecdsa.PublicKey{Curve: elliptic.P256(), X: px, Y: new(big.Int).Add(py, big.NewInt(1))}
	tests := []struct {
		name   string
		alg    string
		key    *jwks.Key
		reason Reason // ReasonKeyMismatch when empty
	}{
		{"ecdsa nil X and Y", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: &ecdsa.PublicKey{Curve: elliptic.P256()}}, ""},
		{"ecdsa nil Y", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: &ecdsa.PublicKey{Curve: elliptic.P256(), X: px}}, ""},
		{"ecdsa point off the curve", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: offCurve}, ReasonSignature},
		{"ecdsa point at zero", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int), Y: new(big.Int)}}, ReasonSignature},
		{"nil *ecdsa.PublicKey", "ES256", &jwks.Key{ID: "p256", KeyType: "EC", Public: (*ecdsa.PublicKey)(nil)}, ""},
		{"nil Public", "ES256", &jwks.Key{ID: "p256", KeyType: "EC"}, ""},
		{"rsa nil N", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{E: 65537}}, ""},
		{"rsa E 1", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{N: m.rsa.N, E: 1}}, ""},
		{"rsa E even", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{N: m.rsa.N, E: 65536}}, ""},
		{"rsa E 0", "PS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{N: m.rsa.N}}, ""},
		{"rsa negative N", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: &rsa.PublicKey{N: new(big.Int).Neg(m.rsa.N), E: 65537}}, ""},
		{"nil *rsa.PublicKey", "RS256", &jwks.Key{ID: "rsa", KeyType: "RSA", Public: (*rsa.PublicKey)(nil)}, ""},
		{"ed25519 short", "EdDSA", &jwks.Key{ID: "ed", KeyType: "OKP", Public: ed25519.PublicKey(make([]byte, 31))}, ""},
		{"ed25519 long", "Ed25519", &jwks.Key{ID: "ed", KeyType: "OKP", Public: ed25519.PublicKey(make([]byte, 64))}, ""},
		{"ed25519 nil", "EdDSA", &jwks.Key{ID: "ed", KeyType: "OKP", Public: ed25519.PublicKey(nil)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newTestSource()
			src.keys[testIssuer][kidFor[tt.alg]] = tt.key
			v := newTestVerifier(t, src, nil)
			_, err := v.Verify(context.Background(), mint(tt.alg, nil))
			want := tt.reason
			if want == "" {
				want = ReasonKeyMismatch
			}
			if got := rejectionOf(t, err); got != want {
				t.Errorf("got reason %q (%v), want %q", got, err, want)
			}
		})
	}
}

// TestEd25519AlgNames: RFC 9864 names EdDSA on Ed25519 "Ed25519" and
// deprecates "EdDSA". Tokens saying either verify with an OKP Ed25519 key
// whose JWK alg says either or nothing, by default; the allowlist still
// decides which names are accepted.
func TestEd25519AlgNames(t *testing.T) {
	m := testKeys()
	pub := m.ed.Public().(ed25519.PublicKey)
	x := base64.RawURLEncoding.EncodeToString(pub)
	for _, jwkAlg := range []string{"EdDSA", "Ed25519", ""} {
		member := ""
		if jwkAlg != "" {
			member = `,"alg":"` + jwkAlg + `"`
		}
		// Through jwks.NewStatic, as an issuer's JWKS would say it.
		set, err := jwks.NewStatic([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"` + x + `"` + member + `}]}`))
		if err != nil {
			t.Fatalf("NewStatic (alg %q): %v", jwkAlg, err)
		}
		for _, tokAlg := range []string{"EdDSA", "Ed25519"} {
			v := newTestVerifier(t, set, nil)
			raw := sign(tokAlg, m.ed, `{"alg":"`+tokAlg+`","typ":"at+jwt","kid":"ed"}`, mustJSON(claimSet(nil)))
			if _, err := v.Verify(context.Background(), raw); err != nil {
				t.Errorf("token alg %s, JWK alg %q: %v", tokAlg, jwkAlg, err)
			}
		}
	}
	ed := sign("Ed25519", m.ed, `{"alg":"Ed25519","typ":"at+jwt","kid":"ed"}`, mustJSON(claimSet(nil)))
	only := newTestVerifier(t, newTestSource(), func(c *Config) { c.Algorithms = []string{"EdDSA"} })
	if got := rejectionOf(t, verifyErr(only, ed)); got != ReasonAlgorithm {
		t.Errorf("Ed25519 token, allowlist EdDSA only: got %q, want %q", got, ReasonAlgorithm)
	}
	// Ed25519 on keys of other types or JWK algs: no.
	src := newTestSource()
	src.keys[testIssuer]["ed"] = &jwks.Key{ID: "ed", Algorithm: "ES256", KeyType: "OKP", Public: pub}
	if got := rejectionOf(t, verifyErr(newTestVerifier(t, src, nil), ed)); got != ReasonKeyMismatch {
		t.Errorf("Ed25519 token, JWK alg ES256: got %q, want %q", got, ReasonKeyMismatch)
	}
	onEC := sign("Ed25519", m.ed, `{"alg":"Ed25519","typ":"at+jwt","kid":"p256"}`, mustJSON(claimSet(nil)))
	if got := rejectionOf(t, verifyErr(newTestVerifier(t, newTestSource(), nil), onEC)); got != ReasonKeyMismatch {
		t.Errorf("Ed25519 token on a P-256 key: got %q, want %q", got, ReasonKeyMismatch)
	}
}

// TestTokenErrorNilErr: TokenError is exported; one without Err must not
// panic.
func TestTokenErrorNilErr(t *testing.T) {
	e := &TokenError{Reason: ReasonSignature}
	if got, want := e.Error(), "verify: invalid token (signature)"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if e.Unwrap() != nil {
		t.Errorf("Unwrap: got %v, want nil", e.Unwrap())
	}
}

// blockingSource blocks every lookup until its ctx ends, then returns
// what a jwks source would: ctx.Err() or, when wrap is set, an outage
// wrapping it.
type blockingSource struct {
	entered chan struct{}
	wrap    bool
}

func (s *blockingSource) Key(ctx context.Context, _, _ string) (*jwks.Key, error) {
	s.entered <- struct{}{}
	<-ctx.Done()
	if s.wrap {
		return nil, &jwks.UnavailableError{URL: "https://idp/jwks", Err: ctx.Err()}
	}
	return nil, ctx.Err()
}

// TestVerifyRequestCanceled: when the request's own context ends during
// a slow key lookup, Verify reports the cancellation (not an outage, not
// an invalid token) and the observer sees ReasonCanceled.
func TestVerifyRequestCanceled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		wrap   bool
		cancel func(context.Context) (context.Context, context.CancelFunc)
		want   error
	}{
		{"client gone", false, context.WithCancel, context.Canceled},
		{"client gone, source says unavailable", true, context.WithCancel, context.Canceled},
		{"request deadline", false, func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithDeadline(ctx, time.Now().Add(-time.Second))
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &blockingSource{entered: make(chan struct{}, 1), wrap: tc.wrap}
			var reason Reason
			v := newTestVerifier(t, src, func(c *Config) {
				c.Observer.Verified = func(r Reason, _ time.Duration) { reason = r }
			})
			ctx, cancel := tc.cancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := v.Verify(ctx, mint("ES256", nil))
				done <- err
			}()
			<-src.entered
			cancel()
			err := <-done
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want it to wrap %v", err, tc.want)
			}
			var ce *claims.Error
			if errors.Is(err, claims.ErrUnavailable) || errors.As(err, &ce) {
				t.Errorf("got %v, want neither claims.ErrUnavailable nor a *claims.Error", err)
			}
			if !strings.HasPrefix(err.Error(), "verify: ") {
				t.Errorf("got %q, want the package prefix", err)
			}
			if reason != ReasonCanceled {
				t.Errorf("observer: got %q, want %q", reason, ReasonCanceled)
			}
		})
	}
	// A source's own deadline (a fetch timeout) with the request still
	// alive stays an outage.
	src := newTestSource()
	src.err = context.DeadlineExceeded
	_, err := newTestVerifier(t, src, nil).Verify(context.Background(), mint("ES256", nil))
	if !errors.Is(err, claims.ErrUnavailable) {
		t.Errorf("source deadline, live request: got %v, want claims.ErrUnavailable", err)
	}
}

// TestNewIssuerBinding: New refuses configurations in which one issuer's
// keys could verify another issuer's tokens.
func TestNewIssuerBinding(t *testing.T) {
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms(stepuptest.ES256))
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	ctx := context.Background()
	discovered, err := jwks.Discover(ctx, iss.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	defer discovered.Close()
	remote, err := jwks.NewRemote(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer remote.Close()
	set, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	const a, b = "https://a.example/", "https://b.example/"
	multi, err := jwks.NewMulti(map[string]jwks.Source{a: set, b: set})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  jwks.Source
		cfg  Config
		ok   bool
	}{
		{"discovered for the issuer", discovered, Config{Issuer: iss.Issuer()}, true},
		{"discovered for another issuer", discovered, Config{Issuer: a}, false},
		{"discovered, second issuer not served", discovered, Config{Issuer: iss.Issuer(), Issuers: []string{a}}, false},
		{"multi serving both", multi, Config{Issuer: a, Issuers: []string{b}}, true},
		{"multi not serving one", multi, Config{Issuer: a, Issuers: []string{"https://c.example/"}}, false},
		{"static set, one issuer", set, Config{Issuer: a}, true},
		{"static set shared by two issuers", set, Config{Issuer: a, Issuers: []string{b}}, false},
		{"static set shared, insecure switch", set, Config{Issuer: a, Issuers: []string{b}, InsecureSharedKeys: true}, true},
		{"static set, same issuer twice", set, Config{Issuer: a, Issuers: []string{a}}, true},
		{"one JWKS URL for two issuers", remote, Config{Issuer: a, Issuers: []string{b}}, true},
		{"static set with an issuer template", set, Config{IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, true},
		{"static set, issuer and template", set, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, false},
		{"static set, issuer and template, insecure switch", set, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}, InsecureSharedKeys: true}, true},
		{"static set, two template prefixes", set, Config{IssuerTemplates: []string{"https://login.example/{tid}/v2.0", "https://other.example/{tid}"}}, false},
		{"static set, one prefix, two suffixes", set, Config{IssuerTemplates: []string{"https://login.example/{tid}/v2.0", "https://login.example/{tid}"}}, true},
		{"one JWKS URL, issuer and template", remote, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, true},
		{"multi with a template", multi, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, false},
		{"discovered with a template", discovered, Config{IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}}, false},
		{"multi with a template, insecure switch", multi, Config{Issuer: a, IssuerTemplates: []string{"https://login.example/{tid}/v2.0"}, InsecureSharedKeys: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Audience = testAudience
			_, err := New(tt.src, tt.cfg)
			if tt.ok && err != nil {
				t.Errorf("got %v, want no error", err)
			}
			if !tt.ok && !errors.Is(err, ErrConfig) {
				t.Errorf("got %v, want an error wrapping ErrConfig", err)
			}
		})
	}
}

// TestAttackEncKey: a kid naming a key the issuer published for
// encryption (use "enc") is unknown: jwks leaves the key out of the set.
func TestAttackEncKey(t *testing.T) {
	m := testKeys()
	raw, err := m.p256.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	x := base64.RawURLEncoding.EncodeToString(raw[1:33])
	y := base64.RawURLEncoding.EncodeToString(raw[33:])
	set, err := jwks.NewStatic([]byte(`{"keys":[
		{"kty":"EC","crv":"P-256","kid":"p256","use":"enc","x":"` + x + `","y":"` + y + `"},
		{"kty":"EC","crv":"P-256","kid":"other","use":"sig","x":"` + x + `","y":"` + y + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if rej := set.Rejected(); len(rej) != 1 || rej[0].KID != "p256" {
		t.Fatalf("rejected keys: got %+v, want the enc key", rej)
	}
	v := newTestVerifier(t, set, nil)
	if got := rejectionOf(t, verifyErr(v, mint("ES256", nil))); got != ReasonUnknownKey {
		t.Errorf("token naming the enc key: got %q, want %q", got, ReasonUnknownKey)
	}
}
