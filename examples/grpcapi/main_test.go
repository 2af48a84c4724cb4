package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app"
	"github.com/stepupauth/stepup/examples/internal/app/apptest"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/stepuptest"
)

const audience = "https://api.example.com"

func testPolicy(iss string) string {
	return `issuer: ` + iss + `
audience: ` + audience + `
rules:
  - grpc: /bank.v1.Bank/GetBalance
  - grpc: /bank.v1.Bank/WatchTransactions
  - grpc: /bank.v1.Bank/Transfer
    acr: [` + claims.ACRMultiFactor + `]
    max_age: 5m
  - grpc: /bank.v1.Bank/TransferSession
    acr: [` + claims.ACRMultiFactor + `]
  - grpc: /bank.v1.Admin/*
    amr_all: [hwk]
    acr_values: [` + app.ACRPhishingResistant + `]
    scopes: [admin]
`
}

type server struct {
	addr, metricsAddr string
	stdout, stderr    *apptest.Buffer
	cancel            context.CancelFunc
	done              chan error
	bank              bankpb.BankClient
	admin             bankpb.AdminClient
	conn              *grpc.ClientConn
}

// startServer runs the program with args plus -addr 127.0.0.1:0, waits
// until it serves and connects a client with grpcmw's interceptors.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	s := &server{stdout: &apptest.Buffer{}, stderr: &apptest.Buffer{}, cancel: cancel, done: make(chan error, 1)}
	type addrs struct{ addr, metrics string }
	ready := make(chan addrs, 1)
	go func() {
		s.done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), s.stdout, s.stderr,
			func(addr, metrics string) { ready <- addrs{addr, metrics} })
	}()
	select {
	case a := <-ready:
		s.addr, s.metricsAddr = a.addr, a.metrics
	case err := <-s.done:
		cancel()
		t.Fatalf("run ended before serving: %v\nstderr:\n%s", err, s.stderr)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Error("run did not return after cancel")
		}
	})
	conn, err := grpc.NewClient(s.addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(grpcmw.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(grpcmw.StreamClientInterceptor()),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	s.conn, s.bank, s.admin = conn, bankpb.NewBankClient(conn), bankpb.NewAdminClient(conn)
	return s
}

func (s *server) stop(t *testing.T) error {
	t.Helper()
	_ = s.conn.Close()
	s.cancel()
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancel")
		return nil
	}
}

func withToken(ctx context.Context, tok string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
}

// wantRefusal checks that err is a typed refusal with these fields.
func wantRefusal(t *testing.T, what string, err error, code codes.Code, errCode claims.Code, acr, scope []string) {
	t.Helper()
	var ce *claims.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%s: %v, want a *claims.Error", what, err)
	}
	if status.Code(err) != code || ce.Code != errCode || !slices.Equal(ce.ACRValues, acr) || !slices.Equal(ce.Scope, scope) {
		t.Errorf("%s: status %v, %q acr %q scope %q; want %v, %q acr %q scope %q",
			what, status.Code(err), ce.Code, ce.ACRValues, ce.Scope, code, errCode, acr, scope)
	}
}

func TestSmoke(t *testing.T) {
	iss, err := app.NewDevIssuer(audience)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	s := startServer(t, "-policy", apptest.WritePolicy(t, testPolicy(iss.Issuer())), "-metrics-addr", "127.0.0.1:0")
	ctx := context.Background()
	login := func(lr stepuptest.LoginRequest) context.Context {
		tok, err := iss.Login(ctx, lr)
		if err != nil {
			t.Fatal(err)
		}
		return withToken(ctx, tok)
	}
	password := login(stepuptest.LoginRequest{})
	mfa := login(stepuptest.LoginRequest{ACRValues: []string{claims.ACRMultiFactor}})

	// Unary: allowed, then challenged, then allowed after step-up.
	b, err := s.bank.GetBalance(password, &bankpb.GetBalanceRequest{Account: "alice-checking"})
	if err != nil || b.GetCaller() != stepuptest.DefaultSubject || b.GetCents() != 250_000 {
		t.Fatalf("GetBalance: %v, %v; want alice's balance", b, err)
	}
	_, err = s.bank.GetBalance(ctx, &bankpb.GetBalanceRequest{Account: "alice-checking"})
	wantRefusal(t, "GetBalance without a token", err, codes.Unauthenticated, "", nil, nil)
	_, err = s.bank.Transfer(password, &bankpb.TransferRequest{From: "alice-checking", To: "bob-checking", Cents: 100})
	wantRefusal(t, "Transfer with a password token", err, codes.Unauthenticated,
		claims.CodeInsufficientUserAuthentication, []string{claims.ACRMultiFactor}, nil)
	r, err := s.bank.Transfer(mfa, &bankpb.TransferRequest{From: "alice-checking", To: "bob-checking", Cents: 100})
	if err != nil || r.GetAcr() != claims.ACRMultiFactor {
		t.Fatalf("Transfer with MFA: %v, %v; want a receipt at the MFA acr", r, err)
	}
	_, err = s.admin.FreezeAccount(mfa, &bankpb.FreezeAccountRequest{Account: "bob-checking"})
	wantRefusal(t, "FreezeAccount with MFA", err, codes.Unauthenticated,
		claims.CodeInsufficientUserAuthentication, []string{app.ACRPhishingResistant}, []string{"admin"})

	// Server streaming: allowed.
	ws, err := s.bank.WatchTransactions(password, &bankpb.WatchTransactionsRequest{Account: "alice-checking"})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for {
		tx, err := ws.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("WatchTransactions: %v", err)
		}
		got = append(got, tx.GetCents())
	}
	if !slices.Equal(got, []int64{-100}) {
		t.Errorf("WatchTransactions streamed %v, want [-100]", got)
	}

	// Bidirectional streaming: challenged with a password token, allowed
	// with MFA.
	session := func(ctx context.Context) (*bankpb.TransferReceipt, error) {
		st, err := s.bank.TransferSession(ctx)
		if err != nil {
			return nil, err
		}
		if err := st.Send(&bankpb.TransferRequest{From: "alice-savings", To: "alice-checking", Cents: 5}); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if err := st.CloseSend(); err != nil {
			return nil, err
		}
		return st.Recv()
	}
	_, err = session(password)
	wantRefusal(t, "TransferSession with a password token", err, codes.Unauthenticated,
		claims.CodeInsufficientUserAuthentication, []string{claims.ACRMultiFactor}, nil)
	if rec, err := session(mfa); err != nil || rec.GetCents() != 5 {
		t.Errorf("TransferSession with MFA: %v, %v; want a receipt of 5 cents", rec, err)
	}

	// Client streaming: not in the policy, denied without a challenge.
	us, err := s.bank.UploadTransfers(mfa)
	if err == nil {
		if err = us.Send(&bankpb.TransferRequest{From: "alice-checking", To: "bob-checking", Cents: 1}); err == nil || errors.Is(err, io.EOF) {
			_, err = us.CloseAndRecv()
		}
	}
	var ce *claims.Error
	if status.Code(err) != codes.PermissionDenied || errors.As(err, &ce) {
		t.Errorf("UploadTransfers: %v, want PermissionDenied without a challenge", err)
	}

	// Reflection needs no token.
	rc, err := reflectionpb.NewServerReflectionClient(s.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Recv()
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	var services []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		services = append(services, svc.GetName())
	}
	if !slices.Contains(services, "bank.v1.Bank") || !slices.Contains(services, "bank.v1.Admin") {
		t.Errorf("reflection lists %q, want the bank services", services)
	}
	_ = rc.CloseSend()

	// Metrics.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	mresp, err := hc.Get("http://" + s.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(mresp.Body)
	mresp.Body.Close()
	if mresp.StatusCode != http.StatusOK || !strings.Contains(string(body), "go_goroutines") {
		t.Errorf("GET /metrics: %d, want 200 with Go metrics", mresp.StatusCode)
	}
	for _, series := range []string{
		`stepup_grpc_rejections_total{code="insufficient_user_authentication",method=`,
		`stepup_grpc_rejections_total{code="unlisted",method="unlisted"}`,
		`stepup_token_verifications_total{outcome="valid",reason="none"}`,
	} {
		if !strings.Contains(string(body), series) {
			t.Errorf("GET /metrics lacks %s", series)
		}
	}

	if out := s.stdout.String(); !strings.Contains(out, "/bank.v1.Bank/UploadTransfers") || !strings.Contains(out, "denied: not in the policy") {
		t.Errorf("start-up listing lacks the denied method:\n%s", out)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run after cancel: %v, want nil", err)
	}
}

// TestDev runs -dev on the demo policy and uses a printed token.
func TestDev(t *testing.T) {
	s := startServer(t, "-dev", "-policy", filepath.Join("..", "policies", "demo.yaml"))
	tokens := apptest.Exports(s.stdout.String())
	if tokens["PASSWORD_TOKEN"] == "" || tokens["MFA_TOKEN"] == "" {
		t.Fatalf("no tokens in the output:\n%s", s.stdout)
	}
	if !strings.Contains(s.stdout.String(), "grpcurl -plaintext") {
		t.Errorf("output lacks the grpcurl commands:\n%s", s.stdout)
	}
	ctx := context.Background()
	req := &bankpb.TransferRequest{From: "alice-checking", To: "bob-checking", Cents: 1}
	_, err := s.bank.Transfer(withToken(ctx, tokens["PASSWORD_TOKEN"]), req)
	wantRefusal(t, "Transfer with PASSWORD_TOKEN", err, codes.Unauthenticated,
		claims.CodeInsufficientUserAuthentication, []string{claims.ACRMultiFactor}, nil)
	if _, err := s.bank.Transfer(withToken(ctx, tokens["MFA_TOKEN"]), req); err != nil {
		t.Errorf("Transfer with MFA_TOKEN: %v", err)
	}
	if err := s.stop(t); err != nil {
		t.Errorf("run after cancel: %v, want nil", err)
	}
}

func TestRunErrors(t *testing.T) {
	iss, err := app.NewDevIssuer(audience)
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no policy", nil, "-policy is required"},
		{"reflection in the policy", []string{"-policy", apptest.WritePolicy(t, testPolicy(iss.Issuer())+"  - grpc: /grpc.reflection.v1.ServerReflection/*\n    public: true\n")}, "duplicate method"},
		{"busy metrics address", []string{"-policy", apptest.WritePolicy(t, testPolicy(iss.Issuer())), "-metrics-addr", strings.TrimPrefix(iss.URL(), "http://")}, "address already in use"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, tt.args...), io.Discard, io.Discard, func(string, string) { t.Error("ready called") })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestUnservedRuleWarning: rules for a service the server does not serve, or
// for a method its service lacks, are logged at start-up; rules it serves
// are not.
func TestUnservedRuleWarning(t *testing.T) {
	iss, err := app.NewDevIssuer(audience)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	doc := testPolicy(iss.Issuer()) + `  - grpc: /shop.v1.Admin/*
  - grpc: /billing.v1.Invoices/Approve
  - grpc: /bank.v1.Bank/Withdraw
`
	s := startServer(t, "-policy", apptest.WritePolicy(t, doc))
	if err := s.stop(t); err != nil {
		t.Fatalf("run after cancel: %v, want nil", err)
	}
	var warned []string
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "does not serve") {
			warned = append(warned, line)
		}
	}
	for _, m := range []string{"/shop.v1.Admin/*", "/billing.v1.Invoices/Approve", "/bank.v1.Bank/Withdraw"} {
		if !slices.ContainsFunc(warned, func(l string) bool { return strings.Contains(l, "grpc="+m+" ") }) {
			t.Errorf("no warning for %s in stderr:\n%s", m, s.stderr)
		}
	}
	if len(warned) != 3 {
		t.Errorf("got %d warnings, want 3 (served rules must not warn):\n%s", len(warned), strings.Join(warned, "\n"))
	}
}
