package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/internal/testclock"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/metrics"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// clock is an injectable clock for the Remote.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newIssuer starts an ES256-only issuer (fast to start).
func newIssuer(t *testing.T, opts ...stepuptest.Option) *stepuptest.Issuer {
	t.Helper()
	iss, err := stepuptest.NewIssuer(append([]stepuptest.Option{stepuptest.WithAlgorithms("ES256")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	return iss
}

// remote is a Remote whose observer signals every finished fetch on done:
// the jwks hooks run after Refresh returns, so tests wait for them.
type remote struct {
	*jwks.Remote
	clock *clock
	done  chan struct{}
}

// Remote timing used by the tests: refresh every minute, stale after two.
const (
	refresh   = time.Minute
	staleness = 2 * time.Minute
	cooldown  = time.Second
)

func newRemote(t *testing.T, m *metrics.Metrics, iss *stepuptest.Issuer, label string) *remote {
	t.Helper()
	r := &remote{clock: &clock{t: time.Unix(1_800_000_000, 0)}, done: make(chan struct{}, 64)}
	obs, err := m.JWKSObserver(label)
	if err != nil {
		t.Fatal(err)
	}
	fetchDone := obs.FetchDone
	obs.FetchDone = func(url string, took time.Duration, err error) {
		fetchDone(url, took, err)
		r.done <- struct{}{}
	}
	rem, err := jwks.NewRemote(iss.JWKSURL(),
		jwks.WithObserver(obs),
		testclock.JWKS(r.clock.now).(jwks.Option),
		jwks.WithRefreshBounds(refresh, refresh),
		jwks.WithStaleness(staleness),
		jwks.WithCooldown(cooldown),
		jwks.WithHTTPClient(iss.Client()),
		jwks.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rem.Close() })
	r.Remote = rem
	return r
}

// refresh fetches now and waits for the observer hooks.
func (r *remote) refresh(t *testing.T) error {
	t.Helper()
	err := r.Refresh(context.Background())
	r.wait(t)
	return err
}

func (r *remote) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no FetchDone event")
	}
}

// value returns the value of the series name{labels}, failing the test if
// it does not exist. Counters, gauges and histogram counts are supported.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	m := find(t, g, name, labels...)
	if m == nil {
		t.Fatalf("no series %s%v", name, labels)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("series %s has no supported type", name)
	return 0
}

func find(t *testing.T, g prometheus.Gatherer, name string, labels ...string) *dto.Metric {
	t.Helper()
	if len(labels)%2 != 0 {
		t.Fatal("labels must be name/value pairs")
	}
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			if len(got) != len(labels)/2 {
				continue
			}
			for i := 0; i < len(labels); i += 2 {
				if v, ok := got[labels[i]]; !ok || v != labels[i+1] {
					continue series
				}
			}
			return m
		}
	}
	return nil
}

// series lists every series of g as name{label=value,...}, sorted.
func series(t *testing.T, g prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+"="+lp.GetValue())
			}
			out = append(out, mf.GetName()+"{"+strings.Join(ls, ",")+"}")
		}
	}
	sort.Strings(out)
	return out
}

// serve runs one request through h and returns the status.
func serve(h http.Handler, method, target string, auth ...string) int {
	r := httptest.NewRequest(method, target, nil)
	for _, a := range auth {
		r.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

// Requirements used across the tests.
var (
	stepUp = claims.Requirement{ACR: []string{claims.ACRMultiFactor}, MaxAge: 5 * time.Minute}
	admin  = claims.Requirement{Scopes: []string{"admin"}}
)

// mustInterceptors is grpcmw.New for arguments a test knows to be valid.
func mustInterceptors(t testing.TB, v *verify.Verifier, m *grpcmw.Methods, opts ...grpcmw.Option) *grpcmw.Interceptors {
	t.Helper()
	s, err := grpcmw.New(v, m, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
