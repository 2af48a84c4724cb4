package routers

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/metrics"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// env is one guard with everything a test reads: the decision hook's
// labels, Prometheus metrics and the debug log.
type env struct {
	iss    *stepuptest.Issuer
	v      *verify.Verifier
	guard  *httpmw.Guard
	reg    *prometheus.Registry
	labels []string
	logs   bytes.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	keys, err := jwks.NewStatic(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: iss.Issuer(), Audience: iss.Audience()})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{iss: iss, v: v, reg: prometheus.NewRegistry()}
	m, err := metrics.New(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(&e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.guard, err = httpmw.New(v,
		httpmw.WithRealm("bank"),
		httpmw.WithDecisionHook(func(r *http.Request, _ error) { e.labels = append(e.labels, r.Pattern) }),
		httpmw.WithDecisionHook(m.HTTPDecisionHook()),
		httpmw.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) mint(t *testing.T, tok stepuptest.Token) string {
	t.Helper()
	s, err := e.iss.Mint(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// answer is what a client sees of a response.
type answer struct {
	status                 int
	challenge, ctype, body string
}

func post(t *testing.T, url, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	// echo writes charset=UTF-8, net/http charset=utf-8: the same
	return answer{res.StatusCode, res.Header.Get("WWW-Authenticate"), strings.ToLower(res.Header.Get("Content-Type")), string(b)}
}

// series returns the label sets of the stepup_http_* series that counted
// something, "name route code" each.
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "stepup_http_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = counterValue(m)
		}
	}
	return got
}

func counterValue(m *dto.Metric) float64 { return m.GetCounter().GetValue() }

// TestRouters runs every recipe against the same story: no token, a
// password login (the step-up challenge), a multi-factor login (allowed,
// the path parameter read by the handler).
func TestRouters(t *testing.T) {
	routers := []struct {
		name  string
		build func(*httpmw.Guard) (http.Handler, error)
		rule  string // the label of the decisions
	}{
		{"chi", chiRouter, "POST /accounts/{id}/transfers"},
		{"gorilla/mux", gorillaRouter, "POST /accounts/{id}/transfers"},
		{"echo", func(g *httpmw.Guard) (http.Handler, error) { return echoRouter(g), nil }, "POST /accounts/:id/transfers"},
		{"gin", func(g *httpmw.Guard) (http.Handler, error) { return ginRouter(g), nil }, "POST /accounts/:id/transfers"},
	}
	for _, rt := range routers {
		t.Run(rt.name, func(t *testing.T) {
			e := newEnv(t)
			h, err := rt.build(e.guard)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			// The answers of the guard itself, mounted on a ServeMux, are
			// what the router must pass through unchanged.
			ref := http.NewServeMux()
			plain, err := httpmw.New(e.v, httpmw.WithRealm("bank"))
			if err != nil {
				t.Fatal(err)
			}
			ref.Handle("POST /accounts/{id}/transfers", plain.Require(transferRule, http.NotFoundHandler()))
			refSrv := httptest.NewServer(ref)
			defer refSrv.Close()

			password := e.mint(t, stepuptest.Token{ACR: "urn:example:pwd", AMR: []string{"pwd"}, AuthTime: time.Now()})
			mfa := e.mint(t, stepuptest.Token{Subject: "alice", ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "otp"}, AuthTime: time.Now()})

			const path = "/accounts/42/transfers"
			steps := []struct {
				name, token string
				want        answer
			}{
				{"no token", "", answer{401, `Bearer realm="bank"`, "application/json", ""}},
				{"password login", password, answer{401, `Bearer realm="bank", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="` + claims.ACRMultiFactor + `"`, "application/json", ""}},
				{"multi-factor login", mfa, answer{200, "", "text/plain; charset=utf-8", "transfer from account 42 by alice"}},
			}
			for _, s := range steps {
				got := post(t, srv.URL+path, s.token)
				want := s.want
				if want.status != http.StatusOK {
					want.body = post(t, refSrv.URL+path, s.token).body
					if !strings.HasPrefix(want.body, "{") || s.token == password && !strings.Contains(want.body, `"error":"insufficient_user_authentication"`) {
						t.Fatalf("%s: the guard's own body %q is not its error body", s.name, want.body)
					}
				}
				if got != want {
					t.Errorf("%s:\n got %+v\nwant %+v", s.name, got, want)
				}
			}

			if len(e.labels) != len(steps) {
				t.Fatalf("decision labels %q: want one per request", e.labels)
			}
			for _, l := range e.labels {
				if l != rt.rule {
					t.Errorf("decision label: got %q, want %q", l, rt.rule)
				}
			}
			m := series(t, e.reg)
			for key, want := range map[string]float64{
				"stepup_http_allowed_total route=" + rt.rule:                                          1,
				"stepup_http_rejections_total code=insufficient_user_authentication route=" + rt.rule: 1,
				"stepup_http_rejections_total code=none route=" + rt.rule:                             1,
			} {
				if got := m[key]; got != want {
					t.Errorf("%s: got %v, want %v (series %v)", key, got, want, m)
				}
			}
			for key := range m {
				if strings.Contains(key, "unmatched") {
					t.Errorf("series %q: a request of the router is unlabelled", key)
				}
			}
			if want := `msg="httpmw: request allowed" method=POST route="` + rt.rule + `" status=200`; !strings.Contains(e.logs.String(), want) {
				t.Errorf("log:\n%s\nwant a line with %s", e.logs.String(), want)
			}
		})
	}
}
