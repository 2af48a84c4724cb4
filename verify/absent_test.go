package verify

import (
	"errors"
	"testing"
	"time"

	"github.com/stepupauth/stepup/claims"
)

// TestAbsentClaimReport: a claim a requirement reads that is absent from
// most tokens is reported once per window crossing and interval of the
// verifier's clock, on a refusal, with the name the verifier reads.
func TestAbsentClaimReport(t *testing.T) {
	now := testNow
	v := newTestVerifier(t, newTestSource(), func(c *Config) {
		c.Now = func() time.Time { return now }
		c.ClaimNames = claims.Names{ACR: "https://example.comacr"}
	})
	mfa := claims.Requirement{ACR: []string{claims.ACRMultiFactor}}
	without := &claims.Claims{Subject: "u", AMR: []string{"pwd"}}
	with := &claims.Claims{Subject: "u", ACR: "pwd"}
	// reports evaluates n tokens (the first k of each absentWindow lacking
	// acr) and returns the reports handed out.
	reports := func(n, k int, req claims.Requirement) []*AbsentClaimError {
		var got []*AbsentClaimError
		for i := range n {
			c := with
			if i%absentWindow < k {
				c = without
			}
			err := v.Evaluate(c, req)
			var ae *AbsentClaimError
			if errors.As(err, &ae) {
				got = append(got, ae)
				var ce *claims.Error
				if !errors.As(err, &ce) || ce.Code != claims.CodeInsufficientUserAuthentication {
					t.Fatalf("report on %v, want it inside the insufficient_user_authentication *claims.Error", err)
				}
			}
		}
		return got
	}
	// Most tokens lack acr: one report, at the end of the first window.
	got := reports(3*absentWindow, absentWindow, mfa)
	if len(got) != 1 {
		t.Fatalf("missing acr for %d tokens: got %d reports, want 1", 3*absentWindow, len(got))
	}
	if r := got[0]; r.Claim != "acr" || r.Name != "https://example.comacr" || r.Absent != absentWindow || r.Of != absentWindow {
		t.Errorf("report: got %+v", r)
	}
	want := `verify: claim acr (read as "https://example.comacr") absent from 32 of the last 32 tokens evaluated against a requirement on it: check that Config.ClaimNames names the claim the issuer sends (for Auth0, idp.Auth0Options.Namespace) and that the issuer puts acr into access tokens (Auth0 only through a post-login Action)`
	if got[0].Error() != want {
		t.Errorf("Error:\ngot  %s\nwant %s", got[0].Error(), want)
	}
	// After the interval, the next window reports again.
	now = now.Add(absentInterval)
	if got := reports(absentWindow, absentWindow, mfa); len(got) != 1 {
		t.Errorf("after the interval: got %d reports, want 1", len(got))
	}
	now = now.Add(absentInterval)
	// A minority lacking it is the users' business: no report.
	if got := reports(4*absentWindow, absentThreshold-1, mfa); len(got) != 0 {
		t.Errorf("%d of %d lacking: got %d reports, want none", absentThreshold-1, absentWindow, len(got))
	}
	// A requirement that does not read acr counts nothing.
	if got := reports(4*absentWindow, absentWindow, claims.Requirement{Scopes: []string{"x"}}); len(got) != 0 {
		t.Errorf("scope requirement: got %d reports, want none", len(got))
	}
	// An alternative that reads it counts.
	anyOf := claims.Requirement{AnyOf: []claims.Requirement{{ACR: []string{claims.ACRMultiFactor}}, {AMRAll: []string{"hwk"}}}}
	got = reports(absentWindow, absentWindow, anyOf)
	if len(got) != 1 || got[0].Claim != "acr" {
		t.Errorf("AnyOf: got %v, want one acr report", got)
	}
}

// TestAbsentClaimAuthTime: max_age reads auth_time, under its mapped name.
func TestAbsentClaimAuthTime(t *testing.T) {
	v := newTestVerifier(t, newTestSource(), nil)
	var got []*AbsentClaimError
	for range absentWindow {
		var ae *AbsentClaimError
		if errors.As(v.Evaluate(&claims.Claims{ACR: "x"}, claims.Requirement{MaxAge: time.Minute}), &ae) {
			got = append(got, ae)
		}
	}
	if len(got) != 1 || got[0].Claim != "auth_time" || got[0].Name != "auth_time" {
		t.Errorf("got %v, want one auth_time report", got)
	}
}

// BenchmarkEvaluateParallel measures Evaluate of a step-up requirement
// from every core at once, the path the absent-claim windows sit on.
func BenchmarkEvaluateParallel(b *testing.B) {
	v := newTestVerifier(b, newTestSource(), nil)
	req := claims.Requirement{ACR: []string{claims.ACRMultiFactor}, MaxAge: time.Hour}
	c := &claims.Claims{ACR: claims.ACRMultiFactor, AuthTime: testNow.Add(-time.Minute)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := v.Evaluate(c, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
