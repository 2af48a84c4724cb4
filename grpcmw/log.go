package grpcmw

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/verify"
)

// unlistedLabel stands for the method of a call that no rule governs.
const unlistedLabel = "unlisted"

// The loggers never receive the method the client called: under a service
// wildcard ("/pkg.Svc/*" with an UnknownServiceHandler) any name the client
// makes up matches. They log the pattern of the rule that matched, which
// comes from the configuration, or unlistedLabel.

// methodLabel is the "method" attribute for a call governed by ruleMethod
// ("" when no rule matched).
func methodLabel(ruleMethod string) string {
	if ruleMethod == "" {
		return unlistedLabel
	}
	return ruleMethod
}

// logAllowed logs a call that passed (WithLogger).
func (a *authorizer) logAllowed(ctx context.Context, ruleMethod string) {
	if !a.debug(ctx) {
		return
	}
	a.logger.LogAttrs(ctx, slog.LevelDebug, "grpcmw: call allowed",
		slog.String("method", methodLabel(ruleMethod)),
		slog.String("rule", ruleMethod),
		slog.String("grpc_code", codes.OK.String()))
}

// logRefused logs a refused call (WithLogger). Only values from the
// configuration or from fixed sets are logged, plus the error text of
// server-side failures, which holds no token content.
func (a *authorizer) logRefused(ctx context.Context, ruleMethod string, r *rejection, err error) {
	a.warnAbsent(ctx, ruleMethod, err)
	if !a.debug(ctx) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("method", methodLabel(ruleMethod)),
		slog.String("rule", ruleMethod),
		slog.String("grpc_code", r.st.Code().String()))
	var ce *claims.Error
	switch {
	case errors.Is(err, ErrUnlistedMethod):
	case errors.As(err, &ce) && !errors.Is(err, claims.ErrUnavailable):
		code := string(ce.Code)
		if code == "" {
			code = "none" // no token: the value package metrics counts it under
		}
		attrs = append(attrs, slog.String("code", code))
		var te *verify.TokenError
		if errors.As(err, &te) {
			attrs = append(attrs, slog.String("reason", string(te.Reason)))
			// What the token carried (quoted, capped) and the
			// configuration it missed: for whoever configures the
			// verifier, never for the client.
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
		if ce.MaxAge != 0 {
			attrs = append(attrs, slog.String("max_age", strconv.FormatInt(maxAgeSeconds(ce.MaxAge), 10)))
		}
		if len(ce.Scope) > 0 {
			attrs = append(attrs, slog.String("scope", strings.Join(ce.Scope, " ")))
		}
	default:
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	a.logger.LogAttrs(ctx, slog.LevelDebug, "grpcmw: call refused", attrs...)
}

func (a *authorizer) debug(ctx context.Context) bool {
	return a.logger != nil && a.logger.Enabled(ctx, slog.LevelDebug)
}

// warnAbsent logs, at Warn, the verifier's report that a claim the rule's
// requirement reads is absent from most tokens (verify.AbsentClaimError):
// claim names, counts and the rule, never a claim value. The verifier
// rate-limits the reports.
func (a *authorizer) warnAbsent(ctx context.Context, ruleMethod string, err error) {
	var ae *verify.AbsentClaimError
	if a.logger == nil || !errors.As(err, &ae) {
		return
	}
	a.logger.LogAttrs(ctx, slog.LevelWarn, "grpcmw: claim absent from most tokens, check the configuration",
		slog.String("claim", ae.Claim),
		slog.String("read_as", ae.Name),
		slog.Int("absent", ae.Absent),
		slog.Int("of", ae.Of),
		slog.String("rule", methodLabel(ruleMethod)),
		slog.String("hint", ae.Hint()))
}
