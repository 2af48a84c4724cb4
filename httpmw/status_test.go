package httpmw_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

func debugLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// TestAllowedLogStatus: the "request allowed" line carries the status the
// handler answered, not an assumed 200.
func TestAllowedLogStatus(t *testing.T) {
	is := newIssuer(t)
	tok := is.mint(t, nil)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"bad request", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusBadRequest) }, "status=400"},
		{"write only", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") }, "status=200"},
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, "status=200"},
		{"early hints then 201", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}, "status=201"},
		{"second WriteHeader ignored", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
			w.WriteHeader(http.StatusInternalServerError)
		}, "status=204"},
		{"ReadFrom", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.(io.ReaderFrom).ReadFrom(strings.NewReader("body"))
		}, "status=200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			g := newGuard(t, is.verifier(t), httpmw.WithLogger(debugLogger(&buf)))
			h := g.Require(claims.Requirement{}, tt.handler)
			r := httptest.NewRequest("GET", "/x", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got := buf.String(); !strings.Contains(got, `msg="httpmw: request allowed"`) || !strings.Contains(got, tt.want+"\n") {
				t.Errorf("log: got %q, want the allowed line with %s", got, tt.want)
			}
		})
	}
}

// TestAllowedWriterKeepsInterfaces: with logging on, the handler's writer
// still flushes, hijacks and copies as the server's own does, directly and
// through http.ResponseController.
func TestAllowedWriterKeepsInterfaces(t *testing.T) {
	is := newIssuer(t)
	tok := is.mint(t, nil)
	// The server's goroutines log; a hijacked connection's handler may
	// return after the client has its answer, so wait for the lines.
	lines := make(chan string, 4)
	g := newGuard(t, is.verifier(t), httpmw.WithLogger(slog.New(slog.NewTextHandler(lineWriter(lines), &slog.HandlerOptions{Level: slog.LevelDebug}))))
	var mu sync.Mutex // guards problems
	var problems []string
	fail := func(p string) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, p)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /flush", g.Require(claims.Requirement{}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			fail("not an http.Flusher")
		}
		if _, ok := w.(io.ReaderFrom); !ok {
			fail("not an io.ReaderFrom")
		}
		_, _ = io.WriteString(w, "a")
		if err := http.NewResponseController(w).Flush(); err != nil {
			fail("ResponseController.Flush: " + err.Error())
		}
		w.(http.Flusher).Flush()
	})))
	mux.Handle("GET /hijack", g.Require(claims.Requirement{}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			fail("Hijack: " + err.Error())
			return
		}
		_, _ = rw.WriteString("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		_ = rw.Flush()
		_ = c.Close()
	})))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, path := range []string{"/flush", "/hijack"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, bufio.NewReader(resp.Body))
		resp.Body.Close()
		if path == "/hijack" && resp.StatusCode != http.StatusTeapot {
			t.Errorf("hijack: got status %d, want 418", resp.StatusCode)
		}
	}
	for range 2 {
		select {
		case line := <-lines:
			if !strings.Contains(line, "request allowed") {
				t.Errorf("log: got %q, want an allowed line", line)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("log: fewer than two allowed lines")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("writer: %s", strings.Join(problems, "; "))
	}
}

// lineWriter sends each write (one log line) to ch.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

// TestRefusedLogReceived: a token refused for its iss or aud is logged
// with the refused value and a hint; the answer carries neither.
func TestRefusedLogReceived(t *testing.T) {
	is := newIssuer(t)
	tests := []struct {
		name, value string
		claims      map[string]any
		hint        string
	}{
		{"issuer", "https://wrong-issuer.example/", map[string]any{"iss": "https://wrong-issuer.example/"}, `configured issuers: \"` + testIssuer},
		{"audience", "urn:unexpected-audience", map[string]any{"aud": "urn:unexpected-audience"}, `configured audience: \"` + testAudience},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			g := newGuard(t, is.verifier(t), httpmw.WithLogger(debugLogger(&buf)))
			h := g.Require(claims.Requirement{}, okHandler())
			r := httptest.NewRequest("GET", "/x", nil)
			r.Header.Set("Authorization", "Bearer "+is.mint(t, tt.claims))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("status: got %d, want 401", w.Code)
			}
			log := buf.String()
			if !strings.Contains(log, `received="\"`+tt.value+`\""`) || !strings.Contains(log, tt.hint) {
				t.Errorf("log: got %q, want received %q and a hint with %q", log, tt.value, tt.hint)
			}
			var answer strings.Builder
			_ = w.Header().Write(&answer)
			answer.Write(w.Body.Bytes())
			if strings.Contains(answer.String(), tt.value) || strings.Contains(answer.String(), "configured") {
				t.Errorf("answer holds the refused value or the hint:\n%s", answer.String())
			}
		})
	}
}

// TestWarnAbsentClaim: an acr requirement read under a wrong claim name
// (an Auth0 namespace without its slash) fails for every token; the
// logger says so once at Warn, naming the claim name, and never a claim
// value.
func TestWarnAbsentClaim(t *testing.T) {
	is := newIssuer(t)
	set, err := jwks.NewStatic(is.jwks)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(set, verify.Config{
		Issuer: testIssuer, Audience: testAudience, Now: func() time.Time { return testNow },
		ClaimNames: claims.Names{ACR: "https://example.comacr"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	g := newGuard(t, v, httpmw.WithLogger(l))
	mux := http.NewServeMux()
	mux.Handle("POST /transfer", g.Require(claims.Requirement{ACR: []string{claims.ACRMultiFactor}}, okHandler()))
	tok := is.mint(t, map[string]any{"https://example.com/acr": claims.ACRMultiFactor})
	for range 200 {
		r := httptest.NewRequest("POST", "/transfer", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
	}
	out := buf.String()
	if n := strings.Count(out, "\n"); n != 1 {
		t.Fatalf("logs at Warn: got %d lines, want 1:\n%s", n, out)
	}
	for _, want := range []string{`level=WARN`, `claim=acr`, `read_as=https://example.comacr`, `route="POST /transfer"`, `absent=32 of=32`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s: %s", want, out)
		}
	}
	for _, secret := range []string{tok, claims.ACRMultiFactor, "alice"} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q: %s", secret, out)
		}
	}
}
