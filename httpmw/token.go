package httpmw

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/stepupauth/stepup/claims"
)

// Causes of an invalid_request rejection, wrapped in the *claims.Error's Err
// (for logs and the error hook; never sent to the client). Test for them
// with errors.Is.
var (
	ErrMultipleAuthorization  = errors.New("httpmw: more than one Authorization header")
	ErrMalformedAuthorization = errors.New("httpmw: malformed Bearer credentials in Authorization header")
	ErrMultipleTokens         = errors.New("httpmw: more than one access token in the request")
	ErrMalformedBody          = errors.New("httpmw: malformed form body")
	ErrBodyTooLarge           = errors.New("httpmw: form body larger than the access_token limit")
)

// token returns the bearer token of r, "" when r carries none, or an
// invalid_request *claims.Error.
//
// Sources, per RFC 6750 §2 and RFC 9700: the Authorization header with the
// Bearer scheme (case-insensitive); the form body parameter access_token
// when enabled; the query string never. Credentials of another scheme
// (Basic, DPoP, ...) are not a bearer token.
func (g *Guard) token(r *http.Request) (string, error) {
	var tok string
	switch hv := r.Header["Authorization"]; len(hv) {
	case 0:
	case 1:
		t, err := parseAuthorization(hv[0])
		if err != nil {
			return "", claims.InvalidRequest(err)
		}
		tok = t
	default:
		return "", claims.InvalidRequest(ErrMultipleAuthorization)
	}
	if g.formToken {
		ft, err := g.bodyToken(r)
		if err != nil {
			return "", claims.InvalidRequest(err)
		}
		if ft != "" {
			if tok != "" {
				return "", claims.InvalidRequest(ErrMultipleTokens)
			}
			tok = ft
		}
	}
	return tok, nil
}

// parseAuthorization returns the token of Bearer credentials
// ("Bearer" 1*SP b64token, RFC 6750 §2.1), "" for credentials of another
// scheme, or ErrMalformedAuthorization.
func parseAuthorization(v string) (string, error) {
	const scheme = "Bearer"
	if v == "" {
		return "", ErrMalformedAuthorization
	}
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) ||
		len(v) > len(scheme) && isTchar(v[len(scheme)]) {
		return "", nil // another scheme
	}
	rest := v[len(scheme):]
	if rest == "" || rest[0] != ' ' {
		return "", ErrMalformedAuthorization
	}
	rest = strings.TrimLeft(rest, " ")
	if !isB64token(rest) {
		return "", ErrMalformedAuthorization
	}
	return rest, nil
}

// isB64token reports whether s matches
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64token(s string) bool {
	n := 0
	for n < len(s) && b64tokenChar[s[n]] {
		n++
	}
	if n == 0 {
		return false
	}
	for ; n < len(s); n++ {
		if s[n] != '=' {
			return false
		}
	}
	return true
}

var b64tokenChar = func() (t [256]bool) {
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~+/" {
		t[c] = true
	}
	return t
}()

// isTchar reports whether c may appear in an RFC 9110 token (an
// auth-scheme).
func isTchar(c byte) bool {
	return c < 0x80 && (b64tokenChar[c] && c != '/' || strings.IndexByte("!#$%&'*^`|", c) >= 0)
}

// bodyToken returns the access_token of a form-encoded body (RFC 6750 §2.2),
// "" when there is none, or an error. It reads at most g.maxForm+1 bytes and
// leaves r.Body readable from the start.
func (g *Guard) bodyToken(r *http.Request) (string, error) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return "", nil // GET and methods without body semantics: RFC 6750 §2.2
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return "", nil
	}
	var vals []string
	if r.PostForm != nil { // parsed (and consumed) earlier by the application
		vals = r.PostForm["access_token"]
	} else {
		if r.Body == nil || r.Body == http.NoBody {
			return "", nil
		}
		orig := r.Body
		buf, rerr := io.ReadAll(io.LimitReader(orig, g.maxForm+1))
		r.Body = replayBody{io.MultiReader(bytes.NewReader(buf), orig), orig}
		if rerr != nil {
			return "", errors.Join(ErrMalformedBody, rerr)
		}
		if int64(len(buf)) > g.maxForm {
			return "", ErrBodyTooLarge
		}
		form, perr := url.ParseQuery(string(buf))
		if perr != nil {
			return "", errors.Join(ErrMalformedBody, perr)
		}
		vals = form["access_token"]
	}
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		if !isB64token(vals[0]) {
			return "", ErrMalformedBody
		}
		return vals[0], nil
	default:
		return "", ErrMultipleTokens
	}
}

// replayBody serves the bytes already read, then the rest of the original
// body, and closes the original.
type replayBody struct {
	io.Reader
	io.Closer
}
