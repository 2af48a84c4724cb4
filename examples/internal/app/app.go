package app

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/metrics"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// ShutdownTimeout bounds a graceful shutdown: requests and streams still
// running after it are cut.
const ShutdownTimeout = 10 * time.Second

// Config is what the example servers' common flags set.
type Config struct {
	Addr       string // -addr: listen address
	PolicyPath string // -policy: the policy file (required)
	Issuer     string // -issuer: replaces the policy's issuer (and drops its jwks_uri)
	Audience   string // -audience: replaces the policy's audience
	Realm      string // -realm: realm of the challenges
	Dev        bool   // -dev: in-process issuer (see NewDevIssuer)
	// NonceSecret is the secret of the DPoP nonces of a policy with a dpop
	// block and nonce: true, at least 32 random bytes shared by every
	// instance. ParseFlags reads it from the environment variable
	// NonceSecretEnv; with -dev and none, Open generates one.
	NonceSecret []byte
}

// NonceSecretEnv is the environment variable holding Config.NonceSecret:
// never a flag (command lines are visible to other users), never the
// policy file.
const NonceSecretEnv = "STEPUP_DPOP_NONCE_SECRET"

// RegisterFlags defines the common flags on fs, storing into c, with the
// given default listen address and realm.
func (c *Config) RegisterFlags(fs *flag.FlagSet, addr, realm string) {
	fs.StringVar(&c.Addr, "addr", addr, "listen `address` (host:port; port 0 picks a free one)")
	fs.StringVar(&c.PolicyPath, "policy", "", "policy `file` (YAML or JSON), required")
	fs.StringVar(&c.Issuer, "issuer", "", "replace the policy's issuer with this `URL`; keys are then discovered from it (the policy's jwks_uri is ignored)")
	fs.StringVar(&c.Audience, "audience", "", "replace the policy's audience with this `value`")
	fs.StringVar(&c.Realm, "realm", realm, "realm of the WWW-Authenticate challenges (empty for none)")
	fs.BoolVar(&c.Dev, "dev", false, "start an in-process test issuer on 127.0.0.1, use it instead of the policy's issuer and print ready-to-use tokens")
}

// ParseFlags parses args with the common flags (plus whatever the caller
// defined on fs) and checks them. Positional arguments are an error.
func (c *Config) ParseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	case c.PolicyPath == "":
		return errors.New("-policy is required")
	case c.Dev && c.Issuer != "":
		return errors.New("-dev and -issuer exclude each other: -dev uses its own issuer")
	}
	if s, ok := os.LookupEnv(NonceSecretEnv); ok {
		c.NonceSecret = []byte(s)
	}
	return nil
}

// App is the wiring the example servers share: the effective policy, its key
// source and verifier, a Prometheus registry, a logger and, with -dev, the
// in-process issuer. Close releases it.
type App struct {
	// Policy is the policy file with the -issuer, -audience and -dev
	// overrides applied. Read-only.
	Policy *policy.Policy
	// Verifier checks tokens against Policy.VerifyConfig and the keys.
	Verifier *verify.Verifier
	// Registry is the Prometheus registry /metrics serves: Go and process
	// collectors and the stepup collectors of Metrics.
	Registry *prometheus.Registry
	// Metrics feeds Registry from the key source, the verifier, the guard
	// and the interceptors.
	Metrics *metrics.Metrics
	// DPoP checks DPoP proofs (RFC 9449) when the policy has a dpop block,
	// nil otherwise; GuardOptions and GRPCOptions pass it on.
	DPoP *dpop.Verifier
	// Certs reads client certificates from the policy's mtls block (the
	// TLS connection and the trusted proxies' Client-Cert header), nil
	// without one: the middleware then reads the TLS connection only.
	Certs *mtls.Source
	// Introspector asks the authorization server about opaque access
	// tokens (RFC 7662) when the policy has an introspection block, nil
	// otherwise; the Verifier sends such tokens to it.
	Introspector *introspect.Client
	// Dev is the in-process issuer with -dev, nil otherwise.
	Dev *stepuptest.Issuer
	// DevKey is, with -dev and a dpop block, the DPoP client key that
	// DevDPoP binds a token to; nil otherwise.
	DevKey *stepuptest.DPoPKey
	// Log receives the refusals (with their internal causes, which never
	// reach a client) and the servers' events.
	Log *slog.Logger

	realm  string
	keys   *jwks.Remote
	nonces *dpop.Nonces // the DPoP verifier's, nil without nonce: true
	// devIntro is, with -dev and an introspection block, the dev
	// introspection endpoint Introspector asks; nil otherwise.
	devIntro *devIntrospection
}

// Open loads the policy, applies the overrides of c, starts the dev issuer
// when asked, builds the key source (the policy's jwks_uri, else OpenID
// Connect / RFC 8414 discovery on the issuer), the introspection client of
// an introspection block and the verifier, then the DPoP verifier of a
// dpop block and the certificate source of an mtls block. It fails fast: a
// policy error, an issuer that cannot be reached, a JWKS that cannot be
// fetched at start-up, a missing nonce or client secret, or an
// introspection endpoint that cannot be reached or refuses our client
// credentials is an error, not a server answering 503.
func Open(ctx context.Context, c Config, log *slog.Logger) (_ *App, err error) {
	p, err := policy.Load(c.PolicyPath)
	if err != nil {
		return nil, err
	}
	eff := *p
	if c.Audience != "" {
		eff.Audience = c.Audience
	}
	if c.Issuer != "" {
		eff.Issuer, eff.JWKSURI = c.Issuer, ""
	}
	a := &App{Policy: &eff, Log: log, realm: c.Realm}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if c.Dev {
		a.Dev, err = NewDevIssuer(eff.Audience, DevOptions(&eff)...)
		if err != nil {
			return nil, fmt.Errorf("dev issuer: %w", err)
		}
		eff.Issuer, eff.JWKSURI = a.Dev.Issuer(), ""
	}
	if a.Registry, err = NewRegistry(); err != nil {
		return nil, err
	}
	if a.Metrics, err = metrics.New(a.Registry, metrics.WithLogger(log)); err != nil {
		return nil, err
	}
	obs, err := a.Metrics.JWKSObserver(eff.Issuer)
	if err != nil {
		return nil, err
	}
	observe := jwks.WithObserver(obs)
	if eff.JWKSURI != "" {
		if a.keys, err = jwks.NewRemote(eff.JWKSURI, observe); err != nil {
			return nil, err
		}
		if err = a.keys.Refresh(ctx); err != nil {
			return nil, fmt.Errorf("fetching %s: %w", eff.JWKSURI, err)
		}
	} else if a.keys, err = jwks.Discover(ctx, eff.Issuer, observe); err != nil {
		return nil, fmt.Errorf("discovering the keys of %s: %w", eff.Issuer, err)
	}
	cfg := eff.VerifyConfig()
	cfg.Observer = a.Metrics.VerifyObserver()
	if eff.Introspection != nil {
		if a.Introspector, err = a.openIntrospection(ctx, c); err != nil {
			return nil, err
		}
		cfg.Introspector = a.Introspector
	}
	if a.Verifier, err = verify.New(a.keys, cfg); err != nil {
		return nil, err
	}
	if err = a.openSenderConstraints(c); err != nil {
		return nil, err
	}
	return a, nil
}

// openSenderConstraints builds the DPoP verifier of the policy's dpop
// block (with the nonce secret of c, or with -dev a random one) and the
// certificate source of its mtls block, and with -dev the DPoP client key.
func (a *App) openSenderConstraints(c Config) error {
	p := a.Policy
	if p.MTLS != nil {
		var err error
		if a.Certs, err = mtls.New(p.MTLSConfig()); err != nil {
			return err
		}
	}
	if p.DPoP == nil {
		return nil
	}
	secret := c.NonceSecret
	if p.DPoP.Nonce && len(secret) == 0 {
		if !c.Dev {
			return fmt.Errorf("%s: dpop nonce: true needs a nonce secret in $%s (at least 32 random bytes, the same on every instance)", c.PolicyPath, NonceSecretEnv)
		}
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	cfg, err := p.DPoPConfig(secret)
	if err != nil {
		return fmt.Errorf("$%s: %w", NonceSecretEnv, err)
	}
	if a.DPoP, err = dpop.New(cfg); err != nil {
		return err
	}
	a.nonces = cfg.Nonces
	if c.Dev {
		if a.DevKey, err = stepuptest.NewDPoPKey(devDPoPAlgorithm(p.DPoP.Algorithms)); err != nil {
			return fmt.Errorf("dev DPoP key: %w", err)
		}
	}
	return nil
}

// openIntrospection builds the client of the policy's introspection block
// (introspect.New, or introspect.Discover with discover: true) with the
// secret from the environment variable the block names, and checks at
// start-up that the endpoint answers and accepts the credentials. With
// -dev it starts the dev introspection endpoint instead, with a secret of
// its own, since the dev issuer serves none.
func (a *App) openIntrospection(ctx context.Context, c Config) (*introspect.Client, error) {
	p, in := a.Policy, a.Policy.Introspection
	getenv := os.Getenv
	if c.Dev {
		d, err := newDevIntrospection(in.ClientID, in.Auth == "client_secret_post")
		if err != nil {
			return nil, fmt.Errorf("dev introspection endpoint: %w", err)
		}
		a.devIntro = d
		getenv = func(name string) string {
			if name == in.ClientSecretEnv {
				return d.secret
			}
			return os.Getenv(name)
		}
	}
	cfg, err := p.IntrospectConfig(getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.PolicyPath, err)
	}
	where := cfg.Endpoint
	var client *introspect.Client
	switch {
	case a.devIntro != nil:
		cfg.Endpoint, where = a.devIntro.url, a.devIntro.url
		client, err = introspect.New(cfg)
	case in.Discover:
		where = "of " + p.Issuer + " (discovered)"
		client, err = introspect.Discover(ctx, p.Issuer, cfg)
	default:
		client, err = introspect.New(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	if err := client.Check(ctx); err != nil {
		if errors.Is(err, introspect.ErrClientAuth) {
			return nil, fmt.Errorf("introspection endpoint %s refused client_id %q with the secret in $%s (%s); fix the credentials: %w",
				where, in.ClientID, in.ClientSecretEnv, in.Auth, err)
		}
		return nil, fmt.Errorf("introspection endpoint %s: %w", where, err)
	}
	return client, nil
}

// Close stops the key source, the dev issuer and the dev introspection
// endpoint.
func (a *App) Close() {
	if a.keys != nil {
		_ = a.keys.Close()
	}
	if a.devIntro != nil {
		a.devIntro.Close()
	}
	if a.Dev != nil {
		a.Dev.Close()
	}
}

// NewRegistry returns a fresh Prometheus registry with the Go runtime and
// process collectors.
func NewRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// MetricsHandler serves the registry in the Prometheus exposition format.
func (a *App) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{})
}

// GuardOptions are the httpmw options the policy and flags ask for: realm,
// resource_metadata, DPoP (the dpop block), client certificates (the mtls
// block), the metrics and a decision hook that logs every refusal.
func (a *App) GuardOptions() []httpmw.Option {
	opts := []httpmw.Option{httpmw.WithDecisionHook(a.Metrics.HTTPDecisionHook())}
	if a.realm != "" {
		opts = append(opts, httpmw.WithRealm(a.realm))
	}
	if a.Policy.ResourceMetadata != "" {
		opts = append(opts, httpmw.WithResourceMetadata(a.Policy.ResourceMetadata))
	}
	if a.DPoP != nil {
		opts = append(opts, httpmw.WithDPoP(a.DPoP, a.Policy.DPoP.PublicURL))
	}
	if a.Certs != nil {
		opts = append(opts, httpmw.WithClientCertificates(a.Certs))
	}
	return append(opts, httpmw.WithDecisionHook(func(r *http.Request, err error) {
		if err != nil {
			a.Log.Info("refused", "method", r.Method, "route", r.Pattern, "err", err)
		}
	}))
}

// GRPCOptions are the grpcmw counterpart of GuardOptions.
func (a *App) GRPCOptions() []grpcmw.Option {
	opts := []grpcmw.Option{grpcmw.WithDecisionHook(a.Metrics.GRPCDecisionHook())}
	if a.realm != "" {
		opts = append(opts, grpcmw.WithRealm(a.realm))
	}
	if a.Policy.ResourceMetadata != "" {
		opts = append(opts, grpcmw.WithResourceMetadata(a.Policy.ResourceMetadata))
	}
	if a.DPoP != nil {
		opts = append(opts, grpcmw.WithDPoP(a.DPoP, a.Policy.DPoP.PublicURL))
	}
	if a.Certs != nil {
		opts = append(opts, grpcmw.WithClientCertificates(a.Certs))
	}
	return append(opts, grpcmw.WithDecisionHook(func(_ context.Context, rule string, err error) {
		// The governing rule, never a method name the client made up.
		if err != nil {
			a.Log.Info("refused", "rule", rule, "err", err)
		}
	}))
}

// HTTPRoutes returns an httpmw route table entry per http rule of the
// policy, served by handler(rule).
func (a *App) HTTPRoutes(handler func(policy.Rule) http.Handler) []httpmw.Route {
	rules := a.Policy.HTTPRules()
	routes := make([]httpmw.Route, 0, len(rules))
	for _, r := range rules {
		routes = append(routes, httpmw.Route{
			Pattern:     r.HTTP,
			Public:      r.Public,
			Requirement: r.Requirement,
			Handler:     handler(r),
		})
	}
	return routes
}

// MetadataRoute returns a public route serving the RFC 9728 protected
// resource metadata of the policy's audience at its well-known path
// (httpmw.MetadataPath), naming the policy's issuer as authorization server
// and the scopes its rules use. ok is false, with the reason in err, when
// the audience is not a resource identifier (an https URL, or http on
// loopback): such an API has no RFC 9728 document.
func (a *App) MetadataRoute() (r httpmw.Route, ok bool, err error) {
	p := a.Policy
	path, err := httpmw.MetadataPath(p.Audience)
	if err != nil {
		return httpmw.Route{}, false, err
	}
	h, err := httpmw.MetadataHandler(httpmw.ResourceMetadata{
		Resource:               p.Audience,
		AuthorizationServers:   []string{p.Issuer},
		ScopesSupported:        Scopes(p),
		BearerMethodsSupported: []string{"header"},
		ResourceName:           "stepup example API",
	})
	if err != nil {
		return httpmw.Route{}, false, err
	}
	return httpmw.Route{Pattern: "GET " + path, Public: true, Handler: h}, true, nil
}

// Methods returns the grpcmw method table of the policy's grpc rules plus
// extra (rules the program adds in code, such as public reflection). A rule
// of extra that repeats a policy method is an error.
func (a *App) Methods(extra ...grpcmw.Rule) (*grpcmw.Methods, error) {
	rules := a.Policy.GRPCRules()
	all := make([]grpcmw.Rule, 0, len(rules)+len(extra))
	for _, r := range rules {
		all = append(all, grpcmw.Rule{Method: r.GRPC, Public: r.Public, Requirement: r.Requirement})
	}
	return grpcmw.NewMethods(append(all, extra...)...)
}

// Scopes returns every scope the policy's rules require, in rule order,
// without repeats.
func Scopes(p *policy.Policy) []string {
	var out []string
	seen := map[string]bool{}
	var add func(r claims.Requirement)
	add = func(r claims.Requirement) {
		for _, s := range r.Scopes {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		for _, b := range r.AnyOf {
			add(b)
		}
	}
	for _, r := range p.Rules {
		add(r.Requirement)
	}
	return out
}

// ServeHTTP serves h on lis until ctx is done, then shuts the server down
// gracefully (at most ShutdownTimeout) and returns nil. A server that fails
// earlier returns its error.
func ServeHTTP(ctx context.Context, lis net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		_ = srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// ServeGRPC serves srv on lis until ctx is done, then stops it gracefully:
// calls in flight may finish for ShutdownTimeout, after which they are cut.
// It returns nil after a shutdown asked by ctx, or the server's error.
func ServeGRPC(ctx context.Context, lis net.Listener, srv *grpc.Server) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(ShutdownTimeout)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		srv.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}
