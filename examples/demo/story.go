package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
)

// staleSession is how long ago the session of the "stale login" steps
// started: older than the five minutes a transfer allows.
const staleSession = 10 * time.Minute

// play starts the demo with the tables, altered by tamper when not nil (tests
// use it to check that a misbehaving API is caught), and plays the story.
func play(ctx context.Context, out io.Writer, tamper func(*tables)) (err error) {
	t := newTables()
	if tamper != nil {
		tamper(&t)
	}
	e, err := start(ctx, t)
	if err != nil {
		return fmt.Errorf("starting the demo: %w", err)
	}
	defer func() {
		if cerr := e.close(); cerr != nil && err == nil {
			err = fmt.Errorf("stopping the demo: %w", cerr)
		}
	}()
	d := &demo{env: e, out: out}
	d.intro(t)
	steps := d.steps()
	for i, s := range steps {
		fmt.Fprintf(out, "\n%2d. %s\n", i+1, s.title)
		if err := s.run(ctx); err != nil {
			d.say("FAILED: %v", err)
			return fmt.Errorf("step %d (%s): %w", i+1, s.title, err)
		}
	}
	fmt.Fprintf(out, "\nAll %d steps behaved as expected.\n", len(steps))
	return nil
}

// demo is the client of the story and its state.
type demo struct {
	*env
	out io.Writer

	token  string   // current access token
	acr    []string // acr_values of the last login
	scopes []string // scopes of the last login
	// session is when alice's session at the issuer started; zero means
	// each login authenticates afresh.
	session time.Time
	// challenge is the last HTTP challenge, typed the last gRPC refusal.
	challenge *claims.Challenge
	typed     *claims.Error
}

type step struct {
	title string
	run   func(ctx context.Context) error
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "    "+format+"\n", args...)
}

func (d *demo) intro(t tables) {
	fmt.Fprintln(d.out, "stepup demo: step-up authentication (RFC 9470) over HTTP and gRPC, on 127.0.0.1 only")
	fmt.Fprintf(d.out, "\nissuer    %s (token endpoint %s)\n", d.iss.Issuer(), d.iss.TokenURL())
	for _, acr := range d.iss.ACRValues() {
		amr, _ := d.iss.AMR(acr)
		fmt.Fprintf(d.out, "          login at %s -> amr [%s]\n", acr, strings.Join(amr, " "))
	}
	fmt.Fprintf(d.out, "HTTP API  %s (resource metadata %s)\n", d.httpURL, d.metadataURL)
	fmt.Fprintf(d.out, "gRPC API  %s\n", d.grpcAddr)
	fmt.Fprintln(d.out, "requirements (examples/policies/demo.yaml, written in Go):")
	for _, r := range t.http {
		fmt.Fprintf(d.out, "  %-34s %s\n", r.Pattern, app.Describe(policy.Rule{Public: r.Public, Requirement: r.Requirement}))
	}
	for _, r := range t.grpc {
		fmt.Fprintf(d.out, "  %-34s %s\n", r.Method, app.Describe(policy.Rule{Public: r.Public, Requirement: r.Requirement}))
	}
	fmt.Fprintf(d.out, "  %-34s %s\n", "any other method", "denied")
}

func (d *demo) steps() []step {
	const (
		transfer = "POST /transfer"
		admin    = "/admin/accounts"
	)
	needMFA := httpWant{status: http.StatusUnauthorized, challenge: true,
		code: claims.CodeInsufficientUserAuthentication, acrValues: []string{claims.ACRMultiFactor}}
	tooOld := httpWant{status: http.StatusUnauthorized, challenge: true,
		code: claims.CodeInsufficientUserAuthentication, maxAge: claims.MaxAgeOf(moveMoney.MaxAge)}
	return append([]step{
		{"GET /public needs no token", func(ctx context.Context) error {
			_, _, err := d.get(ctx, http.MethodGet, "/public", "", httpWant{status: http.StatusOK})
			return err
		}},
		{"GET /profile without a token", func(ctx context.Context) error {
			ch, _, err := d.get(ctx, http.MethodGet, "/profile", "", httpWant{status: http.StatusUnauthorized, challenge: true})
			if err != nil {
				return err
			}
			d.challenge = ch
			d.say("ok: 401 and a challenge without error code: log in; resource_metadata says where")
			return nil
		}},
		{"The client reads the resource_metadata document (RFC 9728)", func(ctx context.Context) error {
			return d.readMetadata(ctx, d.challenge.ResourceMetadata)
		}},
		{"Password login at the issuer's token endpoint, then GET /profile", func(ctx context.Context) error {
			if err := d.login(ctx, nil, claims.MaxAge{}, nil); err != nil {
				return err
			}
			_, body, err := d.get(ctx, http.MethodGet, "/profile", d.token, httpWant{status: http.StatusOK})
			if err != nil {
				return err
			}
			return checkCaller(body, stepuptest.ACRPassword, time.Time{})
		}},
		{transfer + " with the password token", func(ctx context.Context) error {
			ch, _, err := d.get(ctx, http.MethodPost, "/transfer", d.token, needMFA)
			if err != nil {
				return err
			}
			d.challenge = ch
			d.say("ok: insufficient_user_authentication, acr_values [%s]", strings.Join(ch.ACRValues, " "))
			return nil
		}},
		{"The client parses the challenge, logs in again with its acr_values and retries", func(ctx context.Context) error {
			if err := d.stepUp(ctx, d.challenge.ACRValues, d.challenge.MaxAge, d.challenge.Scope); err != nil {
				return err
			}
			_, body, err := d.get(ctx, http.MethodPost, "/transfer", d.token, httpWant{status: http.StatusOK})
			if err != nil {
				return err
			}
			return checkCaller(body, claims.ACRMultiFactor, time.Time{})
		}},
		{fmt.Sprintf("A multi-factor login from a session that started %s ago, then %s", staleSession, transfer), func(ctx context.Context) error {
			d.session = time.Now().Add(-staleSession)
			if err := d.login(ctx, []string{claims.ACRMultiFactor}, claims.MaxAge{}, nil); err != nil {
				return err
			}
			ch, _, err := d.get(ctx, http.MethodPost, "/transfer", d.token, tooOld)
			if err != nil {
				return err
			}
			d.challenge = ch
			d.say("ok: insufficient_user_authentication, %s: the login is too old", maxAgeText(ch.MaxAge))
			return nil
		}},
		{"The client logs in again with that max_age: the issuer must authenticate afresh", func(ctx context.Context) error {
			return d.freshRetry(ctx, d.challenge.MaxAge, func(ctx context.Context, since time.Time) error {
				_, body, err := d.get(ctx, http.MethodPost, "/transfer", d.token, httpWant{status: http.StatusOK})
				if err != nil {
					return err
				}
				return checkCaller(body, claims.ACRMultiFactor, since)
			})
		}},
		{"A hardware-key login (acr_values phishing-resistant, no scope), then GET " + admin, func(ctx context.Context) error {
			if err := d.login(ctx, []string{app.ACRPhishingResistant}, claims.MaxAge{}, nil); err != nil {
				return err
			}
			ch, _, err := d.get(ctx, http.MethodGet, admin, d.token, httpWant{status: http.StatusForbidden, challenge: true,
				code: claims.CodeInsufficientScope, scope: []string{"admin"}})
			if err != nil {
				return err
			}
			d.challenge = ch
			d.say("ok: 403 insufficient_scope, scope %q", strings.Join(ch.Scope, " "))
			return nil
		}},
		{"The client logs in again adding the scope the challenge names, and retries", func(ctx context.Context) error {
			if err := d.stepUp(ctx, d.challenge.ACRValues, d.challenge.MaxAge, d.challenge.Scope); err != nil {
				return err
			}
			_, body, err := d.get(ctx, http.MethodGet, admin, d.token, httpWant{status: http.StatusOK})
			if err != nil {
				return err
			}
			return checkCaller(body, app.ACRPhishingResistant, time.Time{})
		}},

		// The same story over gRPC.
		{"gRPC Bank.GetBalance without a token", func(ctx context.Context) error {
			d.token, d.acr, d.scopes = "", nil, nil
			d.rpc("bank.v1.Bank/GetBalance", "account alice-checking")
			_, err := d.bank.GetBalance(ctx, &bankpb.GetBalanceRequest{Account: "alice-checking"})
			if _, err = d.result(err, grpcWant{code: codes.Unauthenticated, typed: true}); err != nil {
				return err
			}
			d.say("ok: Unauthenticated, a *claims.Error without code: log in")
			return nil
		}},
		{"Password login, then Bank.GetBalance", func(ctx context.Context) error {
			if err := d.login(ctx, nil, claims.MaxAge{}, nil); err != nil {
				return err
			}
			d.rpc("bank.v1.Bank/GetBalance", "account alice-checking")
			b, err := d.bank.GetBalance(d.auth(ctx), &bankpb.GetBalanceRequest{Account: "alice-checking"})
			if _, err := d.result(err, grpcWant{}); err != nil {
				return err
			}
			d.say("< balance of %s: %d cents (caller %s)", b.GetAccount(), b.GetCents(), b.GetCaller())
			return nil
		}},
		{"Bank.Transfer with the password token", func(ctx context.Context) error {
			d.rpc("bank.v1.Bank/Transfer", "1500 cents")
			_, err := d.bank.Transfer(d.auth(ctx), transferRequest(1500))
			ce, err := d.result(err, grpcWant{code: codes.Unauthenticated, typed: true,
				errCode: claims.CodeInsufficientUserAuthentication, acrValues: []string{claims.ACRMultiFactor}})
			d.typed = ce
			return err
		}},
		{"errors.As yields the *claims.Error: log in with its ACRValues and MaxAge, retry", func(ctx context.Context) error {
			if err := d.stepUp(ctx, d.typed.ACRValues, d.typed.MaxAge, d.typed.Scope); err != nil {
				return err
			}
			return d.transfer(ctx, 1500)
		}},
		{fmt.Sprintf("A multi-factor login from a session that started %s ago, then Bank.Transfer", staleSession), func(ctx context.Context) error {
			d.session = time.Now().Add(-staleSession)
			if err := d.login(ctx, []string{claims.ACRMultiFactor}, claims.MaxAge{}, nil); err != nil {
				return err
			}
			d.rpc("bank.v1.Bank/Transfer", "2500 cents")
			_, err := d.bank.Transfer(d.auth(ctx), transferRequest(2500))
			ce, err := d.result(err, grpcWant{code: codes.Unauthenticated, typed: true,
				errCode: claims.CodeInsufficientUserAuthentication, maxAge: claims.MaxAgeOf(moveMoney.MaxAge)})
			d.typed = ce
			return err
		}},
		{"Log in again with the error's MaxAge (the issuer authenticates afresh), retry", func(ctx context.Context) error {
			return d.freshRetry(ctx, d.typed.MaxAge, func(ctx context.Context, _ time.Time) error {
				return d.transfer(ctx, 2500) // success is the proof: the server checked freshness
			})
		}},
		{"Bank.WatchTransactions (server streaming), without a token and then with one", func(ctx context.Context) error {
			return d.watch(ctx)
		}},
		{"Bank.UploadTransfers (client streaming) is not in the policy", func(ctx context.Context) error {
			d.rpc("bank.v1.Bank/UploadTransfers", "stream of 1 transfer")
			stream, err := d.bank.UploadTransfers(d.auth(ctx))
			if err == nil {
				if err = stream.Send(transferRequest(100)); err == nil || errors.Is(err, io.EOF) {
					_, err = stream.CloseAndRecv()
				}
			}
			if _, err := d.result(err, grpcWant{code: codes.PermissionDenied}); err != nil {
				return err
			}
			d.say("ok: PermissionDenied without a challenge: no login can make an unlisted method work")
			return nil
		}},
		{"Admin.FreezeAccount with the multi-factor token", func(ctx context.Context) error {
			d.rpc("bank.v1.Admin/FreezeAccount", "account bob-checking")
			_, err := d.admin.FreezeAccount(d.auth(ctx), &bankpb.FreezeAccountRequest{Account: "bob-checking"})
			ce, err := d.result(err, grpcWant{code: codes.Unauthenticated, typed: true,
				errCode: claims.CodeInsufficientUserAuthentication, acrValues: []string{app.ACRPhishingResistant}, scope: []string{"admin"}})
			d.typed = ce
			return err
		}},
		{"Log in again with the error's ACRValues and Scope, retry", func(ctx context.Context) error {
			if err := d.stepUp(ctx, d.typed.ACRValues, d.typed.MaxAge, d.typed.Scope); err != nil {
				return err
			}
			d.rpc("bank.v1.Admin/FreezeAccount", "account bob-checking")
			r, err := d.admin.FreezeAccount(d.auth(ctx), &bankpb.FreezeAccountRequest{Account: "bob-checking"})
			if _, err := d.result(err, grpcWant{}); err != nil {
				return err
			}
			if !r.GetFrozen() {
				return errors.New("account not frozen")
			}
			d.say("< bob-checking frozen")
			return nil
		}},
	}, d.clientSteps()...)
}

// login logs in at the issuer's token endpoint, from d.session when set.
func (d *demo) login(ctx context.Context, acr []string, maxAge claims.MaxAge, scopes []string) error {
	lr := stepuptest.LoginRequest{ACRValues: acr, MaxAge: maxAge, Scopes: scopes, AuthTime: d.session}
	d.say("> POST %s  %s", d.iss.TokenURL(), describeLogin(lr))
	tok, err := d.iss.Login(ctx, lr)
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	d.token, d.acr, d.scopes = tok, acr, scopes
	d.say("< access token (%d bytes)", len(tok))
	return nil
}

// stepUp logs in again with what a challenge asks for: its acr_values (or,
// when it names none, the ones of the current login), its max_age, and its
// scopes on top of the current ones.
func (d *demo) stepUp(ctx context.Context, acr []string, maxAge claims.MaxAge, scope []string) error {
	if len(acr) == 0 {
		acr = d.acr
	}
	scopes := slices.Clone(d.scopes)
	for _, s := range scope {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	return d.login(ctx, acr, maxAge, scopes)
}

// freshRetry logs in again with maxAge from the old session, then runs retry
// with the time the new login may not predate.
func (d *demo) freshRetry(ctx context.Context, maxAge claims.MaxAge, retry func(ctx context.Context, since time.Time) error) error {
	since := time.Now().Add(-time.Second).Truncate(time.Second)
	if err := d.stepUp(ctx, nil, maxAge, nil); err != nil {
		return err
	}
	d.session = time.Time{} // the issuer started a new session
	return retry(ctx, since)
}

// get sends one request to the HTTP API, prints it and its answer, and
// checks the answer against w.
func (d *demo) get(ctx context.Context, method, path, token string, w httpWant) (*claims.Challenge, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.httpURL+path, nil)
	if err != nil {
		return nil, nil, err
	}
	line := "> " + method + " " + path
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
		line += "  (Authorization: Bearer " + abbrev(token) + ")"
	}
	d.say("%s", line)
	resp, err := d.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	d.say("< %s", resp.Status)
	for _, v := range resp.Header.Values("WWW-Authenticate") {
		d.say("< WWW-Authenticate: %s", v)
	}
	if resp.StatusCode == http.StatusOK {
		d.say("< %s", bytes.TrimSpace(body))
	}
	if w.challenge {
		w.realm, w.resourceMetadata = realm, d.metadataURL
	}
	ch, err := checkHTTP(resp.StatusCode, resp.Header, w)
	return ch, body, err
}

// readMetadata fetches the RFC 9728 document and checks that it names this
// resource and the issuer.
func (d *demo) readMetadata(ctx context.Context, u string) error {
	if u != d.metadataURL {
		return fmt.Errorf("resource_metadata %q, want %q", u, d.metadataURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	d.say("> GET %s", u)
	resp, err := d.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var doc struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
	}
	d.say("< %s", resp.Status)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return err
	}
	d.say("< resource %s, authorization_servers %q", doc.Resource, doc.AuthorizationServers)
	if doc.Resource != d.httpURL || !slices.Equal(doc.AuthorizationServers, []string{d.iss.Issuer()}) {
		return fmt.Errorf("document names resource %q and servers %q, want %q and [%q]",
			doc.Resource, doc.AuthorizationServers, d.httpURL, d.iss.Issuer())
	}
	d.say("ok: the client logs in at %s", d.iss.Issuer())
	return nil
}

// rpc prints a gRPC call about to be made with the current token.
func (d *demo) rpc(method, what string) {
	auth := "no authorization metadata"
	if d.token != "" {
		auth = "authorization: Bearer " + abbrev(d.token)
	}
	d.say("> %s (%s)  (%s)", method, what, auth)
}

// auth returns ctx carrying the current token as gRPC authorization
// metadata.
func (d *demo) auth(ctx context.Context) context.Context {
	if d.token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+d.token)
}

// result prints a gRPC call's outcome and checks it against w.
func (d *demo) result(err error, w grpcWant) (*claims.Error, error) {
	var ce *claims.Error
	switch {
	case err == nil:
		d.say("< OK")
	case errors.As(err, &ce):
		d.say("< status %v; the client interceptor gives a *claims.Error:", status.Code(err))
		d.say("<   Code %q, ACRValues %q, MaxAge %s, Scope %q", ce.Code, ce.ACRValues, maxAgeText(ce.MaxAge), ce.Scope)
	default:
		d.say("< status %v: %s", status.Code(err), status.Convert(err).Message())
	}
	return checkGRPC(err, w)
}

// transfer moves cents over gRPC with the current token and checks the
// receipt names a multi-factor login.
func (d *demo) transfer(ctx context.Context, cents int64) error {
	d.rpc("bank.v1.Bank/Transfer", fmt.Sprintf("%d cents", cents))
	r, err := d.bank.Transfer(d.auth(ctx), transferRequest(cents))
	if _, err := d.result(err, grpcWant{}); err != nil {
		return err
	}
	d.say("< receipt %s: %d cents by %s at acr %s", r.GetId(), r.GetCents(), r.GetCaller(), r.GetAcr())
	if r.GetAcr() != claims.ACRMultiFactor {
		return fmt.Errorf("receipt acr %q, want %q", r.GetAcr(), claims.ACRMultiFactor)
	}
	return nil
}

// watch calls WatchTransactions without and with a token; the second call
// must stream the two gRPC transfers of the story.
func (d *demo) watch(ctx context.Context) error {
	req := &bankpb.WatchTransactionsRequest{Account: "alice-checking"}
	recvAll := func(ctx context.Context) ([]*bankpb.Transaction, error) {
		stream, err := d.bank.WatchTransactions(ctx, req)
		if err != nil {
			return nil, err
		}
		var txs []*bankpb.Transaction
		for {
			t, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return txs, nil
			}
			if err != nil {
				return nil, err
			}
			txs = append(txs, t)
		}
	}
	saved := d.token
	d.token = ""
	d.rpc("bank.v1.Bank/WatchTransactions", "account alice-checking")
	d.token = saved
	_, err := recvAll(ctx)
	if _, err := d.result(err, grpcWant{code: codes.Unauthenticated, typed: true}); err != nil {
		return err
	}
	d.rpc("bank.v1.Bank/WatchTransactions", "account alice-checking")
	txs, err := recvAll(d.auth(ctx))
	if _, err := d.result(err, grpcWant{}); err != nil {
		return err
	}
	var got []int64
	for _, t := range txs {
		d.say("< transaction %s: %d cents", t.GetId(), t.GetCents())
		got = append(got, t.GetCents())
	}
	if want := []int64{-1500, -2500}; !slices.Equal(got, want) {
		return fmt.Errorf("streamed amounts %v, want %v", got, want)
	}
	return nil
}

func transferRequest(cents int64) *bankpb.TransferRequest {
	return &bankpb.TransferRequest{From: "alice-checking", To: "bob-checking", Cents: cents}
}

// checkCaller checks the caller JSON of a protected HTTP route: alice, at
// acr, authenticated no earlier than since (when not zero).
func checkCaller(body []byte, acr string, since time.Time) error {
	var c app.Caller
	if err := json.Unmarshal(body, &c); err != nil {
		return fmt.Errorf("caller JSON: %w", err)
	}
	var diffs []string
	if c.Subject != stepuptest.DefaultSubject {
		diffs = append(diffs, fmt.Sprintf("sub %q, want %q", c.Subject, stepuptest.DefaultSubject))
	}
	if c.ACR != acr {
		diffs = append(diffs, fmt.Sprintf("acr %q, want %q", c.ACR, acr))
	}
	if !since.IsZero() && c.AuthTime < since.Unix() {
		diffs = append(diffs, fmt.Sprintf("auth_time %d predates the new login at %d", c.AuthTime, since.Unix()))
	}
	return mismatch(diffs)
}

// describeLogin renders a login request for the story.
func describeLogin(lr stepuptest.LoginRequest) string {
	var parts []string
	if len(lr.ACRValues) > 0 {
		parts = append(parts, fmt.Sprintf("acr_values=%q", strings.Join(lr.ACRValues, " ")))
	} else {
		parts = append(parts, "no acr_values (the issuer's default: password)")
	}
	if _, ok := lr.MaxAge.Seconds(); ok {
		parts = append(parts, maxAgeText(lr.MaxAge))
	}
	if len(lr.Scopes) > 0 {
		parts = append(parts, fmt.Sprintf("scope=%q", strings.Join(lr.Scopes, " ")))
	}
	if !lr.AuthTime.IsZero() {
		parts = append(parts, fmt.Sprintf("(session started %s ago)", time.Since(lr.AuthTime).Round(time.Minute)))
	}
	return strings.Join(parts, " ")
}

// abbrev shortens a token for printing.
func abbrev(tok string) string {
	if len(tok) <= 16 {
		return tok
	}
	return fmt.Sprintf("%s…(%d bytes)", tok[:12], len(tok))
}
