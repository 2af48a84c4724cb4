package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/examples/internal/app/apptest"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/stepuptest"
)

// TestDevIntrospection: the fixture authenticates its one client by the
// policy's method only, answers active with the login's claims for the
// tokens it issued until their exp, and inactive for anything else.
func TestDevIntrospection(t *testing.T) {
	iss, err := NewDevIssuer("https://api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	fresh, err := iss.Mint(stepuptest.Token{ACR: claims.ACRMultiFactor, AuthTime: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	expired, err := iss.Mint(stepuptest.Token{Claims: map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}})
	if err != nil {
		t.Fatal(err)
	}
	for _, post := range []bool{false, true} {
		d, err := newDevIntrospection("api", post)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		good, err := d.issue(fresh)
		if err != nil {
			t.Fatal(err)
		}
		old, err := d.issue(expired)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.issue("not-a-jwt"); err == nil {
			t.Error("issue(not-a-jwt) succeeded")
		}
		ask := func(basic bool, secret, token string) (int, string) {
			form := url.Values{"token": {token}}
			if !basic {
				form.Set("client_id", "api")
				form.Set("client_secret", secret)
			}
			req, err := http.NewRequest("POST", d.url, strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if basic {
				req.SetBasicAuth("api", url.QueryEscape(secret))
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		right := !post
		tests := []struct {
			name   string
			basic  bool
			secret string
			token  string
			status int
			body   string // a substring
		}{
			{"issued token", right, d.secret, good, 200, `"active":true`},
			{"issued token's acr", right, d.secret, good, 200, `"acr":"` + claims.ACRMultiFactor + `"`},
			{"expired token", right, d.secret, old, 200, `{"active":false}`},
			{"unknown token", right, d.secret, "nope", 200, `{"active":false}`},
			{"a JWT it never issued", right, d.secret, fresh, 200, `{"active":false}`},
			{"wrong secret", right, "wrong", good, 401, `{"error":"invalid_client"}`},
			{"the other method", !right, d.secret, good, 401, `{"error":"invalid_client"}`},
		}
		for _, tt := range tests {
			status, body := ask(tt.basic, tt.secret, tt.token)
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("post %v, %s: got %d %s, want %d with %s", post, tt.name, status, body, tt.status, tt.body)
			}
		}
	}
}

// TestOpenIntrospection: -dev needs no secret in the environment (the
// fixture makes one up) and serves OPAQUE_TOKEN through the Verifier;
// without -dev a refused secret stops Open with ErrClientAuth.
func TestOpenIntrospection(t *testing.T) {
	path := filepath.Join("..", "..", "policies", "introspection.yaml")
	t.Setenv("STEPUP_INTROSPECTION_SECRET", "")
	ctx := context.Background()
	a, err := Open(ctx, Config{PolicyPath: path, Dev: true}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.DevOpaqueToken(ctx, []string{"admin"})
	if err != nil || tok == nil {
		t.Fatalf("DevOpaqueToken: %v, %v", tok, err)
	}
	cl, err := a.Verifier.Verify(ctx, tok.Token)
	if err != nil || cl.ACR != claims.ACRMultiFactor || cl.Issuer != a.Dev.Issuer() {
		t.Errorf("Verify(OPAQUE_TOKEN) = %+v, %v; want the dev login at %s", cl, err, claims.ACRMultiFactor)
	}
	d := a.devIntro
	a.Close()
	if _, err := http.Post(d.url, "application/x-www-form-urlencoded", nil); err == nil {
		t.Error("the dev introspection endpoint still answers after Close")
	}

	// Without -dev, against the fixture with the wrong secret.
	iss, err := NewDevIssuer("https://api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	fix, err := newDevIntrospection("api", false)
	if err != nil {
		t.Fatal(err)
	}
	defer fix.Close()
	t.Setenv("STEPUP_INTROSPECTION_SECRET", "not-"+fix.secret)
	doc := "issuer: " + iss.Issuer() + "\naudience: https://api.example.com\nintrospection: {endpoint: \"" + fix.url +
		"\", client_id: api, client_secret_env: STEPUP_INTROSPECTION_SECRET}\nrules: [{http: /a}]\n"
	_, err = Open(ctx, Config{PolicyPath: apptest.WritePolicy(t, doc)}, discardLogger())
	if !errors.Is(err, introspect.ErrClientAuth) {
		t.Errorf("Open with a wrong secret: %v, want ErrClientAuth", err)
	}
}
