package routers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// recipe: echo

// echoRouter protects an echo handler with the guard as route middleware,
// through echo.WrapMiddleware: a refused request is answered by the guard
// and never reaches the handler, an allowed one reaches it with the claims
// in c.Request().Context() and its path parameters (c.Param) intact.
// Named labels the decisions by the rule. (echo.WrapHandler mounts a
// handler of Guard.Route the same way, for a route without parameters.)
func echoRouter(guard *httpmw.Guard) *echo.Echo {
	protect := func(next http.Handler) http.Handler {
		return httpmw.Named("POST /accounts/:id/transfers", guard.Require(transferRule, next))
	}
	e := echo.New()
	e.POST("/accounts/:id/transfers", func(c echo.Context) error {
		cl, _ := claims.FromContext(c.Request().Context())
		return c.String(http.StatusOK, "transfer from account "+c.Param("id")+" by "+cl.Subject)
	}, echo.WrapMiddleware(protect))
	return e
}

// end recipe
