package httpmw_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// nopWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the middleware rather than a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkMiddleware measures Require on a warm key set: "repeat token" is
// the common case of a client reusing its access token (a verified-token
// cache hit), "first sight" a new token every request (a signature check
// each time), "step-up challenge" a token that is valid but short.
func BenchmarkMiddleware(b *testing.B) {
	is := newIssuer(b)
	g := newGuard(b, is.verifier(b))
	req := claims.Requirement{ACR: []string{mfa}, MaxAge: 5 * time.Minute, Scopes: []string{"transfer"}}
	var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := g.Require(req, next)

	run := func(b *testing.B, tokens []string, wantStatus int) {
		r := httptest.NewRequest("POST", "/transfer", nil)
		w := &nopWriter{h: http.Header{}}
		// check once outside the timer
		rec := httptest.NewRecorder()
		r.Header.Set("Authorization", "Bearer "+tokens[0])
		h.ServeHTTP(rec, r)
		if rec.Code != wantStatus {
			b.Fatalf("status: got %d, want %d", rec.Code, wantStatus)
		}
		auth := make([][]string, len(tokens))
		for i, t := range tokens {
			auth[i] = []string{"Bearer " + t}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r.Header["Authorization"] = auth[i%len(auth)]
			clear(w.h)
			h.ServeHTTP(w, r)
		}
	}
	b.Run("repeat token", func(b *testing.B) {
		run(b, []string{is.mint(b, nil)}, 200)
	})
	b.Run("first sight", func(b *testing.B) {
		tokens := make([]string, min(b.N, 20000))
		for i := range tokens {
			tokens[i] = is.mint(b, map[string]any{"jti": "id-" + strconv.Itoa(i)})
		}
		run(b, tokens, 200)
	})
	b.Run("step-up challenge", func(b *testing.B) {
		run(b, []string{is.mint(b, map[string]any{"acr": "urn:example:pwd"})}, 401)
	})
}
