// Command stepup explains what a policy file makes of an access token, and
// checks policy files.
//
//	stepup explain -policy FILE [-token T] [-route "POST /transfer" | -method /pkg.Svc/M] [-jwks FILE] [-now RFC3339]
//	stepup lint FILE
//	stepup authz -policy FILE [-http ADDR -trusted-proxies CIDRs] [-grpc ADDR] [flags]
//
// explain decodes the token (from -token, or standard input) without trusting
// it, prints its header and claims, says whether its signature holds, verifies
// it as the policy's verifier would and, for each rule (or the one -route or
// -method picks), prints "allowed" or the challenge the rule would answer, and
// why. Keys come from -jwks, a JWK Set file, without any network access;
// without it, from the policy's jwks_uri or the issuer's discovery document.
// Its exit status is 0 when the token passes the chosen rule or, without
// -route and -method, every protected rule; 1 when it is refused; 2 for a
// usage, policy or key problem, including a -route or -method that no rule
// takes.
//
// lint loads a policy file as the library does, prints its error or "ok",
// and warns about what the parser accepts but a reader may not expect. Its
// exit status is 0 when the file loads (warnings included), 1 when it does
// not, 2 for a usage error.
//
// authz is the gateway: it serves Envoy ext_authz v3 over gRPC (-grpc) and
// forward auth for nginx, Caddy and Traefik (-http, with /healthz, /readyz
// and /metrics), deciding by the policy's http rules as httpmw.Mux does
// (package gateway). SIGHUP reloads the policy; SIGTERM and SIGINT stop it
// gracefully. See README.md for its flags.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK      = 0
	exitRefused = 1 // explain: the token is refused; lint: the file has errors
	exitUsage   = 2 // bad arguments, policy or keys
)

const usage = `usage:
  stepup explain -policy FILE [-token T | token on stdin] [-route "METHOD /path" | -method /pkg.Svc/M] [-jwks FILE] [-now RFC3339]
  stepup lint FILE
  stepup authz -policy FILE [-http ADDR -trusted-proxies CIDRs] [-grpc ADDR] [flags]
`

// run is the command: main calls it with the process's arguments (without
// the program name) and streams, and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "explain":
		return explain(args[1:], stdin, stdout, stderr)
	case "lint":
		return lint(args[1:], stdout, stderr)
	case "authz":
		return authz(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "stepup: unknown command %q\n%s", args[0], usage)
	return exitUsage
}
