package httpmw

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/verify"
)

// serveAllowed reports a request that passed to the decision hooks, runs
// next and logs it
// (WithLogger) with the status next answered, captured by a statusWriter
// only when the line is logged.
func (g *Guard) serveAllowed(w http.ResponseWriter, r *http.Request, next http.Handler) {
	for _, hook := range g.onDecision {
		hook(r, nil)
	}
	if !g.debug(r.Context()) {
		next.ServeHTTP(w, r)
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	next.ServeHTTP(sw, r)
	g.logger.LogAttrs(r.Context(), slog.LevelDebug, "httpmw: request allowed",
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.Int("status", sw.answered()))
}

// logRefused logs a refused request (WithLogger). Only values from the
// configuration or from fixed sets are logged, plus the error text of
// server-side failures (503, 500), which holds no token content.
func (g *Guard) logRefused(r *http.Request, status int, ce *claims.Error, err error) {
	g.warnAbsent(r, err)
	if !g.debug(r.Context()) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.Int("status", status))
	if ce != nil {
		attrs = append(attrs, slog.String("code", codeLabel(ce.Code)))
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
		if ma := maxAgeSeconds(ce.MaxAge); ma != nil {
			attrs = append(attrs, slog.String("max_age", strconv.FormatInt(*ma, 10)))
		}
		if len(ce.Scope) > 0 {
			attrs = append(attrs, slog.String("scope", strings.Join(ce.Scope, " ")))
		}
	} else {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	g.logger.LogAttrs(r.Context(), slog.LevelDebug, "httpmw: request refused", attrs...)
}

func (g *Guard) debug(ctx context.Context) bool {
	return g.logger != nil && g.logger.Enabled(ctx, slog.LevelDebug)
}

// codeLabel is the code attribute of a refusal: the OAuth error code, or
// "none" for a request without a token (whose challenge has no code), the
// value metrics counts it under.
func codeLabel(c claims.Code) string {
	if c == "" {
		return "none"
	}
	return string(c)
}

// warnAbsent logs, at Warn, the verifier's report that a claim the
// requirement reads is absent from most tokens (verify.AbsentClaimError):
// claim names, counts and the route, never a claim value. The verifier
// rate-limits the reports.
func (g *Guard) warnAbsent(r *http.Request, err error) {
	var ae *verify.AbsentClaimError
	if g.logger == nil || !errors.As(err, &ae) {
		return
	}
	g.logger.LogAttrs(r.Context(), slog.LevelWarn, "httpmw: claim absent from most tokens, check the configuration",
		slog.String("claim", ae.Claim),
		slog.String("read_as", ae.Name),
		slog.Int("absent", ae.Absent),
		slog.Int("of", ae.Of),
		slog.String("route", r.Pattern),
		slog.String("hint", ae.Hint()))
}
