package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRunShort runs a two-second soak and checks the lines cmd/report
// reads.
func TestRunShort(t *testing.T) {
	if testing.Short() {
		t.Skip("a two-second soak")
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-duration", "2s", "-rate", "200"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"soak seconds=2.0 ", " failed_within_staleness=0 ", " past_staleness_not_200_or_503=0 ", "soak_phase rotated statuses=200:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("got output\n%s\nwant %q", out.String(), want)
		}
	}
}
