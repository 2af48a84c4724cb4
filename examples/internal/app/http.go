package app

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/stepupauth/stepup/claims"
)

// Caller is the JSON answer of a protected route of the examples: the route
// and the verified caller.
type Caller struct {
	Route    string   `json:"route"`
	Subject  string   `json:"sub"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	AuthTime int64    `json:"auth_time,omitempty"` // seconds since the epoch, as in the token
	Scope    string   `json:"scope,omitempty"`     // space-separated
}

// CallerOf returns the Caller view of verified claims.
func CallerOf(route string, c *claims.Claims) Caller {
	out := Caller{Route: route, Subject: c.Subject, ACR: c.ACR, AMR: c.AMR, Scope: strings.Join(c.Scopes, " ")}
	if !c.AuthTime.IsZero() {
		out.AuthTime = c.AuthTime.Unix()
	}
	return out
}

// CallerHandler answers 200 with the Caller of the request as JSON. It must
// sit behind a guard: without verified claims in the context it answers 500,
// failing closed.
func CallerHandler(route string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := claims.FromContext(r.Context())
		if !ok || c == nil {
			http.Error(w, "no verified caller", http.StatusInternalServerError)
			return
		}
		writeJSON(w, CallerOf(route, c))
	})
}

// Public is the JSON answer of a public route.
type Public struct {
	Route  string `json:"route"`
	Public bool   `json:"public"`
}

// PublicHandler answers 200 with {"route": route, "public": true}.
func PublicHandler(route string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, Public{Route: route, Public: true})
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding the answer failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}
