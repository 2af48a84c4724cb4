package interop

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
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
  - http: "GET /admin/"
    scopes: [admin]
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

// The in-process resource servers of the sender-constrained tests, built
// with the library directly (the example servers take no DPoP or
// certificate configuration): an httpmw Guard on httptest, a grpcmw server
// on 127.0.0.1:0. Their realm is senderRealm, and their DPoP verifier
// accepts ES256, what dpop-client.mjs signs with.
const senderRealm = "interop"

// dpopAlgs is the algs parameter of their DPoP challenges (RFC 9449 §7.1).
const dpopAlgs = `algs="ES256"`

// newProviderVerifier verifies p's access tokens, its keys found by
// discovery.
func newProviderVerifier(t *testing.T, ctx context.Context, p *provider) *verify.Verifier {
	t.Helper()
	keys, err := jwks.Discover(ctx, p.issuer, jwks.WithHTTPClient(p.client))
	if err != nil {
		t.Fatalf("jwks.Discover(%s): %v", p.issuer, err)
	}
	t.Cleanup(func() { _ = keys.Close() })
	v, err := verify.New(keys, verify.Config{
		Issuer: p.issuer, Audience: audience,
		Algorithms: []string{"ES256"}, TokenTypes: []string{"at+jwt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// newDPoPVerifier checks proofs signed ES256, demanding nonces when
// nonces is not nil.
func newDPoPVerifier(t *testing.T, nonces *dpop.Nonces) *dpop.Verifier {
	t.Helper()
	dv, err := dpop.New(dpop.Config{Algorithms: []string{"ES256"}, Nonces: nonces})
	if err != nil {
		t.Fatal(err)
	}
	return dv
}

// newNonces returns server nonces with a secret made for the test.
func newNonces(t *testing.T) *dpop.Nonces {
	t.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	n, err := dpop.NewNonces(secret, 0)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// transferDPoP is the requirement of the sender-constrained servers'
// transfer: a DPoP-bound token of a multi-factor login.
var transferDPoP = claims.Requirement{Binding: claims.BindingDPoP, ACR: []string{acrMFA}}

// callerHandler answers with the caller JSON httpapi sends.
func callerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := claims.FromContext(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		out := caller{Route: r.Pattern, Sub: c.Subject, ACR: c.ACR, AMR: c.AMR, Scope: strings.Join(c.Scopes, " ")}
		if !c.AuthTime.IsZero() {
			out.AuthTime = c.AuthTime.Unix()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// startDPoPHTTP serves, on http://127.0.0.1:PORT (its public URL, which
// proofs name), an httpmw Guard accepting p's tokens, bearer and DPoP:
// GET /profile takes any valid token, POST /transfer transferDPoP.
func startDPoPHTTP(t *testing.T, ctx context.Context, p *provider, nonces *dpop.Nonces) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	g, err := httpmw.New(newProviderVerifier(t, ctx, p), httpmw.WithRealm(senderRealm),
		httpmw.WithDPoP(newDPoPVerifier(t, nonces), base))
	if err != nil {
		t.Fatal(err)
	}
	mux, err := g.Mux([]httpmw.Route{
		{Pattern: "GET /profile", Handler: callerHandler()},
		{Pattern: "POST /transfer", Requirement: transferDPoP, Handler: callerHandler()},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = mux
	srv.Start()
	t.Cleanup(srv.Close)
	return base
}

// The methods of interop.v1.Caller, the service of startDPoPGRPC, written
// by hand (rawCodec): each answers with a message of the caller's sub (1),
// acr (2) and client_id (3).
const (
	methodWhoami         = "/interop.v1.Caller/Whoami"   // unary, any valid token
	methodCallerTransfer = "/interop.v1.Caller/Transfer" // unary, transferDPoP
	methodWatch          = "/interop.v1.Caller/Watch"    // server stream, any valid token
)

// callerMessage is the answer of interop.v1.Caller's methods.
func callerMessage(ctx context.Context) (*rawMessage, error) {
	c, ok := claims.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no claims")
	}
	b := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), c.Subject)
	b = protowire.AppendString(protowire.AppendTag(b, 2, protowire.BytesType), c.ACR)
	b = protowire.AppendString(protowire.AppendTag(b, 3, protowire.BytesType), c.ClientID)
	return &rawMessage{b: b}, nil
}

func unaryCaller(fullMethod string) grpc.MethodHandler {
	return func(_ any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
		in := new(rawMessage)
		if err := dec(in); err != nil {
			return nil, err
		}
		h := func(ctx context.Context, _ any) (any, error) { return callerMessage(ctx) }
		if icpt == nil {
			return h(ctx, in)
		}
		return icpt(ctx, in, &grpc.UnaryServerInfo{FullMethod: fullMethod}, h)
	}
}

var callerService = grpc.ServiceDesc{
	ServiceName: "interop.v1.Caller",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Whoami", Handler: unaryCaller(methodWhoami)},
		{MethodName: "Transfer", Handler: unaryCaller(methodCallerTransfer)},
	},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Watch",
		ServerStreams: true,
		// One request, then the caller twice.
		Handler: func(_ any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(new(rawMessage)); err != nil {
				return err
			}
			for range 2 {
				m, err := callerMessage(ss.Context())
				if err != nil {
					return err
				}
				if err := ss.SendMsg(m); err != nil {
					return err
				}
			}
			return nil
		},
	}},
}

// startDPoPGRPC serves interop.v1.Caller on 127.0.0.1:PORT behind grpcmw's
// interceptors accepting p's tokens, bearer and DPoP, with public URL
// http://127.0.0.1:PORT, and returns the address.
func startDPoPGRPC(t *testing.T, ctx context.Context, p *provider, nonces *dpop.Nonces) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m, err := grpcmw.NewMethods(
		grpcmw.Rule{Method: methodWhoami},
		grpcmw.Rule{Method: methodWatch},
		grpcmw.Rule{Method: methodCallerTransfer, Requirement: transferDPoP},
	)
	if err != nil {
		t.Fatal(err)
	}
	ic, err := grpcmw.New(newProviderVerifier(t, ctx, p), m, grpcmw.WithRealm(senderRealm),
		grpcmw.WithDPoP(newDPoPVerifier(t, nonces), "http://"+lis.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer(grpc.ForceServerCodecV2(rawCodec{}),
		grpc.UnaryInterceptor(ic.Unary()), grpc.StreamInterceptor(ic.Stream()))
	s.RegisterService(&callerService, nil)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}
