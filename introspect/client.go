package introspect

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/jsonscan"
)

// Client introspects opaque access tokens at one authorization server's
// introspection endpoint (RFC 7662) and caches the answers. It is safe for
// concurrent use; make one with New or Discover and share it.
type Client struct {
	s     *settings
	cache *cache // nil with NoCache

	mu      sync.Mutex
	flights map[key]*flight
}

// flight is one call to the endpoint that every concurrent Introspect of
// the same token waits for.
type flight struct {
	done    chan struct{}
	res     outcome
	waiters atomic.Int32 // how many Introspect calls joined, for tests
}

// outcome is what one call to the endpoint established: exactly one of
// claims (an active, acceptable token), refusal or err (an outage).
type outcome struct {
	claims  *claims.Claims
	refusal *Error
	err     error
}

// answer turns an outcome into Introspect's results; each refusal gets a
// fresh *claims.Error.
func (o outcome) answer() (*claims.Claims, error) {
	switch {
	case o.err != nil:
		return nil, o.err
	case o.refusal != nil:
		return nil, claims.InvalidToken(o.refusal)
	}
	return o.claims, nil
}

// New checks cfg and returns a Client. Its errors wrap ErrConfig and say how
// to fix the configuration. New makes no request; call Check for that.
func New(cfg Config) (*Client, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	c := &Client{s: s}
	if s.cache {
		c.cache = newCache(s.cacheSize, s.cacheBytes)
		c.flights = make(map[key]*flight)
	}
	return c, nil
}

var errEmptyToken = errors.New("empty token")

// Introspect returns the claims of token when the endpoint says it is
// active and the answer passes the configured checks (see the package
// documentation for the rules). The claims are shared by every caller that
// presents the same token: treat them as read-only.
//
// A refused token is a *claims.Error with code invalid_token whose cause is
// an *Error naming the reason. An endpoint that gives no usable answer is
// an error wrapping claims.ErrUnavailable (and ErrClientAuth when it
// refuses our client authentication), never a *claims.Error. When ctx ends
// first, the error wraps ctx.Err() only.
func (c *Client) Introspect(ctx context.Context, token string) (*claims.Claims, error) {
	if token == "" {
		return nil, refuse(ReasonMalformed, errEmptyToken)
	}
	if c.cache == nil {
		return c.answerOrCanceled(ctx, c.call(ctx, token))
	}
	k := hashToken(token)
	e := c.cache.get(k)
	hit := e != nil && c.s.now().Before(e.expires)
	if c.s.observer.Cache != nil {
		c.s.observer.Cache(hit)
	}
	if hit {
		if e.claims != nil {
			return e.claims, nil
		}
		return nil, claims.InvalidToken(e.refusal)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("introspect: %w", err)
	}
	f := c.join(ctx, k, token)
	select {
	case <-f.done:
		return f.res.answer()
	case <-ctx.Done():
		return nil, fmt.Errorf("introspect: %w", ctx.Err())
	}
}

// answerOrCanceled is answer, except that an outage seen after ctx ended
// is reported as ctx's end.
func (c *Client) answerOrCanceled(ctx context.Context, o outcome) (*claims.Claims, error) {
	if o.err != nil {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("introspect: %w", err)
		}
	}
	return o.answer()
}

// join returns the flight for k, starting it if there is none. The call
// runs on a context of its own, bounded by Timeout and detached from the
// first caller's cancellation, so that one caller going away does not fail
// the others; it ends within Timeout.
func (c *Client) join(ctx context.Context, k key, token string) *flight {
	c.mu.Lock()
	f, ok := c.flights[k]
	if !ok {
		f = &flight{done: make(chan struct{})}
		c.flights[k] = f
	}
	f.waiters.Add(1)
	c.mu.Unlock()
	if !ok {
		go c.fly(context.WithoutCancel(ctx), k, token, f)
	}
	return f
}

// fly makes the call of f, caches its answer, and releases the waiters.
func (c *Client) fly(ctx context.Context, k key, token string, f *flight) {
	o := c.call(ctx, token)
	now := c.s.now()
	switch {
	case o.err != nil:
		// Stale serving: during an outage, an answer known active
		// stands until its stale bound.
		if e := c.cache.get(k); e != nil && e.claims != nil && now.Before(e.stale) {
			o = outcome{claims: e.claims}
		}
	case o.claims != nil:
		if e := c.activeEntry(o.claims, now); e != nil {
			c.cache.put(k, e, now)
		}
	case cacheable(o.refusal.Reason):
		exp := now.Add(c.s.inactiveTTL)
		c.cache.put(k, &entry{refusal: o.refusal, expires: exp, stale: exp}, now)
	}
	f.res = o
	// The answer is in the cache before the flight leaves the map: a
	// later caller finds one or the other.
	c.mu.Lock()
	delete(c.flights, k)
	c.mu.Unlock()
	close(f.done)
}

// activeEntry is the cache entry of an active token, nil if it would be
// outdated at once. It lives until min(exp, now + CacheTTL), and may be
// served stale for StaleTTL more, never past exp.
func (c *Client) activeEntry(cl *claims.Claims, now time.Time) *entry {
	e := &entry{claims: cl, expires: now.Add(c.s.cacheTTL)}
	e.stale = e.expires.Add(c.s.staleTTL)
	if _, ok := cl.Claim("exp"); ok {
		if cl.Expiry.Before(e.expires) {
			e.expires = cl.Expiry
		}
		if cl.Expiry.Before(e.stale) {
			e.stale = cl.Expiry
		}
	}
	if !now.Before(e.expires) {
		return nil
	}
	return e
}

// cacheable reports whether a refusal for reason stands for InactiveTTL.
// A token not yet valid, or issued in the future, may be fine a moment
// later: those are asked again.
func cacheable(reason string) bool {
	return reason != ReasonNotYetValid && reason != ReasonIssuedInFuture
}

// Check introspects a random token that cannot exist, bypassing the cache,
// to learn whether the endpoint can be reached and accepts our client
// authentication: an inactive (or any well-formed) answer means it does.
// It is meant for start-up. A refused client authentication is an error
// wrapping ErrClientAuth, any other failure one wrapping
// claims.ErrUnavailable; when ctx ends first, the error wraps ctx.Err().
func (c *Client) Check(ctx context.Context) error {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	o := c.call(ctx, "stepup-check-"+b64.EncodeToString(b[:]))
	if o.err == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("introspect: %w", err)
	}
	return o.err
}

// Errors that are the cause of an outage.
var (
	errRedirect    = errors.New("redirect refused")
	errTooLarge    = errors.New("response larger than MaxResponseSize")
	errContentType = errors.New("response is not application/json")
	errStatus      = errors.New("unexpected status")
)

// call makes one introspection request (callOnce) and reports it to the
// observer.
func (c *Client) call(ctx context.Context, token string) outcome {
	if c.s.observer.Called == nil {
		return c.callOnce(ctx, token)
	}
	start := time.Now()
	o := c.callOnce(ctx, token)
	c.s.observer.Called(o.result(), time.Since(start))
	return o
}

// result is the observer's name for o.
func (o outcome) result() string {
	switch {
	case o.claims != nil:
		return "active"
	case o.err == nil:
		return "inactive"
	case errors.Is(o.err, ErrClientAuth):
		return "client_auth"
	}
	return "unavailable"
}

// callOnce makes one introspection request (RFC 7662 §2.1) and reads its
// answer.
func (c *Client) callOnce(ctx context.Context, token string) outcome {
	s := c.s
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	switch {
	case s.key != nil:
		a, err := s.assertion(s.now())
		if err != nil {
			return outcome{err: &endpointError{err: fmt.Errorf("signing the client assertion: %w", err)}}
		}
		form.Set("client_id", s.clientID)
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", a)
	case s.secretPost:
		form.Set("client_id", s.clientID)
		form.Set("client_secret", s.secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return outcome{err: &endpointError{err: err}}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if s.signed {
		req.Header.Set("Accept", mediaTypeJWT)
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if s.basic != "" {
		req.Header.Set("Authorization", s.basic)
	}
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return outcome{err: &endpointError{err: err}}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(s.maxBody)+1))
	if err != nil {
		return outcome{err: &endpointError{status: resp.StatusCode, err: err}}
	}
	if len(body) > s.maxBody {
		return outcome{err: &endpointError{status: resp.StatusCode, err: errTooLarge}}
	}
	switch st := resp.StatusCode; {
	case st == http.StatusOK:
		mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		switch {
		case s.signed && err == nil && mt == mediaTypeJWT:
			return s.signedResponse(ctx, body, s.now())
		case s.signed:
			// No downgrade: an unsigned answer is refused, not read.
			return signedRefusal("content type %q, want %s", mt, mediaTypeJWT)
		case err != nil || mt != "application/json":
			return outcome{err: &endpointError{status: st, err: errContentType}}
		}
		return s.response(body, s.now())
	case st >= 300 && st < 400:
		return outcome{err: &endpointError{status: st, err: errRedirect}}
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return outcome{err: &endpointError{status: st, code: errorCode(body), err: ErrClientAuth}}
	case st == http.StatusBadRequest:
		code := errorCode(body)
		if code == "invalid_client" || code == "unauthorized_client" {
			return outcome{err: &endpointError{status: st, code: code, err: ErrClientAuth}}
		}
		return outcome{err: &endpointError{status: st, code: code, err: errStatus}}
	default:
		return outcome{err: &endpointError{status: st, code: errorCode(body), err: errStatus}}
	}
}

// maxCode bounds the error code kept from an error response.
const maxCode = 64

// errorCode reads the error member of an OAuth error response (RFC 6749
// §5.2), for the logs and to tell invalid_client apart; "" when there is
// none or it is not a short printable ASCII string.
func errorCode(body []byte) string {
	var r struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &r) != nil || len(r.Error) > maxCode {
		return ""
	}
	for i := 0; i < len(r.Error); i++ {
		if r.Error[i] < 0x20 || r.Error[i] > 0x7e {
			return ""
		}
	}
	return r.Error
}

// response judges the body of a 200 answer (RFC 7662 §2.2) at now.
func (s *settings) response(body []byte, now time.Time) outcome {
	active, dup, err := activeMember(body)
	if err != nil {
		// Not one strict JSON object: whatever answered, it was not a
		// working introspection endpoint.
		return outcome{err: &endpointError{status: http.StatusOK, err: fmt.Errorf("malformed response: %w", err)}}
	}
	switch {
	case dup:
		return outcome{refusal: &Error{Reason: ReasonMalformed, Err: errors.New(`duplicate member "active"`)}}
	case bytes.Equal(active, []byte("false")):
		return outcome{refusal: &Error{Reason: ReasonInactive}}
	case active == nil:
		return outcome{refusal: &Error{Reason: ReasonMalformed, Err: errors.New("no active member")}}
	case !bytes.Equal(active, []byte("true")):
		return outcome{refusal: &Error{Reason: ReasonMalformed, Err: errors.New("active is not a boolean")}}
	}
	cl, err := claims.Parse(body, s.names)
	if err != nil {
		return outcome{refusal: &Error{Reason: ReasonMalformed, Err: err}}
	}
	if r := s.judge(cl, now); r != nil {
		return outcome{refusal: r}
	}
	return outcome{claims: cl}
}

// activeMember validates body as one strict JSON object (with the scanner
// behind claims.Parse) and returns the value of its active member, nil
// when it has none, and whether it has more than one.
func activeMember(body []byte) (active []byte, dup bool, err error) {
	err = jsonscan.Members(body, func(m jsonscan.Member) error {
		if m.NameIs(body, "active") {
			dup = dup || active != nil
			active = body[m.Value.Start:m.Value.End]
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return active, dup, nil
}

// judge checks the claims of an active answer against the configuration:
// iss, aud, then exp, nbf and iat with leeway. A member is judged when
// present (an empty string or array included); absent, it passes unless
// required.
func (s *settings) judge(cl *claims.Claims, now time.Time) *Error {
	if s.issuer != "" {
		if _, ok := cl.Claim("iss"); ok && cl.Issuer != s.issuer {
			return &Error{Reason: ReasonIssuer, Err: fmt.Errorf("got %q, want %q", cl.Issuer, s.issuer)}
		} else if !ok && s.requireIss {
			return &Error{Reason: ReasonIssuer, Err: errors.New("no iss")}
		}
	}
	if s.audience != "" {
		if _, ok := cl.Claim("aud"); ok && !slices.Contains(cl.Audience, s.audience) {
			return &Error{Reason: ReasonAudience, Err: fmt.Errorf("%q not among %q", s.audience, cl.Audience)}
		} else if !ok && s.requireAud {
			return &Error{Reason: ReasonAudience, Err: errors.New("no aud")}
		}
	}
	if _, ok := cl.Claim("exp"); ok && !now.Before(cl.Expiry.Add(s.leeway)) {
		return &Error{Reason: ReasonExpired}
	}
	if _, ok := cl.Claim("nbf"); ok && cl.NotBefore.After(now.Add(s.leeway)) {
		return &Error{Reason: ReasonNotYetValid}
	}
	if _, ok := cl.Claim("iat"); ok && cl.IssuedAt.After(now.Add(s.leeway)) {
		return &Error{Reason: ReasonIssuedInFuture}
	}
	return nil
}
