package stepuptest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/stepupauth/stepup/stepuptest"
)

func TestFaults(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithAlgorithms("ES256"), stepuptest.WithSlowDelay(time.Millisecond))
	good := string(iss.JWKS())
	tests := []struct {
		fault      stepuptest.Fault
		wantErr    bool // transport error, no response
		wantStatus int
		wantType   string
		check      func(t *testing.T, body []byte)
	}{
		{fault: stepuptest.FaultNone, wantStatus: 200, wantType: "application/jwk-set+json", check: func(t *testing.T, b []byte) {
			if string(b) != good {
				t.Errorf("body = %s, want the JWKS", b)
			}
		}},
		{fault: stepuptest.Fault500, wantStatus: 500, wantType: "application/json"},
		{fault: stepuptest.FaultSlow, wantStatus: 200, wantType: "application/jwk-set+json", check: func(t *testing.T, b []byte) {
			if _, err := jwk.Parse(b); err != nil {
				t.Errorf("slow JWKS does not parse: %v", err)
			}
		}},
		{fault: stepuptest.FaultGarbage, wantStatus: 200, wantType: "application/jwk-set+json", check: func(t *testing.T, b []byte) {
			if json.Valid(b) {
				t.Errorf("garbage body is valid JSON: %s", b)
			}
			if _, err := jwk.Parse(b); err == nil {
				t.Error("garbage body parses as a JWKS")
			}
		}},
		{fault: stepuptest.FaultOversized, wantStatus: 200, wantType: "application/jwk-set+json", check: func(t *testing.T, b []byte) {
			if len(b) != 1<<20+1<<10 {
				t.Errorf("body is %d bytes, want 1 MiB + 1 KiB", len(b))
			}
			var doc struct {
				Keys []json.RawMessage `json:"keys"`
			}
			if err := json.Unmarshal(b, &doc); err != nil || len(doc.Keys) != 1 {
				t.Errorf("oversized body: %d keys, err %v; want the real JWKS padded", len(doc.Keys), err)
			}
		}},
		{fault: stepuptest.FaultDown, wantErr: true},
		{fault: stepuptest.FaultHTML, wantStatus: 200, wantType: "text/html; charset=utf-8", check: func(t *testing.T, b []byte) {
			if !strings.HasPrefix(string(b), "<!DOCTYPE html>") {
				t.Errorf("body = %q, want HTML", b)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			if err := iss.SetFaults(stepuptest.Faults{JWKS: tt.fault, Discovery: tt.fault}); err != nil {
				t.Fatal(err)
			}
			for _, url := range []string{iss.JWKSURL(), iss.DiscoveryURL()} {
				jwksBefore, discBefore := iss.Requests().JWKS, iss.Requests().Discovery
				resp, err := iss.Client().Get(url)
				if tt.wantErr {
					if err == nil {
						resp.Body.Close()
						t.Fatalf("GET %s: status %d, want a transport error", url, resp.StatusCode)
					}
				} else {
					if err != nil {
						t.Fatalf("GET %s: %v", url, err)
					}
					b, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						t.Fatal(err)
					}
					if resp.StatusCode != tt.wantStatus {
						t.Errorf("GET %s: status %d, want %d", url, resp.StatusCode, tt.wantStatus)
					}
					wantType := tt.wantType
					if url == iss.DiscoveryURL() && wantType == "application/jwk-set+json" {
						wantType = "application/json"
					}
					if got := resp.Header.Get("Content-Type"); got != wantType {
						t.Errorf("GET %s: Content-Type %q, want %q", url, got, wantType)
					}
					if tt.check != nil && url == iss.JWKSURL() {
						tt.check(t, b)
					}
				}
				// A client may retry a GET whose connection was closed.
				jwksDelta, discDelta := iss.Requests().JWKS-jwksBefore, iss.Requests().Discovery-discBefore
				if url == iss.JWKSURL() && (jwksDelta < 1 || discDelta != 0) {
					t.Errorf("JWKS GET counted JWKS %d, discovery %d; want >=1, 0", jwksDelta, discDelta)
				}
				if url == iss.DiscoveryURL() && (discDelta < 1 || jwksDelta != 0) {
					t.Errorf("discovery GET counted JWKS %d, discovery %d; want 0, >=1", jwksDelta, discDelta)
				}
			}
			// The token endpoint never faults.
			if _, err := iss.Login(context.Background(), stepuptest.LoginRequest{}); err != nil {
				t.Errorf("Login under %s: %v", tt.fault, err)
			}
		})
	}
}

func TestFaultPerEndpoint(t *testing.T) {
	iss := newIssuer(t, stepuptest.WithAlgorithms("ES256"))
	if err := iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.Fault500}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, iss, iss.DiscoveryURL()); resp.StatusCode != 200 {
		t.Errorf("discovery status %d under a JWKS fault, want 200", resp.StatusCode)
	}
	if resp, _ := get(t, iss, iss.JWKSURL()); resp.StatusCode != 500 {
		t.Errorf("JWKS status %d, want 500", resp.StatusCode)
	}
	// SetFaults replaces both: the JWKS fault ends.
	if err := iss.SetFaults(stepuptest.Faults{Discovery: stepuptest.FaultHTML}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := get(t, iss, iss.MetadataURL()); resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("RFC 8414 document Content-Type %q under a discovery fault, want text/html", resp.Header.Get("Content-Type"))
	}
	if resp, _ := get(t, iss, iss.JWKSURL()); resp.StatusCode != 200 {
		t.Errorf("JWKS status %d under a discovery fault, want 200", resp.StatusCode)
	}
	// An unknown value in either field is refused and changes nothing.
	for _, tt := range []struct {
		f    stepuptest.Faults
		want string
	}{
		{stepuptest.Faults{JWKS: 99}, "stepuptest: unknown fault 99"},
		{stepuptest.Faults{Discovery: 99}, "stepuptest: unknown fault 99"},
		{stepuptest.Faults{JWKS: stepuptest.Fault500, Discovery: -1}, "stepuptest: unknown fault -1"},
	} {
		if err := iss.SetFaults(tt.f); err == nil || err.Error() != tt.want {
			t.Errorf("SetFaults(%+v) = %v, want %q", tt.f, err, tt.want)
		}
	}
	if resp, _ := get(t, iss, iss.JWKSURL()); resp.StatusCode != 200 {
		t.Errorf("JWKS status %d after refused SetFaults, want 200", resp.StatusCode)
	}
	if resp, _ := get(t, iss, iss.MetadataURL()); resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("discovery fault changed by a refused SetFaults: Content-Type %q", resp.Header.Get("Content-Type"))
	}
	if got := stepuptest.Fault(99).String(); got != "Fault(99)" {
		t.Errorf("Fault(99).String() = %q", got)
	}
}

// TestFaultSlowHonoursCancellation: a held request ends when its client
// gives up, and Close ends the rest, so no handler goroutine hangs.
func TestFaultSlowHonoursCancellation(t *testing.T) {
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"), stepuptest.WithSlowDelay(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer iss.Close()
	if err := iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.FaultSlow, Discovery: stepuptest.FaultSlow}); err != nil {
		t.Fatal(err)
	}

	// One request cancelled by its client once the server holds it.
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 2)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, iss.JWKSURL(), nil)
		resp, err := iss.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	// One request still held when the issuer closes.
	go func() {
		resp, err := iss.Client().Get(iss.DiscoveryURL())
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for iss.Requests().JWKS < 1 || iss.Requests().Discovery < 1 {
		runtime.Gosched()
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled request: %v, want context.Canceled", err)
	}

	closed := make(chan struct{})
	go func() { iss.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close blocked: a held request did not end")
	}
	if err := <-errc; err == nil {
		t.Error("request held across Close succeeded, want an error")
	}
}

// TestCloseWithUnreadOversizedBody: Close returns while a client holds an
// oversized response it does not read.
func TestCloseWithUnreadOversizedBody(t *testing.T) {
	iss, err := stepuptest.NewIssuer(stepuptest.WithAlgorithms("ES256"))
	if err != nil {
		t.Fatal(err)
	}
	_ = iss.SetFaults(stepuptest.Faults{JWKS: stepuptest.FaultOversized, Discovery: stepuptest.FaultOversized})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	closed := make(chan struct{})
	go func() { iss.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close blocked on an unread oversized response")
	}
}
