package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"

	"github.com/stepupauth/stepup/policy"
)

func lint(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stepup lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, "usage: stepup lint FILE\n")
		return exitUsage
	}
	p, err := policy.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stdout, err)
		return exitRefused
	}
	for _, w := range warnings(p) {
		fmt.Fprintln(stdout, "warning: "+w)
	}
	fmt.Fprintln(stdout, "ok")
	return exitOK
}

// warnings lists what Parse accepts but a reader may not expect.
func warnings(p *policy.Policy) []string {
	var ws []string
	if u, err := url.Parse(p.Issuer); err == nil && u.Scheme == "http" {
		// Parse allows plain http for loopback issuers only.
		ws = append(ws, fmt.Sprintf("issuer %s is plain http on loopback: fine for tests, never for production", p.Issuer))
	}
	for _, r := range p.Rules {
		q := r.Requirement
		if q.MaxAge > 0 && len(q.ACR) == 0 && q.ACRMin == "" && len(q.AMRACRValues) == 0 {
			ws = append(ws, fmt.Sprintf("%s: max_age without acr: allowed, but the challenge will only ask for a fresh login (max_age=%d), never a stronger one",
				ruleName(r), int64(q.MaxAge.Seconds())))
		}
	}
	return ws
}

// ruleName names r as policy errors do: "line 12: rules[2] (http "POST /transfer")".
func ruleName(r policy.Rule) string {
	s := fmt.Sprintf("rules[%d]", r.Index)
	if r.Line > 0 {
		s = fmt.Sprintf("line %d: %s", r.Line, s)
	}
	switch {
	case r.HTTP != "" && r.GRPC != "":
		s += fmt.Sprintf(" (http %q, grpc %q)", r.HTTP, r.GRPC)
	case r.HTTP != "":
		s += fmt.Sprintf(" (http %q)", r.HTTP)
	case r.GRPC != "":
		s += fmt.Sprintf(" (grpc %q)", r.GRPC)
	}
	return s
}
