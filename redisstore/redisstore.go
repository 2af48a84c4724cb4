package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stepupauth/stepup/claims"
)

// Store is a replay store in Redis; see the package documentation. It
// satisfies dpop.ReplayStore. A *Store is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	prefix string
}

// New returns a Store that keeps its keys in client under prefix, which
// tells them apart from other data in the same Redis (such as "dpop:";
// it may be empty). The Store does not own client: closing it is the
// caller's business.
func New(client redis.UniversalClient, prefix string) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	return &Store{client: client, prefix: prefix}, nil
}

// Use records key as used until exp and reports whether it was fresh: not
// recorded before and exp in the future. An exp that is not in the future
// is never fresh, and key is not recorded. An error, which matches
// claims.ErrUnavailable, means Redis could not answer; the key never
// appears in its text.
func (s *Store) Use(ctx context.Context, key string, exp time.Time) (bool, error) {
	ttl := time.Until(exp)
	if ttl <= 0 {
		return false, nil
	}
	// Whole milliseconds, rounded up: the key outlives exp, never the
	// reverse.
	ms := int64((ttl + time.Millisecond - 1) / time.Millisecond)
	err := s.client.Do(ctx, "SET", s.redisKey(key), "1", "NX", "PX", ms).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil): // NX: the key exists
		return false, nil
	default:
		return false, &unavailableError{err: err}
	}
}

func (s *Store) redisKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return s.prefix + hex.EncodeToString(sum[:])
}

// unavailableError is a Redis failure: it matches claims.ErrUnavailable
// and the cause, and says what failed in its own words.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string {
	return "redisstore: replay store unavailable: " + e.err.Error()
}

func (e *unavailableError) Unwrap() []error { return []error{claims.ErrUnavailable, e.err} }
