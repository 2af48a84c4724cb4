package metrics_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/stepupauth/stepup/grpcmw"
)

// forged builds a compact JWS with the given kid, iss and sub and a random
// signature: a verifier must reject it (unknown issuer, unknown kid or bad
// signature) without any of these values becoming a label.
func forged(rng *rand.Rand, kid, iss, sub, aud string) string {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now().Unix()
	h := enc(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid})
	p := enc(map[string]any{
		"iss": iss, "sub": sub, "aud": aud, "client_id": "c", "jti": sub,
		"iat": now, "exp": now + 300,
	})
	sig := make([]byte, 64)
	for i := range sig {
		sig[i] = byte(rng.Uint32())
	}
	return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func randomString(rng *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 8+rng.IntN(16))
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// TestCardinality sends 10,000 requests with random bad tokens (random kid,
// iss and sub) and 2,000 gRPC calls to random methods: no new series.
func TestCardinality(t *testing.T) {
	m, reg := newMetrics(t)
	s := newStack(t, m)
	methods := grpcMethods(t)
	unary := mustInterceptors(t, s.v, methods, grpcmw.WithDecisionHook(m.GRPCDecisionHook())).Unary()
	rng := rand.New(rand.NewPCG(1, 2))
	realIss, realKID, aud := s.iss.Issuer(), s.iss.KeyID(""), s.iss.Audience()

	// token returns the i-th bad token: a random issuer, a random kid of
	// the real issuer, or the real kid with a forged signature.
	token := func(i int) string {
		switch i % 3 {
		case 0:
			return forged(rng, randomString(rng), "https://"+randomString(rng)+".example/", randomString(rng), aud)
		case 1:
			return forged(rng, randomString(rng), realIss, randomString(rng), aud)
		default:
			return forged(rng, realKID, realIss, randomString(rng), aud)
		}
	}
	// Warm up: one request of each kind creates the series they use.
	for i := range 3 {
		if got := serve(s.mux, "GET", "/profile", "Bearer "+token(i)); got != 401 {
			t.Fatalf("warm-up %d: status %d, want 401", i, got)
		}
		if got := call(unary, "/bank.v1.Bank/Balance", "Bearer "+token(i)); got != codes.Unauthenticated {
			t.Fatalf("warm-up %d: code %v, want Unauthenticated", i, got)
		}
	}
	if got := call(unary, "/x.Y/Z", "Bearer "+token(0)); got != codes.PermissionDenied {
		t.Fatalf("warm-up unlisted: code %v, want PermissionDenied", got)
	}
	if got := call(unary, "/bank.v1.Admin/Z", "Bearer "+token(0)); got != codes.Unauthenticated {
		t.Fatalf("warm-up wildcard: code %v, want Unauthenticated", got)
	}
	before := series(t, reg)

	for i := range 10_000 {
		if got := serve(s.mux, "GET", "/profile", "Bearer "+token(i)); got != 401 {
			t.Fatalf("request %d: status %d, want 401", i, got)
		}
	}
	for i := range 2_000 {
		method := fmt.Sprintf("/%s.S/%s", randomString(rng)[:1]+"x", "M"+randomString(rng)[:4])
		if i%2 == 0 {
			method = "/bank.v1.Admin/M" + fmt.Sprint(i) // covered by the wildcard
		}
		call(unary, method, "Bearer "+token(i))
	}

	after := series(t, reg)
	if !slices.Equal(before, after) {
		t.Errorf("series changed: %d before, %d after\nbefore: %v\nafter:  %v", len(before), len(after), before, after)
	}
	for _, tt := range []struct {
		reason string
		min    float64
	}{{"issuer", 3333}, {"unknown_key", 3333}, {"signature", 3333}} {
		if got := value(t, reg, "stepup_token_verifications_total", "outcome", "invalid", "reason", tt.reason); got < tt.min {
			t.Errorf("verifications{invalid,%s}: got %v, want at least %v", tt.reason, got, tt.min)
		}
	}
	if got := value(t, reg, "stepup_http_rejections_total", "route", "GET /profile", "code", "invalid_token"); got != 10_003 {
		t.Errorf("http rejections: got %v, want 10003", got)
	}
}
