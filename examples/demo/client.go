package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/stepupclient"
	"github.com/stepupauth/stepup/stepuptest"
)

// follower is the client of the last steps: one stepupclient.Source for
// both APIs, an http.Client on its Transport and a gRPC connection with its
// interceptors. The application code below has no challenge handling: it
// only counts what the library did.
type follower struct {
	src    *stepupclient.Source
	hc     *http.Client
	bank   bankpb.BankClient
	admin  bankpb.AdminClient
	logins []stepupclient.Login
	sent   atomic.Int64 // HTTP requests on the wire
}

// countingTransport counts the requests it sends and prints each answer,
// under the stepupclient.Transport: what happens on the wire.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
	say  func(format string, args ...any)
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	line := fmt.Sprintf("  on the wire: %s %s (Authorization: Bearer %s) -> %s", r.Method, r.URL.Path, abbrev(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")), resp.Status)
	if v := resp.Header.Values("WWW-Authenticate"); len(v) > 0 {
		line += ", WWW-Authenticate: " + strings.Join(v, ", ")
	}
	c.say("%s", line)
	return resp, nil
}

// newFollower builds the follower, whose TokenFunc logs in at the issuer
// with what each Login asks for.
func (d *demo) newFollower() (*follower, error) {
	f := &follower{}
	var err error
	f.src, err = stepupclient.New(stepupclient.Config{Token: func(ctx context.Context, l stepupclient.Login) (*oauth2.Token, error) {
		f.logins = append(f.logins, l) // the Source calls one at a time
		lr := stepuptest.LoginRequest{ACRValues: l.ACRValues, MaxAge: l.MaxAge, Scopes: l.Scopes}
		if l.Refusal != nil {
			d.say("  TokenFunc called by the library after %s: POST %s  %s", l.Refusal.Code, d.iss.TokenURL(), describeLogin(lr))
		} else {
			d.say("  TokenFunc called for a first token: POST %s  %s", d.iss.TokenURL(), describeLogin(lr))
		}
		tok, err := d.iss.Login(ctx, lr)
		if err != nil {
			return nil, err
		}
		return &oauth2.Token{AccessToken: tok}, nil
	}})
	if err != nil {
		return nil, err
	}
	t, err := stepupclient.NewTransport(f.src, d.httpURL, countingTransport{base: d.hc.Transport, n: &f.sent, say: d.say})
	if err != nil {
		return nil, err
	}
	f.hc = &http.Client{Transport: t, Timeout: d.hc.Timeout}
	conn, err := grpc.NewClient(d.grpcAddr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(grpcmw.UnaryClientStepUp(f.src)),
		grpc.WithChainStreamInterceptor(grpcmw.StreamClientStepUp(f.src)),
	)
	if err != nil {
		return nil, err
	}
	d.onClose(conn.Close)
	f.bank, f.admin = bankpb.NewBankClient(conn), bankpb.NewAdminClient(conn)
	return f, nil
}

// clientSteps are the last steps: the same story with a client that
// steps up by itself (package stepupclient, grpcmw.UnaryClientStepUp).
func (d *demo) clientSteps() []step {
	var f *follower
	return []step{
		{"stepupclient over HTTP: POST /transfer from nothing, no challenge handling in the application", func(ctx context.Context) error {
			var err error
			if f, err = d.newFollower(); err != nil {
				return err
			}
			d.say("> POST %s/transfer  (through stepupclient.Transport)", d.httpURL)
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.httpURL+"/transfer", strings.NewReader(`{"from":"alice-checking","to":"bob-checking","cents":700}`))
			if err != nil {
				return err
			}
			resp, err := f.hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if err != nil {
				return err
			}
			d.say("< %s after %d requests on the wire", resp.Status, f.sent.Load())
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d, want 200", resp.StatusCode)
			}
			if err := checkCaller(body, claims.ACRMultiFactor, time.Time{}); err != nil {
				return err
			}
			d.say("ok: the library read the challenge, logged in again with its acr_values and retried once")
			return f.check(2, 2, claims.CodeInsufficientUserAuthentication, []string{claims.ACRMultiFactor}, nil)
		}},
		{"The same Source over gRPC (grpcmw.UnaryClientStepUp): Admin.FreezeAccount with the multi-factor token", func(ctx context.Context) error {
			d.say("> bank.v1.Admin/FreezeAccount (account bob-checking)  (through grpcmw.UnaryClientStepUp)")
			r, err := f.admin.FreezeAccount(ctx, &bankpb.FreezeAccountRequest{Account: "bob-checking"})
			if _, err := d.result(err, grpcWant{}); err != nil {
				return err
			}
			if !r.GetFrozen() {
				return errors.New("account not frozen")
			}
			d.say("< bob-checking frozen; ok: one step-up, asking for the refusal's acr_values and scope")
			return f.check(3, 2, claims.CodeInsufficientUserAuthentication, []string{app.ACRPhishingResistant}, []string{"admin"})
		}},
		{"Back over HTTP: GET /admin/accounts with the token the gRPC step-up got: no new login", func(ctx context.Context) error {
			d.say("> GET %s/admin/accounts  (through stepupclient.Transport)", d.httpURL)
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.httpURL+"/admin/accounts", nil)
			if err != nil {
				return err
			}
			resp, err := f.hc.Do(req)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if err != nil {
				return err
			}
			d.say("< %s after %d requests on the wire in all", resp.Status, f.sent.Load())
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d, want 200", resp.StatusCode)
			}
			if err := checkCaller(body, app.ACRPhishingResistant, time.Time{}); err != nil {
				return err
			}
			return f.check(3, 3, claims.CodeInsufficientUserAuthentication, []string{app.ACRPhishingResistant}, []string{"admin"})
		}},
	}
}

// check compares what the library did with what the story needs: logins
// TokenFunc calls, sent HTTP requests, and the last Login following code
// with acr and scopes.
func (f *follower) check(logins int, sent int64, code claims.Code, acr, scopes []string) error {
	var diffs []string
	if len(f.logins) != logins {
		diffs = append(diffs, fmt.Sprintf("%d logins, want %d", len(f.logins), logins))
	}
	if n := f.sent.Load(); n != sent {
		diffs = append(diffs, fmt.Sprintf("%d HTTP requests, want %d (one retry per step-up)", n, sent))
	}
	if len(f.logins) > 0 {
		l := f.logins[len(f.logins)-1]
		if l.Refusal == nil || l.Refusal.Code != code {
			diffs = append(diffs, fmt.Sprintf("last login followed %v, want %s", l.Refusal, code))
		}
		if !slices.Equal(l.ACRValues, acr) {
			diffs = append(diffs, fmt.Sprintf("last login asked acr_values %q, want %q", l.ACRValues, acr))
		}
		if !slices.Equal(l.Scopes, scopes) {
			diffs = append(diffs, fmt.Sprintf("last login asked scopes %q, want %q", l.Scopes, scopes))
		}
	}
	return mismatch(diffs)
}
