package grpcmw

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/grpc/codes"

	"github.com/stepupauth/stepup/internal/decide"
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

// logAllowed logs a call that passed (WithLogger), once its handler
// returned with code.
func (s *Interceptors) logAllowed(ctx context.Context, rule string, code codes.Code) {
	if !s.debug(ctx) {
		return
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "grpcmw: call allowed",
		slog.String("rule", methodLabel(rule)),
		slog.String("grpc_code", code.String()))
}

// logRefused logs a refused call (WithLogger): the rule and the gRPC code,
// then what decide.RefusalAttrs adds, which is only values from the
// configuration or from fixed sets plus the error text of server-side
// failures. A claim that most tokens lack is reported at Warn.
func (s *Interceptors) logRefused(ctx context.Context, rule string, r *rejection, err error) {
	decide.WarnAbsent(ctx, s.logger, "grpcmw", "rule", methodLabel(rule), err)
	if !s.debug(ctx) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("rule", methodLabel(rule)),
		slog.String("grpc_code", r.st.Code().String()))
	if errors.Is(err, ErrUnlistedMethod) {
		attrs = append(attrs, slog.String("code", decide.CodeUnlisted))
	} else {
		k, ce := decide.Outcome(ctx, err)
		attrs = decide.RefusalAttrs(attrs, k, ce, err)
	}
	s.logger.LogAttrs(ctx, slog.LevelDebug, "grpcmw: call refused", attrs...)
}

func (s *Interceptors) debug(ctx context.Context) bool {
	return s.logger != nil && s.logger.Enabled(ctx, slog.LevelDebug)
}
