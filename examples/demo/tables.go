package main

import (
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
)

// The requirements of examples/policies/demo.yaml, written in Go: the same
// values policy.Load produces from the file (TestTablesMatchPolicy checks it).
var (
	// anyToken: any valid access token, a password login is enough.
	anyToken = claims.Requirement{}

	// moveMoney: a multi-factor login (OpenID PAPE) at most five minutes
	// old.
	moveMoney = claims.Requirement{
		ACR:    []string{claims.ACRMultiFactor},
		MaxAge: 5 * time.Minute,
	}

	// administer: a hardware key in amr and the admin scope. amr cannot be
	// asked for in a challenge, so AMRACRValues names the acr to request
	// instead: the phishing-resistant policy, which the issuer satisfies
	// with a hardware key.
	administer = claims.Requirement{
		AMRAll:       []string{claims.AMRHardwareKey},
		AMRACRValues: []string{app.ACRPhishingResistant},
		Scopes:       []string{"admin"},
	}
)

// tables are the demo APIs' route and method tables.
type tables struct {
	http []httpmw.Route
	grpc []grpcmw.Rule
}

// newTables returns the demo's tables; every protected HTTP route answers
// with the verified caller as JSON.
func newTables() tables {
	route := func(pattern string, req claims.Requirement) httpmw.Route {
		return httpmw.Route{Pattern: pattern, Requirement: req, Handler: app.CallerHandler(pattern)}
	}
	return tables{
		http: []httpmw.Route{
			{Pattern: "GET /public", Public: true, Handler: app.PublicHandler("GET /public")},
			route("GET /profile", anyToken),
			route("POST /transfer", moveMoney),
			route("GET /admin/", administer),
		},
		grpc: []grpcmw.Rule{
			{Method: bankpb.Bank_GetBalance_FullMethodName, Requirement: anyToken},
			{Method: bankpb.Bank_WatchTransactions_FullMethodName, Requirement: anyToken},
			{Method: bankpb.Bank_Transfer_FullMethodName, Requirement: moveMoney},
			{Method: "/bank.v1.Admin/*", Requirement: administer},
			// UploadTransfers and TransferSession are not listed: denied.
		},
	}
}
