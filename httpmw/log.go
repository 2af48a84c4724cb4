package httpmw

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/decide"
)

// allowedKey is the context key of the *allowed of a request that a
// Guard let through, so that a Reject inside the handler turns it into a
// refusal.
type allowedKey struct{}

// allowed is the one report of a request a Guard let through: the first of
// the allowed report (when the handler returns) and a Reject by the same
// Guard makes it, the other is dropped, so a request is reported once. It
// belongs to the Guard g: a Reject by another Guard (nested guards)
// reports to that Guard and leaves this one's report alone.
type allowed struct {
	g        *Guard
	reported atomic.Bool
}

// claim reports whether the caller makes the request's one report.
func (a *allowed) claim() bool { return a.reported.CompareAndSwap(false, true) }

// observed reports whether an allowed request is reported to anything:
// decision hooks, or a logger at Debug.
func (g *Guard) observed(ctx context.Context) bool {
	return len(g.onDecision) > 0 || g.debug(ctx)
}

// serveObserved runs next for an allowed request (its context ctx carries
// the claims), then reports it to the decision hooks and logs it
// (WithLogger) with the status next answered, unless the request was
// reported already (a Reject). It reports even when next panics (net/http
// recovers the panic): the decision was to allow; the log line then says
// the handler panicked instead of a status. A request this Guard already
// let through (the same Guard nested) is reported by the outer call only.
func (g *Guard) serveObserved(w http.ResponseWriter, r *http.Request, ctx context.Context, next http.Handler) {
	if st, ok := ctx.Value(allowedKey{}).(*allowed); ok && st.g == g {
		next.ServeHTTP(w, r.WithContext(ctx))
		return
	}
	st := &allowed{g: g}
	r = r.WithContext(context.WithValue(ctx, allowedKey{}, st))
	var sw *statusWriter
	if g.debug(ctx) {
		sw = &statusWriter{ResponseWriter: w}
		w = sw
	}
	returned := false
	defer func() {
		if !st.claim() {
			return
		}
		for _, hook := range g.onDecision {
			hook(r, nil)
		}
		if sw == nil {
			return
		}
		result := slog.Int("status", sw.answered())
		if !returned {
			result = slog.Bool("handler_panicked", true)
		}
		g.logger.LogAttrs(ctx, slog.LevelDebug, "httpmw: request allowed",
			slog.String("method", r.Method),
			slog.String("route", r.Pattern),
			result)
	}()
	next.ServeHTTP(w, r)
	returned = true
}

// logRefused logs a refused request (WithLogger): method, route and status,
// then what decide.RefusalAttrs adds, which is only values from the
// configuration or from fixed sets plus the error text of server-side
// failures. A claim that most tokens lack is reported at Warn.
func (g *Guard) logRefused(r *http.Request, status int, k decide.Kind, ce *claims.Error, err error) {
	decide.WarnAbsent(r.Context(), g.logger, "httpmw", "route", r.Pattern, err)
	if !g.debug(r.Context()) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.Int("status", status))
	attrs = decide.RefusalAttrs(attrs, k, ce, err)
	g.logger.LogAttrs(r.Context(), slog.LevelDebug, "httpmw: request refused", attrs...)
}

func (g *Guard) debug(ctx context.Context) bool {
	return g.logger != nil && g.logger.Enabled(ctx, slog.LevelDebug)
}
