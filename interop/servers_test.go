package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// policyYAML is the policy of both example servers (schema: the package
// policy documentation), %s being the provider's issuer. oidc-provider follows RFC
// 9068: typ at+jwt, and ES256 is what provider.mjs signs with.
const policyYAML = `# written by the stepup interop tests
issuer: %q
audience: %q
algorithms: [ES256]
token_types: [at+jwt]
rules:
  - http: "GET /profile"
    grpc: /bank.v1.Bank/GetBalance
  - http: "POST /transfer"
    grpc: /bank.v1.Bank/Transfer
    acr: [%q]
    max_age: 5m
`

// transferMaxAge is the max_age of the transfer rule.
const transferMaxAge = 5 * time.Minute

func writePolicy(t *testing.T, issuer string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, fmt.Appendf(nil, policyYAML, issuer, audience, acrMFA), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	httpapiReady = regexp.MustCompile(`^httpapi: serving .* on http://(\S+) \(issuer `)
	grpcapiReady = regexp.MustCompile(`^grpcapi: serving .* on (\S+) \(issuer `)
)

func readyLine(re *regexp.Regexp) func(string) (string, bool) {
	return func(line string) (string, bool) {
		m := re.FindStringSubmatch(line)
		if m == nil {
			return "", false
		}
		return m[1], true
	}
}

// startHTTPAPI runs examples/httpapi with the policy for p on a free port
// and returns its base URL.
func startHTTPAPI(t *testing.T, p *provider) string {
	t.Helper()
	_, addr := startProcess(t, httpapiBin, ".", nil, readyLine(httpapiReady),
		"-addr", "127.0.0.1:0", "-policy", writePolicy(t, p.issuer))
	return "http://" + addr
}

// startGRPCAPI runs examples/grpcapi with the policy for p on a free port
// and returns its address.
func startGRPCAPI(t *testing.T, p *provider) string {
	t.Helper()
	_, addr := startProcess(t, grpcapiBin, ".", nil, readyLine(grpcapiReady),
		"-addr", "127.0.0.1:0", "-policy", writePolicy(t, p.issuer))
	return addr
}

// caller is the JSON a protected route of httpapi answers with.
type caller struct {
	Route    string   `json:"route"`
	Sub      string   `json:"sub"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
	Scope    string   `json:"scope"`
}

// apiResult is one answer of httpapi.
type apiResult struct {
	status    int
	challenge []claims.Challenge // parsed WWW-Authenticate
	caller    caller             // 200 only
	body      string
}

// callAPI sends method url with client (which adds the token: an x/oauth2
// client, or bearerClient) and parses the answer. A WWW-Authenticate header
// that does not parse fails the test.
func callAPI(t *testing.T, ctx context.Context, c *http.Client, method, url string) apiResult {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	r := apiResult{status: resp.StatusCode, body: string(body)}
	if vals := resp.Header.Values("WWW-Authenticate"); len(vals) > 0 {
		if r.challenge, err = claims.ParseChallenges(vals...); err != nil {
			t.Fatalf("%s %s: WWW-Authenticate %q: %v", method, url, vals, err)
		}
	}
	if r.status == http.StatusOK {
		if err := json.Unmarshal(body, &r.caller); err != nil {
			t.Fatalf("%s %s: 200 body %q: %v", method, url, body, err)
		}
	}
	return r
}

// bearerTransport adds a fixed bearer token to every request.
type bearerTransport struct{ token string }

func (b bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// bearerClient sends token as it is, without any x/oauth2 logic.
func bearerClient(token string) *http.Client {
	return &http.Client{Transport: bearerTransport{token}, Timeout: httpTimeout}
}

// stepUpChallenge returns the challenge of a 401 answer as the typed error
// a client acts on, failing the test unless it is one Bearer
// insufficient_user_authentication challenge.
func stepUpChallenge(t *testing.T, r apiResult) *claims.Error {
	t.Helper()
	if r.status != http.StatusUnauthorized || len(r.challenge) != 1 {
		t.Fatalf("got %d with challenges %+v, want 401 with one challenge (body %s)", r.status, r.challenge, r.body)
	}
	c := r.challenge[0]
	if c.Scheme != "Bearer" || c.Error != claims.CodeInsufficientUserAuthentication {
		t.Fatalf("challenge %s, want a Bearer insufficient_user_authentication", c)
	}
	return c.Err()
}
