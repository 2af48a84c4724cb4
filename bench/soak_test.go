package bench

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestSoak runs a five-second soak: valid tokens never get 401 or 500,
// requests within the staleness bound all get 200 through the 500s, the
// hang and the rotation, requests past it get 503 (and some do, or the
// outage did not outlast the bound), and no goroutine is left after Close.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a five-second soak")
	}
	res, err := Soak(context.Background(), SoakConfig{Duration: 5 * time.Second, Workers: 4, Rate: 400})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if err := res.OK(); err != nil {
		t.Error(err)
	}
	if got := res.ByStatus[http.StatusServiceUnavailable]; got == 0 || res.PastStaleness == 0 {
		t.Errorf("got %d answers 503 and %d requests past the staleness bound, want some of each", got, res.PastStaleness)
	}
	for _, p := range res.Phases {
		n := 0
		for _, c := range p.ByStatus {
			n += c
		}
		if n == 0 {
			t.Errorf("phase %s: no request", p.Name)
		}
		switch p.Name {
		case "steady", "jwks_500", "jwks_hang", "jwks_back", "rotated":
			if p.ByStatus[http.StatusOK] != n {
				t.Errorf("phase %s: got statuses %v, want only 200 (the last good set is within the staleness bound)", p.Name, p.ByStatus)
			}
		}
	}
	// A fetch per refresh interval at most, a few retries per cooldown in
	// the outages, and the rotation's unknown-kid fetch: far fewer than
	// the requests.
	if res.JWKSFetches < 3 || res.JWKSFetches > int64(res.Requests)/4 {
		t.Errorf("got %d JWKS fetches for %d requests, want at least 3 and far fewer than the requests", res.JWKSFetches, res.Requests)
	}
}

func TestSoakTooShort(t *testing.T) {
	if _, err := Soak(context.Background(), SoakConfig{Duration: time.Second}); err == nil {
		t.Error("Soak of 1s: got nil error, want one")
	}
}
