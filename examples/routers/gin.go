package routers

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// recipe: gin

// ginGuard adapts net/http middleware, such as a guard's Require, to gin:
// a refused request is answered by the guard and the chain stops; an
// allowed one runs the rest of the chain inside the guard, with the claims
// in c.Request's context and its writes passed through the guard's writer,
// so that the guard sees the status the handler answers.
func ginGuard(protect func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		gw := c.Writer
		protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.Request, c.Writer = r, ginWriter{gw, w}
			c.Next()
			c.Writer = gw
		})).ServeHTTP(gw, c.Request)
		c.Abort() // the chain ran inside, or must not run
	}
}

// ginWriter is gin's writer with its writes sent through the guard's.
type ginWriter struct {
	gin.ResponseWriter
	w http.ResponseWriter
}

func (g ginWriter) WriteHeader(code int)              { g.w.WriteHeader(code) }
func (g ginWriter) Write(b []byte) (int, error)       { return g.w.Write(b) }
func (g ginWriter) WriteString(s string) (int, error) { return io.WriteString(g.w, s) }

// ginRouter protects a gin handler with ginGuard.
func ginRouter(guard *httpmw.Guard) *gin.Engine {
	protect := func(next http.Handler) http.Handler {
		return httpmw.Named("POST /accounts/:id/transfers", guard.Require(transferRule, next))
	}
	r := gin.New()
	r.POST("/accounts/:id/transfers", ginGuard(protect), func(c *gin.Context) {
		cl, _ := claims.FromContext(c.Request.Context())
		c.String(http.StatusOK, "transfer from account "+c.Param("id")+" by "+cl.Subject)
	})
	return r
}

// end recipe
