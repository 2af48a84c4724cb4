package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/internal/cnf"
	"github.com/stepupauth/stepup/internal/decide"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/mtls"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/verify"
)

// This file explains what the library does beyond a JWT's signature:
// opaque tokens sent to the introspection endpoint (RFC 7662), and
// sender-constrained tokens (a DPoP proof, RFC 9449; a client certificate,
// RFC 8705). The checks are the library's own: an introspect.Client judges
// the answer, internal/decide and a dpop.Verifier the proof.

// introspected reports whether the verifier the policy describes sends raw
// to the introspection endpoint: every token that is not a JWS compact
// serialization, or every token with introspect_jwts (the rule of
// verify.Config.Introspector).
func introspected(p *policy.Policy, raw string) bool {
	return p.Introspection != nil && (p.Introspection.IntrospectJWTs || strings.Count(raw, ".") != 2)
}

// noKeys is the key source of an explain that needs none: an introspected
// token is never checked against keys.
type noKeys struct{}

func (noKeys) Key(context.Context, string, string) (*jwks.Key, error) {
	return nil, errors.New("no keys: the token is introspected")
}

// answerFile answers every request with the introspection answer of a file,
// as the endpoint would have: the offline -introspection.
type answerFile []byte

func (a answerFile) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Status:     "200 OK",
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(a)),
		Request:    r,
	}, nil
}

// recorder keeps the last answer of the endpoint, to show it.
type recorder struct {
	next http.RoundTripper
	body []byte
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := rec.next.RoundTrip(r)
	if err != nil || res.StatusCode != http.StatusOK {
		return res, err
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	rec.body = b
	res.Body = io.NopCloser(bytes.NewReader(b))
	return res, nil
}

// introspector builds the policy's introspection client. Offline (file
// set), the endpoint's answer is the file's content, and no secret is
// needed; online, the secret comes from the environment variable the
// policy names, and discover: true asks the issuer's metadata for the
// endpoint.
func (e *explainer) introspector(ctx context.Context, file string) (*introspect.Client, *recorder, error) {
	getenv := os.Getenv
	var base http.RoundTripper = http.DefaultTransport
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, err
		}
		getenv = func(string) string { return "offline" }
		base = answerFile(b)
	}
	cfg, err := e.p.IntrospectConfig(getenv)
	if err != nil {
		return nil, nil, err
	}
	rec := &recorder{next: base}
	cfg.HTTPClient = &http.Client{Transport: rec, Timeout: 10 * time.Second}
	cfg.Now = e.cfg.Now
	if file != "" {
		// the file is the answer to this one question: no cache, and an
		// endpoint only in name when the policy discovers it
		cfg.NoCache, cfg.CacheTTL, cfg.InactiveTTL, cfg.StaleTTL, cfg.CacheSize, cfg.CacheBytes = true, 0, 0, 0, 0, 0
		if cfg.Endpoint == "" {
			cfg.Endpoint = "https://introspection.invalid/"
		}
		c, err := introspect.New(cfg)
		return c, rec, err
	}
	if e.p.Introspection.Discover {
		c, err := introspect.Discover(ctx, e.p.Issuer, cfg)
		return c, rec, err
	}
	c, err := introspect.New(cfg)
	return c, rec, err
}

// explainIntrospection says why the endpoint's answer refused the token.
func (e *explainer) explainIntrospection(ie *introspect.Error) {
	w := e.out
	fmt.Fprintf(w, "token: refused by introspection (invalid_token, reason %s): %v\n", ie.Reason, ie)
	say := func(format string, a ...any) { fmt.Fprintf(w, "  "+format+"\n", a...) }
	switch ie.Reason {
	case introspect.ReasonInactive:
		say("the authorization server answered active: false: the token is expired, revoked, or not one it issued (RFC 7662 §2.2 says no more, on purpose).")
		say("get a new token; if it is fresh, check that it comes from %s and that client %s may introspect it.", e.p.Issuer, e.p.Introspection.ClientID)
	case introspect.ReasonMalformed:
		say("the answer's active is not the JSON literal true, or a member has the wrong type (exp a string, scope an array): the server's answer breaks RFC 7662 §2.2.")
	case introspect.ReasonIssuer:
		say("the answer's iss is %q; the policy's issuer is %q.", e.tok.str(e.tok.pay, "iss"), e.p.Issuer)
	case introspect.ReasonAudience:
		if _, ok := e.tok.pay["aud"]; !ok {
			say("the answer has no aud, and the policy sets audience_required: true.")
		} else {
			say("the answer's aud is %s; the policy's audience is %q: the token was issued for another API.", string(mustJSON(e.tok.pay["aud"])), e.p.Audience)
		}
	case introspect.ReasonExpired:
		if exp, ok := e.tok.time("exp"); ok {
			say("the answer's exp is %s, %s before now (%s), beyond the leeway of %s.", stamp(exp), span(e.now.Sub(exp)), stamp(e.now), e.leeway)
		}
		say("get a fresh token.")
	case introspect.ReasonNotYetValid:
		if nbf, ok := e.tok.time("nbf"); ok {
			say("the answer's nbf is %s, %s after now: check the clocks.", stamp(nbf), span(nbf.Sub(e.now)))
		}
	case introspect.ReasonIssuedInFuture:
		if iat, ok := e.tok.time("iat"); ok {
			say("the answer's iat is %s, %s after now: check the clocks.", stamp(iat), span(iat.Sub(e.now)))
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("?")
	}
	return b
}

// request is the one request -route or -method names, for a DPoP proof:
// its method (htm) and the URL it was sent to (htu).
type request struct {
	method, url string
}

// proofRequest returns the request a proof for -route or -method must
// match: the route's method, or POST for a gRPC call (RFC 9449 §4.3 as
// grpcmw applies it), and -url, or the policy's dpop public_url followed by
// the path or the full method.
func proofRequest(p *policy.Policy, route, method, rawURL string) (request, error) {
	var r request
	path := method
	switch {
	case route != "":
		m, target, ok := strings.Cut(strings.TrimSpace(route), " ")
		if !ok {
			m, target = http.MethodGet, route
		}
		r.method, path = m, strings.TrimSpace(target)
		if !strings.HasPrefix(path, "/") {
			if i := strings.IndexByte(path, '/'); i > 0 {
				path = path[i:] // host/path: the host is the public URL's
			}
		}
	case method != "":
		r.method = http.MethodPost
	default:
		return r, errors.New("-dpop-proof needs -route or -method: a proof is made for one request")
	}
	switch {
	case rawURL != "":
		r.url = rawURL
	case p.DPoP != nil:
		r.url = strings.TrimSuffix(p.DPoP.PublicURL, "/") + path
	default:
		r.url = "https://api.invalid" + path
	}
	return r, nil
}

// freshStore is the replay store of an offline check: every jti is fresh,
// since replays are the server's memory, not the proof's.
type freshStore struct{}

func (freshStore) Use(context.Context, string, time.Time) (bool, error) { return true, nil }

// sender is what explain knows of how the token was sent: a DPoP proof, and
// the result of checking it (once, for every rule).
type sender struct {
	proof string
	req   request
	jkt   string // the proof's key, once verified
	err   error  // the proof's refusal
	x5t   string // the thumbprint of -client-cert; "" without
	done  bool
	s     decide.Sender
}

// newSender builds the Sender of a request that carries proof with the
// DPoP scheme, checked by a dpop.Verifier configured as the policy's dpop
// block says, at e.now, without nonce and replay checks (both are server
// state). A policy without a dpop block accepts no DPoP at all.
func (e *explainer) newSender(proof string, req request) (*sender, error) {
	s := &sender{proof: proof, req: req}
	if e.p.DPoP == nil {
		return s, nil // Sender{}: the server reads no DPoP scheme
	}
	pp := *e.p
	d := *e.p.DPoP
	d.Nonce = false
	pp.DPoP = &d
	cfg, err := pp.DPoPConfig(nil)
	if err != nil {
		return nil, err
	}
	cfg.Replay = freshStore{}
	cfg.Now = e.cfg.Now
	v, err := dpop.New(cfg)
	if err != nil {
		return nil, err
	}
	// The whole URL is the path of a DPoP whose public URL is empty: the
	// htu is compared with req.url.
	check := decide.NewDPoP(v, "").Proof([]string{proof}, req.method, req.url)
	s.s = decide.Sender{DPoP: true, Proof: func(ctx context.Context, token string) (string, error) {
		if !s.done {
			s.jkt, s.err = check(ctx, token)
			s.done = true
		}
		return s.jkt, s.err
	}}
	return s, nil
}

// showProof prints the proof's header and claims as sent (not trusted).
func showProof(w io.Writer, proof string) {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		fmt.Fprintln(w, "dpop proof: not a compact JWS")
		return
	}
	for i, title := range []string{"dpop proof header", "dpop proof claims"} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			fmt.Fprintf(w, "%s: not base64url\n", title)
			continue
		}
		pretty(w, title, b)
	}
}

// binding says what the token's cnf claim demands of a request, when it
// has one and no proof was given to check.
func (e *explainer) binding(req request, haveCert bool) {
	conf, err := cnf.Parse(e.claims.Confirmation)
	if err != nil || (conf.JKT == "" && conf.X5T == "") {
		return
	}
	w := e.out
	if conf.JKT != "" {
		fmt.Fprintf(w, "binding: DPoP-bound (cnf.jkt %s): every request needs Authorization: DPoP <token>, never Bearer, and one DPoP header with a proof (RFC 9449 §4.2)\n", conf.JKT)
		if e.p.DPoP == nil {
			fmt.Fprintln(w, "  the policy has no dpop block: its servers read no DPoP scheme, so they refuse this token on every route")
			return
		}
		fmt.Fprintf(w, "  signed by the key whose RFC 7638 thumbprint is %s, typ dpop+jwt, alg one of %s\n", conf.JKT, orDefault(e.p.DPoP.Algorithms))
		htu := strings.TrimSuffix(e.p.DPoP.PublicURL, "/") + "/PATH"
		htm := "the request's method"
		if req.url != "" {
			htu, htm = req.url, req.method
		}
		sum := sha256.Sum256([]byte(e.tok.raw))
		fmt.Fprintf(w, "  htm %s, htu %s, ath %s (the SHA-256 of this token), a fresh jti, iat within %s\n",
			htm, htu, base64.RawURLEncoding.EncodeToString(sum[:]), e.proofMaxAge())
		if e.p.DPoP.Nonce {
			fmt.Fprintln(w, "  and the server's nonce (nonce: true): the first request gets use_dpop_nonce and a DPoP-Nonce header")
		}
		fmt.Fprintln(w, "  give the proof with -dpop-proof (and -route or -method) to check it")
	}
	if conf.X5T != "" && !haveCert {
		fmt.Fprintf(w, "binding: certificate-bound (cnf.x5t#S256 %s): every request needs the client certificate with that SHA-256 thumbprint, on its TLS connection or in Client-Cert from a trusted proxy (RFC 8705, RFC 9440); give its PEM file with -client-cert to check it\n", conf.X5T)
	}
}

// whyProof says in words why a request with the proof is refused, when the
// proof or the binding is the cause.
func (e *explainer) whyProof(s *sender, err error) []string {
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	var de *dpop.Error
	if errors.As(err, &de) {
		claimsOf := proofClaims(s.proof)
		switch de.Reason {
		case dpop.ReasonMethod:
			add("the proof's htm is %q; the request's method is %s", claimsOf["htm"], s.req.method)
		case dpop.ReasonURI:
			add("the proof's htu is %q; the server expects %s (the dpop block's public_url and the request's path; -url to check another)", claimsOf["htu"], s.req.url)
		case dpop.ReasonTokenHash:
			sum := sha256.Sum256([]byte(e.tok.raw))
			add("the proof's ath is %q, not %s, the SHA-256 of this token: the proof was made for another token, or without ath", claimsOf["ath"], base64.RawURLEncoding.EncodeToString(sum[:]))
		case dpop.ReasonIssuedAt:
			if iat, ok := claimsOf["iat"].(float64); ok {
				t := time.Unix(int64(iat), 0).UTC()
				rel := span(e.now.Sub(t)) + " before"
				if t.After(e.now) {
					rel = span(t.Sub(e.now)) + " after"
				}
				add("the proof's iat is %s, %s now (%s): a proof is accepted for max_age %s after its iat, plus the leeway, and not from the future", stamp(t), rel, stamp(e.now), e.proofMaxAge())
			} else {
				add("the proof has no numeric iat")
			}
		default:
			add("the proof is refused (%s): %v", de.Reason, de)
		}
		return out
	}
	var ce *claims.Error
	if !errors.As(err, &ce) || ce.Code != claims.CodeInvalidToken {
		return nil
	}
	conf, _ := cnf.Parse(e.claims.Confirmation)
	switch {
	case conf.JKT != "" && e.p.DPoP == nil:
		add("the policy has no dpop block: its servers read no DPoP scheme, and a DPoP-bound token sent as Bearer is refused")
	case conf.JKT == "" && s.s.DPoP:
		add("the token is not DPoP-bound (no cnf.jkt): send it as Bearer, without a proof")
	case conf.JKT != "" && !s.s.DPoP:
		add("the token is DPoP-bound (cnf.jkt %s): it is accepted only with the DPoP scheme and a proof (-dpop-proof), never as Bearer", conf.JKT)
	case s.done && s.err == nil && s.jkt != conf.JKT:
		add("the proof is valid but signed by the key %s; the token is bound to %s (cnf.jkt): sign with the key the token was issued for", s.jkt, conf.JKT)
	case conf.X5T != "" && s.x5t == "":
		add("the token is certificate-bound (cnf.x5t#S256 %s): it is accepted only with that client certificate (-client-cert)", conf.X5T)
	case conf.X5T != "" && s.x5t != conf.X5T:
		add("the client certificate's thumbprint is %s; the token is bound to %s (cnf.x5t#S256): send it with the certificate it was issued for", s.x5t, conf.X5T)
	}
	return out
}

// proofClaims returns the proof's claims as sent, unverified, for messages.
func proofClaims(proof string) map[string]any {
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// decideRule is the decision of r for a request with the sender s, by
// internal/decide as every transport makes it.
func (e *explainer) decideRule(ctx context.Context, v *verify.Verifier, s *sender, r policy.Rule) error {
	_, err := decide.Decide(ctx, v, e.tok.raw, nil, s.s, r.Requirement, nil)
	return err
}

// proofMaxAge is how old a proof may be under the policy's dpop block.
func (e *explainer) proofMaxAge() time.Duration {
	if e.p.DPoP != nil && e.p.DPoP.MaxAge > 0 {
		return e.p.DPoP.MaxAge
	}
	return dpop.DefaultMaxAge
}

// certThumbprint reads a PEM certificate file and returns its RFC 8705
// thumbprint, as mtls computes it.
func certThumbprint(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", errors.New("no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return "", err
	}
	return mtls.Thumbprint(cert), nil
}
