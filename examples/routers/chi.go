package routers

import (
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// recipe: chi

// chiRouter mounts the transfer route on chi. Guard.Route checks the route
// at start-up and names its decisions by Pattern; chi's URL parameters are
// read as usual, the guard keeps chi's context.
func chiRouter(guard *httpmw.Guard) (http.Handler, error) {
	transfer, err := guard.Route(httpmw.Route{
		Pattern:     "POST /accounts/{id}/transfers",
		Requirement: transferRule,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := claims.FromContext(r.Context())
			fmt.Fprintf(w, "transfer from account %s by %s", chi.URLParam(r, "id"), c.Subject)
		}),
	})
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Method(http.MethodPost, "/accounts/{id}/transfers", transfer)
	return r, nil
}

// end recipe
