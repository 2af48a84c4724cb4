package conformance_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/httpmw"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/verify"
)

const (
	issuer   = "https://idp.example.com/"
	audience = "https://api.example.com"
	method   = "/conformance.v1.Svc/Call"
)

var now = time.Unix(1_800_000_000, 0).UTC()

type env struct {
	token string
	v     *verify.Verifier
}

func newEnv(t *testing.T) env {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.Import(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{jwk.KeyIDKey: "k1", jwk.AlgorithmKey: jwa.ES256()} {
		if err := pub.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.NewStatic(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(keys, verify.Config{Issuer: issuer, Audience: audience, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(map[string]any{
		"iss": issuer, "aud": audience, "sub": "alice", "client_id": "c", "jti": "j",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(), "scope": "read",
	})
	if err != nil {
		t.Fatal(err)
	}
	h := jws.NewHeaders()
	_ = h.Set(jws.KeyIDKey, "k1")
	_ = h.Set(jws.TypeKey, "at+jwt")
	tok, err := jws.Sign(payload, jws.WithKey(jwa.ES256(), priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return env{token: string(tok), v: v}
}

// grpcFor is the gRPC counterpart of each HTTP status of a rejection.
var grpcFor = map[int]codes.Code{
	http.StatusOK:           codes.OK,
	http.StatusBadRequest:   codes.InvalidArgument,
	http.StatusUnauthorized: codes.Unauthenticated,
	http.StatusForbidden:    codes.PermissionDenied,
}

// answers runs one request with the Authorization values auth against req
// through both transports and returns the HTTP status and challenge, and
// the gRPC code and challenge.
func answers(t *testing.T, e env, req claims.Requirement, auth []string) (int, string, codes.Code, string) {
	t.Helper()
	g, err := httpmw.New(e.v)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, a := range auth {
		r.Header.Add("Authorization", a)
	}
	rec := httptest.NewRecorder()
	g.Require(req, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, r)

	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: method, Requirement: req})
	if err != nil {
		t.Fatal(err)
	}
	si, err := grpcmw.New(e.v, m)
	if err != nil {
		t.Fatal(err)
	}
	md := metadata.MD{}
	for _, a := range auth {
		md.Append("authorization", a)
	}
	ctx := metadata.NewIncomingContext(context.Background(), md)
	_, gerr := si.Unary()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) { return nil, nil })
	st := status.Convert(gerr)
	msg := st.Message()
	if st.Code() == codes.OK {
		msg = ""
	}
	return rec.Code, rec.Header().Get("WWW-Authenticate"), st.Code(), msg
}

// TestAuthorizationValues: the same Authorization value gives the same
// answer over HTTP and gRPC (one parser, internal/bearer).
func TestAuthorizationValues(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		auth   []string
		status int
	}{
		{"none", nil, 401},
		{"token", []string{"Bearer " + e.token}, 200},
		{"lower-case scheme, extra spaces", []string{"bearer   " + e.token}, 200},
		{"surrounding whitespace", []string{" Bearer " + e.token + "\t"}, 200},
		{"empty value", []string{""}, 400},
		{"blank value", []string{"  "}, 400},
		{"scheme alone", []string{"Bearer"}, 400},
		{"tab separator", []string{"Bearer\t" + e.token}, 400},
		{"two tokens", []string{"Bearer a b"}, 400},
		{"two values", []string{"Bearer " + e.token, "Bearer " + e.token}, 400},
		{"another scheme", []string{"Basic dXNlcjpwYXNz"}, 401},
		{"not a JWT", []string{"Bearer abc"}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, hch, gc, gch := answers(t, e, claims.Requirement{}, tt.auth)
			if hs != tt.status || gc != grpcFor[tt.status] {
				t.Errorf("got HTTP %d / gRPC %v; want %d / %v", hs, gc, tt.status, grpcFor[tt.status])
			}
			if hch != gch {
				t.Errorf("challenges differ:\nHTTP %q\ngRPC %q", hch, gch)
			}
		})
	}
}

// TestCheckCodes: whatever code a custom Check returns, both transports
// answer it with corresponding statuses and the same challenge, by the one
// table of internal/answer. The code that reaches the transports is the
// one claims gives (it turns an empty or unknown code into
// insufficient_user_authentication).
func TestCheckCodes(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		code   claims.Code
		status int
	}{
		{"invalid_request", claims.CodeInvalidRequest, 400},
		{"invalid_token", claims.CodeInvalidToken, 401},
		{"insufficient_user_authentication", claims.CodeInsufficientUserAuthentication, 401},
		{"insufficient_claims (Entra ID)", claims.CodeInsufficientClaims, 401},
		{"insufficient_scope", claims.CodeInsufficientScope, 403},
		{"empty code", "", 401},
		{"unregistered code", "tenant_suspended", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := claims.Requirement{Check: func(*claims.Claims) *claims.Error {
				return &claims.Error{Code: tt.code, Description: "Denied by policy"}
			}}
			hs, hch, gc, gch := answers(t, e, req, []string{"Bearer " + e.token})
			if hs != tt.status || gc != grpcFor[tt.status] {
				t.Errorf("got HTTP %d / gRPC %v; want %d / %v", hs, gc, tt.status, grpcFor[tt.status])
			}
			if hch != gch || hch == "" {
				t.Errorf("challenges differ or are missing:\nHTTP %q\ngRPC %q", hch, gch)
			}
			chs, err := claims.ParseChallenges(hch)
			if err != nil || len(chs) != 1 || chs[0].Error == "" {
				t.Errorf("challenge %q: a valid token must get an error code, got %+v, %v", hch, chs, err)
			}
		})
	}
}
