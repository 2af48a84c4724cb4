package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/stepupauth/stepup/claims"
)

// httpWant is what one HTTP answer of the story must be.
type httpWant struct {
	status int
	// challenge: a WWW-Authenticate Bearer challenge is expected, with
	// exactly the fields below (code "" for a challenge without error
	// code). Without it, the answer must carry no challenge.
	challenge bool
	code      claims.Code
	acrValues []string
	maxAge    claims.MaxAge
	scope     []string
	// realm and resourceMetadata every challenge must carry.
	realm            string
	resourceMetadata string
}

// checkHTTP compares an answer's status and WWW-Authenticate header with w.
// It returns the Bearer challenge (nil when there is none) and an error
// listing every difference.
func checkHTTP(statusCode int, h http.Header, w httpWant) (*claims.Challenge, error) {
	var diffs []string
	if statusCode != w.status {
		diffs = append(diffs, fmt.Sprintf("status %d, want %d", statusCode, w.status))
	}
	values := h.Values("WWW-Authenticate")
	var ch *claims.Challenge
	if len(values) > 0 {
		all, err := claims.ParseChallenges(values...)
		if err != nil {
			return nil, fmt.Errorf("unreadable WWW-Authenticate %q: %w", values, err)
		}
		for i := range all {
			if all[i].Scheme == "Bearer" {
				if ch != nil {
					return nil, fmt.Errorf("two Bearer challenges in %q", values)
				}
				ch = &all[i]
			}
		}
	}
	switch {
	case w.challenge && ch == nil:
		diffs = append(diffs, "no Bearer challenge, want one")
	case !w.challenge && len(values) > 0:
		diffs = append(diffs, fmt.Sprintf("unexpected WWW-Authenticate %q", values))
	case w.challenge:
		diffs = append(diffs, diffFields(ch.Error, ch.ACRValues, ch.MaxAge, ch.Scope, w.code, w.acrValues, w.maxAge, w.scope)...)
		if ch.Realm != w.realm {
			diffs = append(diffs, fmt.Sprintf("realm %q, want %q", ch.Realm, w.realm))
		}
		if ch.ResourceMetadata != w.resourceMetadata {
			diffs = append(diffs, fmt.Sprintf("resource_metadata %q, want %q", ch.ResourceMetadata, w.resourceMetadata))
		}
	}
	return ch, mismatch(diffs)
}

// grpcWant is what one gRPC call of the story must end with.
type grpcWant struct {
	code codes.Code // codes.OK: the call must succeed
	// typed: the client interceptor must have turned the status into a
	// *claims.Error with exactly the fields below. Without it, the error
	// must not be one (a refusal no login can fix, an outage).
	typed     bool
	errCode   claims.Code
	acrValues []string
	maxAge    claims.MaxAge
	scope     []string
}

// checkGRPC compares a call's error with w. It returns the typed error
// (nil when there is none) and an error listing every difference.
func checkGRPC(err error, w grpcWant) (*claims.Error, error) {
	if w.code == codes.OK {
		if err != nil {
			return nil, fmt.Errorf("call failed: %v, want success", err)
		}
		return nil, nil
	}
	if err == nil {
		return nil, fmt.Errorf("call succeeded, want %v", w.code)
	}
	var diffs []string
	if got := status.Code(err); got != w.code {
		diffs = append(diffs, fmt.Sprintf("status %v, want %v", got, w.code))
	}
	var ce *claims.Error
	isTyped := errors.As(err, &ce)
	switch {
	case w.typed && !isTyped:
		diffs = append(diffs, fmt.Sprintf("error %v is not a *claims.Error, want one", err))
	case !w.typed && isTyped:
		diffs = append(diffs, fmt.Sprintf("unexpected *claims.Error %q", ce.Code))
	case w.typed:
		diffs = append(diffs, diffFields(ce.Code, ce.ACRValues, ce.MaxAge, ce.Scope, w.errCode, w.acrValues, w.maxAge, w.scope)...)
	}
	return ce, mismatch(diffs)
}

// diffFields compares the fields a challenge and a *claims.Error share.
func diffFields(code claims.Code, acr []string, maxAge claims.MaxAge, scope []string,
	wantCode claims.Code, wantACR []string, wantMaxAge claims.MaxAge, wantScope []string) []string {
	var diffs []string
	if code != wantCode {
		diffs = append(diffs, fmt.Sprintf("error %q, want %q", code, wantCode))
	}
	if !slices.Equal(acr, wantACR) {
		diffs = append(diffs, fmt.Sprintf("acr_values %q, want %q", acr, wantACR))
	}
	if maxAge != wantMaxAge {
		diffs = append(diffs, fmt.Sprintf("%s, want %s", maxAgeText(maxAge), maxAgeText(wantMaxAge)))
	}
	if !slices.Equal(scope, wantScope) {
		diffs = append(diffs, fmt.Sprintf("scope %q, want %q", scope, wantScope))
	}
	return diffs
}

func mismatch(diffs []string) error {
	if len(diffs) == 0 {
		return nil
	}
	return errors.New(strings.Join(diffs, "; "))
}

// maxAgeText prints a max_age ask as the challenge spells it.
func maxAgeText(m claims.MaxAge) string {
	if secs, ok := m.Seconds(); ok {
		return fmt.Sprintf("max_age=%d", secs)
	}
	return "no max_age"
}
