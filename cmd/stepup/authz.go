package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/gateway"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/metrics"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/redisstore"
	"github.com/stepupauth/stepup/verify"
)

// Environment variables of stepup authz: secrets are never flags (command
// lines are visible to other users) nor in the policy file.
const (
	envNonceSecret   = "STEPUP_DPOP_NONCE_SECRET" // DPoP nonce secret, at least 32 random bytes, the same on every replica
	envRedisPassword = "STEPUP_REDIS_PASSWORD"    // password of -dpop-redis
)

// authzConfig is what the flags of stepup authz set.
type authzConfig struct {
	policyPath      string
	httpAddr        string
	grpcAddr        string
	trusted         []netip.Prefix
	realm           string
	headers         gateway.Headers
	allowUnlisted   []string
	redisAddr       string
	shutdownTimeout time.Duration
	startTimeout    time.Duration
}

func parseAuthzFlags(args []string, stderr io.Writer) (*authzConfig, error) {
	fs := flag.NewFlagSet("stepup authz", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &authzConfig{}
	var trusted, unlisted string
	fs.StringVar(&c.policyPath, "policy", "", "policy `file` (YAML or JSON), required")
	fs.StringVar(&c.httpAddr, "http", "", "forward-auth, /healthz, /readyz and /metrics listen `address` (host:port)")
	fs.StringVar(&c.grpcAddr, "grpc", "", "Envoy ext_authz v3 gRPC listen `address` (host:port)")
	fs.StringVar(&trusted, "trusted-proxies", "", "comma-separated `CIDRs` of the proxies whose X-Forwarded-* / X-Original-* headers describe the client's request")
	fs.StringVar(&c.realm, "realm", "", "`realm` of the WWW-Authenticate challenges (empty for none)")
	fs.StringVar(&c.headers.Subject, "header-subject", gateway.DefaultHeaders().Subject, "identity header `name` for sub")
	fs.StringVar(&c.headers.ACR, "header-acr", gateway.DefaultHeaders().ACR, "identity header `name` for acr")
	fs.StringVar(&c.headers.AMR, "header-amr", gateway.DefaultHeaders().AMR, "identity header `name` for amr (space-separated)")
	fs.StringVar(&c.headers.ClientID, "header-client-id", gateway.DefaultHeaders().ClientID, "identity header `name` for client_id")
	fs.StringVar(&unlisted, "allow-unlisted", "", "comma-separated `hosts` whose requests that no rule takes pass to the upstream (default: refused with 403)")
	fs.StringVar(&c.redisAddr, "dpop-redis", "", "Redis `address` (host:port) of the DPoP replay store shared by every replica; password in $"+envRedisPassword+" (default: in memory, one replica)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long in-flight checks get on SIGTERM or SIGINT")
	fs.DurationVar(&c.startTimeout, "start-timeout", 10*time.Second, "how long the first key fetch, discovery and the introspection check may take")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	case c.policyPath == "":
		return nil, errors.New("-policy is required")
	case c.httpAddr == "" && c.grpcAddr == "":
		return nil, errors.New("give -http (forward auth), -grpc (Envoy ext_authz) or both")
	}
	var err error
	if c.trusted, err = gateway.ParseTrustedProxies(trusted); err != nil {
		return nil, err
	}
	if c.httpAddr != "" && len(c.trusted) == 0 {
		return nil, errors.New("-http needs -trusted-proxies: the CIDRs of the proxies that call it (127.0.0.1/32 for one on this host); requests from other addresses are decided as received")
	}
	for _, h := range strings.Split(unlisted, ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.allowUnlisted = append(c.allowUnlisted, h)
		}
	}
	return c, nil
}

// authz is the authz subcommand: it serves until SIGINT or SIGTERM and
// reloads the policy on SIGHUP.
func authz(args []string, stdout, stderr io.Writer) int {
	c, err := parseAuthzFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "stepup authz:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := serveAuthz(ctx, c, log, hup, nil); err != nil {
		fmt.Fprintln(stderr, "stepup authz:", err)
		return exitRefused
	}
	return exitOK
}

// addrs are the listening addresses, for ready.
type addrs struct{ http, grpc string }

// serveAuthz loads the policy, listens and serves until ctx is done, then
// shuts down gracefully. A value on hup reloads the policy. ready, when not
// nil, is called once both listeners accept.
func serveAuthz(ctx context.Context, c *authzConfig, log *slog.Logger, hup <-chan os.Signal, ready func(addrs)) error {
	base := prometheus.NewRegistry()
	if err := base.Register(collectors.NewGoCollector()); err != nil {
		return err
	}
	if err := base.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return err
	}
	s := &server{cfg: c, log: log, base: base}
	if c.redisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: c.redisAddr, Password: os.Getenv(envRedisPassword)})
		defer rdb.Close()
		st, err := redisstore.New(rdb, "stepup:dpop:")
		if err != nil {
			return err
		}
		s.replay = st
	} else {
		s.replay = dpop.NewMemoryStore(0)
	}
	startCtx, cancel := context.WithTimeout(ctx, c.startTimeout)
	g, err := s.load(startCtx, true)
	cancel()
	if err != nil {
		return err
	}
	s.cur.Store(g)
	defer func() { s.cur.Load().retire() }()

	var httpSrv *http.Server
	var grpcSrv *grpc.Server
	var hl, gl net.Listener
	var a addrs
	if c.httpAddr != "" {
		if hl, err = net.Listen("tcp", c.httpAddr); err != nil {
			return err
		}
		a.http = hl.Addr().String()
		httpSrv = &http.Server{Handler: s.httpHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	}
	if c.grpcAddr != "" {
		if gl, err = net.Listen("tcp", c.grpcAddr); err != nil {
			if hl != nil {
				_ = hl.Close()
			}
			return err
		}
		a.grpc = gl.Addr().String()
		grpcSrv = grpc.NewServer()
		authv3.RegisterAuthorizationServer(grpcSrv, &extAuthz{s: s})
		s.health = health.NewServer()
		healthpb.RegisterHealthServer(grpcSrv, s.health)
		s.setHealth()
	}
	errc := make(chan error, 2)
	if httpSrv != nil {
		go func() { errc <- httpSrv.Serve(hl) }()
	}
	if grpcSrv != nil {
		go func() { errc <- grpcSrv.Serve(gl) }()
	}
	log.Info("serving", "policy", c.policyPath, "http", a.http, "grpc", a.grpc, "issuer", g.policy.Issuer, "rules", len(g.policy.HTTPRules()))
	if ready != nil {
		ready(a)
	}
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			serveErr = err
			break loop
		case <-hup:
			s.reload(ctx)
		}
	}
	s.draining.Store(true)
	if s.health != nil {
		s.health.Shutdown()
	}
	log.Info("shutting down", "timeout", c.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), c.shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	if httpSrv != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := httpSrv.Shutdown(sctx); err != nil {
				_ = httpSrv.Close()
			}
		}()
	}
	if grpcSrv != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			done := make(chan struct{})
			go func() { grpcSrv.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-sctx.Done():
				grpcSrv.Stop()
				<-done
			}
		}()
	}
	wg.Wait()
	log.Info("stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) && !errors.Is(serveErr, grpc.ErrServerStopped) {
		return serveErr
	}
	return nil
}

// server is the state of stepup authz: the current generation (policy,
// keys, gateway), swapped whole on reload.
type server struct {
	cfg      *authzConfig
	log      *slog.Logger
	base     *prometheus.Registry
	replay   dpop.ReplayStore // shared by every generation: a reload does not forget proofs
	cur      atomic.Pointer[generation]
	health   *health.Server
	draining atomic.Bool
	reloads  sync.Mutex
}

// generation is what one load of the policy file builds.
type generation struct {
	policy *policy.Policy
	keys   *jwks.Remote
	gw     *gateway.Gateway
	fa     http.Handler // gw.ForwardAuth
	reg    *prometheus.Registry

	mu      sync.RWMutex // held for reading by each check, for writing by retire
	retired bool
}

// acquire returns the current generation, held for one check: release it
// with g.mu.RUnlock. It returns nil once the server has stopped (a
// handler still running after a shutdown timed out).
func (s *server) acquire() *generation {
	for {
		g := s.cur.Load()
		g.mu.RLock()
		if !g.retired {
			return g
		}
		g.mu.RUnlock()
		if s.cur.Load() == g {
			return nil
		}
	}
}

// stopped answers a request that arrives after the server stopped.
func stopped(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	plain(w, false, "", "shutting down\n")
}

// retire waits for the checks using g, then closes its key source.
func (g *generation) retire() {
	g.mu.Lock()
	g.retired = true
	g.mu.Unlock()
	if g.keys != nil {
		_ = g.keys.Close()
	}
}

// keysLoaded reports whether g has a key set.
func (g *generation) keysLoaded() bool { return g.keys != nil && g.keys.Set() != nil }

// load builds a generation from the policy file. At start-up (first), a
// key fetch that fails is logged and the server starts without keys
// (checks answer 503 and /healthz fails until a fetch succeeds); on reload
// it is an error, so that the old generation, with its keys, stays.
func (s *server) load(ctx context.Context, first bool) (_ *generation, err error) {
	p, err := policy.Load(s.cfg.policyPath)
	if err != nil {
		return nil, err
	}
	g := &generation{policy: p, reg: prometheus.NewRegistry()}
	defer func() {
		if err != nil && g.keys != nil {
			_ = g.keys.Close()
		}
	}()
	m, err := metrics.New(g.reg, metrics.WithLogger(s.log))
	if err != nil {
		return nil, err
	}
	obs, err := m.JWKSObserver(p.Issuer)
	if err != nil {
		return nil, err
	}
	if p.JWKSURI != "" {
		if g.keys, err = jwks.NewRemote(p.JWKSURI, jwks.WithObserver(obs)); err != nil {
			return nil, err
		}
		if err := g.keys.Refresh(ctx); err != nil {
			if !first {
				return nil, fmt.Errorf("fetching %s: %w", p.JWKSURI, err)
			}
			s.log.Warn("keys not loaded: checks answer 503 until a fetch succeeds", "jwks_uri", p.JWKSURI, "err", err)
		}
	} else if g.keys, err = jwks.Discover(ctx, p.Issuer, jwks.WithObserver(obs)); err != nil {
		return nil, fmt.Errorf("discovering the keys of %s (set jwks_uri to start without discovery): %w", p.Issuer, err)
	}
	vcfg := p.VerifyConfig()
	vcfg.Observer = m.VerifyObserver()
	if p.Introspection != nil {
		icfg, err := p.IntrospectConfig(os.Getenv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.cfg.policyPath, err)
		}
		var client *introspect.Client
		if p.Introspection.Discover {
			client, err = introspect.Discover(ctx, p.Issuer, icfg)
		} else {
			client, err = introspect.New(icfg)
		}
		if err != nil {
			return nil, fmt.Errorf("introspection: %w", err)
		}
		if err := client.Check(ctx); err != nil {
			return nil, fmt.Errorf("introspection endpoint: %w", err)
		}
		vcfg.Introspector = client
	}
	v, err := verify.New(g.keys, vcfg)
	if err != nil {
		return nil, err
	}
	opts := []httpmw.Option{httpmw.WithDecisionHook(m.HTTPDecisionHook()), httpmw.WithDecisionHook(s.logDecision)}
	if s.cfg.realm != "" {
		opts = append(opts, httpmw.WithRealm(s.cfg.realm))
	}
	if p.ResourceMetadata != "" {
		opts = append(opts, httpmw.WithResourceMetadata(p.ResourceMetadata))
	}
	if p.DPoP != nil {
		var secret []byte
		if v, ok := os.LookupEnv(envNonceSecret); ok {
			secret = []byte(v)
		}
		if p.DPoP.Nonce && len(secret) == 0 {
			return nil, fmt.Errorf("%s: dpop nonce: true needs a nonce secret in $%s (at least 32 random bytes, the same on every replica)", s.cfg.policyPath, envNonceSecret)
		}
		dcfg, err := p.DPoPConfig(secret)
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", envNonceSecret, err)
		}
		dcfg.Replay = s.replay
		proofs, err := dpop.New(dcfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, httpmw.WithDPoP(proofs, p.DPoP.PublicURL))
	}
	if p.MTLS != nil {
		certs, err := mtls.New(p.MTLSConfig())
		if err != nil {
			return nil, err
		}
		opts = append(opts, httpmw.WithClientCertificates(certs))
	}
	guard, err := httpmw.New(v, opts...)
	if err != nil {
		return nil, err
	}
	if g.gw, err = gateway.New(guard, p.HTTPRules(), gateway.Config{Headers: s.cfg.headers, AllowUnlisted: s.cfg.allowUnlisted}); err != nil {
		return nil, err
	}
	g.fa = g.gw.ForwardAuth(s.cfg.trusted)
	return g, nil
}

// logDecision logs each refusal with its rule and internal cause (never a
// token or claim value: the library's errors hold none).
func (s *server) logDecision(r *http.Request, err error) {
	if err != nil {
		s.log.Info("refused", "method", r.Method, "rule", r.Pattern, "err", err)
	}
}

// reload loads the policy file again and swaps it in; a file that does not
// load keeps the current generation, and the log says why.
func (s *server) reload(ctx context.Context) {
	s.reloads.Lock()
	defer s.reloads.Unlock()
	lctx, cancel := context.WithTimeout(ctx, s.cfg.startTimeout)
	g, err := s.load(lctx, false)
	cancel()
	if err != nil {
		s.log.Error("reload failed: keeping the policy in force", "policy", s.cfg.policyPath, "err", err)
		return
	}
	old := s.cur.Swap(g)
	old.retire()
	s.setHealth()
	s.log.Info("reloaded", "policy", s.cfg.policyPath, "issuer", g.policy.Issuer, "rules", len(g.policy.HTTPRules()))
}

// setHealth sets the gRPC health status from the current generation.
func (s *server) setHealth() {
	if s.health == nil {
		return
	}
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if s.cur.Load().keysLoaded() {
		st = healthpb.HealthCheckResponse_SERVING
	}
	s.health.SetServingStatus("", st)
	s.health.SetServingStatus(authv3.Authorization_ServiceDesc.ServiceName, st)
}

// httpHandler serves /healthz, /readyz and /metrics, and forward auth on
// every other path.
func (s *server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.held(func(w http.ResponseWriter, r *http.Request, g *generation) {
		s.setHealth()
		plain(w, g.keysLoaded(), "ok\n", "keys not loaded\n")
	}))
	mux.HandleFunc("GET /readyz", s.held(func(w http.ResponseWriter, r *http.Request, g *generation) {
		if s.draining.Load() {
			plain(w, false, "", "shutting down\n")
			return
		}
		plain(w, g.keysLoaded(), "ok\n", "keys not loaded\n")
	}))
	mux.HandleFunc("GET /metrics", s.held(func(w http.ResponseWriter, r *http.Request, g *generation) {
		promhttp.HandlerFor(prometheus.Gatherers{s.base, g.reg}, promhttp.HandlerOpts{}).ServeHTTP(w, r)
	}))
	mux.HandleFunc("/", s.held(func(w http.ResponseWriter, r *http.Request, g *generation) {
		g.fa.ServeHTTP(w, r)
	}))
	return mux
}

// held returns a handler that serves h with the current generation held
// (its read lock taken for the whole call, so a reload cannot retire it
// meanwhile), or answers stopped once the server has stopped.
func (s *server) held(h func(w http.ResponseWriter, r *http.Request, g *generation)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g := s.acquire()
		if g == nil {
			stopped(w)
			return
		}
		defer g.mu.RUnlock()
		h(w, r, g)
	}
}

func plain(w http.ResponseWriter, ok bool, yes, no string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, no)
		return
	}
	_, _ = io.WriteString(w, yes)
}
