package claims

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"iter"
	"time"
	"unsafe"

	"github.com/stepupauth/stepup/internal/jsonscan"
)

// Claims is the typed view of a verified access token's claim set, built by
// Parse.
//
// A Claims value is produced by the verifier after the token's signature and
// registered claims were checked; handlers read it with FromContext. Treat it
// as read-only: it is shared by every request that presents the same token.
type Claims struct {
	Issuer    string    // iss
	Subject   string    // sub
	Audience  []string  // aud, a string or an array in the token
	Expiry    time.Time // exp; zero when absent
	NotBefore time.Time // nbf; zero when absent
	IssuedAt  time.Time // iat; zero when absent
	ID        string    // jti
	ClientID  string    // client_id
	Scopes    []string  // scope (space-separated string) or scp (array or string)
	AuthTime  time.Time // auth_time (or its mapped name); zero when absent
	ACR       string    // acr (or its mapped name)
	AMR       []string  // amr (or its mapped name)
	ACRS      []string  // acrs: Entra ID authentication context class references

	// Confirmation is the raw cnf claim (RFC 7800), nil when absent.
	Confirmation json.RawMessage

	// Every claim of the token, typed or not, is reachable with Claim and
	// All, for custom checks.

	// Malformed names the optional claims (acr, amr, auth_time, acrs, scope,
	// scp, cnf) that were present with a type other than the one their
	// specification gives. Their typed fields above are left empty, so a
	// requirement on them fails rather than trusting a value of the wrong
	// shape. Names are the standard ones even when Names remaps the claim.
	Malformed []string

	// payload is Parse's private copy of the claim set, which the string
	// fields, Confirmation and Claim's values point into; index follows it
	// in the same allocation (no pointers for the collector to trace):
	// indexEntry bytes per top-level member, in the token's order, the
	// offsets in payload of its name token and of its value.
	payload, index []byte
}

// Names maps the user-authentication claims to the names an issuer uses.
// An empty field means the standard name. Auth0, for example, sets acr and
// amr in access tokens only as namespaced custom claims:
//
//	claims.Names{ACR: "https://example.com/acr", AMR: "https://example.com/amr"}
type Names struct {
	ACR      string // default "acr"
	AMR      string // default "amr"
	AuthTime string // default "auth_time"
}

type contextKey struct{}

// NewContext returns a copy of ctx that carries c.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, contextKey{}, c)
}

// FromContext returns the verified claims stored in ctx by the middleware or
// interceptor, and whether there were any.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(contextKey{}).(*Claims)
	return c, ok && c != nil
}

// indexEntry is the size of one member's entry in Claims.index: four
// little-endian uint32 offsets into the payload, the name token's start
// and end (quotes included) and the value's.
const indexEntry = 16

// member returns the extents of the i-th member in c.payload.
func (c *Claims) member(i int) (name, value []byte) {
	e := c.index[i*indexEntry : (i+1)*indexEntry : (i+1)*indexEntry]
	ns, ne := binary.LittleEndian.Uint32(e), binary.LittleEndian.Uint32(e[4:])
	vs, ve := binary.LittleEndian.Uint32(e[8:]), binary.LittleEndian.Uint32(e[12:])
	return c.payload[ns:ne:ne], c.payload[vs:ve:ve]
}

// Claim returns the value of the token's top-level claim name as the token
// carries it (JSON text, for example `"alice"`, `["a","b"]` or `null`),
// and whether the token has that claim. Names are compared after JSON
// unescaping, exactly. It allocates nothing.
//
// The value shares the Claims' memory: do not modify it. A Claims that
// Parse did not build has no claims here.
func (c *Claims) Claim(name string) (json.RawMessage, bool) {
	for i := range len(c.index) / indexEntry {
		n, v := c.member(i)
		if jsonscan.Equal(n, name) {
			return v, true
		}
	}
	return nil, false
}

// All returns an iterator over the token's top-level claims, name and
// value (as Claim returns it), in the token's order. Names without escapes
// cost no allocation.
func (c *Claims) All() iter.Seq2[string, json.RawMessage] {
	return func(yield func(string, json.RawMessage) bool) {
		for i := range len(c.index) / indexEntry {
			n, v := c.member(i)
			var name string
			if bytes.IndexByte(n, '\\') >= 0 {
				name = jsonscan.Unquote(n)
			} else {
				name = unsafe.String(unsafe.SliceData(n[1:]), len(n)-2)
			}
			if !yield(name, v) {
				return
			}
		}
	}
}

// Len returns the number of top-level claims in the token.
func (c *Claims) Len() int { return len(c.index) / indexEntry }
