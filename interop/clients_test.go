package interop

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
)

// clientTimeout bounds one run of grpcurl or the grpc-js script.
const clientTimeout = 30 * time.Second

const transferJSON = `{"from":"alice-checking","to":"bob-checking","cents":1500}`

// grpcurlExitUnauthenticated is grpcurl's exit code for an Unauthenticated
// status: 64 plus the gRPC code (16).
const grpcurlExitUnauthenticated = 64 + 16

// runGrpcurl calls bank.v1.Bank/Transfer on addr through server reflection
// with token, verbosely, and returns grpcurl's output and exit code.
func runGrpcurl(t *testing.T, ctx context.Context, addr, token string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, clientTimeout)
	defer cancel()
	stdout, stderr, code, err := runCommand(ctx, ".", nil, grpcurlBin,
		"-plaintext", "-v", "-max-time", "15",
		"-H", "authorization: Bearer "+token,
		"-d", transferJSON, addr, "bank.v1.Bank/Transfer")
	if err != nil {
		t.Fatalf("grpcurl: %v\n%s", err, stderr)
	}
	return stdout + stderr, code
}

// responseHeaders returns the values of metadata name in the "Response
// headers received:" section of grpcurl's verbose output.
func responseHeaders(out, name string) []string {
	var vals []string
	in := false
	for line := range strings.Lines(out) {
		line = strings.TrimSpace(line)
		switch {
		case line == "Response headers received:":
			in = true
		case line == "" || strings.HasSuffix(line, "received:"):
			in = false
		case in:
			if v, ok := strings.CutPrefix(line, name+": "); ok {
				vals = append(vals, v)
			}
		}
	}
	return vals
}

// TestGrpcurl: grpcurl (pinned, built from the module proxy) calls
// examples/grpcapi's Transfer through server reflection with a password
// token. Its verbose output shows the www-authenticate header metadata with
// the step-up challenge, which the test parses as a client would; after a
// login with the challenge's acr_values the same command succeeds.
func TestGrpcurl(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	addr := startGRPCAPI(t, p)
	b := p.newBrowser(t)
	tok := b.mustLogin(t, ctx, loginRequest{})

	out, code := runGrpcurl(t, ctx, addr, tok.AccessToken)
	if code != grpcurlExitUnauthenticated {
		t.Fatalf("grpcurl exit code %d, want %d (Unauthenticated); output:\n%s", code, grpcurlExitUnauthenticated, out)
	}
	vals := responseHeaders(out, "www-authenticate")
	if len(vals) != 1 {
		t.Fatalf("grpcurl printed www-authenticate response headers %q, want one value; output:\n%s", vals, out)
	}
	chs, err := claims.ParseChallenges(vals...)
	if err != nil || len(chs) != 1 || chs[0].Error != claims.CodeInsufficientUserAuthentication || !slices.Equal(chs[0].ACRValues, []string{acrMFA}) {
		t.Fatalf("www-authenticate %q: %+v %v, want insufficient_user_authentication asking for %s", vals[0], chs, err, acrMFA)
	}
	for _, want := range []string{"Code: Unauthenticated", "INSUFFICIENT_USER_AUTHENTICATION"} {
		if !strings.Contains(out, want) {
			t.Errorf("grpcurl output lacks %q; output:\n%s", want, out)
		}
	}

	tok, err = b.login(ctx, stepUpRequest(chs[0].Err()))
	if err != nil {
		t.Fatalf("authorizing again after the challenge: %v", err)
	}
	out, code = runGrpcurl(t, ctx, addr, tok.AccessToken)
	if code != 0 {
		t.Fatalf("grpcurl after step-up: exit code %d, want 0; output:\n%s", code, out)
	}
	if !strings.Contains(out, `"acr": "`+acrMFA+`"`) {
		t.Errorf("grpcurl after step-up: no receipt with acr %s; output:\n%s", acrMFA, out)
	}
}

// grpcJSResult is what grpc-client.mjs prints.
type grpcJSResult struct {
	OK            bool                `json:"ok"`
	Response      map[string]any      `json:"response"`
	Code          int                 `json:"code"`
	CodeName      string              `json:"codeName"`
	Details       string              `json:"details"`
	Headers       map[string][]string `json:"headers"`
	Trailers      map[string][]string `json:"trailers"`
	StatusDetails []struct {
		TypeURL   string `json:"typeUrl"`
		ErrorInfo *struct {
			Reason   string            `json:"reason"`
			Domain   string            `json:"domain"`
			Metadata map[string]string `json:"metadata"`
		} `json:"errorInfo"`
	} `json:"statusDetails"`
}

func runGrpcJS(t *testing.T, ctx context.Context, addr, token string) grpcJSResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, clientTimeout)
	defer cancel()
	args, err := json.Marshal(map[string]any{
		"addr": addr, "proto": filepath.Join(repoRoot, "examples", "internal", "bankpb", "bank.proto"),
		"service": "Bank", "method": "Transfer", "token": token,
		"request": map[string]any{"from": "alice-checking", "to": "bob-checking", "cents": 1500},
	})
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code, err := runCommand(ctx, ".", nil, nodeBin, "grpc-client.mjs", string(args))
	if err != nil || code != 0 {
		t.Fatalf("grpc-client.mjs: exit %d %v\n%s", code, err, stderr)
	}
	var r grpcJSResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("grpc-client.mjs printed %q: %v", stdout, err)
	}
	return r
}

// TestGrpcJS: an @grpc/grpc-js client calls Transfer with a password token
// and reads the refusal as a JavaScript application would: status
// UNAUTHENTICATED, the www-authenticate response metadata, and the
// google.rpc.ErrorInfo decoded from grpc-status-details-bin. The test logs
// in again with the ErrorInfo's acrValues, and the call succeeds.
func TestGrpcJS(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	p := startProvider(t)
	addr := startGRPCAPI(t, p)
	b := p.newBrowser(t)
	tok := b.mustLogin(t, ctx, loginRequest{})

	r := runGrpcJS(t, ctx, addr, tok.AccessToken)
	if r.OK || r.CodeName != "UNAUTHENTICATED" {
		t.Fatalf("grpc-js Transfer with a password token: %+v, want UNAUTHENTICATED", r)
	}
	// grpcmw sends the challenge as response header metadata.
	www := r.Headers["www-authenticate"]
	if len(www) != 1 {
		t.Fatalf("grpc-js saw www-authenticate response headers %q (trailers %v), want one value", www, r.Trailers)
	}
	chs, err := claims.ParseChallenges(www[0])
	if err != nil || len(chs) != 1 || chs[0].Error != claims.CodeInsufficientUserAuthentication {
		t.Fatalf("www-authenticate %q: %+v %v, want insufficient_user_authentication", www[0], chs, err)
	}
	if r.Details != www[0] {
		t.Errorf("status message %q, want the challenge %q", r.Details, www[0])
	}
	if len(r.StatusDetails) != 1 || r.StatusDetails[0].ErrorInfo == nil {
		t.Fatalf("status details %+v, want one google.rpc.ErrorInfo", r.StatusDetails)
	}
	info := r.StatusDetails[0].ErrorInfo
	if info.Reason != "INSUFFICIENT_USER_AUTHENTICATION" || info.Domain != grpcmw.ErrorDomain || info.Metadata["acrValues"] != acrMFA {
		t.Fatalf("ErrorInfo %+v, want reason %s, domain %s, acrValues %s", info, "INSUFFICIENT_USER_AUTHENTICATION", grpcmw.ErrorDomain, acrMFA)
	}

	// The client acts on the ErrorInfo alone: its acrValues, and prompt=login
	// as it carries no maxAge.
	if _, ok := info.Metadata["maxAge"]; ok {
		t.Fatalf("ErrorInfo %+v has a maxAge, want none for a fresh password login", info)
	}
	tok, err = b.login(ctx, loginRequest{ACRValues: strings.Fields(info.Metadata["acrValues"]), Prompt: "login"})
	if err != nil {
		t.Fatalf("authorizing again with the ErrorInfo's acrValues: %v", err)
	}
	r = runGrpcJS(t, ctx, addr, tok.AccessToken)
	if !r.OK || r.Response["acr"] != acrMFA || r.Response["caller"] != defaultSubject {
		t.Fatalf("grpc-js Transfer after step-up: %+v, want a receipt for %s at %s", r, defaultSubject, acrMFA)
	}
}
