package stepuptest_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/stepuptest"
)

// TestConcurrentUse runs every kind of call at once; the race detector
// is the judge, plus every minted token verifying against the JWKS of its
// moment (graceful rotation keeps old keys published).
func TestConcurrentUse(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithAlgorithms("ES256", "EdDSA"),
		stepuptest.WithSlowDelay(time.Millisecond))
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 16*n)
	for i := range n {
		wg.Go(func() {
			for range 5 {
				tok, err := iss.Mint(stepuptest.Token{ACR: claims.ACRMultiFactor})
				if err != nil {
					errs <- err
					return
				}
				if err := verifyErr(iss, tok); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range 5 {
				if _, err := iss.Login(ctx, stepuptest.LoginRequest{ACRValues: []string{claims.ACRMultiFactor}}); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			for range 5 {
				resp, err := iss.Client().Get(iss.DiscoveryURL())
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
		wg.Go(func() {
			if i%2 == 0 {
				if _, err := iss.Rotate(""); err != nil {
					errs <- err
				}
			} else {
				_ = iss.AddRawKey([]byte(`{"kty":"oct","kid":"x","k":"c2VjcmV0"}`))
			}
			_ = iss.KeyID("")
			_ = iss.JWKS()
			_ = iss.SetFaults(stepuptest.Faults{Discovery: stepuptest.Fault(i % 2 * int(stepuptest.FaultSlow))})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := iss.Requests().Token; got != 5*n {
		t.Errorf("Requests().Token = %d, want %d", got, 5*n)
	}
}

// verifyErr verifies tok against the JWKS the issuer serves now; usable
// off the test goroutine.
func verifyErr(iss *stepuptest.Issuer, tok string) error {
	resp, err := iss.Client().Get(iss.JWKSURL())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	set, err := jwk.Parse(b)
	if err != nil {
		return err
	}
	_, err = jws.Verify([]byte(tok), jws.WithKeySet(set))
	return err
}

// TestCloseLeavesNoGoroutines: after Close, the goroutine count is back to
// where it was before NewIssuer, held requests included.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"), stepuptest.WithSlowDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.Login(context.Background(), stepuptest.LoginRequest{}); err != nil {
		t.Fatal(err)
	}
	_ = iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.FaultSlow, Discovery: stepuptest.FaultSlow})
	done := make(chan struct{})
	client := &http.Client{Transport: &http.Transport{}}
	go func() {
		defer close(done)
		resp, err := client.Get(iss.JWKSURL())
		if err == nil {
			resp.Body.Close()
		}
	}()
	for iss.Requests().JWKS < 1 {
		runtime.Gosched()
	}
	iss.Close()
	iss.Close() // idempotent
	<-done
	client.CloseIdleConnections()

	deadline := time.Now().Add(10 * time.Second)
	for {
		after := runtime.NumGoroutine()
		if after <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s", after, before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
