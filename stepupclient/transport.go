package stepupclient

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/clientnonce"
	"github.com/stepupauth/stepup/internal/loopback"
)

// Transport is an http.RoundTripper that authenticates the requests to one
// origin with the token of a Source and follows that origin's step-up
// challenges (RFC 9470, RFC 6750 §3.1, Entra ID claims challenges, RFC 9449
// nonces) by itself. Build it with NewTransport; use it as the Transport of
// an http.Client.
//
// For a request to its origin (scheme, host and port equal; the path does
// not matter), it sets the Authorization header (replacing the caller's)
// to the Source's token, plus a DPoP proof when the Source has a DPoP key.
// When the answer is a 401 or 403 whose challenge (ParseRefusal) is
//
//   - insufficient_user_authentication, insufficient_scope or
//     insufficient_claims: it asks the Source for a new token (Source.StepUp,
//     which calls the TokenFunc with the challenge's acr_values, max_age,
//     accumulated scopes, claims) and sends the request again with it, at
//     most Source.MaxRetries times per request;
//   - use_dpop_nonce, with a DPoP key: it sends the request again once with
//     a proof carrying the DPoP-Nonce of the answer, unless that nonce is
//     the one the refused proof carried; once more after each new token.
//
// Anything else (another status or code, another scheme, a request whose
// body cannot be sent again because it has no GetBody, the retries spent) is
// returned as the server answered, for the caller to read. A challenge that
// cannot be read or followed (see ChallengeError) and a failed TokenFunc
// (LoginError) are errors: the answer's body is then closed. Before a
// retry, the refused answer's body is drained (up to 64 KiB) and closed.
//
// Requests to any other origin pass to the base RoundTripper untouched:
// no token, no proof, their challenges not followed. A redirect to another
// origin (http.Client follows them through the Transport again) therefore
// carries no token.
//
// Every DPoP-Nonce the origin sends (RFC 9449 §8.2) is remembered for
// the next proofs.
//
// A Transport is safe for concurrent use.
type Transport struct {
	src    *Source
	origin origin
	base   http.RoundTripper

	nonces clientnonce.Store // the origin's latest DPoP-Nonce
}

// origin is a normalised scheme, host and port.
type origin struct{ scheme, host, port string }

// NewTransport returns a Transport that sends src's tokens to the origin
// of rawOrigin ("https://api.example.com", or with a port; a path is not
// allowed, since a token is for the whole origin) and to nothing else, by
// base (http.DefaultTransport when nil). The origin must be https, or http
// on a loopback IP literal (127.0.0.0/8, ::1).
func NewTransport(src *Source, rawOrigin string, base http.RoundTripper) (*Transport, error) {
	if src == nil {
		return nil, errors.New("stepupclient: NewTransport: the Source is nil: build one with New")
	}
	u, err := url.Parse(rawOrigin)
	if err != nil {
		return nil, fmt.Errorf("stepupclient: NewTransport: origin %q: %w", rawOrigin, err)
	}
	if u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("stepupclient: NewTransport: origin %q: want scheme://host[:port], nothing else", rawOrigin)
	}
	o, ok := originOf(u)
	if !ok {
		return nil, fmt.Errorf("stepupclient: NewTransport: origin %q: the scheme must be https (http only for a loopback IP)", rawOrigin)
	}
	if o.scheme == "http" && !loopback.Is(u.Hostname()) {
		return nil, fmt.Errorf("stepupclient: NewTransport: origin %q: tokens travel over https only, http is for a loopback IP (127.0.0.1, ::1)", rawOrigin)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{src: src, origin: o, base: base}, nil
}

// originOf returns the normalised origin of u, false for a scheme other
// than http and https.
func originOf(u *url.URL) (origin, bool) {
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	switch {
	case o.scheme == "https" && o.port == "443", o.scheme == "http" && o.port == "80":
		o.port = ""
	case o.scheme != "https" && o.scheme != "http":
		return origin{}, false
	}
	return o, true
}

// drainLimit bounds how much of a refused answer's body is read so that its
// connection can be reused.
const drainLimit = 64 << 10

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if o, ok := originOf(req.URL); !ok || o != t.origin {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	tok, err := t.src.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	stepUps, nonceTried := 0, false
	for attempt := 0; ; attempt++ {
		r := req.Clone(ctx)
		if attempt > 0 && req.Body != nil && req.Body != http.NoBody {
			if r.Body, err = req.GetBody(); err != nil {
				return nil, fmt.Errorf("stepupclient: GetBody: %w", err)
			}
		}
		sent, proved, err := t.authorize(r, tok)
		if err != nil {
			closeBody(r)
			return nil, err
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		if t.src.key != nil {
			t.nonces.Offer(resp.Header.Get("DPoP-Nonce"))
		}
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			return resp, nil
		}
		vals := resp.Header.Values("WWW-Authenticate")
		if len(vals) == 0 {
			return resp, nil
		}
		refusal, err := ParseRefusal(vals...)
		if err != nil {
			discard(resp)
			return nil, err
		}
		if refusal == nil || !replayable {
			return resp, nil
		}
		if refusal.Code == claims.CodeUseDPoPNonce {
			if !proved {
				return resp, nil // no proof was sent: a nonce cannot help
			}
			retry, err := t.nonces.Follow(resp.Header.Get("DPoP-Nonce"), sent, nonceTried)
			if err != nil {
				discard(resp)
				return nil, &ChallengeError{Msg: "use_dpop_nonce without a valid DPoP-Nonce header"}
			}
			if !retry {
				return resp, nil // tried once for this token, or refused the nonce it gave
			}
			nonceTried = true
			discard(resp)
			continue
		}
		if stepUps >= t.src.retries {
			return resp, nil
		}
		next, err := t.src.StepUp(ctx, tok, refusal)
		if errors.Is(err, ErrNotStepUp) {
			return resp, nil
		}
		discard(resp)
		if err != nil {
			return nil, err
		}
		tok, stepUps, nonceTried = next, stepUps+1, false
	}
}

// authorize sets the credentials of r (a clone) for tok, and returns the
// nonce its proof carries and whether it carries one.
func (t *Transport) authorize(r *http.Request, tok *oauth2.Token) (string, bool, error) {
	if t.src.key == nil || strings.EqualFold(tok.TokenType, "bearer") {
		r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		r.Header.Del("DPoP")
		return "", false, nil
	}
	nonce := t.nonces.Get()
	method := r.Method
	if method == "" { // net/http sends GET (Request.Method)
		method = http.MethodGet
	}
	p, err := t.src.key.proof(method, htu(r.URL), tok.AccessToken, nonce, time.Now())
	if err != nil {
		return "", false, fmt.Errorf("stepupclient: signing the DPoP proof: %w", err)
	}
	r.Header.Set("Authorization", "DPoP "+tok.AccessToken)
	r.Header.Set("DPoP", p)
	return nonce, true, nil
}

// discard drains (a bounded amount of) and closes the body of an answer
// that is not returned.
func discard(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	_ = resp.Body.Close()
}

// closeBody closes the body of a request that will not be sent, as
// RoundTrip must.
func closeBody(r *http.Request) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
}
