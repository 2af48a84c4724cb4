// Command grpcapi serves the example banking gRPC API (package bankpb) with
// the gRPC rules of a stepup policy file enforced.
//
//	go run ./examples/grpcapi -addr 127.0.0.1:9090 -policy examples/policies/demo.yaml -dev
//
// The services, on an in-memory ledger with the accounts alice-checking,
// alice-savings and bob-checking:
//
//	bank.v1.Bank/GetBalance         unary
//	bank.v1.Bank/Transfer           unary
//	bank.v1.Bank/WatchTransactions  server streaming
//	bank.v1.Bank/UploadTransfers    client streaming
//	bank.v1.Bank/TransferSession    bidirectional streaming
//	bank.v1.Admin/FreezeAccount     unary
//
// Every call goes through grpcmw's unary or stream server interceptor with
// the method table built from the policy's grpc rules: a method the policy
// does not list is denied with PermissionDenied (fail closed), a refused call
// gets Unauthenticated or PermissionDenied with the challenge in the
// www-authenticate header metadata, the status message and
// google.rpc.ErrorInfo details (see package grpcmw), and the handlers read the
// verified caller with claims.FromContext.
//
// Server reflection (grpc.reflection.v1 and v1alpha) is on, so that grpcurl
// and similar tools can list and call the services without the .proto file.
// The program adds the reflection services to the method table as public
// methods, in code: the policy describes the API, reflection is the
// program's. A policy that lists them itself is an error (duplicate method).
// A grpc rule naming a service (or a method of a service) this server does
// not serve is accepted, since a policy file may describe several servers,
// but logged as a warning at start-up: often it is a typo.
// Reflection reveals the API's shape, never its data; drop it in production
// if the shape is private.
//
// Keys come from the policy's jwks_uri, or else from OpenID Connect discovery
// on its issuer, and are fetched at start-up. Refusals are logged to stderr
// with their internal cause. SIGINT or SIGTERM stops the server gracefully:
// calls in flight get ShutdownTimeout to finish.
//
// Flags:
//
//	-addr ADDR           listen address (default 127.0.0.1:9090)
//	-policy FILE         policy file, YAML or JSON (required)
//	-issuer URL          replace the policy's issuer; keys are discovered from it
//	-audience AUD        replace the policy's audience
//	-realm REALM         realm of the challenges (default "stepup-example")
//	-metrics-addr ADDR   also serve Prometheus metrics at http://ADDR/metrics
//	                     (default empty: off)
//	-dev                 start an in-process test issuer (package stepuptest)
//	                     and use it instead of the policy's issuer; print
//	                     tokens at each acr level and a grpcurl command per
//	                     method; with a dpop block also a DPoP-bound token,
//	                     its key (a private JWK) and ready proofs
//
// A policy's dpop block turns on DPoP (grpcmw.WithDPoP with its
// public_url: a proof's htm is POST, its htu public_url plus the full
// method), its mtls block the trusted proxies' client-cert metadata
// (grpcmw.WithClientCertificates). With nonce: true the nonce secret comes
// from the environment, STEPUP_DPOP_NONCE_SECRET (at least 32 random bytes;
// -dev makes one up).
//
// A policy's introspection block (examples/policies/introspection.yaml)
// accepts opaque access tokens by asking the authorization server (RFC
// 7662): the client secret comes from the environment variable the block
// names, and a start-up check (introspect.Client.Check) stops the program
// when the endpoint cannot be reached or refuses the credentials. With
// -dev the program serves a small introspection endpoint of its own on
// 127.0.0.1 instead (a dev fixture) and prints an opaque token,
// OPAQUE_TOKEN, beside the JWTs.
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
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/policy"
)

// reflectionRules make server reflection reachable without a token.
var reflectionRules = []grpcmw.Rule{
	{Method: "/grpc.reflection.v1.ServerReflection/*", Public: true},
	{Method: "/grpc.reflection.v1alpha.ServerReflection/*", Public: true},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "grpcapi:", err)
		os.Exit(1)
	}
}

// run is the program: it parses args, serves until ctx is done and returns
// nil after a clean shutdown. ready, when not nil, is called once calls can
// be served, with the gRPC listening address and the metrics one ("" without
// -metrics-addr).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr, metricsAddr string)) error {
	fs := flag.NewFlagSet("grpcapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg app.Config
	cfg.RegisterFlags(fs, "127.0.0.1:9090", "stepup-example")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://`ADDR`/metrics (empty: off)")
	if err := cfg.ParseFlags(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	srv, methods, err := newServer(a)
	if err != nil {
		return err
	}
	for _, w := range unserved(a.Policy, srv) {
		log.Warn("policy rule names a gRPC method this server does not serve", "rule", w.Index, "grpc", w.GRPC, "line", w.Line)
	}

	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	var mlis net.Listener
	if *metricsAddr != "" {
		if mlis, err = net.Listen("tcp", *metricsAddr); err != nil {
			_ = lis.Close()
			return err
		}
	}
	closeAll := func() {
		_ = lis.Close()
		if mlis != nil {
			_ = mlis.Close()
		}
	}
	addr := lis.Addr().String()

	fmt.Fprintf(stdout, "grpcapi: serving %s on %s (issuer %s, audience %s)\n",
		cfg.PolicyPath, addr, a.Policy.Issuer, a.Policy.Audience)
	for _, m := range serviceMethods(srv) {
		fmt.Fprintf(stdout, "  %-45s %s\n", m, describeMethod(methods, a.Policy, m))
	}
	maddr := ""
	if mlis != nil {
		maddr = mlis.Addr().String()
		fmt.Fprintf(stdout, "  metrics on http://%s/metrics\n", maddr)
	}
	if a.Dev != nil {
		scopes := app.Scopes(a.Policy)
		tokens, err := app.DevTokens(ctx, a.Dev, scopes)
		if err != nil {
			closeAll()
			return err
		}
		opaque, err := a.DevOpaqueToken(ctx, scopes)
		if err != nil {
			closeAll()
			return err
		}
		if opaque != nil {
			tokens = append(tokens, *opaque)
		}
		app.PrintDev(stdout, a.Dev, tokens, scopes)
		d, err := a.DevDPoP(scopes, dpopRequests(methods, serviceMethods(srv)))
		if err != nil {
			closeAll()
			return err
		}
		if d != nil {
			app.PrintDevDPoP(stdout, d)
		}
		printGRPCurl(stdout, addr, serviceMethods(srv), tokens, d)
	}
	if ready != nil {
		ready(addr, maddr)
	}

	// Both servers stop when ctx is done or when either fails.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	servers := 1
	go func() { errc <- app.ServeGRPC(sctx, lis, srv) }()
	if mlis != nil {
		servers++
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.MetricsHandler())
		go func() { errc <- app.ServeHTTP(sctx, mlis, mux, log) }()
	}
	var serveErr error
	for range servers {
		if err := <-errc; err != nil && serveErr == nil {
			serveErr = err
			cancel()
		}
	}
	log.Info("stopped")
	return serveErr
}

// newServer builds the gRPC server: the bank services, reflection and the
// stepup interceptors with the policy's method table plus reflectionRules.
func newServer(a *app.App) (*grpc.Server, *grpcmw.Methods, error) {
	methods, err := a.Methods(reflectionRules...)
	if err != nil {
		return nil, nil, err
	}
	interceptors, err := grpcmw.New(a.Verifier, methods, a.GRPCOptions()...)
	if err != nil {
		return nil, nil, err
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(interceptors.Unary()),
		grpc.ChainStreamInterceptor(interceptors.Stream()),
	)
	app.RegisterBank(srv, app.NewLedger())
	reflection.Register(srv)
	return srv, methods, nil
}

// unserved returns the policy's grpc rules that name a service srv does not
// register (GetServiceInfo), or a method such a service lacks: the method
// table accepts any well-formed name, so a typo or a rule meant for another
// server would otherwise go unnoticed.
func unserved(p *policy.Policy, srv *grpc.Server) []policy.Rule {
	info := srv.GetServiceInfo()
	var out []policy.Rule
	for _, r := range p.GRPCRules() {
		svc, method, _ := strings.Cut(strings.TrimPrefix(r.GRPC, "/"), "/")
		si, ok := info[svc]
		if ok && method != "*" {
			ok = slices.ContainsFunc(si.Methods, func(m grpc.MethodInfo) bool { return m.Name == method })
		}
		if !ok {
			out = append(out, r)
		}
	}
	return out
}

// serviceMethods returns the full method names srv serves, sorted, without
// the reflection services.
func serviceMethods(srv *grpc.Server) []string {
	var out []string
	for svc, info := range srv.GetServiceInfo() {
		if svc == "grpc.reflection.v1.ServerReflection" || svc == "grpc.reflection.v1alpha.ServerReflection" {
			continue
		}
		for _, m := range info.Methods {
			out = append(out, "/"+svc+"/"+m.Name)
		}
	}
	slices.Sort(out)
	return out
}

// describeMethod says what the method table demands of full method m.
func describeMethod(methods *grpcmw.Methods, p *policy.Policy, m string) string {
	r, ok := methods.Lookup(m)
	if !ok {
		return "denied: not in the policy"
	}
	return app.Describe(policy.Rule{GRPC: r.Method, Public: r.Public, Requirement: r.Requirement})
}

// sampleRequests are request bodies for the grpcurl commands of -dev.
var sampleRequests = map[string]string{
	bankpb.Bank_GetBalance_FullMethodName:        `{"account":"alice-checking"}`,
	bankpb.Bank_Transfer_FullMethodName:          `{"from":"alice-checking","to":"bob-checking","cents":1500}`,
	bankpb.Bank_WatchTransactions_FullMethodName: `{"account":"alice-checking","limit":5}`,
	bankpb.Bank_UploadTransfers_FullMethodName:   `{"from":"alice-checking","to":"bob-checking","cents":100} {"from":"alice-checking","to":"bob-checking","cents":200}`,
	bankpb.Bank_TransferSession_FullMethodName:   `{"from":"alice-savings","to":"alice-checking","cents":700}`,
	bankpb.Admin_FreezeAccount_FullMethodName:    `{"account":"bob-checking"}`,
}

// maxDPoPProofs bounds the ready proofs -dev prints.
const maxDPoPProofs = 3

// dpopRequests returns the calls -dev prints a DPoP proof for (htm POST,
// the full method as path): one per served method whose rule demands a
// DPoP-bound token (at most maxDPoPProofs), else the first protected one.
func dpopRequests(table *grpcmw.Methods, served []string) []app.DevRequest {
	var out []app.DevRequest
	first := ""
	for _, m := range served {
		r, ok := table.Lookup(m)
		if !ok || r.Public {
			continue
		}
		if first == "" {
			first = m
		}
		if b := r.Requirement.Binding; (b == claims.BindingDPoP || b == claims.BindingAny) && len(out) < maxDPoPProofs {
			out = append(out, app.DevRequest{Method: "POST", Path: m})
		}
	}
	if len(out) == 0 && first != "" {
		out = append(out, app.DevRequest{Method: "POST", Path: first})
	}
	return out
}

// printGRPCurl prints a grpcurl command per method with the weakest dev
// token (the first), and DPOP_TOKEN with its proof for the methods d has a
// proof for.
func printGRPCurl(w io.Writer, addr string, methods []string, tokens []app.DevToken, d *app.DevDPoP) {
	if len(tokens) == 0 {
		return
	}
	proofs := map[string]string{}
	if d != nil {
		for _, p := range d.Proofs {
			proofs[strings.TrimPrefix(p.URL, d.PublicURL)] = p.Var
		}
	}
	fmt.Fprintln(w, "# try the methods with grpcurl (swap the token variable to see the answers change):")
	for _, m := range methods {
		body := sampleRequests[m]
		if body == "" {
			body = "{}"
		}
		auth := fmt.Sprintf(`-H "authorization: Bearer $%s"`, tokens[0].Var)
		if v, ok := proofs[m]; ok {
			auth = fmt.Sprintf(`-H "authorization: DPoP $%s" -H "dpop: $%s"`, d.Token.Var, v)
		}
		fmt.Fprintf(w, "grpcurl -plaintext %s -d '%s' %s %s\n", auth, body, addr, m[1:])
	}
}
