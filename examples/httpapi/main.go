// Command httpapi serves the HTTP rules of a stepup policy file: a playground
// to try a policy against real tokens.
//
//	go run ./examples/httpapi -addr 127.0.0.1:8080 -policy examples/policies/demo.yaml -dev
//
// Every http rule of the policy becomes a route of a net/http ServeMux
// protected by an httpmw.Guard (httpmw.Mux):
//
//   - a protected route answers 200 with the verified caller as JSON,
//     {"route", "sub", "acr", "amr", "auth_time", "scope"}, and a refused
//     request gets the guard's answer: 401 with a WWW-Authenticate challenge
//     (insufficient_user_authentication with acr_values and max_age for a
//     step-up), 403 insufficient_scope, 400 invalid_request, or 503 when the
//     issuer's keys are unavailable;
//   - a public route answers 200 with {"route", "public": true};
//   - GET /metrics serves Prometheus metrics (Go and process collectors);
//   - the RFC 9728 protected resource metadata document of the policy's
//     audience is served at its well-known path (httpmw.MetadataPath), when
//     the audience is an https URL (or http on loopback);
//   - any other path is 404 (405 for a known path with another method).
//
// Keys come from the policy's jwks_uri, or else from OpenID Connect discovery
// (RFC 8414 as fallback) on its issuer; they are fetched at start-up, and a
// failure stops the program. Refusals are logged to stderr with their
// internal cause, which never reaches the client. SIGINT or SIGTERM shuts the
// server down gracefully (in-flight requests get ShutdownTimeout).
//
// Flags:
//
//	-addr ADDR       listen address (default 127.0.0.1:8080)
//	-policy FILE     policy file, YAML or JSON (required)
//	-issuer URL      replace the policy's issuer; keys are discovered from it
//	-audience AUD    replace the policy's audience
//	-realm REALM     realm of the challenges (default "stepup-example")
//	-dev             start an in-process test issuer (package stepuptest) and
//	                 use it instead of the policy's issuer: it mints tokens
//	                 for the policy's audience, honours its claim names, token
//	                 type and algorithms, and the program prints tokens at
//	                 each acr level and a curl command per route; with a
//	                 dpop block also a DPoP-bound token, its key (a private
//	                 JWK) and ready proofs (see examples/policies/dpop.yaml)
//
// A policy's dpop block turns on DPoP (httpmw.WithDPoP with its
// public_url), its mtls block the trusted proxies' Client-Cert header
// (httpmw.WithClientCertificates). With nonce: true the nonce secret comes
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
//
// A policy route that collides with /metrics or the metadata path is an
// error. See examples/policies for policy files and package policy for the
// schema.
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
	"strings"
	"syscall"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/policy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "httpapi:", err)
		os.Exit(1)
	}
}

// run is the program: it parses args, serves until ctx is done and returns
// nil after a clean shutdown. ready, when not nil, is called with the
// listening address once requests can be served.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("httpapi", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg app.Config
	cfg.RegisterFlags(fs, "127.0.0.1:8080", "stepup-example")
	if err := cfg.ParseFlags(fs, args); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	h, err := handler(a)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	addr := lis.Addr().String()

	fmt.Fprintf(stdout, "httpapi: serving %s on http://%s (issuer %s, audience %s)\n",
		cfg.PolicyPath, addr, a.Policy.Issuer, a.Policy.Audience)
	for _, r := range a.Policy.HTTPRules() {
		fmt.Fprintf(stdout, "  %-28s %s\n", r.HTTP, app.Describe(r))
	}
	if a.Dev != nil {
		scopes := app.Scopes(a.Policy)
		tokens, err := app.DevTokens(ctx, a.Dev, scopes)
		if err != nil {
			_ = lis.Close()
			return err
		}
		opaque, err := a.DevOpaqueToken(ctx, scopes)
		if err != nil {
			_ = lis.Close()
			return err
		}
		if opaque != nil {
			tokens = append(tokens, *opaque)
		}
		app.PrintDev(stdout, a.Dev, tokens, scopes)
		d, err := a.DevDPoP(scopes, dpopRequests(a.Policy.HTTPRules()))
		if err != nil {
			_ = lis.Close()
			return err
		}
		if d != nil {
			app.PrintDevDPoP(stdout, d)
		}
		printCurl(stdout, addr, a.Policy.HTTPRules(), tokens, d)
	}
	if ready != nil {
		ready(addr)
	}
	err = app.ServeHTTP(ctx, lis, h, log)
	log.Info("stopped")
	return err
}

// handler returns the ServeMux of the policy's http rules, /metrics and the
// RFC 9728 document, all in one httpmw route table so that a collision is an
// error rather than a ServeMux panic.
func handler(a *app.App) (http.Handler, error) {
	guard, err := httpmw.New(a.Verifier, a.GuardOptions()...)
	if err != nil {
		return nil, err
	}
	routes := a.HTTPRoutes(func(r policy.Rule) http.Handler {
		if r.Public {
			return app.PublicHandler(r.HTTP)
		}
		return app.CallerHandler(r.HTTP)
	})
	routes = append(routes, httpmw.Route{Pattern: "GET /metrics", Public: true, Handler: a.MetricsHandler()})
	if meta, ok, err := a.MetadataRoute(); ok {
		routes = append(routes, meta)
	} else {
		a.Log.Warn("no RFC 9728 metadata document", "audience", a.Policy.Audience, "err", err)
	}
	return guard.Mux(routes)
}

// maxDPoPProofs bounds the ready proofs -dev prints.
const maxDPoPProofs = 3

// dpopRequests returns the requests -dev prints a DPoP proof for: one per
// protected route that demands a DPoP-bound token (at most
// maxDPoPProofs), else the first protected route. Routes with a host are
// left out: their htu would name another host than the public URL.
func dpopRequests(rules []policy.Rule) []app.DevRequest {
	var out []app.DevRequest
	var first *app.DevRequest
	for _, r := range rules {
		method, host, path := samplePath(r.HTTP)
		if r.Public || host != "" {
			continue
		}
		req := app.DevRequest{Method: method, Path: path}
		if first == nil {
			first = &req
		}
		if b := r.Requirement.Binding; (b == claims.BindingDPoP || b == claims.BindingAny) && len(out) < maxDPoPProofs {
			out = append(out, req)
		}
	}
	if len(out) == 0 && first != nil {
		out = append(out, *first)
	}
	return out
}

// printCurl prints a curl command per http rule, with the weakest dev token
// (the first) on protected routes, and DPOP_TOKEN with its proof on the
// routes d has a proof for.
func printCurl(w io.Writer, addr string, rules []policy.Rule, tokens []app.DevToken, d *app.DevDPoP) {
	fmt.Fprintln(w, "# try the routes (swap the token variable to see the answers change):")
	proofs := map[string]string{}
	if d != nil {
		for _, p := range d.Proofs {
			proofs[p.Method+" "+strings.TrimPrefix(p.URL, d.PublicURL)] = p.Var
		}
	}
	for _, r := range rules {
		method, host, path := samplePath(r.HTTP)
		var b strings.Builder
		b.WriteString("curl -i")
		if method != "GET" {
			fmt.Fprintf(&b, " -X %s", method)
		}
		if host != "" {
			fmt.Fprintf(&b, " -H 'Host: %s'", host)
		}
		fmt.Fprintf(&b, " http://%s%s", addr, path)
		if v, ok := proofs[method+" "+path]; ok && !r.Public && host == "" {
			fmt.Fprintf(&b, ` -H "Authorization: DPoP $%s" -H "DPoP: $%s"`, d.Token.Var, v)
		} else if !r.Public && len(tokens) > 0 {
			fmt.Fprintf(&b, ` -H "Authorization: Bearer $%s"`, tokens[0].Var)
		}
		fmt.Fprintf(w, "%-100s # %s\n", b.String(), app.Describe(r))
	}
}

// samplePath splits a ServeMux pattern ("[METHOD ][HOST]/PATH") into a
// method (GET when none), a host and a concrete path matching it: wildcards
// {name} and {name...} become "x", {$} is dropped.
func samplePath(pattern string) (method, host, path string) {
	method, rest, ok := strings.Cut(pattern, " ")
	if !ok {
		method, rest = "GET", pattern
	}
	rest = strings.TrimLeft(rest, " \t")
	if i := strings.IndexByte(rest, '/'); i > 0 {
		host, rest = rest[:i], rest[i:]
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		switch {
		case s == "{$}":
			segs[i] = ""
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			segs[i] = "x"
		}
	}
	return method, host, strings.Join(segs, "/")
}
