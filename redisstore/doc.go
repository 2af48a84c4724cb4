// Package redisstore is a replay store in Redis for DPoP proofs: a *Store
// records the keys (proof identifiers) it is given and reports whether
// each is fresh, with the method set of dpop.ReplayStore, so that several
// servers behind one Redis refuse a proof replayed to any of them.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	store, err := redisstore.New(rdb, "dpop:")
//	if err != nil { ... }
//	fresh, err := store.Use(ctx, jti, exp) // false: seen before, or too old
//
// It is a Go module of its own, github.com/stepupauth/stepup/redisstore,
// so that users of the library who keep replays in memory never download a
// Redis client.
//
// # How keys are kept
//
// Use sends one command, SET <prefix><hash> 1 NX PX <ms>, where hash is
// the hex SHA-256 of the key: Redis keys have a bounded length however
// long the key, and keys that may be derived from client data never reach
// Redis, its logs or this package's errors in the clear. The time to live
// is exp less the current time, rounded up to the millisecond, so that a
// key is kept at least until exp whatever the clock of the Redis server
// says. An exp that is not in the future is not fresh (the proof is too
// old to be used), and Use answers that without asking Redis.
//
// Any failure of Redis (connection refused, timeout, a cancelled context,
// an error reply) is an error matching claims.ErrUnavailable: the request
// is to be refused as unavailable, never accepted.
//
// Redis 2.6.12 or later is needed (SET with NX and PX). Redis Cluster
// works: each command names one key.
//
// # Concurrency
//
// A *Store is safe for concurrent use, and so is the client it wraps.
// Two Stores (one per server) sharing a Redis and a prefix share their
// records: a key used through one is not fresh through the other.
package redisstore
