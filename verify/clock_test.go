package verify

import (
	"testing"
	"time"
)

// TestNow: Now is the configured clock (the one the transports time stream
// expiry by), and time.Now without one.
func TestNow(t *testing.T) {
	if got := newTestVerifier(t, newTestSource(), nil).Now(); !got.Equal(testNow) {
		t.Errorf("Now with Config.Now: got %v, want %v", got, testNow)
	}
	before := time.Now()
	got := newTestVerifier(t, newTestSource(), func(c *Config) { c.Now = nil }).Now()
	if got.Before(before) || got.After(time.Now()) {
		t.Errorf("Now without Config.Now: got %v, want the wall clock", got)
	}
}
