package verify

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/jwks"
)

func TestVerifyValid(t *testing.T) {
	src := newTestSource()
	v := newTestVerifier(t, src, nil)
	for _, alg := range defaultAlgorithms {
		t.Run(alg, func(t *testing.T) {
			c, err := v.Verify(context.Background(), mint(alg, nil))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject != "user-1" || c.Issuer != testIssuer || c.ClientID != "client-1" || c.ACR != "urn:example:loa:2" {
				t.Errorf("got sub %q iss %q client_id %q acr %q, want user-1 %s client-1 urn:example:loa:2",
					c.Subject, c.Issuer, c.ClientID, c.ACR, testIssuer)
			}
			if got, want := c.Expiry, testNow.Add(5*time.Minute); !got.Equal(want) {
				t.Errorf("got exp %v, want %v", got, want)
			}
		})
	}
}

func TestVerifyTypes(t *testing.T) {
	tests := []struct {
		name    string
		typ     any // nil: no typ member
		types   []string
		untyped bool
		want    Reason
	}{
		{"at+jwt", "at+jwt", nil, false, ReasonNone},
		{"application/at+jwt", "application/at+jwt", nil, false, ReasonNone},
		{"upper case", "AT+JWT", nil, false, ReasonNone},
		{"mixed case prefix", "Application/At+JWT", nil, false, ReasonNone},
		{"JWT by default", "JWT", nil, false, ReasonType},
		{"absent by default", nil, nil, false, ReasonType},
		{"JWT configured", "JWT", []string{"at+jwt", "JWT"}, false, ReasonNone},
		{"jwt configured, lower case", "jwt", []string{"JWT"}, false, ReasonNone},
		{"at+jwt not configured", "at+jwt", []string{"JWT"}, false, ReasonType},
		{"absent, JWT configured", nil, []string{"JWT"}, false, ReasonType},
		{"absent, insecure switch", nil, nil, true, ReasonNone},
		{"other prefix", "text/at+jwt", nil, false, ReasonType},
		{"parameters", "application/at+jwt; charset=utf-8", nil, false, ReasonType},
		{"non-string typ", 1, nil, false, ReasonMalformed},
		{"empty typ", "", nil, false, ReasonType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, newTestSource(), func(c *Config) {
				c.TokenTypes = tt.types
				c.InsecureAllowMissingType = tt.untyped
			})
			h := map[string]any{"alg": "ES256", "kid": "p256"}
			if tt.typ != nil {
				h["typ"] = tt.typ
			}
			raw := sign("ES256", privFor("ES256"), mustJSON(h), mustJSON(claimSet(nil)))
			_, err := v.Verify(context.Background(), raw)
			checkReason(t, err, tt.want)
		})
	}
}

// checkReason asserts that err is nil for ReasonNone, else an invalid_token
// rejection with the wanted reason.
func checkReason(t *testing.T, err error, want Reason) {
	t.Helper()
	if want == ReasonNone {
		if err != nil {
			t.Fatalf("got %v, want success", err)
		}
		return
	}
	if got := rejectionOf(t, err); got != want {
		t.Fatalf("got reason %q (%v), want %q", got, err, want)
	}
}

func TestVerifyClaims(t *testing.T) {
	leeway := defaultLeeway
	tests := []struct {
		name   string
		mod    func(map[string]any)
		cfgMod func(*Config)
		want   Reason
	}{
		{"valid", nil, nil, ReasonNone},
		{"expired", func(c map[string]any) { c["exp"] = testNow.Add(-leeway - time.Second).Unix() }, nil, ReasonExpired},
		{"expired exactly at exp+leeway", func(c map[string]any) { c["exp"] = testNow.Add(-leeway).Unix() }, nil, ReasonExpired},
		{"expired within leeway", func(c map[string]any) { c["exp"] = testNow.Add(-leeway + time.Second).Unix() }, nil, ReasonNone},
		{"expired, no leeway", func(c map[string]any) { c["exp"] = testNow.Add(-time.Second).Unix() }, func(c *Config) { c.NoLeeway = true }, ReasonExpired},
		{"expired exactly at exp, no leeway", func(c map[string]any) { c["exp"] = testNow.Unix() }, func(c *Config) { c.NoLeeway = true }, ReasonExpired},
		{"valid until a second from now, no leeway", func(c map[string]any) { c["exp"] = testNow.Add(time.Second).Unix() }, func(c *Config) { c.NoLeeway = true }, ReasonNone},
		{"nbf a second ahead, no leeway", func(c map[string]any) { c["nbf"] = testNow.Add(time.Second).Unix() }, func(c *Config) { c.NoLeeway = true }, ReasonNotYetValid},
		{"iat a second ahead, no leeway", func(c map[string]any) { c["iat"] = testNow.Add(time.Second).Unix() }, func(c *Config) { c.NoLeeway = true }, ReasonIssuedInFuture},
		{"exp 0", func(c map[string]any) { c["exp"] = 0 }, nil, ReasonExpired},
		{"missing exp", func(c map[string]any) { delete(c, "exp") }, nil, ReasonMissingClaim},
		{"missing exp, nothing required", func(c map[string]any) { delete(c, "exp") }, func(c *Config) { c.RequiredClaims = []string{} }, ReasonMissingClaim},
		{"null exp", func(c map[string]any) { c["exp"] = nil }, nil, ReasonClaims},
		{"string exp", func(c map[string]any) { c["exp"] = "soon" }, nil, ReasonClaims},
		{"nbf beyond leeway", func(c map[string]any) { c["nbf"] = testNow.Add(leeway + time.Second).Unix() }, nil, ReasonNotYetValid},
		{"nbf within leeway", func(c map[string]any) { c["nbf"] = testNow.Add(leeway - time.Second).Unix() }, nil, ReasonNone},
		{"nbf in the past", func(c map[string]any) { c["nbf"] = testNow.Add(-time.Hour).Unix() }, nil, ReasonNone},
		{"iat beyond leeway", func(c map[string]any) { c["iat"] = testNow.Add(leeway + time.Second).Unix() }, nil, ReasonIssuedInFuture},
		{"iat within leeway", func(c map[string]any) { c["iat"] = testNow.Add(leeway - time.Second).Unix() }, nil, ReasonNone},
		{"iat in the future, larger leeway", func(c map[string]any) { c["iat"] = testNow.Add(90 * time.Second).Unix() }, func(c *Config) { c.Leeway = 2 * time.Minute }, ReasonNone},
		{"wrong iss", func(c map[string]any) { c["iss"] = "https://evil.example.com/" }, nil, ReasonIssuer},
		{"iss with trailing difference", func(c map[string]any) { c["iss"] = strings.TrimSuffix(testIssuer, "/") }, nil, ReasonIssuer},
		{"missing iss", func(c map[string]any) { delete(c, "iss") }, nil, ReasonIssuer},
		{"non-string iss", func(c map[string]any) { c["iss"] = 7 }, nil, ReasonClaims},
		{"wrong aud", func(c map[string]any) { c["aud"] = "https://other.example.com" }, nil, ReasonAudience},
		{"aud array with ours", func(c map[string]any) { c["aud"] = []string{"x", testAudience} }, nil, ReasonNone},
		{"aud array without ours", func(c map[string]any) { c["aud"] = []string{"x", "y"} }, nil, ReasonAudience},
		{"aud prefix only", func(c map[string]any) { c["aud"] = testAudience + "/v2" }, nil, ReasonAudience},
		{"missing aud", func(c map[string]any) { delete(c, "aud") }, nil, ReasonAudience},
		{"missing sub", func(c map[string]any) { delete(c, "sub") }, nil, ReasonMissingClaim},
		{"missing client_id", func(c map[string]any) { delete(c, "client_id") }, nil, ReasonMissingClaim},
		{"missing iat", func(c map[string]any) { delete(c, "iat") }, nil, ReasonMissingClaim},
		{"missing jti", func(c map[string]any) { delete(c, "jti") }, nil, ReasonMissingClaim},
		{"missing jti, not required", func(c map[string]any) { delete(c, "jti"); delete(c, "client_id") },
			func(c *Config) { c.RequiredClaims = []string{"sub"} }, ReasonNone},
		{"custom required claim missing", nil, func(c *Config) { c.RequiredClaims = []string{"tenant"} }, ReasonMissingClaim},
		{"custom required claim null", func(c map[string]any) { c["tenant"] = nil }, func(c *Config) { c.RequiredClaims = []string{"tenant"} }, ReasonMissingClaim},
		{"custom required claim present", func(c map[string]any) { c["tenant"] = "t1" }, func(c *Config) { c.RequiredClaims = []string{"tenant"} }, ReasonNone},
		{"second issuer", func(c map[string]any) { c["iss"] = "https://second.example.com/" },
			func(c *Config) { c.Issuers = []string{"https://second.example.com/"} }, ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newTestSource()
			src.keys["https://second.example.com/"] = src.keys[testIssuer]
			v := newTestVerifier(t, src, tt.cfgMod)
			_, err := v.Verify(context.Background(), mint("ES256", tt.mod))
			checkReason(t, err, tt.want)
		})
	}
}

func TestVerifyIssuerBeforeLookup(t *testing.T) {
	src := newTestSource()
	v := newTestVerifier(t, src, nil)
	raw := mint("ES256", func(c map[string]any) { c["iss"] = "https://evil.example.com/" })
	_, err := v.Verify(context.Background(), raw)
	checkReason(t, err, ReasonIssuer)
	if n := src.lookups(); n != 0 {
		t.Errorf("got %d key lookups for an unknown issuer, want 0", n)
	}
}

func TestVerifyKeySourceErrors(t *testing.T) {
	outage := fmt.Errorf("jwks: fetch: %w", claims.ErrUnavailable)
	tests := []struct {
		name            string
		err             error
		wantUnavailable bool
		want            Reason
	}{
		{"outage", outage, true, ReasonUnavailable},
		{"deadline", context.DeadlineExceeded, true, ReasonUnavailable},
		{"unknown key", fmt.Errorf("%w: x", jwks.ErrUnknownKey), false, ReasonUnknownKey},
		{"unknown issuer", jwks.ErrUnknownIssuer, false, ReasonIssuer},
		{"other", errors.New("boom"), false, ReasonUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newTestSource()
			src.err = tt.err
			var gotReason Reason
			v := newTestVerifier(t, src, func(c *Config) {
				c.Observer.Verified = func(r Reason, _ time.Duration) { gotReason = r }
			})
			_, err := v.Verify(context.Background(), mint("ES256", nil))
			if tt.wantUnavailable {
				if !errors.Is(err, claims.ErrUnavailable) {
					t.Fatalf("got %v, want an error wrapping claims.ErrUnavailable", err)
				}
				var ce *claims.Error
				if errors.As(err, &ce) {
					t.Fatalf("got *claims.Error %v for an outage, want a plain error", ce)
				}
				if gotReason != ReasonUnavailable {
					t.Errorf("observer got %q, want %q", gotReason, ReasonUnavailable)
				}
				return
			}
			checkReason(t, err, tt.want)
			if !errors.Is(err, tt.err) {
				t.Errorf("got %v, want it to wrap the source error %v", err, tt.err)
			}
		})
	}
}

func TestVerifyNilKey(t *testing.T) {
	src := newTestSource()
	src.keys[testIssuer]["p256"] = nil
	v := newTestVerifier(t, src, nil)
	_, err := v.Verify(context.Background(), mint("ES256", nil))
	checkReason(t, err, ReasonKeyMismatch)
}

func TestErrorChain(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), nil)
	_, err := v.Verify(context.Background(), mint("ES256", func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }))
	if got := rejectionOf(t, err); got != ReasonExpired {
		t.Errorf("got reason %q, want %q", got, ReasonExpired)
	}
	var ce *claims.Error
	if !errors.As(err, &ce) {
		t.Fatalf("got %T, want *claims.Error", err)
	}
	if want := claims.InvalidToken(nil).Description; ce.Description != want {
		t.Errorf("got description %q, want the fixed %q", ce.Description, want)
	}
	if got, want := ce.Err.Error(), "verify: token expired"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNewConfigErrors(t *testing.T) {
	src := newTestSource()
	tests := []struct {
		name string
		src  jwks.Source
		cfg  Config
		want string // when set, the error's text after "verify: invalid config: "
	}{
		{"nil source", nil, Config{Issuer: testIssuer, Audience: testAudience}, ""},
		{"no issuer", src, Config{Audience: testAudience}, ""},
		{"empty extra issuer", src, Config{Issuer: testIssuer, Issuers: []string{""}, Audience: testAudience}, ""},
		{"no audience", src, Config{Issuer: testIssuer}, ""},
		{"alg none", src, Config{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"none"}}, ""},
		{"alg HS256", src, Config{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"RS256", "HS256"}}, ""},
		{"alg unknown", src, Config{Issuer: testIssuer, Audience: testAudience, Algorithms: []string{"rs256"}}, ""},
		{"empty type", src, Config{Issuer: testIssuer, Audience: testAudience, TokenTypes: []string{""}}, ""},
		{"negative size", src, Config{Issuer: testIssuer, Audience: testAudience, MaxTokenSize: -1},
			"MaxTokenSize is negative; leave it zero for the default of 8192 bytes"},
		{"negative leeway", src, Config{Issuer: testIssuer, Audience: testAudience, Leeway: -time.Second},
			"Leeway is negative; set NoLeeway to verify without clock skew"},
		{"leeway and no leeway", src, Config{Issuer: testIssuer, Audience: testAudience, Leeway: time.Minute, NoLeeway: true},
			"Leeway is 1m0s with NoLeeway set; set one of them"},
		{"empty required claim", src, Config{Issuer: testIssuer, Audience: testAudience, RequiredClaims: []string{""}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.src, tt.cfg)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, %v; want an error wrapping ErrConfig", v, err)
			}
			if want := "verify: invalid config: " + tt.want; tt.want != "" && err.Error() != want {
				t.Errorf("got %q, want %q", err, want)
			}
		})
	}
}

func TestNoLeeway(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), func(c *Config) { c.NoLeeway = true })
	if v.leeway != 0 {
		t.Errorf("got leeway %v, want 0 with NoLeeway", v.leeway)
	}
	// Evaluate uses the same (absent) leeway: auth_time a second past
	// max_age is refused.
	c, err := v.Verify(context.Background(), mint("ES256", func(c map[string]any) {
		c["auth_time"] = testNow.Add(-time.Minute - time.Second).Unix()
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Evaluate(c, claims.Requirement{MaxAge: time.Minute}); err == nil {
		t.Error("got nil, want auth_time past max_age refused without leeway")
	}
}

func TestNewDefaults(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), func(c *Config) { c.Now = nil })
	// The values the Config docs state.
	if v.leeway != 30*time.Second || v.maxSize != 8192 || v.now == nil {
		t.Errorf("got leeway %v size %d now set %v, want 30s 8192 true", v.leeway, v.maxSize, v.now != nil)
	}
	if defaultTokenCacheSize != 10_000 || defaultTokenCacheBytes != 32<<20 {
		t.Errorf("got cache defaults %d entries %d bytes, want the documented 10000 and 32 MiB", defaultTokenCacheSize, defaultTokenCacheBytes)
	}
	if got, want := v.required, []string{"sub", "client_id", "iat", "jti"}; !slices.Equal(got, want) {
		t.Errorf("got required %q, want %q", got, want)
	}
	var algs []string
	for name := range v.pol.algs {
		algs = append(algs, name)
	}
	slices.Sort(algs)
	want := slices.Clone(defaultAlgorithms)
	slices.Sort(want)
	if !slices.Equal(algs, want) {
		t.Errorf("got algorithms %q, want %q", algs, want)
	}
}

func TestAlgorithmAllowlist(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), func(c *Config) { c.Algorithms = []string{"ES256"} })
	if _, err := v.Verify(context.Background(), mint("ES256", nil)); err != nil {
		t.Fatalf("ES256: %v", err)
	}
	for _, alg := range []string{"RS256", "PS256", "EdDSA", "ES384"} {
		_, err := v.Verify(context.Background(), mint(alg, nil))
		if got := rejectionOf(t, err); got != ReasonAlgorithm {
			t.Errorf("%s: got %q, want %q", alg, got, ReasonAlgorithm)
		}
	}
}

func TestAuthorize(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), nil)
	ctx := context.Background()
	raw := mint("ES256", nil)

	t.Run("missing token", func(t *testing.T) {
		c, err := v.Authorize(ctx, "", claims.Requirement{})
		var ce *claims.Error
		if !errors.As(err, &ce) || ce.Code != "" || c != nil {
			t.Fatalf("got %v, %v; want nil claims and claims.MissingToken()", c, err)
		}
	})
	t.Run("invalid token", func(t *testing.T) {
		c, err := v.Authorize(ctx, raw+"x", claims.Requirement{})
		if c != nil {
			t.Errorf("got claims %v, want nil", c)
		}
		rejectionOf(t, err)
	})
	t.Run("sender-constrained token", func(t *testing.T) {
		// Authorize sees no proof and no connection: a bound token
		// fails closed, whatever its binding.
		for _, cnf := range []any{map[string]any{"jkt": "k"}, map[string]any{"x5t#S256": "c"}, map[string]any{"jwk": map[string]any{}}, "not an object"} {
			bound := mint("ES256", func(c map[string]any) { c["cnf"] = cnf })
			c, err := v.Authorize(ctx, bound, claims.Requirement{})
			var ce *claims.Error
			if !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken || c != nil {
				t.Errorf("cnf %v: got %v, %v; want invalid_token", cnf, c, err)
			}
		}
	})
	t.Run("met", func(t *testing.T) {
		c, err := v.Authorize(ctx, raw, claims.Requirement{ACR: []string{"urn:example:loa:2"}, Scopes: []string{"read"}})
		if err != nil || c == nil || c.Subject != "user-1" {
			t.Fatalf("got %v, %v; want the claims of user-1", c, err)
		}
	})
	t.Run("insufficient user authentication", func(t *testing.T) {
		c, err := v.Authorize(ctx, raw, claims.Requirement{ACR: []string{claims.ACRMultiFactor}})
		var ce *claims.Error
		if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientUserAuthentication {
			t.Fatalf("got %v, want insufficient_user_authentication", err)
		}
		if !reflect.DeepEqual(ce.ACRValues, []string{claims.ACRMultiFactor}) {
			t.Errorf("got acr_values %q, want %q", ce.ACRValues, claims.ACRMultiFactor)
		}
		if c == nil || c.Subject != "user-1" {
			t.Errorf("got claims %v, want the verified claims alongside the error", c)
		}
	})
	t.Run("insufficient scope", func(t *testing.T) {
		_, err := v.Authorize(ctx, raw, claims.Requirement{Scopes: []string{"admin"}})
		var ce *claims.Error
		if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientScope {
			t.Fatalf("got %v, want insufficient_scope", err)
		}
	})
	t.Run("max_age uses the verifier clock", func(t *testing.T) {
		// auth_time is testNow-2m: fresh enough for 5m, too old for 1m.
		if _, err := v.Authorize(ctx, raw, claims.Requirement{MaxAge: 5 * time.Minute}); err != nil {
			t.Errorf("max_age 5m: got %v, want success", err)
		}
		_, err := v.Authorize(ctx, raw, claims.Requirement{MaxAge: time.Minute})
		var ce *claims.Error
		if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientUserAuthentication {
			t.Errorf("max_age 1m: got %v, want insufficient_user_authentication", err)
		}
	})
}

func TestEvaluateUntypedNil(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), nil)
	c, err := v.Verify(context.Background(), mint("ES256", nil))
	if err != nil {
		t.Fatal(err)
	}
	err = v.Evaluate(c, claims.Requirement{})
	if err != nil {
		t.Fatalf("got %#v, want untyped nil", err)
	}
	err = v.Evaluate(nil, claims.Requirement{})
	if got := rejectionOf(t, err); got != ReasonClaims {
		t.Errorf("nil claims: got %q, want %q", got, ReasonClaims)
	}
}

func TestObserver(t *testing.T) {
	var mu sync.Mutex
	var calls []Reason
	v := newTestVerifier(t, newTestSource(), func(c *Config) {
		c.Observer.Verified = func(r Reason, d time.Duration) {
			if d < 0 {
				t.Errorf("negative duration %v", d)
			}
			mu.Lock()
			calls = append(calls, r)
			mu.Unlock()
		}
	})
	ctx := context.Background()
	_, _ = v.Verify(ctx, mint("EdDSA", nil))
	_, _ = v.Verify(ctx, mint("EdDSA", func(c map[string]any) { c["aud"] = "x" }))
	_, _ = v.Verify(ctx, "a.b")
	_, _ = v.Authorize(ctx, "", claims.Requirement{}) // no token: not a verification
	want := []Reason{ReasonNone, ReasonAudience, ReasonMalformed}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("got %v, want %v", calls, want)
	}
	for _, r := range []Reason{ReasonNone, ReasonAudience, ReasonMalformed, ReasonUnavailable} {
		if !slices.Contains(Reasons(), r) {
			t.Errorf("Reasons() lacks %q", r)
		}
	}
}

func TestConcurrentVerify(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), nil)
	tokens := []string{mint("ES256", nil), mint("EdDSA", nil), mint("RS256", nil)}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), tokens[i%len(tokens)]); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Verify: %v", err)
	}
}

// blockingSource blocks every lookup until its ctx ends, then returns
// what a jwks source would: ctx.Err() or, when wrap is set, an outage
// wrapping it.
type blockingSource struct {
	entered chan struct{}
	wrap    bool
}

func (s *blockingSource) Key(ctx context.Context, _, _ string) (*jwks.Key, error) {
	s.entered <- struct{}{}
	<-ctx.Done()
	if s.wrap {
		return nil, &jwks.UnavailableError{URL: "https://idp/jwks", Err: ctx.Err()}
	}
	return nil, ctx.Err()
}

// TestVerifyRequestCanceled: when the request's own context ends during
// a slow key lookup, Verify reports the cancellation (not an outage, not
// an invalid token) and the observer sees ReasonCanceled.
func TestVerifyRequestCanceled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		wrap   bool
		cancel func(context.Context) (context.Context, context.CancelFunc)
		want   error
	}{
		{"client gone", false, context.WithCancel, context.Canceled},
		{"client gone, source says unavailable", true, context.WithCancel, context.Canceled},
		{"request deadline", false, func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithDeadline(ctx, time.Now().Add(-time.Second))
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &blockingSource{entered: make(chan struct{}, 1), wrap: tc.wrap}
			var reason Reason
			v := newTestVerifier(t, src, func(c *Config) {
				c.Observer.Verified = func(r Reason, _ time.Duration) { reason = r }
			})
			ctx, cancel := tc.cancel(context.Background())
			done := make(chan error, 1)
			go func() {
				_, err := v.Verify(ctx, mint("ES256", nil))
				done <- err
			}()
			<-src.entered
			cancel()
			err := <-done
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want it to wrap %v", err, tc.want)
			}
			var ce *claims.Error
			if errors.Is(err, claims.ErrUnavailable) || errors.As(err, &ce) {
				t.Errorf("got %v, want neither claims.ErrUnavailable nor a *claims.Error", err)
			}
			if !strings.HasPrefix(err.Error(), "verify: ") {
				t.Errorf("got %q, want the package prefix", err)
			}
			if reason != ReasonCanceled {
				t.Errorf("observer: got %q, want %q", reason, ReasonCanceled)
			}
		})
	}
	// A source's own deadline (a fetch timeout) with the request still
	// alive stays an outage.
	src := newTestSource()
	src.err = context.DeadlineExceeded
	_, err := newTestVerifier(t, src, nil).Verify(context.Background(), mint("ES256", nil))
	if !errors.Is(err, claims.ErrUnavailable) {
		t.Errorf("source deadline, live request: got %v, want claims.ErrUnavailable", err)
	}
}
