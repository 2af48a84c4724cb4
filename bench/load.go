package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stepupauth/stepup/stepuptest"
)

// HTTPAPI is the load-test target: the real examples/httpapi program,
// built from the repository and started with -dev (its in-process issuer)
// and the demo policy on 127.0.0.1.
type HTTPAPI struct {
	URL      string // http://127.0.0.1:PORT of the API
	TokenURL string // the dev issuer's token endpoint, for more logins
	Token    string // PASSWORD_TOKEN as the program printed it
	Alg      string // the alg of the dev issuer's tokens (the policy's)
	cmd      *exec.Cmd
	dir      string
	stderr   *bytes.Buffer
	mu       *sync.Mutex
}

// BuildHTTPAPI builds examples/httpapi from the repository at root into
// dir and returns the binary's path.
func BuildHTTPAPI(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "httpapi")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/httpapi")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: building examples/httpapi: %v\n%s", err, out)
	}
	return bin, nil
}

// StartHTTPAPI runs bin (see BuildHTTPAPI) from the repository at root
// with -dev -addr 127.0.0.1:0 and the demo policy,
// examples/policies/demo.yaml. With alg set, the policy is a copy of the
// demo's with "algorithms: [alg]" added, which makes the dev issuer sign
// with alg and the verifier accept only alg; "" keeps the demo policy as
// it is (the dev issuer's default, ES256). It reads the API's address from
// the ready line ("httpapi: serving FILE on http://ADDR (...)"),
// PASSWORD_TOKEN from its shell exports and the dev issuer's token endpoint
// from the "another login" curl line, then waits until GET /public
// answers. Close stops it.
func StartHTTPAPI(ctx context.Context, root, bin, alg string) (_ *HTTPAPI, err error) {
	dir, err := os.MkdirTemp("", "bench-httpapi-")
	if err != nil {
		return nil, err
	}
	a := &HTTPAPI{dir: dir, stderr: &bytes.Buffer{}, mu: &sync.Mutex{}}
	defer func() {
		if err != nil {
			_ = a.Close()
		}
	}()
	pol := filepath.Join(root, "examples", "policies", "demo.yaml")
	if alg != "" {
		demo, err := os.ReadFile(pol)
		if err != nil {
			return nil, err
		}
		pol = filepath.Join(dir, "demo-"+alg+".yaml")
		if err := os.WriteFile(pol, append(demo, "\nalgorithms: ["+alg+"]\n"...), 0o644); err != nil {
			return nil, err
		}
	}
	a.cmd = exec.Command(bin, "-dev", "-addr", "127.0.0.1:0", "-policy", pol)
	a.cmd.Dir = root
	a.cmd.Stderr = lockedWriter{a.mu, a.stderr}
	stdout, err := a.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	type found struct{ url, token, tokenURL string }
	done := make(chan found, 1)
	go func() {
		var f found
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "httpapi: serving "); ok {
				if _, after, ok := strings.Cut(rest, " on "); ok {
					f.url, _, _ = strings.Cut(after, " ")
				}
			}
			if rest, ok := strings.CutPrefix(line, "export PASSWORD_TOKEN='"); ok {
				f.token = strings.TrimSuffix(rest, "'")
			}
			if rest, ok := strings.CutPrefix(line, "#   curl -s "); ok && f.tokenURL == "" {
				f.tokenURL, _, _ = strings.Cut(rest, " ")
			}
			if f.url != "" && f.token != "" && f.tokenURL != "" {
				done <- f
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // keep the pipe drained
	}()
	timer := time.NewTimer(time.Minute)
	defer timer.Stop()
	select {
	case f := <-done:
		a.URL, a.Token, a.TokenURL = f.url, f.token, f.tokenURL
	case <-timer.C:
		return nil, fmt.Errorf("bench: httpapi not ready after a minute; stderr:\n%s", a.Stderr())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	a.Alg = TokenAlg(a.Token)
	if alg != "" && a.Alg != alg {
		return nil, fmt.Errorf("bench: httpapi with algorithms [%s] printed a token signed with %q", alg, a.Alg)
	}
	if !strings.HasPrefix(a.URL, "http://127.0.0.1:") || !strings.HasPrefix(a.TokenURL, "http://127.0.0.1:") {
		return nil, fmt.Errorf("bench: httpapi announced %s and token endpoint %s, want 127.0.0.1", a.URL, a.TokenURL)
	}
	// Serving starts once the -dev output is written.
	res, err := http.Get(a.URL + "/public")
	if err != nil {
		return nil, err
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: httpapi GET /public: %s", res.Status)
	}
	return a, nil
}

// TokenAlg returns the alg header of a compact JWS, "?" when it has none.
func TokenAlg(raw string) string {
	hdr, _, _ := strings.Cut(raw, ".")
	var h struct {
		Alg string `json:"alg"`
	}
	b, err := base64.RawURLEncoding.DecodeString(hdr)
	if err != nil || json.Unmarshal(b, &h) != nil || h.Alg == "" {
		return "?"
	}
	return h.Alg
}

// CPU returns the CPU time the program has used so far (ProcessCPU).
func (a *HTTPAPI) CPU() (time.Duration, error) { return ProcessCPU(a.cmd.Process.Pid) }

// Memory returns the program's resident set (ProcessMemory).
func (a *HTTPAPI) Memory() (Memory, error) { return ProcessMemory(a.cmd.Process.Pid) }

// ResetPeakRSS starts the program's peak resident set again from its
// current one (ResetPeakRSS).
func (a *HTTPAPI) ResetPeakRSS() error { return ResetPeakRSS(a.cmd.Process.Pid) }

// DefaultTokenCacheEntries and DefaultTokenCacheBytes are the bounds of the
// verifier's token cache when Config leaves them zero, which is how
// examples/httpapi runs (verify's defaultTokenCacheSize and
// defaultTokenCacheBytes; TestDefaultCacheBounds holds them equal).
const (
	DefaultTokenCacheEntries = 10_000
	DefaultTokenCacheBytes   = 32 << 20
)

// CacheLookups returns the program's verified-token cache lookups so far,
// hits and misses, from its /metrics (stepup_token_cache_lookups_total).
func (a *HTTPAPI) CacheLookups(ctx context.Context) (hits, misses int64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("bench: /metrics: %s", resp.Status)
	}
	return parseCacheLookups(string(body))
}

// parseCacheLookups reads the hit and miss samples of
// stepup_token_cache_lookups_total out of Prometheus text exposition;
// a result with no sample yet is 0.
func parseCacheLookups(text string) (hits, misses int64, err error) {
	seen := false
	for line := range strings.Lines(text) {
		rest, ok := strings.CutPrefix(line, "stepup_token_cache_lookups_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			return 0, 0, fmt.Errorf("bench: /metrics: malformed line %q", strings.TrimSpace(line))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("bench: /metrics: %w", err)
		}
		switch labels {
		case `result="hit"`:
			hits, seen = int64(v), true
		case `result="miss"`:
			misses, seen = int64(v), true
		}
	}
	if !seen {
		return 0, 0, errors.New("bench: /metrics has no stepup_token_cache_lookups_total (is the token cache on?)")
	}
	return hits, misses, nil
}

// Logins logs in n times at the dev issuer's token endpoint (subjects
// load-0, load-1, ...) and returns n distinct access tokens, for the
// first-sight scenario. workers logins run at a time.
func (a *HTTPAPI) Logins(ctx context.Context, n, workers int) ([]string, error) {
	tokens := make([]string, n)
	client := &http.Client{Timeout: 10 * time.Second}
	var (
		next atomic.Int64
		mu   sync.Mutex
		ferr error
		wg   sync.WaitGroup
	)
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				tok, err := login(ctx, client, a.TokenURL, stepuptest.LoginRequest{Subject: "load-" + strconv.Itoa(i)})
				if err != nil {
					mu.Lock()
					ferr = errors.Join(ferr, err)
					mu.Unlock()
					return
				}
				tokens[i] = tok
			}
		})
	}
	wg.Wait()
	if ferr != nil {
		return nil, ferr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return tokens, nil
}

// login posts one login form to tokenURL (RFC 6749 §5.1 answer).
func login(ctx context.Context, client *http.Client, tokenURL string, lr stepuptest.LoginRequest) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(lr.Form().Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out stepuptest.LoginResponse
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.AccessToken == "" {
		return "", fmt.Errorf("bench: login at %s: %s (%v)", tokenURL, res.Status, err)
	}
	return out.AccessToken, nil
}

// Stderr returns what the program logged so far.
func (a *HTTPAPI) Stderr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stderr.String()
}

// Close stops the program (SIGTERM, then SIGKILL after 15 s) and removes
// its temporary directory.
func (a *HTTPAPI) Close() error {
	var err error
	if a.cmd != nil && a.cmd.Process != nil {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
		waited := make(chan error, 1)
		go func() { waited <- a.cmd.Wait() }()
		select {
		case err = <-waited:
		case <-time.After(15 * time.Second):
			_ = a.cmd.Process.Kill()
			err = <-waited
		}
	}
	return errors.Join(err, os.RemoveAll(a.dir))
}

// lockedWriter serializes writes to w with mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// FindRoot returns the directory of the stepup repository's go.mod, looking
// in dir and its parents.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/stepupauth/stepup\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("bench: no github.com/stepupauth/stepup go.mod above the working directory")
		}
		dir = parent
	}
}

// LoadResult is one load scenario's outcome.
type LoadResult struct {
	Scenario string
	Alg      string // the alg of the server's tokens
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
	// ServerCPU is the CPU time (user plus system) the server process
	// used during the scenario, 0 when not measured.
	ServerCPU time.Duration
}

// CPUPerRequest is ServerCPU divided by the requests answered.
func (r LoadResult) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Requests)
}

// RPS is the throughput in successful requests per second.
func (r LoadResult) RPS() float64 { return float64(r.Requests-r.Errors) / r.Elapsed.Seconds() }

// String is the line cmd/report parses.
func (r LoadResult) String() string {
	return fmt.Sprintf("load %s alg=%s requests=%d errors=%d seconds=%.3f rps=%.1f p50_us=%.1f p99_us=%.1f server_cpu_ms=%.0f server_cpu_us_per_req=%.1f",
		r.Scenario, r.Alg, r.Requests, r.Errors, r.Elapsed.Seconds(), r.RPS(),
		float64(r.P50.Nanoseconds())/1e3, float64(r.P99.Nanoseconds())/1e3,
		float64(r.ServerCPU.Microseconds())/1e3, float64(r.CPUPerRequest().Nanoseconds())/1e3)
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

// FloorCPU times the floor (Floor) of alg in this process: n raw signature
// checks of a benchmark token on one locked OS thread. It returns the
// thread's CPU time per check (ThreadCPU), which leaves out the time the
// thread waited for a core on a busy machine, so that it compares with a
// server's CPU time per request.
func FloorCPU(alg string, n int) (time.Duration, error) {
	k, err := LoadKeys()
	if err != nil {
		return 0, err
	}
	raw, err := k.Mint(alg, "floor", time.Now())
	if err != nil {
		return 0, err
	}
	check, err := Floor(k, alg, raw)
	if err != nil {
		return 0, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	check() // first use: lazy tables, page faults
	t0, err := ThreadCPU()
	if err != nil {
		return 0, err
	}
	for range n {
		if !check() {
			return 0, fmt.Errorf("bench: %s floor: the signature does not verify", alg)
		}
	}
	t1, err := ThreadCPU()
	if err != nil {
		return 0, err
	}
	return (t1 - t0) / time.Duration(max(n, 1)), nil
}
