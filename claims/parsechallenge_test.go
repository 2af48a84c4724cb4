package claims_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/claims"
)

// paramsChallenge returns a Bearer challenge of n parameters: realm, then
// x1 ... x(n-1) with values alternately quoted and tokens.
func paramsChallenge(n int) string {
	var b strings.Builder
	b.WriteString(`Bearer realm="api"`)
	for i := 1; i < n; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, ", x%d=v%d", i, i)
		} else {
			fmt.Fprintf(&b, `, x%d="v \"%d\""`, i, i)
		}
	}
	return b.String()
}

// padded returns a challenge of exactly n bytes (n >= 20): Bearer realm
// padded with spaces inside the quoted-string.
func padded(n int) string {
	s := `Bearer realm="` + strings.Repeat(" ", n-len(`Bearer realm=""`)) + `"`
	if len(s) != n {
		panic("padded: bad length")
	}
	return s
}

func TestParseChallengesLimits(t *testing.T) {
	const max = claims.MaxChallengesLength
	schemes := func(n int) string { return strings.TrimSuffix(strings.Repeat("Bearer, ", n), ", ") }
	ok := []struct {
		name   string
		values []string
		count  int // challenges
	}{
		{"MaxChallengeParams parameters", []string{paramsChallenge(claims.MaxChallengeParams)}, 1},
		{"MaxChallengeParams in each of two challenges",
			[]string{paramsChallenge(claims.MaxChallengeParams) + ", " + paramsChallenge(claims.MaxChallengeParams)}, 2},
		{"MaxChallengesLength bytes", []string{padded(max)}, 1},
		{"MaxChallengesLength bytes in two values", []string{padded(max/2 - 1), padded(max / 2)}, 2},
		{"MaxChallenges challenges", []string{schemes(claims.MaxChallenges)}, claims.MaxChallenges},
		{"MaxChallenges challenges in many values", strings.Split(schemes(claims.MaxChallenges), ", "), claims.MaxChallenges},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.ParseChallenges(tt.values...)
			if err != nil {
				t.Fatalf("ParseChallenges: %v", err)
			}
			if len(got) != tt.count {
				t.Errorf("got %d challenges, want %d", len(got), tt.count)
			}
		})
	}
	if got, _ := claims.ParseChallenges(paramsChallenge(claims.MaxChallengeParams)); len(got[0].Extra) != claims.MaxChallengeParams-1 {
		t.Errorf("got %d Extra parameters, want %d", len(got[0].Extra), claims.MaxChallengeParams-1)
	}

	// last repeats an earlier parameter of a challenge of
	// MaxChallengeParams parameters as its last one.
	last := func(name string) string {
		return paramsChallenge(claims.MaxChallengeParams-1) + ", " + name + "=again"
	}
	tests := []struct {
		name   string
		values []string
		value  int
		offset int
		msg    string
	}{
		{"MaxChallengeParams+1 parameters", []string{paramsChallenge(claims.MaxChallengeParams + 1)}, 0,
			len(paramsChallenge(claims.MaxChallengeParams)) + 2, "more than 64 parameters in a challenge"},
		{"MaxChallengeParams+1 in the second challenge",
			[]string{"Basic a=b, " + paramsChallenge(claims.MaxChallengeParams+1)}, 0,
			len("Basic a=b, "+paramsChallenge(claims.MaxChallengeParams)) + 2, "more than 64 parameters"},
		{"MaxChallengesLength+1 bytes", []string{padded(max + 1)}, 0, max, "longer than 65536 bytes"},
		{"1 MiB", []string{padded(1 << 20)}, 0, max, "longer than 65536 bytes"},
		{"MaxChallengesLength+1 bytes in two values", []string{padded(max / 2), padded(max / 2)}, 1, max/2 - 1, "longer than 65536 bytes"},
		{"empty value beyond MaxChallengesLength", []string{padded(max), ""}, 1, 0, "longer than 65536 bytes"},
		{"many empty values", make([]string, max+2), max + 1, 0, "longer than 65536 bytes"},
		{"MaxChallenges+1 challenges", []string{schemes(claims.MaxChallenges + 1)}, 0,
			len(schemes(claims.MaxChallenges)) + 2, "more than 64 challenges"},
		{"MaxChallenges+1 challenges in many values", strings.Split(schemes(claims.MaxChallenges+1), ", "),
			claims.MaxChallenges, 0, "more than 64 challenges"},
		// Repeats are still found at the limit, in every form.
		{"repeated first extra at the limit", []string{last("X1")}, 0, len(paramsChallenge(claims.MaxChallengeParams-1)) + 2, `repeated parameter "x1"`},
		{"repeated last extra at the limit", []string{last("x62")}, 0, len(paramsChallenge(claims.MaxChallengeParams-1)) + 2, `repeated parameter "x62"`},
		{"repeated typed at the limit", []string{last("Realm")}, 0, len(paramsChallenge(claims.MaxChallengeParams-1)) + 2, `repeated parameter "realm"`},
		{"repeated among few", []string{`Bearer a=1, b=2, A=3`}, 0, len(`Bearer a=1, b=2, `), `repeated parameter "a"`},
		{"repeated at the map threshold", []string{paramsChallenge(9) + ", x8=y"}, 0, len(paramsChallenge(9)) + 2, `repeated parameter "x8"`},
		{"repeated after the map threshold", []string{paramsChallenge(10) + ", x9=y"}, 0, len(paramsChallenge(10)) + 2, `repeated parameter "x9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := claims.ParseChallenges(tt.values...)
			var se *claims.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("ParseChallenges: got %d challenges, error %v; want a *claims.SyntaxError", len(got), err)
			}
			if got != nil {
				t.Errorf("got %d challenges with the error, want none", len(got))
			}
			if se.Value != tt.value || se.Offset != tt.offset {
				t.Errorf("got value %d offset %d, want value %d offset %d", se.Value, se.Offset, tt.value, tt.offset)
			}
			if !strings.HasPrefix(se.Msg, tt.msg) {
				t.Errorf("got Msg %q, want %q", se.Msg, tt.msg)
			}
			want := "claims: www-authenticate value " + strconv.Itoa(tt.value) + " offset " + strconv.Itoa(tt.offset) + ": " + se.Msg
			if err.Error() != want {
				t.Errorf("got Error() %q, want %q", err.Error(), want)
			}
		})
	}
}

// TestParseChallengesLimitMessages keeps the documented messages in step
// with the constants.
func TestParseChallengesLimitMessages(t *testing.T) {
	for _, tt := range []struct {
		values []string
		msg    string
	}{
		{[]string{padded(claims.MaxChallengesLength + 1)}, "longer than " + strconv.Itoa(claims.MaxChallengesLength) + " bytes"},
		{[]string{paramsChallenge(claims.MaxChallengeParams + 1)}, "more than " + strconv.Itoa(claims.MaxChallengeParams) + " parameters in a challenge"},
		{[]string{strings.Repeat("Bearer, ", claims.MaxChallenges+1)}, "more than " + strconv.Itoa(claims.MaxChallenges) + " challenges"},
	} {
		_, err := claims.ParseChallenges(tt.values...)
		if se := (*claims.SyntaxError)(nil); !errors.As(err, &se) || se.Msg != tt.msg {
			t.Errorf("got %v, want Msg %q", err, tt.msg)
		}
	}
}

// BenchmarkParseChallenges parses inputs of realistic shape: challenges
// of up to MaxChallengeParams parameters (typed and Extra names, upper case
// to fold, quoted-strings with quoted-pairs, tokens, list whitespace), as
// many as fill the size. The ns/byte metric should be flat up to
// MaxChallengesLength; the 1MB input is rejected by its length alone.
func BenchmarkParseChallenges(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"1KB", 1 << 10}, {"16KB", 16 << 10}, {"64KB", claims.MaxChallengesLength}, {"1MB", 1 << 20}} {
		b.Run(size.name, func(b *testing.B) {
			s := challengesOfSize(size.n)
			_, err := claims.ParseChallenges(s)
			if (err == nil) != (size.n <= claims.MaxChallengesLength) {
				b.Fatalf("ParseChallenges of %d bytes: %v", len(s), err)
			}
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = claims.ParseChallenges(s)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(s)), "ns/byte")
		})
	}
}

// challengesOfSize returns challenges of exactly n bytes (n >= 64): each
// starts with typed parameters and holds at most MaxChallengeParams, the
// last one padded with a quoted-string of spaces.
func challengesOfSize(n int) string {
	const head = `Bearer Realm="api", error=insufficient_user_authentication, acr_values="urn:mace:incommon:iap:silver  mfa", max_age=300`
	var b strings.Builder
	params := 0
	param := func(i int) string {
		switch i % 3 {
		case 0:
			return fmt.Sprintf(`, Param_%02d="quoted \"value\" %02d"`, i, i)
		case 1:
			return fmt.Sprintf(`, p%02d=token-%02d`, i, i)
		}
		return fmt.Sprintf(`,p%02d = "plain %02d"`, i, i)
	}
	const room = 64 // the longest param, a new head's separator, the padding
	for {
		if b.Len() == 0 || params == claims.MaxChallengeParams-1 {
			if b.Len()+2+len(head)+room > n {
				break
			}
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString(head)
			params = 4
			continue
		}
		next := param(params)
		if b.Len()+len(next)+room > n {
			break
		}
		b.WriteString(next)
		params++
	}
	if b.Len() == 0 {
		b.WriteString("Bearer ")
	} else {
		b.WriteString(", ")
	}
	b.WriteString(`zz="`)
	b.WriteString(strings.Repeat(" ", n-b.Len()-1))
	b.WriteString(`"`)
	return b.String()
}
