package introspect_test

import (
	"strconv"
	"testing"
	"time"
)

// A realistic answer: the RFC 9470 §6.2 example with an exp ahead.
const benchBody = `{"active":true,"client_id":"s6BhdRkqt3","scope":"purchase openid","sub":"someone@example.net",` +
	`"aud":"https://rs.example.com","iss":"https://as.example.net","exp":4102444800,"iat":1618354090,` +
	`"auth_time":1646340198,"acr":"myACR","amr":["pwd","otp"],"token_type":"Bearer"}`

// A cache hit: what every request after the first costs.
func BenchmarkIntrospectCacheHit(b *testing.B) {
	s := newServer(b, answer(benchBody))
	cfg := config(s, newClock())
	cfg.Issuer, cfg.Audience = "https://as.example.net", "https://rs.example.com"
	cfg.Now = time.Now
	c := mustNew(b, cfg)
	tok := "9mQk3w7bXf2LrT8vZpYc1HsD4aNeG6uJ0oKiWxRqE5t" // a typical 43-character opaque token
	if _, err := c.Introspect(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Introspect(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// A first sight: one round trip to a loopback endpoint, the parse and the
// cache insert.
func BenchmarkIntrospectFirstSight(b *testing.B) {
	s := newServer(b, answer(benchBody))
	cfg := config(s, newClock())
	cfg.Issuer, cfg.Audience = "https://as.example.net", "https://rs.example.com"
	cfg.Now = time.Now
	c := mustNew(b, cfg)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, err := c.Introspect(ctx, "tok-"+strconv.Itoa(i)); err != nil {
			b.Fatal(err)
		}
	}
}
