package app

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

// TestDevIssuerProviderPolicies: with -dev, the dev issuer mints tokens
// shaped like each provider policy's own, so that every rule of
// examples/policies/{auth0,okta,entra,keycloak}.yaml can be met by some dev
// login, and a password login is refused by the step-up rules with the
// provider's answer.
func TestDevIssuerProviderPolicies(t *testing.T) {
	tests := []struct {
		file     string
		stepUp   string      // an HTTP rule a password login must not pass
		wantCode claims.Code // its answer
	}{
		{"auth0.yaml", "POST /transfers", claims.CodeInsufficientUserAuthentication},
		{"okta.yaml", "GET /reports/", claims.CodeInsufficientUserAuthentication},
		{"entra.yaml", "POST /invoices/{id}/approve", claims.CodeInsufficientClaims},
		{"keycloak.yaml", "POST /payments", claims.CodeInsufficientUserAuthentication},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ctx := context.Background()
			a, err := Open(ctx, Config{PolicyPath: filepath.Join("..", "..", "policies", tt.file), Dev: true}, discardLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if a.Policy.Profile == nil {
				t.Fatal("policy has no profile")
			}
			var tokens []string
			for _, acr := range a.Dev.ACRValues() {
				tok, err := a.Dev.Login(ctx, stepuptest.LoginRequest{ACRValues: []string{acr}, Scopes: Scopes(a.Policy)})
				if err != nil {
					t.Fatalf("login at %q: %v", acr, err)
				}
				tokens = append(tokens, tok)
			}
			for _, r := range a.Policy.Rules {
				if r.Public {
					continue
				}
				met := false
				for _, tok := range tokens {
					if _, err := a.Verifier.Authorize(ctx, tok, r.Requirement); err == nil {
						met = true
					} else if ce := new(claims.Error); errors.As(err, &ce) && ce.Code == claims.CodeInvalidToken {
						t.Fatalf("rules[%d]: dev token refused: %v", r.Index, err)
					}
				}
				if !met {
					t.Errorf("rules[%d] (%s%s): no dev login meets it", r.Index, r.HTTP, r.GRPC)
				}
				if r.HTTP == tt.stepUp {
					_, err := a.Verifier.Authorize(ctx, tokens[0], r.Requirement)
					var ce *claims.Error
					if !errors.As(err, &ce) || ce.Code != tt.wantCode {
						t.Errorf("%s with a password login: %v, want %s", r.HTTP, err, tt.wantCode)
					}
				}
			}
		})
	}
}
