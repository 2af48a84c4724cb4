package grpcmw_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/grpcmw"
	"github.com/stepupauth/stepup/idp"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/stepuptest"
	"github.com/stepupauth/stepup/verify"
)

// TestEntraClaimsChallenge runs an Entra ID authentication context
// requirement over every kind of RPC: a client that declared cp1 gets the
// claims challenge (status, www-authenticate metadata, ErrorInfo and the
// typed client error), any other client the plain insufficient_user_authentication.
func TestEntraClaimsChallenge(t *testing.T) {
	const tenant = "11111111-2222-3333-4444-555555555555"
	iss, err := stepuptest.NewIssuer(stepuptest.WithEntraShape(tenant), stepuptest.WithAudience(testAudience),
		stepuptest.WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(iss.Close)
	prof, err := idp.Entra(tenant, idp.EntraOptions{Authority: iss.URL()})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwks.NewRemote(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	cfg := prof.Config(testAudience)
	cfg.Now = func() time.Time { return testNow }
	v, err := verify.New(keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stepUp, err := prof.AuthContext("c1", "c2")
	if err != nil {
		t.Fatal(err)
	}
	m, err := grpcmw.NewMethods(grpcmw.Rule{Method: "/grpc.testing.TestService/*", Requirement: stepUp})
	if err != nil {
		t.Fatal(err)
	}
	cs := startServer(t, v, m)

	// c1 and c2 are any of; the challenge names c1, the preferred one, and
	// the single-tenant profile puts its tenant in realm and authorization_uri.
	const claimsB64 = "eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"
	authURI := iss.URL() + "/" + tenant + "/oauth2/authorize"
	challenge := `Bearer realm="` + tenant + `", authorization_uri="` + authURI + `", error="insufficient_claims", claims="` + claimsB64 + `"`
	const notCapable = `Bearer error="insufficient_user_authentication", error_description="Stronger authentication is required, and this client does not declare the cp1 capability needed to answer a claims challenge"`

	mint := func(acrs []string, xmsCC any) string {
		tok := stepuptest.Token{ACRS: acrs}
		if xmsCC != nil {
			tok.Claims = map[string]any{"xms_cc": xmsCC}
		}
		raw, err := iss.Mint(tok)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	tests := []struct {
		name      string
		token     string
		code      codes.Code
		challenge string
		reason    string
		md        map[string]string
	}{
		{"auth context met", mint([]string{"c2"}, []string{"cp1"}), codes.OK, "", "", nil},
		{"cp1 client challenged", mint(nil, []string{"cp1"}), codes.Unauthenticated, challenge, "INSUFFICIENT_CLAIMS",
			map[string]string{"claims": claimsB64, "authorizationUri": authURI}},
		{"cp1 among capabilities", mint([]string{"c3"}, []string{"cp2", "cp1"}), codes.Unauthenticated, challenge, "INSUFFICIENT_CLAIMS",
			map[string]string{"claims": claimsB64, "authorizationUri": authURI}},
		{"client without cp1", mint(nil, []string{"cp2"}), codes.Unauthenticated, notCapable, "INSUFFICIENT_USER_AUTHENTICATION", map[string]string{}},
		{"client without xms_cc", mint([]string{"c3"}, nil), codes.Unauthenticated, notCapable, "INSUFFICIENT_USER_AUTHENTICATION", map[string]string{}},
	}
	for _, tt := range tests {
		for _, kind := range kinds {
			t.Run(tt.name+"/"+kind.name, func(t *testing.T) {
				ctx := withAuthorization(context.Background(), "Bearer "+tt.token)
				header, trailer, err := kind.call(ctx, testgrpc.NewTestServiceClient(cs.raw))
				st := status.Convert(err)
				if st.Code() != tt.code {
					t.Fatalf("code got %v, want %v (%v)", st.Code(), tt.code, err)
				}
				if tt.code == codes.OK {
					return
				}
				if st.Message() != tt.challenge {
					t.Errorf("status message\ngot  %s\nwant %s", st.Message(), tt.challenge)
				}
				if got := metadata.Join(header, trailer).Get(grpcmw.WWWAuthenticateKey); len(got) != 1 || got[0] != tt.challenge {
					t.Errorf("www-authenticate got %q, want %q", got, tt.challenge)
				}
				var info *errdetails.ErrorInfo
				for _, d := range st.Details() {
					if i, ok := d.(*errdetails.ErrorInfo); ok {
						info = i
					}
				}
				if info == nil || info.GetReason() != tt.reason || !equalMD(info.GetMetadata(), tt.md) {
					t.Errorf("ErrorInfo got %v, want reason %s metadata %v", info, tt.reason, tt.md)
				}

				// The typed client, and ErrorFromStatus without the header.
				_, _, err = kind.call(ctx, testgrpc.NewTestServiceClient(cs.typed))
				var ce *claims.Error
				if !errors.As(err, &ce) {
					t.Fatalf("typed client error %T %v, want *claims.Error", err, err)
				}
				fromDetails := grpcmw.ErrorFromStatus(st, nil)
				for _, got := range []*claims.Error{ce, fromDetails} {
					req, ok := idp.ClaimsRequest(got)
					if tt.reason == "INSUFFICIENT_CLAIMS" {
						if want := `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`; !ok || req != want {
							t.Errorf("ClaimsRequest got %q %v, want %q", req, ok, want)
						}
						if got.Code != claims.CodeInsufficientClaims {
							t.Errorf("code got %q, want insufficient_claims", got.Code)
						}
					} else if ok || got.Code != claims.CodeInsufficientUserAuthentication || len(got.ACRValues) != 0 {
						t.Errorf("got %+v (claims request %v), want insufficient_user_authentication without acr_values", got, ok)
					}
				}
			})
		}
	}
}

func equalMD(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
