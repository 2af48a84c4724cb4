package decide

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/verify"
)

// RefusalAttrs appends the log attributes of a refusal that every
// transport prints after its own (method, route or rule, status): the code
// label, and for a challenge the verify.Reason of a rejected token, the
// refused value and hint (verify.TokenError Received and Hint, for typ, iss
// and aud), and the challenge parameters (which come from the
// requirement); for Unavailable and Internal the error text, which holds
// no token content. Nothing else from the token is logged.
func RefusalAttrs(attrs []slog.Attr, k Kind, ce *claims.Error, err error) []slog.Attr {
	attrs = append(attrs, slog.String("code", Code(k, ce)))
	if k != Challenge {
		if k != Canceled {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		return attrs
	}
	var te *verify.TokenError
	if errors.As(err, &te) {
		attrs = append(attrs, slog.String("reason", string(te.Reason)))
		// What the token carried (quoted, capped) and the configuration
		// it missed: for whoever configures the verifier, never for the
		// client.
		if v := te.Received(); v != "" {
			attrs = append(attrs, slog.String("received", v))
		}
		if h := te.Hint(); h != "" {
			attrs = append(attrs, slog.String("hint", h))
		}
	}
	if len(ce.ACRValues) > 0 {
		attrs = append(attrs, slog.String("acr_values", strings.Join(ce.ACRValues, " ")))
	}
	if s, ok := ce.MaxAge.Seconds(); ok {
		attrs = append(attrs, slog.String("max_age", strconv.FormatInt(s, 10)))
	}
	if len(ce.Scope) > 0 {
		attrs = append(attrs, slog.String("scope", strings.Join(ce.Scope, " ")))
	}
	return attrs
}

// WarnAbsent logs, at Warn on l, the verifier's report in err that a claim
// the requirement reads is absent from most tokens
// (verify.AbsentClaimError): a configuration problem, reported with the
// claim names, the counts and the rule label (labelKey=label), never a
// claim value. The verifier rate-limits the reports. prefix is the
// package's ("httpmw", "grpcmw").
func WarnAbsent(ctx context.Context, l *slog.Logger, prefix, labelKey, label string, err error) {
	var ae *verify.AbsentClaimError
	if l == nil || !errors.As(err, &ae) {
		return
	}
	l.LogAttrs(ctx, slog.LevelWarn, prefix+": claim absent from most tokens, check the configuration",
		slog.String("claim", ae.Claim),
		slog.String("read_as", ae.Name),
		slog.Int("absent", ae.Absent),
		slog.Int("of", ae.Of),
		slog.String(labelKey, label),
		slog.String("hint", ae.Hint()))
}
