package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

// defaultNonceLifetime is the window of a Nonces whose lifetime is zero.
const defaultNonceLifetime = 5 * time.Minute

// minNonceSecret is the shortest secret NewNonces accepts: 256 bits, the
// output size of HMAC-SHA-256 (RFC 2104 §3 calls shorter keys
// "strongly discouraged").
const minNonceSecret = 32

// nonceMACLen is how much of the HMAC a nonce carries: 128 bits, beyond
// guessing (RFC 9449 §8: nonce values must be unpredictable).
const nonceMACLen = 16

// nonceLen is the length of an issued nonce: base64url of an 8-byte window
// number and the MAC.
var nonceLen = base64.RawURLEncoding.EncodedLen(8 + nonceMACLen)

// Nonces issues and checks server-provided nonces (RFC 9449 §8, §9)
// without state. A nonce is a window number (the time divided by the
// lifetime) and an HMAC-SHA-256 over it, so every instance of a fleet that
// shares the secret issues the same nonce in a window and accepts the
// nonces any other issued. A nonce is accepted in the window it was issued
// in and the next one: for between one and two lifetimes.
//
// A Nonces runs on the clock of the Verifier it is configured in
// (Config.Now); until then, time.Now. Configure one Nonces only in
// Verifiers that share a clock.
//
// A Nonces is safe for concurrent use.
type Nonces struct {
	secret   []byte
	lifetime time.Duration
	now      atomic.Pointer[func() time.Time]
}

// NewNonces returns the Nonces of secret, which must be at least 32 bytes
// of random data shared by every instance that checks the nonces, and
// lifetime, the length of a window (zero: defaultNonceLifetime). The error
// wraps ErrConfig.
func NewNonces(secret []byte, lifetime time.Duration) (*Nonces, error) {
	switch {
	case len(secret) < minNonceSecret:
		return nil, fmt.Errorf("%w: nonce secret of %d bytes; use at least %d random bytes", ErrConfig, len(secret), minNonceSecret)
	case lifetime < 0:
		return nil, fmt.Errorf("%w: negative nonce lifetime; zero means the default %v", ErrConfig, defaultNonceLifetime)
	case lifetime == 0:
		lifetime = defaultNonceLifetime
	case lifetime < time.Second:
		return nil, fmt.Errorf("%w: nonce lifetime %v is under a second", ErrConfig, lifetime)
	}
	return &Nonces{secret: append([]byte(nil), secret...), lifetime: lifetime}, nil
}

// Issue returns the current nonce, for the DPoP-Nonce response header. All
// callers within a window get the same nonce.
func (n *Nonces) Issue() string { return n.issue(n.clock()) }

// setClock makes now the clock of n (see Nonces).
func (n *Nonces) setClock(now func() time.Time) { n.now.Store(&now) }

func (n *Nonces) clock() time.Time {
	if p := n.now.Load(); p != nil {
		return (*p)()
	}
	return time.Now()
}

func (n *Nonces) window(t time.Time) uint64 {
	return uint64(t.UnixNano() / int64(n.lifetime))
}

func (n *Nonces) issue(t time.Time) string {
	var buf [8 + sha256.Size]byte
	binary.BigEndian.PutUint64(buf[:8], n.window(t))
	n.mac(buf[8:8], buf[:8])
	return base64.RawURLEncoding.EncodeToString(buf[:8+nonceMACLen])
}

// mac appends the HMAC of the window number w8 to dst.
func (n *Nonces) mac(dst, w8 []byte) []byte {
	h := hmac.New(sha256.New, n.secret)
	h.Write([]byte("stepup dpop nonce v1\x00"))
	h.Write(w8)
	return h.Sum(dst)
}

// valid reports whether nonce is one n issued in the window of t or the one
// before.
func (n *Nonces) valid(nonce string, t time.Time) bool {
	if len(nonce) != nonceLen {
		return false
	}
	var raw [8 + nonceMACLen]byte
	if k, err := b64.Decode(raw[:], []byte(nonce)); err != nil || k != len(raw) {
		return false
	}
	w, cur := binary.BigEndian.Uint64(raw[:8]), n.window(t)
	if w != cur && w+1 != cur {
		return false
	}
	var sum [sha256.Size]byte
	return hmac.Equal(n.mac(sum[:0], raw[:8])[:nonceMACLen], raw[8:])
}
