package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAuthz measures one allowed check of POST /transfer (multi-factor
// acr, max_age) with an ES256 token, reused (a token-cache hit) or seen for
// the first time (a full verification), through the in-process middleware
// (httpmw.Mux, the baseline), Envoy ext_authz over gRPC and forward auth over
// HTTP, both on loopback with the client in the same process. Each
// sub-benchmark reports checks/cpu-s, checks per second of process CPU
// time (client and server together: per core, since a core gives one CPU
// second per second), and the transports cpu-x-inproc, their CPU per check
// over the in-process one of the same token kind, from the same run.
func BenchmarkAuthz(b *testing.B) {
	iss, err := stepuptest.NewIssuer()
	if err != nil {
		b.Fatal(err)
	}
	defer iss.Close()
	e := startAuthz(b, iss, func(c *authzConfig) {})
	mint := func() string {
		s, err := iss.Mint(stepuptest.Token{Subject: "alice", ACR: claims.ACRMultiFactor, AMR: []string{"pwd", "otp"}, AuthTime: time.Now(), Algorithm: "ES256"})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	mux := inProcessMux(b, iss)
	client := authv3.NewAuthorizationClient(dialAuthz(b, e.addrs.grpc))
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	checks := map[string]func(tok string) bool{
		"inproc": func(tok string) bool {
			r := httptest.NewRequest("POST", "http://api.example.com/transfer", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, r)
			return w.Code == 200
		},
		"grpc": func(tok string) bool {
			resp, err := client.Check(context.Background(), checkRequest("POST", "/transfer", tok, nil))
			return err == nil && codes.Code(resp.GetStatus().GetCode()) == codes.OK
		},
		"http": func(tok string) bool {
			req, _ := http.NewRequest("GET", "http://"+e.addrs.http+"/auth", nil)
			req.Header.Set("X-Forwarded-Method", "POST")
			req.Header.Set("X-Forwarded-Uri", "/transfer")
			req.Header.Set("X-Forwarded-Host", "api.example.com")
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := httpClient.Do(req)
			if err != nil {
				return false
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return resp.StatusCode == 200
		},
	}
	baseline := map[string]float64{} // CPU ns per check in process, by token kind
	for _, kind := range []string{"reused", "first-sight"} {
		for _, via := range []string{"inproc", "grpc", "http"} {
			check := checks[via]
			b.Run(via+"/"+kind, func(b *testing.B) {
				var tokens []string
				if kind == "reused" {
					tokens = []string{mint()}
					check(tokens[0])
					check(tokens[0]) // admitted on second sight: hits from now on
				} else {
					tokens = make([]string, b.N+64)
					for i := range tokens {
						tokens[i] = mint()
					}
				}
				var next, failed atomic.Int64
				b.ReportAllocs()
				cpu0 := cpuTime()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						tok := tokens[0]
						if len(tokens) > 1 {
							tok = tokens[next.Add(1)%int64(len(tokens))]
						}
						if !check(tok) {
							failed.Add(1)
						}
					}
				})
				b.StopTimer()
				cpu := float64(cpuTime()-cpu0) / float64(b.N)
				if failed.Load() > 0 {
					b.Fatalf("%d checks refused", failed.Load())
				}
				if cpu > 0 {
					b.ReportMetric(1e9/cpu, "checks/cpu-s")
				}
				if via == "inproc" {
					baseline[kind] = cpu
				} else if base := baseline[kind]; base > 0 {
					b.ReportMetric(cpu/base, "cpu-x-inproc")
				}
			})
		}
	}
}

// inProcessMux is the baseline: the policy's httpmw.Mux with the same
// policy as stepup authz, its handlers doing nothing.
func inProcessMux(b *testing.B, iss *stepuptest.Issuer) http.Handler {
	path := filepath.Join(b.TempDir(), "policy.yaml")
	writePolicy(b, path, iss, authzPolicy)
	p, err := policy.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	keys, err := jwks.NewRemote(p.JWKSURI)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = keys.Close() })
	v, err := verify.New(keys, p.VerifyConfig())
	if err != nil {
		b.Fatal(err)
	}
	guard, err := httpmw.New(v, httpmw.WithRealm("api"))
	if err != nil {
		b.Fatal(err)
	}
	var routes []httpmw.Route
	for _, r := range p.HTTPRules() {
		routes = append(routes, httpmw.Route{Pattern: r.HTTP, Public: r.Public, Requirement: r.Requirement, Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})})
	}
	mux, err := guard.Mux(routes)
	if err != nil {
		b.Fatal(err)
	}
	return mux
}
