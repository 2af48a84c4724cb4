// Package clientnonce is the client side of DPoP nonces (RFC 9449 §8, §9):
// the nonce a server last gave, and whether a use_dpop_nonce refusal is
// worth one more try. stepupclient's Transport and grpcmw's step-up client
// interceptors decide with it, so HTTP and gRPC clients follow nonces
// alike.
package clientnonce

import (
	"errors"
	"sync"

	"github.com/stepupauth/stepup/internal/grammar"
)

// maxLen bounds a nonce a client keeps and sends back.
const maxLen = 1024

// ErrInvalid reports a use_dpop_nonce refusal without a usable nonce.
var ErrInvalid = errors.New("use_dpop_nonce without a valid DPoP-Nonce")

// Valid reports whether n is a DPoP nonce: 1*NQCHAR, %x21 / %x23-5B /
// %x5D-7E (RFC 9449 §8.1), of at most 1024 bytes.
func Valid(n string) bool { return len(n) <= maxLen && grammar.ScopeToken(n) }

// Store is the latest nonce of one server. The zero Store is empty. Safe
// for concurrent use.
type Store struct {
	mu    sync.Mutex
	nonce string
}

// Get returns the nonce to put in the next proof, "" for none.
func (s *Store) Get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nonce
}

// Offer keeps n, a nonce the server sent with any answer (RFC 9449 §8.2),
// when it is valid; "" and invalid values are ignored.
func (s *Store) Offer(n string) {
	if n == "" || !Valid(n) {
		return
	}
	s.mu.Lock()
	s.nonce = n
	s.mu.Unlock()
}

// Follow decides after a use_dpop_nonce refusal of a proof that carried
// sent, the refusal giving n: retry with n (kept) when it is valid, differs
// from sent, and this token has not had its nonce retry (tried). An invalid
// or missing n is ErrInvalid; the others are no retry.
func (s *Store) Follow(n, sent string, tried bool) (bool, error) {
	if !Valid(n) {
		return false, ErrInvalid
	}
	if tried || n == sent {
		return false, nil
	}
	s.Offer(n)
	return true, nil
}
