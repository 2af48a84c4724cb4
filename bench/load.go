package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// Server is the load-test target: the shape of examples/httpapi built from
// the library (a public route and a protected route answering the verified
// caller as JSON), on 127.0.0.1.
type Server struct {
	URL string
	srv *http.Server
	ln  net.Listener
}

// caller is the JSON a protected route answers, as examples/httpapi does.
type caller struct {
	Route    string   `json:"route"`
	Sub      string   `json:"sub"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"`
	Scope    string   `json:"scope,omitempty"`
}

// StartServer serves GET /public and GET /profile (any valid token, a
// verifier with the default cache) on a loopback port.
func StartServer(k *Keys) (*Server, error) {
	v, err := NewVerifier(k, 0)
	if err != nil {
		return nil, err
	}
	g, err := httpmw.New(v, httpmw.WithRealm("bench"))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"route": "/public", "public": true})
	})
	mux.Handle("GET /profile", g.Require(claims.Requirement{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := claims.FromContext(r.Context())
		out := caller{Route: "/profile", Sub: c.Subject, ACR: c.ACR, AMR: c.AMR, Scope: strings.Join(c.Scopes, " ")}
		if !c.AuthTime.IsZero() {
			out.AuthTime = c.AuthTime.Unix()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + ln.Addr().String(), srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

// LoadResult is one load scenario's outcome.
type LoadResult struct {
	Scenario string
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// RPS is the throughput in successful requests per second.
func (r LoadResult) RPS() float64 { return float64(r.Requests-r.Errors) / r.Elapsed.Seconds() }

// String is the line cmd/report parses.
func (r LoadResult) String() string {
	return fmt.Sprintf("load %s requests=%d errors=%d seconds=%.3f rps=%.1f p50_us=%.1f p99_us=%.1f",
		r.Scenario, r.Requests, r.Errors, r.Elapsed.Seconds(), r.RPS(),
		float64(r.P50.Nanoseconds())/1e3, float64(r.P99.Nanoseconds())/1e3)
}

// Load sends GET url with workers concurrent keep-alive clients until
// maxRequests were sent or d elapsed, whichever first. token(i) gives the
// bearer token of the i-th request ("" for none). Only loopback URLs are
// accepted.
func Load(ctx context.Context, scenario, url string, workers, maxRequests int, d time.Duration, token func(i int) string) (LoadResult, error) {
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		return LoadResult{}, errors.New("bench: load only targets 127.0.0.1")
	}
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	var (
		next   atomic.Int64
		errs   atomic.Int64
		mu     sync.Mutex
		lat    []time.Duration
		wg     sync.WaitGroup
		firstE atomic.Value
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			var mine []time.Duration
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= maxRequests {
					break
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
				if err != nil {
					errs.Add(1)
					continue
				}
				if t := token(i); t != "" {
					req.Header.Set("Authorization", "Bearer "+t)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() != nil { // cut by the time bound: not counted
						next.Add(-1)
						break
					}
					errs.Add(1)
					firstE.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				mine = append(mine, time.Since(t0))
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
					firstE.CompareAndSwap(nil, resp.Status)
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	r := LoadResult{Scenario: scenario, Requests: len(lat), Errors: int(errs.Load()), Elapsed: time.Since(start)}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.P50 = lat[len(lat)/2]
		r.P99 = lat[len(lat)*99/100]
	}
	if e := firstE.Load(); e != nil {
		return r, fmt.Errorf("bench: %s: %d errors, first: %v", scenario, r.Errors, e)
	}
	return r, nil
}
