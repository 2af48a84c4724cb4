package dpop_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
)

var secretA = bytes.Repeat([]byte{0xa5}, 32)

func newNonces(t testing.TB, secret []byte) *dpop.Nonces {
	t.Helper()
	n, err := dpop.NewNonces(secret, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewNoncesConfig(t *testing.T) {
	for _, tt := range []struct {
		name     string
		secret   []byte
		lifetime time.Duration
	}{
		{"short secret", make([]byte, 31), time.Minute},
		{"no secret", nil, time.Minute},
		{"negative lifetime", secretA, -time.Second},
		{"sub-second lifetime", secretA, time.Millisecond},
	} {
		if _, err := dpop.NewNonces(tt.secret, tt.lifetime); !errors.Is(err, dpop.ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", tt.name, err)
		}
	}
	n, err := dpop.NewNonces(secretA, 0)
	if err != nil || n.Issue() == "" {
		t.Fatalf("zero lifetime: got %v, want the default", err)
	}
}

// verifyNonce verifies a fresh proof carrying nonce ("" for none).
func verifyNonce(t *testing.T, v *dpop.Verifier, c *clock, nonce string) error {
	t.Helper()
	s := newSigner(t, "ES256")
	cl := validClaims(c.Now())
	if nonce != "" {
		cl["nonce"] = nonce
	}
	_, err := v.Verify(context.Background(), s.sign(t, s.header(), cl), request())
	return err
}

func TestNonces(t *testing.T) {
	c := newClock()
	n := newNonces(t, secretA)
	v := newVerifier(t, dpop.Config{Nonces: n}, c)

	t.Run("missing", func(t *testing.T) {
		e := wantRefusal(t, verifyNonce(t, v, c, ""), claims.CodeUseDPoPNonce, dpop.ReasonNonce)
		if e.Nonce != n.Issue() {
			t.Errorf("got Nonce %q, want the current %q", e.Nonce, n.Issue())
		}
		if err := verifyNonce(t, v, c, e.Nonce); err != nil {
			t.Errorf("retry with the nonce given: %v", err)
		}
	})
	t.Run("valid", func(t *testing.T) {
		if err := verifyNonce(t, v, c, n.Issue()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("previous window", func(t *testing.T) {
		old := n.Issue()
		c.advance(time.Minute)
		if old == n.Issue() {
			t.Fatal("the nonce did not change with the window")
		}
		if err := verifyNonce(t, v, c, old); err != nil {
			t.Errorf("nonce of the previous window: %v", err)
		}
		c.advance(time.Minute)
		e := wantRefusal(t, verifyNonce(t, v, c, old), claims.CodeUseDPoPNonce, dpop.ReasonNonce)
		if e.Nonce != n.Issue() || e.Nonce == old {
			t.Errorf("got Nonce %q, want the fresh %q", e.Nonce, n.Issue())
		}
	})
	t.Run("future window", func(t *testing.T) {
		c.advance(time.Minute)
		future := n.Issue()
		c.advance(-time.Minute)
		wantRefusal(t, verifyNonce(t, v, c, future), claims.CodeUseDPoPNonce, dpop.ReasonNonce)
	})
	t.Run("garbage", func(t *testing.T) {
		for _, bad := range []string{"x", n.Issue() + "A", n.Issue()[:len(n.Issue())-1] + "A", "eyJ7S_zG.eyJH0-Z.HX4w-7v"} {
			if bad == n.Issue() {
				continue
			}
			wantRefusal(t, verifyNonce(t, v, c, bad), claims.CodeUseDPoPNonce, dpop.ReasonNonce)
		}
	})
	t.Run("another instance, same secret", func(t *testing.T) {
		other := newNonces(t, secretA) // a second instance of the fleet
		newVerifier(t, dpop.Config{Nonces: other}, c)
		if err := verifyNonce(t, v, c, other.Issue()); err != nil {
			t.Errorf("nonce of another instance: %v", err)
		}
	})
	t.Run("another secret", func(t *testing.T) {
		other := newNonces(t, bytes.Repeat([]byte{0x5a}, 32))
		newVerifier(t, dpop.Config{Nonces: other}, c) // same clock
		wantRefusal(t, verifyNonce(t, v, c, other.Issue()), claims.CodeUseDPoPNonce, dpop.ReasonNonce)
	})
	t.Run("secret copied", func(t *testing.T) {
		secret := bytes.Clone(secretA)
		m := newNonces(t, secret)
		before := m.Issue()
		secret[0] ^= 1
		if m.Issue() != before {
			t.Error("changing the caller's secret changed the nonces")
		}
	})
	t.Run("no nonce consumed by a use_dpop_nonce refusal", func(t *testing.T) {
		s := newSigner(t, "ES256")
		cl := validClaims(c.Now())
		_, err := v.Verify(context.Background(), s.sign(t, s.header(), cl), request())
		wantRefusal(t, err, claims.CodeUseDPoPNonce, dpop.ReasonNonce)
		cl["nonce"] = n.Issue() // same jti, now with a nonce
		if _, err := v.Verify(context.Background(), s.sign(t, s.header(), cl), request()); err != nil {
			t.Errorf("retry with the same jti: %v", err)
		}
	})
}

// TestNoncesVerifierClock: Issue runs on the clock of the Verifier the
// Nonces is configured in.
func TestNoncesVerifierClock(t *testing.T) {
	c := newClock()
	c.set(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC))
	n := newNonces(t, secretA)
	wall := n.Issue()
	newVerifier(t, dpop.Config{Nonces: n}, c)
	if n.Issue() == wall {
		t.Fatal("Issue kept the wall clock after New")
	}
	v := newVerifier(t, dpop.Config{Nonces: n}, c)
	if err := verifyNonce(t, v, c, n.Issue()); err != nil {
		t.Fatal(err)
	}
}
