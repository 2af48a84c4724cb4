package introspect_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/introspect"
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

// BenchmarkIntrospectOverhead measures, in one run, a first sight against
// the floor of the same loopback round trip made with a bare net/http
// POST of the same form to the same endpoint: the difference is this
// package's own CPU (request building, the answer's strict parse, the
// claims, the cache insert and the single flight). Target (issue 17): at
// most 50 µs above the round trip.
func BenchmarkIntrospectOverhead(b *testing.B) {
	srv := httptest.NewServer(answer(benchBody))
	b.Cleanup(srv.Close)
	endpoint := srv.URL + "/introspect"
	var floor float64
	b.Run("round-trip", func(b *testing.B) {
		client := &http.Client{}
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			req, _ := http.NewRequest("POST", endpoint, strings.NewReader(url.Values{"token": {"tok-" + strconv.Itoa(i)}, "token_type_hint": {"access_token"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth("rs", "secret")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		floor = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("first-sight", func(b *testing.B) {
		c := mustNew(b, introspect.Config{Endpoint: endpoint, ClientID: "rs", ClientSecret: "secret",
			Issuer: "https://as.example.net", Audience: "https://rs.example.com"})
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			i++
			if _, err := c.Introspect(ctx, "tok-"+strconv.Itoa(i)); err != nil {
				b.Fatal(err)
			}
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if floor == 0 {
			b.Fatal("run the whole benchmark: the overhead needs the round trip")
		}
		over := (ns - floor) / 1e3
		b.ReportMetric(over, "µs-over-round-trip")
		if b.N >= 100 && over > 50 {
			b.Errorf("a first sight costs %.1f µs over the bare round trip, want at most 50 µs", over)
		}
	})
}
