package httpmw

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/bearer"
	"github.com/stepupauth/stepup/internal/decide"
)

// Causes of an invalid_request rejection, wrapped in the *claims.Error's Err
// (for logs and the decision hooks; never sent to the client).
var (
	errMultipleAuthorization  = errors.New("httpmw: more than one Authorization header")
	errMalformedAuthorization = errors.New("httpmw: malformed Bearer credentials in Authorization header")
	errMultipleTokens         = errors.New("httpmw: more than one access token in the request")
	errMalformedBody          = errors.New("httpmw: malformed form body")
	errBodyTooLarge           = errors.New("httpmw: form body larger than the access_token limit")
)

// token returns the bearer token of r, "" when r carries none, or an
// invalid_request *claims.Error.
//
// Sources, per RFC 6750 §2 and RFC 9700: the Authorization header with the
// Bearer scheme, parsed by the one parser grpcmw uses too (see the package
// documentation); the form body parameter access_token when enabled; the
// query string never. Credentials of another scheme (Basic, DPoP, ...) are
// not a bearer token.
func (g *Guard) token(r *http.Request) (bearer.Scheme, string, error) {
	var tok string
	scheme := bearer.None
	switch hv := r.Header["Authorization"]; len(hv) {
	case 0:
	case 1:
		s, t, ok := bearer.Credentials(hv[0], g.dpop != nil)
		if !ok {
			return bearer.None, "", claims.InvalidRequest(errMalformedAuthorization)
		}
		scheme, tok = s, t
	default:
		return bearer.None, "", claims.InvalidRequest(errMultipleAuthorization)
	}
	if g.formToken {
		ft, err := g.bodyToken(r, tok != "")
		if err != nil {
			return bearer.None, "", claims.InvalidRequest(err)
		}
		if ft != "" {
			if tok != "" {
				return bearer.None, "", claims.InvalidRequest(errMultipleTokens)
			}
			scheme, tok = bearer.Bearer, ft
		}
	}
	return scheme, tok, nil
}

// sender is how r presented its token: the DPoP proof check (RFC 9449;
// method and path of r, against the public URL) when it used the DPoP
// scheme, and the client certificate (RFC 8705) for a certificate-bound
// token.
func (g *Guard) sender(r *http.Request, scheme bearer.Scheme) decide.Sender {
	s := decide.Sender{Cert: g.cert, From: r}
	if scheme == bearer.DPoP {
		s.DPoP = true
		s.Proof = g.dpop.Proof(r.Header["Dpop"], r.Method, r.URL.EscapedPath())
	}
	return s
}

// bodyToken returns the access_token of a form-encoded body (RFC 6750 §2.2),
// "" when there is none, or an error. It reads at most g.maxForm+1 bytes and
// leaves r.Body readable from the start.
//
// haveHeader tells that the Authorization header already carried a token.
// The body is then read only to detect a second token (RFC 6750 §2: a
// client must not use more than one method): a body larger than the limit
// is not an error but is left unscanned, and the header token stands, so
// that a large form upload with a header token is served without reading
// more than the limit.
func (g *Guard) bodyToken(r *http.Request, haveHeader bool) (string, error) {
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
			return "", errors.Join(errMalformedBody, rerr)
		}
		if int64(len(buf)) > g.maxForm {
			if haveHeader {
				return "", nil
			}
			return "", errBodyTooLarge
		}
		form, perr := url.ParseQuery(string(buf))
		if perr != nil {
			return "", errors.Join(errMalformedBody, perr)
		}
		vals = form["access_token"]
	}
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		if !bearer.IsB64Token(vals[0]) {
			return "", errMalformedBody
		}
		return vals[0], nil
	default:
		return "", errMultipleTokens
	}
}

// replayBody serves the bytes already read, then the rest of the original
// body, and closes the original.
type replayBody struct {
	io.Reader
	io.Closer
}
