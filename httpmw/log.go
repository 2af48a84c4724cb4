package httpmw

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/decide"
)

// allowedKey is the context key of the *allowed of a request that the
// Guard let through, so that a Reject inside the handler turns it into a
// refusal.
type allowedKey struct{}

// allowed records that the handler of an allowed request refused it after
// all (Reject): the request is then reported once, as refused.
type allowed struct{ refused atomic.Bool }

// observed reports whether an allowed request is reported to anything:
// decision hooks, or a logger at Debug.
func (g *Guard) observed(ctx context.Context) bool {
	return len(g.onDecision) > 0 || g.debug(ctx)
}

// serveObserved runs next for an allowed request (its context ctx carries
// the claims), then reports it to the decision hooks and logs it
// (WithLogger) with the status next answered, unless next refused the
// request with Reject. It reports even when next panics (net/http recovers
// the panic): the decision was to allow.
func (g *Guard) serveObserved(w http.ResponseWriter, r *http.Request, ctx context.Context, next http.Handler) {
	st := new(allowed)
	r = r.WithContext(context.WithValue(ctx, allowedKey{}, st))
	var sw *statusWriter
	if g.debug(ctx) {
		sw = &statusWriter{ResponseWriter: w}
		w = sw
	}
	defer func() {
		if st.refused.Load() {
			return
		}
		for _, hook := range g.onDecision {
			hook(r, nil)
		}
		if sw != nil {
			g.logger.LogAttrs(ctx, slog.LevelDebug, "httpmw: request allowed",
				slog.String("method", r.Method),
				slog.String("route", r.Pattern),
				slog.Int("status", sw.answered()))
		}
	}()
	next.ServeHTTP(w, r)
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
