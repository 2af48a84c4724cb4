package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
)

// fakeIntrospector answers from a table and records what it was asked.
type fakeIntrospector struct {
	mu    sync.Mutex
	asked []string
	err   error
}

func (f *fakeIntrospector) Introspect(_ context.Context, token string) (*claims.Claims, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, token)
	if f.err != nil {
		return nil, f.err
	}
	return &claims.Claims{Issuer: testIssuer, Subject: "opaque-user", ACR: "urn:example:loa:2"}, nil
}

// TestIntrospection: a verifier with an Introspector verifies JWTs with
// its keys and sends only the other tokens to the network, a JWT whose
// signature fails included never; refusals are *TokenErrors with the
// introspector's reason, outages stay outages, and the observer sees both.
func TestIntrospection(t *testing.T) {
	fi := &fakeIntrospector{}
	var seen []Reason
	v := newTestVerifier(t, newTestSource(), func(c *Config) {
		c.Introspector = fi
		c.Observer.Verified = func(r Reason, _ time.Duration) { seen = append(seen, r) }
	})
	ctx := context.Background()

	c, err := v.Verify(ctx, "opaque-token-abc")
	if err != nil || c.Subject != "opaque-user" {
		t.Fatalf("opaque token: got %v, %v", c, err)
	}
	if c, err := v.Verify(ctx, mint("ES256", nil)); err != nil || c.Subject != "user-1" {
		t.Fatalf("JWT: got %v, %v; want it verified locally", c, err)
	}
	bad := garbageSig(mint("ES256", nil))
	if _, err := v.Verify(ctx, bad); err == nil {
		t.Fatal("a JWT with a bad signature passed")
	}
	if len(fi.asked) != 1 || fi.asked[0] != "opaque-token-abc" {
		t.Errorf("introspected: got %q, want the opaque token only", fi.asked)
	}
	if _, err := v.Verify(ctx, strings.Repeat("a", defaultMaxTokenSize+1)); !isReason(err, ReasonTooLarge) {
		t.Errorf("oversized opaque token: got %v, want ReasonTooLarge before any call", err)
	}

	for _, tt := range []struct {
		name   string
		err    error
		reason Reason
		outage bool
	}{
		{"inactive", claims.InvalidToken(&introspect.Error{Reason: introspect.ReasonInactive}), ReasonInactive, false},
		{"expired", claims.InvalidToken(&introspect.Error{Reason: introspect.ReasonExpired}), ReasonExpired, false},
		{"outage", fmt.Errorf("introspect: %w", claims.ErrUnavailable), ReasonUnavailable, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fi.err = tt.err
			seen = nil
			_, err := v.Verify(ctx, "opaque-"+tt.name)
			if tt.outage {
				if !errors.Is(err, claims.ErrUnavailable) {
					t.Fatalf("got %v, want an outage", err)
				}
			} else if !isReason(err, tt.reason) {
				t.Fatalf("got %v, want a *TokenError with reason %q", err, tt.reason)
			}
			if len(seen) != 1 || seen[0] != tt.reason {
				t.Errorf("observer: got %v, want [%s]", seen, tt.reason)
			}
		})
	}
}

// TestIntrospectJWTsConfig: a verifier that introspects every token needs
// no keys; without IntrospectJWTs it does.
func TestIntrospectJWTsConfig(t *testing.T) {
	fi := &fakeIntrospector{}
	v, err := New(nil, Config{Issuer: testIssuer, Audience: testAudience, Introspector: fi, IntrospectJWTs: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), mint("ES256", nil)); err != nil || len(fi.asked) != 1 {
		t.Errorf("IntrospectJWTs: got %v, asked %d; want the JWT introspected", err, len(fi.asked))
	}
	for _, cfg := range []Config{
		{Issuer: testIssuer, Audience: testAudience, Introspector: fi},
		{Issuer: testIssuer, Audience: testAudience, IntrospectJWTs: true},
	} {
		if _, err := New(nil, cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("New(nil, %+v): got %v, want ErrConfig", cfg, err)
		}
	}
}

func isReason(err error, r Reason) bool {
	var te *TokenError
	return errors.As(err, &te) && te.Reason == r
}
