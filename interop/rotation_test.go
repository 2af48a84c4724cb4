package interop

import (
	"context"
	"net/http"
	"testing"

	"golang.org/x/oauth2"
)

// TestKeyRotation: the provider rotates its signing key while httpapi runs.
// It restarts on the same port with [new, old] (the new key signs, the old
// one stays published) and later with [new] alone. httpapi fetches the JWKS
// exactly once, on the first token signed with the new key, and every
// request succeeds: old tokens while the old key is published, new ones
// throughout.
//
// The provider signs with the new key at once, right after the resource
// server's start-up fetch: the jwks cooldown counts only fetches started by
// unknown kids, so the first new token refetches immediately.
//
// It does not run in parallel: the provider restarts on the same port, and
// a listener of a parallel test (port 0) could take that port in between.
// Go runs the top-level tests that do not call t.Parallel one at a time,
// before the parallel ones are released.
func TestKeyRotation(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), scenarioTimeout)
	defer cancel()
	oldKey, newKey := newSigningKey(t, "rotation-old"), newSigningKey(t, "rotation-new")
	p := startProvider(t, oldKey)
	api := startHTTPAPI(t, p)

	token := func(wantKid string) string {
		t.Helper()
		tok, err := p.serviceConfig("accounts").Token(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: httpTimeout}))
		if err != nil {
			t.Fatalf("client credentials token: %v", err)
		}
		if kid := unverifiedHeader(t, tok.AccessToken)["kid"]; kid != wantKid {
			t.Fatalf("token signed with kid %v, want %s", kid, wantKid)
		}
		return tok.AccessToken
	}
	get := func(step, tok string) {
		t.Helper()
		if r := callAPI(t, ctx, bearerClient(tok), http.MethodGet, api+"/profile"); r.status != http.StatusOK {
			t.Fatalf("%s: GET /profile %d %+v, want 200", step, r.status, r.challenge)
		}
	}
	fetches := func(step string, want int) {
		t.Helper()
		if got := p.stats(t).JWKS; got != want {
			t.Errorf("%s: the provider served %d JWKS requests since its restart, want %d", step, got, want)
		}
	}

	oldTok := token(oldKey.kid)
	get("before rotation, old token", oldTok)

	p.restart(t, newKey, oldKey)
	fetches("after the restart with [new, old]", 0)
	newTok := token(newKey.kid)
	get("first token with the new key", newTok)
	fetches("first token with the new key", 1)
	get("old token while the old key is still published", oldTok)
	get("new token again", newTok)
	fetches("after the old token and the new one again", 1)

	p.restart(t, newKey)
	get("new token once the old key is retired", token(newKey.kid))
	get("earlier new token", newTok)
	fetches("after the old key left the set", 0)
}
