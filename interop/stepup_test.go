package interop

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
)

// TestStepUpHTTP is the RFC 9470 loop against examples/httpapi with
// golang.org/x/oauth2's transport as the client: the client finds the
// authorization server in the API's RFC 9728 metadata, logs in with a
// password, reads its profile, is challenged on the transfer, parses the
// challenge (claims.ParseChallenges), authorizes again with its acr_values,
// and the transfer passes with the multi-factor token.
func TestStepUpHTTP(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	api := startHTTPAPI(t, p)

	var meta struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	if err := getJSON(ctx, &http.Client{Timeout: httpTimeout}, api+"/.well-known/oauth-protected-resource", &meta); err != nil {
		t.Fatalf("RFC 9728 metadata: %v", err)
	}
	if meta.Resource != audience || !slices.Equal(meta.AuthorizationServers, []string{p.issuer}) {
		t.Fatalf("RFC 9728 metadata %+v, want resource %s served by %s", meta, audience, p.issuer)
	}

	b := p.newBrowser(t)
	conf := p.appConfig()
	tok := b.mustLogin(t, ctx, loginRequest{})
	client := conf.Client(ctx, tok)
	client.Timeout = httpTimeout

	r := callAPI(t, ctx, client, http.MethodGet, api+"/profile")
	if r.status != http.StatusOK || r.caller.ACR != acrPassword || r.caller.Sub != defaultSubject {
		t.Fatalf("GET /profile: %d %s, want 200 for %s at %s", r.status, r.body, defaultSubject, acrPassword)
	}
	firstLogin := r.caller.AuthTime

	ce := stepUpChallenge(t, callAPI(t, ctx, client, http.MethodPost, api+"/transfer"))
	if !slices.Equal(ce.ACRValues, []string{acrMFA}) {
		t.Fatalf("challenge acr_values %q, want [%s]", ce.ACRValues, acrMFA)
	}

	tok, err := b.login(ctx, stepUpRequest(ce))
	if err != nil {
		t.Fatalf("authorizing again after the challenge: %v", err)
	}
	client = conf.Client(ctx, tok)
	client.Timeout = httpTimeout
	r = callAPI(t, ctx, client, http.MethodPost, api+"/transfer")
	if r.status != http.StatusOK {
		t.Fatalf("POST /transfer after step-up: %d %+v %s, want 200", r.status, r.challenge, r.body)
	}
	if r.caller.ACR != acrMFA || !slices.Contains(r.caller.AMR, "mfa") || r.caller.AuthTime < firstLogin {
		t.Errorf("POST /transfer caller %+v, want acr %s, amr with mfa, a login not older than the first (%d)", r.caller, acrMFA, firstLogin)
	}
}

// TestStepUpGRPC is the same loop against examples/grpcapi with grpc-go:
// grpcmw's client interceptor surfaces the challenge as a *claims.Error.
func TestStepUpGRPC(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	cc := dialGRPC(t, startGRPCAPI(t, p))
	b := p.newBrowser(t)
	tok := b.mustLogin(t, ctx, loginRequest{})

	bal, err := invoke(ctx, cc, methodGetBalance, tok.AccessToken, getBalanceRequest("alice-checking"))
	if err != nil {
		t.Fatalf("GetBalance: %v", err)
	}
	if bal[3] != defaultSubject {
		t.Errorf("GetBalance caller %v, want %s", bal[3], defaultSubject)
	}

	_, err = invoke(ctx, cc, methodTransfer, tok.AccessToken, transferRequest("alice-checking", "bob-checking", 1500))
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientUserAuthentication {
		t.Fatalf("Transfer with a password token: %v, want a *claims.Error insufficient_user_authentication", err)
	}
	if status.Code(err) != codes.Unauthenticated || !slices.Equal(ce.ACRValues, []string{acrMFA}) {
		t.Fatalf("Transfer: code %v acr_values %q, want Unauthenticated asking for [%s]", status.Code(err), ce.ACRValues, acrMFA)
	}

	tok, err = b.login(ctx, stepUpRequest(ce))
	if err != nil {
		t.Fatalf("authorizing again after the challenge: %v", err)
	}
	f, err := invoke(ctx, cc, methodTransfer, tok.AccessToken, transferRequest("alice-checking", "bob-checking", 1500))
	if err != nil {
		t.Fatalf("Transfer after step-up: %v", err)
	}
	if rc := receiptOf(f); rc.ACR != acrMFA || rc.Caller != defaultSubject || rc.Cents != 1500 || rc.ID == "" {
		t.Errorf("Transfer receipt %+v, want 1500 cents for %s at %s", rc, defaultSubject, acrMFA)
	}
}

// TestMaxAgeChallenge: a multi-factor login backdated past the transfer's
// max_age is challenged with max_age=300; the client authorizes again with
// that max_age, the provider (whose session login is too old) logs the user
// in afresh, and the transfer passes.
func TestMaxAgeChallenge(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	api := startHTTPAPI(t, p)
	b := p.newBrowser(t)

	stale := time.Now().Add(-2 * transferMaxAge)
	tok := b.mustLogin(t, ctx, loginRequest{ACR: acrMFA, AuthTime: stale})
	r := callAPI(t, ctx, bearerClient(tok.AccessToken), http.MethodPost, api+"/transfer")
	ce := stepUpChallenge(t, r)
	if ce.MaxAge != claims.MaxAgeOf(transferMaxAge) {
		t.Fatalf("challenge max_age %v, want %v", ce.MaxAge, transferMaxAge)
	}
	if len(ce.ACRValues) > 0 {
		t.Errorf("challenge acr_values %q, want none: the acr was right", ce.ACRValues)
	}

	before := time.Now()
	tok, err := b.login(ctx, stepUpRequest(ce))
	if err != nil {
		t.Fatalf("authorizing again with max_age: %v", err)
	}
	r = callAPI(t, ctx, bearerClient(tok.AccessToken), http.MethodPost, api+"/transfer")
	if r.status != http.StatusOK {
		t.Fatalf("POST /transfer after a fresh login: %d %+v %s, want 200", r.status, r.challenge, r.body)
	}
	if got := time.Unix(r.caller.AuthTime, 0); got.Before(before.Add(-clockSlack)) || r.caller.ACR != acrMFA {
		t.Errorf("caller %+v: auth_time %v, want a fresh (after %v) %s login", r.caller, got, before, acrMFA)
	}
}
