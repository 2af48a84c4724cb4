package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/bankpb"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/stepuptest"
)

func TestLedgerTransfer(t *testing.T) {
	tests := []struct {
		name     string
		from, to string
		cents    int64
		code     codes.Code
	}{
		{"ok", "alice-checking", "bob-checking", 1000, codes.OK},
		{"no from", "", "bob-checking", 1, codes.InvalidArgument},
		{"same account", "bob-checking", "bob-checking", 1, codes.InvalidArgument},
		{"zero", "alice-checking", "bob-checking", 0, codes.InvalidArgument},
		{"negative", "alice-checking", "bob-checking", -5, codes.InvalidArgument},
		{"over the cap", "alice-savings", "bob-checking", MaxTransferCents + 1, codes.InvalidArgument},
		{"unknown account", "alice-checking", "mallory", 1, codes.NotFound},
		{"insufficient funds", "bob-checking", "alice-checking", 50_001, codes.FailedPrecondition},
		{"frozen", "alice-savings", "frozen-account", 1, codes.FailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger()
			l.balances["frozen-account"] = 10
			l.frozen["frozen-account"] = true
			fromBefore, _ := l.Balance(tt.from)
			_, err := l.Transfer(tt.from, tt.to, tt.cents)
			if got := status.Code(err); got != tt.code {
				t.Fatalf("Transfer: %v, want code %v", err, tt.code)
			}
			fromAfter, _ := l.Balance(tt.from)
			moved := fromBefore - fromAfter
			if tt.code == codes.OK && moved != tt.cents || tt.code != codes.OK && moved != 0 {
				t.Errorf("balance of %s moved by %d", tt.from, moved)
			}
		})
	}
}

func TestLedgerHistoryAndFreeze(t *testing.T) {
	l := NewLedger()
	for _, c := range []int64{1, 2, 3} {
		if _, err := l.Transfer("alice-checking", "bob-checking", c); err != nil {
			t.Fatal(err)
		}
	}
	txs, err := l.Transactions("alice-checking", 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, tx := range txs {
		got = append(got, tx.GetCents())
	}
	if !slices.Equal(got, []int64{-2, -3}) {
		t.Errorf("last two transactions %v, want [-2 -3]", got)
	}
	if _, err := l.Transactions("mallory", 1); status.Code(err) != codes.NotFound {
		t.Errorf("Transactions(mallory): %v, want NotFound", err)
	}
	if err := l.Freeze("bob-checking"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Transfer("alice-checking", "bob-checking", 1); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("transfer to a frozen account: %v, want FailedPrecondition", err)
	}
	if err := l.Freeze("mallory"); status.Code(err) != codes.NotFound {
		t.Errorf("Freeze(mallory): %v, want NotFound", err)
	}
}

// TestBankNeedsCaller: money-moving handlers fail closed without verified
// claims; reading works anonymously.
func TestBankNeedsCaller(t *testing.T) {
	b := &Bank{Ledger: NewLedger()}
	a := &Admin{Ledger: b.Ledger}
	ctx := context.Background()
	if _, err := b.Transfer(ctx, transferReq(1)); status.Code(err) != codes.Unauthenticated {
		t.Errorf("Transfer without claims: %v, want Unauthenticated", err)
	}
	if _, err := a.FreezeAccount(ctx, nil); status.Code(err) != codes.Unauthenticated {
		t.Errorf("FreezeAccount without claims: %v, want Unauthenticated", err)
	}
	bal, err := b.GetBalance(ctx, balanceReq("alice-checking"))
	if err != nil || bal.GetCaller() != "anonymous" {
		t.Errorf("GetBalance without claims: %v, %v; want the balance for anonymous", bal, err)
	}
	cctx := claims.NewContext(ctx, &claims.Claims{Subject: "alice", ACR: "x"})
	r, err := b.Transfer(cctx, transferReq(7))
	if err != nil || r.GetCaller() != "alice" || r.GetAcr() != "x" || r.GetCents() != 7 {
		t.Errorf("Transfer with claims: %v, %v; want alice's receipt", r, err)
	}
}

func TestCallerHandler(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	c := &claims.Claims{Subject: "alice", ACR: "a", AMR: []string{"pwd", "hwk"}, AuthTime: at, Scopes: []string{"s1", "s2"}}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/x", nil).WithContext(claims.NewContext(context.Background(), c))
	CallerHandler("GET /x").ServeHTTP(rec, req)
	want := `{"route":"GET /x","sub":"alice","acr":"a","amr":["pwd","hwk"],"auth_time":1700000000,"scope":"s1 s2"}` + "\n"
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Errorf("got %d %s, want 200 %s", rec.Code, rec.Body, want)
	}

	rec = httptest.NewRecorder()
	CallerHandler("GET /x").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("without claims: %d, want 500", rec.Code)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		rule policy.Rule
		want string
	}{
		{policy.Rule{Public: true}, "public"},
		{policy.Rule{}, "any valid token"},
		{policy.Rule{Requirement: claims.Requirement{ACR: []string{"a", "b"}, MaxAge: 5 * time.Minute}}, "acr one of [a b]; login at most 5m0s old"},
		{policy.Rule{Requirement: claims.Requirement{ACRMin: "2", ACRLevels: []string{"1", "2"}, Scopes: []string{"s"}}}, "acr at least 2; scopes [s]"},
		{policy.Rule{Requirement: claims.Requirement{AMRAll: []string{"hwk"}, AMRAny: []string{"otp", "sms"}}}, "amr all of [hwk]; amr one of [otp sms]"},
		{policy.Rule{Requirement: claims.Requirement{ACR: []string{"a"}, Binding: claims.BindingDPoP}}, "acr one of [a]; DPoP-bound token"},
		{policy.Rule{Requirement: claims.Requirement{Binding: claims.BindingMTLS}}, "certificate-bound token"},
		{policy.Rule{Requirement: claims.Requirement{Binding: claims.BindingAny}}, "DPoP- or certificate-bound token"},
		{policy.Rule{Requirement: claims.Requirement{AnyOf: []claims.Requirement{{ACR: []string{"a"}}, {AMRAll: []string{"hwk"}}}}}, "one of (acr one of [a]) or (amr all of [hwk])"},
	}
	for _, tt := range tests {
		if got := Describe(tt.rule); got != tt.want {
			t.Errorf("Describe(%+v) = %q, want %q", tt.rule, got, tt.want)
		}
	}
}

func TestScopes(t *testing.T) {
	p := &policy.Policy{Rules: []policy.Rule{
		{Requirement: claims.Requirement{Scopes: []string{"a", "b"}}},
		{Requirement: claims.Requirement{Scopes: []string{"b"}, AnyOf: []claims.Requirement{{Scopes: []string{"c"}}}}},
		{Public: true},
	}}
	if got := Scopes(p); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Scopes = %q, want [a b c]", got)
	}
}

func TestDevLevels(t *testing.T) {
	p := &policy.Policy{
		ACRLevels: []string{"1", "2"},
		Rules: []policy.Rule{
			{Requirement: claims.Requirement{ACRMin: "2", ACRLevels: []string{"1", "2"}}},
			{Requirement: claims.Requirement{AMRAll: []string{"hwk"}, AMRACRValues: []string{claims.ACRMultiFactor}}},
			{Requirement: claims.Requirement{AMRAny: []string{"face"}, AMRACRValues: []string{"urn:x"}}},
		},
	}
	got := map[string][]string{}
	var order []string
	for _, l := range devLevels(p) {
		got[l.acr] = l.amr
		order = append(order, l.acr)
	}
	want := map[string][]string{
		stepuptest.ACRPassword: {"pwd"},
		claims.ACRMultiFactor:  {"pwd", "otp", "mfa", "hwk"},
		ACRPhishingResistant:   {"pwd", "hwk"},
		"1":                    {"pwd"},
		"2":                    {"pwd"},
		"urn:x":                {"pwd", "face"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("devLevels = %v, want %v", got, want)
	}
	if wantOrder := []string{stepuptest.ACRPassword, claims.ACRMultiFactor, ACRPhishingResistant, "1", "2", "urn:x"}; !slices.Equal(order, wantOrder) {
		t.Errorf("order %q, want %q", order, wantOrder)
	}
}

func TestDevType(t *testing.T) {
	tests := []struct {
		types []string
		want  string
	}{
		{nil, ""},
		{[]string{"at+jwt"}, ""},
		{[]string{"JWT", "application/at+jwt"}, ""},
		{[]string{"JWT"}, "JWT"},
	}
	for _, tt := range tests {
		if got := devType(tt.types); got != tt.want {
			t.Errorf("devType(%q) = %q, want %q", tt.types, got, tt.want)
		}
	}
}

func TestDevHook(t *testing.T) {
	if devHook(claims.Names{ACR: "acr"}, "") != nil {
		t.Error("hook for standard names and type, want nil")
	}
	hook := devHook(claims.Names{ACR: "https://x/acr", AMR: "https://x/amr", AuthTime: "https://x/at"}, "JWT")
	at := time.Unix(1_700_000_000, 0)
	tok := stepuptest.Token{ACR: "a", AMR: []string{"pwd"}, AuthTime: at}
	hook(&tok)
	if tok.ACR != "" || tok.AMR != nil || !tok.AuthTime.IsZero() {
		t.Errorf("standard claims left: %+v", tok)
	}
	wantClaims := map[string]any{"https://x/acr": "a", "https://x/amr": []string{"pwd"}, "https://x/at": at.Unix()}
	if !reflect.DeepEqual(tok.Claims, wantClaims) || tok.Header["typ"] != "JWT" {
		t.Errorf("claims %v header %v, want %v and typ JWT", tok.Claims, tok.Header, wantClaims)
	}
}

// TestDevIssuerHonoursPolicy: with DevOptions, the dev issuer's logins pass
// a policy's verifier even with namespaced claims and typ JWT.
func TestDevIssuerHonoursPolicy(t *testing.T) {
	doc := `issuer: https://idp.example.com/
audience: urn:bank
algorithms: [EdDSA]
token_types: [JWT]
claim_names: {acr: "https://x/acr", amr: "https://x/amr", auth_time: "https://x/auth_time"}
acr_levels: ["1", "2"]
rules:
  - http: "POST /pay"
    acr_min: "2"
    max_age: 5m
  - http: "GET /admin/"
    amr_all: [hwk]
    acr_values: ["2"]
`
	path := t.TempDir() + "/p.yaml"
	if err := writeFile(path, doc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := Open(ctx, Config{PolicyPath: path, Dev: true, Realm: "r"}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Policy.Issuer != a.Dev.Issuer() || a.Policy.Audience != "urn:bank" {
		t.Errorf("policy issuer %q audience %q, want the dev issuer and urn:bank", a.Policy.Issuer, a.Policy.Audience)
	}
	if _, ok, _ := a.MetadataRoute(); ok {
		t.Error("metadata route for audience urn:bank, want none")
	}
	tok, err := a.Dev.Login(ctx, stepuptest.LoginRequest{ACRValues: []string{"2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range a.Policy.HTTPRules() {
		c, err := a.Verifier.Authorize(ctx, tok, r.Requirement)
		if err != nil {
			t.Errorf("%s: %v, want the level-2 login to pass", r.HTTP, err)
			continue
		}
		if c.ACR != "2" || !slices.Contains(c.AMR, "hwk") {
			t.Errorf("%s: acr %q amr %q, want 2 with hwk", r.HTTP, c.ACR, c.AMR)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string // error substring; "" for success
	}{
		{[]string{"-policy", "p.yaml"}, ""},
		{[]string{"-policy", "p.yaml", "-dev", "-audience", "x"}, ""},
		{nil, "-policy is required"},
		{[]string{"-policy", "p.yaml", "-dev", "-issuer", "https://x"}, "exclude each other"},
		{[]string{"-policy", "p.yaml", "more"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var c Config
		c.RegisterFlags(fs, "127.0.0.1:1", "realm")
		err := c.ParseFlags(fs, tt.args)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("ParseFlags(%q): %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestPrintDev(t *testing.T) {
	iss, err := NewDevIssuer("")
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	tokens, err := DevTokens(context.Background(), iss, []string{"admin"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tk := range tokens {
		names = append(names, tk.Var)
	}
	if !slices.Equal(names, []string{"PASSWORD_TOKEN", "MFA_TOKEN", "KEY_TOKEN"}) {
		t.Errorf("token names %q", names)
	}
	var b strings.Builder
	PrintDev(&b, iss, tokens, []string{"admin"})
	for _, want := range []string{"export KEY_TOKEN='", "amr [pwd hwk]", "-d scope=admin", iss.TokenURL()} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	// The tokens are real: the scope is granted.
	parts := strings.Split(tokens[0].Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWS", tokens[0].Token)
	}
	var payload struct {
		Scope string `json:"scope"`
	}
	if err := json.Unmarshal(mustB64(t, parts[1]), &payload); err != nil || payload.Scope != "admin" {
		t.Errorf("payload scope %q (%v), want admin", payload.Scope, err)
	}
}

func transferReq(cents int64) *bankpb.TransferRequest {
	return &bankpb.TransferRequest{From: "alice-checking", To: "bob-checking", Cents: cents}
}

func balanceReq(account string) *bankpb.GetBalanceRequest {
	return &bankpb.GetBalanceRequest{Account: account}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
