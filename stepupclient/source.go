package stepupclient

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/internal/bearer"
	"github.com/stepupauth/stepup/internal/grammar"
)

// DefaultMaxRetries is the number of step-up retries per request when
// Config.MaxRetries is zero: one new token, one retry.
const DefaultMaxRetries = 1

// MaxMaxRetries is the largest Config.MaxRetries New accepts.
const MaxMaxRetries = 10

// Bounds on what challenges can make a Source ask for, so that a hostile
// server cannot grow a login request without limit.
const (
	maxScopes     = 256  // scopes in the accumulated union
	maxACRValues  = 64   // acr values of one challenge
	maxClaimsSize = 8192 // bytes of a decoded claims request
)

// TokenFunc gets an access token for the resource that meets l: at the
// first request and when the current token has expired, l.Refusal is nil
// and l carries what earlier challenges asked for (acr values, scopes);
// after a challenge, l.Refusal is the server's refusal and l what to ask the
// authorization server for (l.AuthCodeOptions for the code flow).
//
// The token's AccessToken must be a b64token (RFC 6750 §2.1) and its Expiry,
// when set, tells the Source when to ask again. TokenType "Bearer" makes a
// Source with a DPoP key send the token as a bearer token (the authorization
// server did not bind it, RFC 9449 §5); any other value, "" included, sends
// it as DPoP.
//
// A Source calls its TokenFunc one call at a time, never concurrently.
type TokenFunc func(ctx context.Context, l Login) (*oauth2.Token, error)

// Login is what the next token must satisfy, for a TokenFunc.
//
// ACRValues and Scopes persist across challenges: ACRValues are those of the
// latest challenge that named some (in the server's preference order), Scopes
// the union of Config.Scopes and of every scope a challenge named, in order
// of first appearance. MaxAge and Claims belong to the challenge at hand
// only: a renewal of an expired token does not ask for a fresh login again.
//
// A Login is a value; its slices are fresh copies for each call.
type Login struct {
	// Refusal is the refusal being followed (its Code, ACRValues, MaxAge,
	// Scope and Extra as the server sent them); nil for a first token or a
	// renewal.
	Refusal *claims.Error
	// ACRValues are the acr_values to request, in preference order (RFC
	// 9470 §3, OpenID Connect Core §3.1.2.1).
	ACRValues []string
	// MaxAge is the max_age to request; the zero MaxAge asks for none.
	MaxAge claims.MaxAge
	// Scopes are the scopes to request.
	Scopes []string
	// Claims is the claims request (JSON, OpenID Connect Core §5.5) of an
	// Entra ID insufficient_claims challenge, decoded from its base64; ""
	// when there is none.
	Claims string
	// DPoPJKT is the RFC 7638 thumbprint of Config.DPoP's public key, ""
	// without one: the dpop_jkt of an authorization request (RFC 9449 §10)
	// and the cnf.jkt of the tokens to get.
	DPoPJKT string
}

// Config is the configuration of a Source, checked once by New.
type Config struct {
	// Token gets tokens. Required.
	Token TokenFunc
	// Scopes are the scopes of the first token; challenges add to them.
	Scopes []string
	// MaxRetries is how many step-up retries (new tokens) one request may
	// cause: 0 means DefaultMaxRetries, at most MaxMaxRetries.
	MaxRetries int
	// DPoP, when set, is the key of DPoP-bound tokens (RFC 9449): requests
	// carry a proof signed by it and the token under the DPoP scheme. An
	// *ecdsa.PrivateKey (P-256, P-384, P-521: ES256, ES384, ES512), an
	// ed25519.PrivateKey (EdDSA), an *rsa.PrivateKey of 2048 bits or more
	// (RS256), or any crypto.Signer over such a key (a KMS, a hardware
	// token) whose ECDSA signatures are ASN.1 DER, as crypto/ecdsa's are.
	DPoP crypto.Signer
}

// Source holds the access token for one resource server and follows its
// step-up challenges: Token gives the current token (getting one when there
// is none or it expired), StepUp a new one that meets a refusal. Transport
// (HTTP) and the interceptors of package grpcmw are built on it, so one
// Source serves the HTTP and gRPC APIs of one resource, with one token.
//
// A Source is safe for concurrent use; its TokenFunc runs one call at a
// time.
type Source struct {
	token   TokenFunc
	retries int
	key     *dpopKey // nil without DPoP

	sem chan struct{} // one TokenFunc call at a time

	mu     sync.Mutex // guards the fields below
	cur    *oauth2.Token
	acr    []string
	scopes []string
}

// New returns a Source for cfg, or an error saying which setting is wrong.
func New(cfg Config) (*Source, error) {
	if cfg.Token == nil {
		return nil, errors.New("stepupclient: Config.Token is required: a function that gets an access token")
	}
	if cfg.MaxRetries < 0 || cfg.MaxRetries > MaxMaxRetries {
		return nil, fmt.Errorf("stepupclient: Config.MaxRetries %d: want 0 (the default, %d) to %d", cfg.MaxRetries, DefaultMaxRetries, MaxMaxRetries)
	}
	if len(cfg.Scopes) > maxScopes {
		return nil, fmt.Errorf("stepupclient: Config.Scopes: more than %d scopes", maxScopes)
	}
	var scopes []string
	for _, s := range cfg.Scopes {
		if !grammar.ScopeToken(s) {
			return nil, fmt.Errorf("stepupclient: Config.Scopes: %q is not an RFC 6749 scope-token", s)
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	s := &Source{token: cfg.Token, retries: cfg.MaxRetries, scopes: scopes, sem: make(chan struct{}, 1)}
	if s.retries == 0 {
		s.retries = DefaultMaxRetries
	}
	if cfg.DPoP != nil {
		k, err := newDPoPKey(cfg.DPoP)
		if err != nil {
			return nil, err
		}
		s.key = k
	}
	return s, nil
}

// MaxRetries returns how many step-up retries one request may cause.
func (s *Source) MaxRetries() int { return s.retries }

// Token returns the current token, getting one from the TokenFunc (with
// a Login without Refusal) when there is none or it has expired.
func (s *Source) Token(ctx context.Context) (*oauth2.Token, error) {
	if t := s.current(); t.Valid() {
		return t, nil
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	if t := s.current(); t.Valid() { // another caller got one meanwhile
		return t, nil
	}
	s.mu.Lock()
	l := Login{ACRValues: slices.Clone(s.acr), Scopes: slices.Clone(s.scopes)}
	s.mu.Unlock()
	return s.fetch(ctx, l)
}

// ErrNotStepUp is returned by StepUp for a refusal that no new token can
// cure by itself (invalid_token, invalid_request, use_dpop_nonce, a
// refusal without error code, or none): the caller hands the refusal to
// the application as it is.
var ErrNotStepUp = errors.New("stepupclient: not a step-up challenge")

// StepUp returns a token that meets refusal, the *claims.Error a server
// answered a request made with token used (see ParseRefusal, or
// grpcmw.ErrorFromStatus): for insufficient_user_authentication,
// insufficient_scope and insufficient_claims it calls the TokenFunc with
// the Login the refusal asks for and makes the result the current token.
// When another caller already replaced used with a token obtained for the
// same acr values and scopes, and refusal asks for nothing more (no max_age,
// no claims), that token is returned without a new login.
//
// It does not count retries: a caller makes at most MaxRetries calls per
// request. A refusal of another kind gives ErrNotStepUp; a challenge whose
// parameters cannot be followed (a scope that is not a scope-token, a claims
// parameter that is not base64 JSON, more than the bounds allow) a
// *ChallengeError; a failed TokenFunc a *LoginError.
func (s *Source) StepUp(ctx context.Context, used *oauth2.Token, refusal *claims.Error) (*oauth2.Token, error) {
	if refusal == nil {
		return nil, ErrNotStepUp
	}
	switch refusal.Code {
	case claims.CodeInsufficientUserAuthentication, claims.CodeInsufficientScope, claims.CodeInsufficientClaims:
	default:
		return nil, ErrNotStepUp
	}
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	s.mu.Lock()
	l, reuse, err := s.next(used, refusal)
	cur := s.cur
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if reuse {
		return cur, nil
	}
	return s.fetch(ctx, l)
}

// next builds the Login that refusal asks for, from the state of s (s.mu
// held), and says whether the current token, newer than used, already
// answers it.
func (s *Source) next(used *oauth2.Token, refusal *claims.Error) (Login, bool, error) {
	l := Login{Refusal: refusal, ACRValues: slices.Clone(s.acr), MaxAge: refusal.MaxAge, Scopes: slices.Clone(s.scopes)}
	if len(refusal.ACRValues) > maxACRValues {
		return Login{}, false, &ChallengeError{Msg: fmt.Sprintf("more than %d acr_values", maxACRValues)}
	}
	for _, v := range refusal.ACRValues {
		if !grammar.ACRValue(v) {
			return Login{}, false, &ChallengeError{Msg: "acr_values holds a value with characters outside %x21-7E"}
		}
	}
	if len(refusal.ACRValues) > 0 {
		l.ACRValues = slices.Clone(refusal.ACRValues)
	}
	// One refusal names at most as many scopes as the union may hold,
	// repeated or not: a gRPC refusal's ErrorInfo is not bounded as a
	// WWW-Authenticate value is, and each scope is looked up in the union.
	if len(refusal.Scope) > maxScopes {
		return Login{}, false, &ChallengeError{Msg: fmt.Sprintf("more than %d scopes", maxScopes)}
	}
	if refusal.Code == claims.CodeInsufficientScope && len(refusal.Scope) == 0 {
		return Login{}, false, &ChallengeError{Msg: "insufficient_scope without scope"}
	}
	grew := false
	for _, sc := range refusal.Scope {
		if !grammar.ScopeToken(sc) {
			return Login{}, false, &ChallengeError{Msg: "scope holds a value that is not an RFC 6749 scope-token"}
		}
		if !slices.Contains(l.Scopes, sc) {
			if len(l.Scopes) == maxScopes {
				return Login{}, false, &ChallengeError{Msg: fmt.Sprintf("more than %d scopes in all", maxScopes)}
			}
			l.Scopes = append(l.Scopes, sc)
			grew = true
		}
	}
	if refusal.Code == claims.CodeInsufficientClaims {
		c, err := claimsRequest(refusal.Extra)
		if err != nil {
			return Login{}, false, err
		}
		l.Claims = c
	}
	_, hasMaxAge := l.MaxAge.Seconds()
	reuse := s.cur.Valid() && used != nil && s.cur.AccessToken != used.AccessToken &&
		!grew && !hasMaxAge && l.Claims == "" && slices.Equal(l.ACRValues, s.acr)
	return l, reuse, nil
}

// fetch calls the TokenFunc (the semaphore held) and makes its token the
// current one.
func (s *Source) fetch(ctx context.Context, l Login) (*oauth2.Token, error) {
	if s.key != nil {
		l.DPoPJKT = s.key.jkt
	}
	acr, scopes := slices.Clone(l.ACRValues), slices.Clone(l.Scopes)
	t, err := s.token(ctx, l)
	if err != nil {
		return nil, &LoginError{Refusal: l.Refusal, Err: err}
	}
	if t == nil || !bearer.IsB64Token(t.AccessToken) {
		return nil, &LoginError{Refusal: l.Refusal, Err: errors.New("the TokenFunc returned no access token, or one that is not a b64token")}
	}
	s.mu.Lock()
	s.cur, s.acr, s.scopes = t, acr, scopes
	s.mu.Unlock()
	return t, nil
}

func (s *Source) current() *oauth2.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

func (s *Source) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Source) unlock() { <-s.sem }

// claimsRequest decodes the claims parameter of an Entra ID claims
// challenge: standard base64, padded or not, of a JSON object.
func claimsRequest(extra []claims.Param) (string, error) {
	for _, p := range extra {
		if !strings.EqualFold(p.Name, "claims") {
			continue
		}
		if base64.StdEncoding.DecodedLen(len(p.Value)) > maxClaimsSize {
			return "", &ChallengeError{Msg: fmt.Sprintf("claims longer than %d bytes", maxClaimsSize)}
		}
		b, err := base64.StdEncoding.DecodeString(p.Value)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(p.Value)
		}
		if err != nil {
			return "", &ChallengeError{Msg: "claims is not base64", Err: err}
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(b, &obj); err != nil {
			return "", &ChallengeError{Msg: "claims is not a JSON object", Err: err}
		}
		return string(b), nil
	}
	return "", &ChallengeError{Msg: "insufficient_claims without claims"}
}

// ErrNoDPoPKey is returned by DPoPProof for a Source without Config.DPoP.
var ErrNoDPoPKey = errors.New("stepupclient: the Source has no DPoP key (Config.DPoP)")

// DPoPProof signs a DPoP proof (RFC 9449 §4.2) with Config.DPoP's key for
// a request with method to uri (its query, fragment and userinfo are left
// out of htu), presenting accessToken (its hash is ath; "" for none) with
// nonce ("" for none). It is for the requests a TokenFunc makes itself: a
// token request to the authorization server (RFC 9449 §5), whose tokens
// must be bound to the key the Transport proves. The Transport makes its
// own proofs.
func (s *Source) DPoPProof(method, uri, accessToken, nonce string) (string, error) {
	if s.key == nil {
		return "", ErrNoDPoPKey
	}
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", fmt.Errorf("stepupclient: DPoPProof: %q is not an absolute URL", uri)
	}
	if method == "" {
		return "", errors.New("stepupclient: DPoPProof: empty method")
	}
	return s.key.proof(method, htu(u), accessToken, nonce, time.Now())
}
