package routers

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/httpmw"
)

// recipe: gorilla/mux

// gorillaRouter mounts the transfer route on gorilla/mux. mux.Vars reads
// the path variables from the request context, which the guard keeps.
func gorillaRouter(guard *httpmw.Guard) (http.Handler, error) {
	transfer, err := guard.Route(httpmw.Route{
		Pattern:     "POST /accounts/{id}/transfers",
		Requirement: transferRule,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := claims.FromContext(r.Context())
			fmt.Fprintf(w, "transfer from account %s by %s", mux.Vars(r)["id"], c.Subject)
		}),
	})
	if err != nil {
		return nil, err
	}
	r := mux.NewRouter()
	r.Handle("/accounts/{id}/transfers", transfer).Methods(http.MethodPost)
	return r, nil
}

// end recipe
