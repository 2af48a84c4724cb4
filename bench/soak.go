package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// SoakConfig sizes a soak. The zero value is the default soak: 60 s, 4
// workers, 800 requests per second in all.
type SoakConfig struct {
	Duration time.Duration // whole soak; default 60s, at least 2s
	Workers  int           // concurrent keep-alive clients; default 4
	Rate     int           // requests per second, all workers together; default 800
}

// The soak's timeline, in fractions of its duration: phase i runs from
// soakPhases[i].at to soakPhases[i+1].at (the last one to the end).
var soakPhases = []struct {
	name   string
	at     float64
	faults stepuptest.Faults
}{
	{"steady", 0, stepuptest.Faults{}},
	{"jwks_500", 0.10, stepuptest.Faults{JWKS: stepuptest.Fault500}},
	{"jwks_hang", 0.20, stepuptest.Faults{JWKS: stepuptest.FaultSlow}},
	{"jwks_back", 0.27, stepuptest.Faults{}},
	{"rotated", 0.35, stepuptest.Faults{}}, // Rotate, then new-kid tokens
	{"jwks_500_past_staleness", 0.55, stepuptest.Faults{JWKS: stepuptest.Fault500}},
	{"jwks_back_again", 0.92, stepuptest.Faults{}},
}

// The key source's bounds, in fractions of the duration: the set is
// refreshed every soakRefresh; the first outage (jwks_500 and jwks_hang,
// 0.17 plus at most one refresh interval since the last good fetch) stays
// within soakStaleness; the second (0.37) outlasts it.
const (
	soakRefresh   = 0.04
	soakStaleness = 0.25
	soakTimeout   = 0.02
	soakCooldown  = 0.01
)

// SoakPhase counts the answers of the requests that started in one phase.
type SoakPhase struct {
	Name     string
	ByStatus map[int]int
}

// SoakResult is what a soak observed.
type SoakResult struct {
	Duration                 time.Duration
	Staleness, Refresh       time.Duration // the key source's bounds
	Timeout                  time.Duration // its fetch timeout (the hang outlasts it)
	Requests                 int
	Errors                   int // transport errors (no status)
	ByStatus                 map[int]int
	Phases                   []SoakPhase
	FailedWithinStaleness    int // valid requests not answered 200 while the last good key set was within the staleness bound
	PastStaleness            int // requests whose key set may have been past the bound
	PastStalenessNot200Or503 int // of those, answers other than 200 and 503
	StaleEvents              int // jwks.Observer.Stale calls
	JWKSFetches              int64
	GoroutinesStart          int // before the soak built anything
	GoroutinesEnd            int // at the end, before closing
	GoroutinesAfterClose     int // after closing everything
	RSSStart, RSSEnd         int64
}

// OK reports whether the soak met its rules: every request answered, no
// valid request failed within the staleness bound, only 503 past it (never
// 401 or 500), and no goroutine left after Close.
func (r SoakResult) OK() error {
	var errs []error
	if r.Errors > 0 {
		errs = append(errs, fmt.Errorf("%d requests got no answer", r.Errors))
	}
	if r.FailedWithinStaleness > 0 {
		errs = append(errs, fmt.Errorf("%d valid requests failed within the staleness bound", r.FailedWithinStaleness))
	}
	if r.PastStalenessNot200Or503 > 0 {
		errs = append(errs, fmt.Errorf("%d requests past the staleness bound got neither 200 nor 503", r.PastStalenessNot200Or503))
	}
	for _, s := range []int{http.StatusUnauthorized, http.StatusInternalServerError} {
		if n := r.ByStatus[s]; n > 0 {
			errs = append(errs, fmt.Errorf("%d valid requests got %d", n, s))
		}
	}
	if r.GoroutinesAfterClose > r.GoroutinesStart {
		errs = append(errs, fmt.Errorf("%d goroutines after Close, %d before the soak", r.GoroutinesAfterClose, r.GoroutinesStart))
	}
	return errors.Join(errs...)
}

// String is the lines cmd/report parses: one "soak" summary line and one
// "soak_phase" line per phase.
func (r SoakResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak seconds=%.1f staleness_ms=%d refresh_ms=%d timeout_ms=%d requests=%d transport_errors=%d statuses=%s failed_within_staleness=%d past_staleness=%d past_staleness_not_200_or_503=%d stale_events=%d jwks_fetches=%d goroutines_start=%d goroutines_end=%d goroutines_after_close=%d rss_start_kb=%d rss_end_kb=%d\n",
		r.Duration.Seconds(), r.Staleness.Milliseconds(), r.Refresh.Milliseconds(), r.Timeout.Milliseconds(),
		r.Requests, r.Errors, statuses(r.ByStatus), r.FailedWithinStaleness, r.PastStaleness, r.PastStalenessNot200Or503,
		r.StaleEvents, r.JWKSFetches, r.GoroutinesStart, r.GoroutinesEnd, r.GoroutinesAfterClose, r.RSSStart>>10, r.RSSEnd>>10)
	for _, p := range r.Phases {
		fmt.Fprintf(&b, "soak_phase %s statuses=%s\n", p.Name, statuses(p.ByStatus))
	}
	return b.String()
}

// statuses renders counts by status as "200:123,503:4" (sorted).
func statuses(m map[int]int) string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// soakRecord is one request of the soak.
type soakRecord struct {
	start, end time.Duration // since the soak's start
	status     int           // 0: transport error
	// lastGood is when (since the soak's start) the key source last
	// fetched successfully, read as the request started.
	lastGood time.Duration
}

// Soak runs the soak in this process: a stepuptest issuer (ES256), a
// jwks.Discover key source with short refresh bounds, staleness and fetch
// timeout, a verify.Verifier (default token cache) and an httpmw guard on
// an httptest server. cfg.Workers clients send valid tokens at cfg.Rate
// (every fourth one freshly minted, so first seen; the others reused, a
// few per worker) while the issuer's JWKS endpoint goes through the
// phases of soakPhases: it answers 500s, then hangs past the fetch
// timeout, comes back, rotates its key (the clients then send tokens with
// the new kid), fails again for longer than the staleness bound, and comes
// back again. Every request is classified by whether the last good key set
// was within the staleness bound while it ran.
func Soak(ctx context.Context, cfg SoakConfig) (res SoakResult, err error) {
	if cfg.Duration == 0 {
		cfg.Duration = time.Minute
	}
	if cfg.Duration < 2*time.Second {
		return res, errors.New("bench: a soak takes at least 2s")
	}
	cfg.Workers = cmp.Or(cfg.Workers, 4)
	cfg.Rate = cmp.Or(cfg.Rate, 800)
	d := cfg.Duration
	frac := func(f float64) time.Duration { return time.Duration(f * float64(d)) }
	res.Duration, res.Staleness, res.Refresh, res.Timeout = d, frac(soakStaleness), frac(soakRefresh), frac(soakTimeout)
	res.GoroutinesStart = runtime.NumGoroutine()
	if res.RSSStart, err = RSS(); err != nil {
		return res, err
	}

	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"), stepuptest.WithSlowDelay(10*res.Timeout),
		stepuptest.WithTokenTTL(d+time.Hour))
	if err != nil {
		return res, err
	}
	closers := []func(){iss.Close}
	closeAll := func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
		closers = nil
	}
	defer func() { closeAll() }()

	t0 := time.Now()
	var lastGood, stale atomic.Int64 // lastGood: ns since t0
	keys, err := jwks.Discover(ctx, iss.Issuer(),
		jwks.WithHTTPClient(iss.Client()),
		jwks.WithRefreshBounds(res.Refresh, res.Refresh),
		jwks.WithStaleness(res.Staleness),
		jwks.WithTimeout(res.Timeout),
		jwks.WithCooldown(frac(soakCooldown)),
		jwks.WithObserver(jwks.Observer{
			FetchDone: func(_ string, _ time.Duration, err error) {
				if err == nil {
					lastGood.Store(int64(time.Since(t0)))
				}
			},
			Stale: func(string, time.Duration) { stale.Add(1) },
		}))
	if err != nil {
		return res, err
	}
	lastGood.Store(int64(time.Since(t0)))
	closers = append(closers, func() { _ = keys.Close() })
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		return res, err
	}
	guard, err := httpmw.New(v)
	if err != nil {
		return res, err
	}
	srv := httptest.NewServer(guard.Require(claims.Requirement{}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})))
	closers = append(closers, srv.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Workers, DisableCompression: true}
	closers = append(closers, tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	// The reused tokens: a few per worker, replaced by new-kid ones at the
	// rotation.
	var pool atomic.Pointer[[]string]
	mintPool := func() error {
		p := make([]string, 4*cfg.Workers)
		for i := range p {
			t, err := iss.Mint(stepuptest.Token{})
			if err != nil {
				return err
			}
			p[i] = t
		}
		pool.Store(&p)
		return nil
	}
	if err := mintPool(); err != nil {
		return res, err
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		records  []soakRecord
		mintErrs atomic.Int64
	)
	interval := time.Duration(cfg.Workers) * time.Second / time.Duration(cfg.Rate)
	for w := range cfg.Workers {
		wg.Go(func() {
			var mine []soakRecord
			next := time.Now()
			for j := 0; runCtx.Err() == nil; j++ {
				if wait := time.Until(next); wait > 0 {
					select {
					case <-time.After(wait):
					case <-runCtx.Done():
					}
				} else if -wait > interval {
					next = time.Now() // behind: do not burst to catch up
				}
				next = next.Add(interval)
				if runCtx.Err() != nil {
					break
				}
				var tok string
				if j%4 == 0 {
					t, err := iss.Mint(stepuptest.Token{})
					if err != nil {
						mintErrs.Add(1)
						continue
					}
					tok = t
				} else {
					p := *pool.Load()
					tok = p[(w+j)%len(p)]
				}
				rec := soakRecord{start: time.Since(t0), lastGood: time.Duration(lastGood.Load())}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/", nil)
				if err != nil {
					mintErrs.Add(1)
					continue
				}
				req.Header.Set("Authorization", "Bearer "+tok)
				if resp, err := client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					rec.status = resp.StatusCode
				}
				rec.end = time.Since(t0)
				mine = append(mine, rec)
			}
			mu.Lock()
			records = append(records, mine...)
			mu.Unlock()
		})
	}

	// The timeline.
	bounds := make([]time.Duration, len(soakPhases))
	var terr error
	for i, p := range soakPhases {
		bounds[i] = frac(p.at)
		if wait := time.Until(t0.Add(bounds[i])); wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			terr = ctx.Err()
			break
		}
		if err := iss.SetFaults(p.faults); err != nil {
			terr = err
			break
		}
		if p.name == "rotated" {
			if _, err := iss.Rotate(""); err != nil {
				terr = err
				break
			}
			if err := mintPool(); err != nil {
				terr = err
				break
			}
		}
	}
	if wait := time.Until(t0.Add(d)); wait > 0 && terr == nil {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			terr = ctx.Err()
		}
	}
	stop()
	wg.Wait()
	if terr != nil {
		return res, terr
	}
	if n := mintErrs.Load(); n > 0 {
		return res, fmt.Errorf("bench: soak: %d tokens could not be minted or sent", n)
	}

	res.JWKSFetches = iss.Requests().JWKS
	res.StaleEvents = int(stale.Load())
	res.GoroutinesEnd = runtime.NumGoroutine()
	if res.RSSEnd, err = RSS(); err != nil {
		return res, err
	}
	res.ByStatus = map[int]int{}
	res.Phases = make([]SoakPhase, len(soakPhases))
	for i, p := range soakPhases {
		res.Phases[i] = SoakPhase{Name: p.name, ByStatus: map[int]int{}}
	}
	tol := res.Staleness / 20 // FetchDone runs just after the source records its fetch
	for _, r := range records {
		res.Requests++
		if r.status == 0 {
			res.Errors++
		} else {
			res.ByStatus[r.status]++
		}
		i := 0
		for i+1 < len(bounds) && r.start >= bounds[i+1] {
			i++
		}
		res.Phases[i].ByStatus[r.status]++
		// The set the request was verified with was fetched at
		// r.lastGood or later, so it was within the bound until
		// r.lastGood+staleness at least.
		if r.end-r.lastGood < res.Staleness-tol {
			if r.status != http.StatusOK {
				res.FailedWithinStaleness++
			}
			continue
		}
		res.PastStaleness++
		if r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
			res.PastStalenessNot200Or503++
		}
	}

	closeAll()
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		res.GoroutinesAfterClose = runtime.NumGoroutine()
		if res.GoroutinesAfterClose <= res.GoroutinesStart || time.Now().After(deadline) {
			break
		}
	}
	return res, nil
}
