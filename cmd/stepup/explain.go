package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/introspect"
	"github.com/stepupauth/stepup/jwks"
	"github.com/stepupauth/stepup/policy"
	"github.com/stepupauth/stepup/verify"
)

// defaultLeeway is verify's default clock skew (verify.Config.Leeway).
const defaultLeeway = 30 * time.Second

// token is a raw token taken apart without trusting it.
type token struct {
	raw             string
	header, payload []byte         // decoded JSON; nil when not decodable
	hdr             map[string]any // header members
	pay             map[string]any // claims
}

func decode(raw string) (*token, error) {
	t := &token{raw: raw}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return t, fmt.Errorf("not a compact JWS (header.payload.signature): %d dot-separated parts", len(parts))
	}
	var err error
	if t.header, err = base64.RawURLEncoding.DecodeString(parts[0]); err != nil {
		return t, fmt.Errorf("header is not base64url: %v", err)
	}
	if err := json.Unmarshal(t.header, &t.hdr); err != nil {
		return t, fmt.Errorf("header is not a JSON object: %v", err)
	}
	if t.payload, err = base64.RawURLEncoding.DecodeString(parts[1]); err != nil {
		return t, fmt.Errorf("payload is not base64url: %v", err)
	}
	if err := json.Unmarshal(t.payload, &t.pay); err != nil {
		return t, fmt.Errorf("payload is not a JSON object: %v", err)
	}
	return t, nil
}

func (t *token) str(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// time returns the NumericDate claim name, and whether it is one.
func (t *token) time(name string) (time.Time, bool) {
	f, ok := t.pay[name].(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(0, 0).Add(time.Duration(f * float64(time.Second))).UTC(), true
}

func pretty(w io.Writer, title string, data []byte) {
	var b bytes.Buffer
	if json.Indent(&b, data, "", "  ") != nil {
		b.Reset()
		b.Write(data)
	}
	fmt.Fprintf(w, "%s:\n%s\n", title, b.String())
}

type explainer struct {
	out     io.Writer
	p       *policy.Policy
	cfg     verify.Config
	now     time.Time
	leeway  time.Duration
	tok     *token
	claims  *claims.Claims
	tokErr  *verify.TokenError
	refusal *claims.Error
	set     *jwks.Set // the keys, when known
	proof   *sender   // the DPoP proof of -dpop-proof; nil without
}

func explain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stepup explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	policyFile := fs.String("policy", "", "policy file (YAML or JSON)")
	rawToken := fs.String("token", "", "access token; default: read from standard input")
	route := fs.String("route", "", `an HTTP request to check, "METHOD /path", as ServeMux would route it`)
	method := fs.String("method", "", "a gRPC full method to check, /pkg.Service/Method")
	jwksFile := fs.String("jwks", "", "JWK Set file to verify with, offline; default: the policy's jwks_uri or the issuer's discovery")
	nowFlag := fs.String("now", "", "the time to check at, RFC 3339; default: now")
	introspectionFile := fs.String("introspection", "", "the introspection endpoint's JSON answer for an opaque token, offline; default: ask the policy's endpoint")
	dpopProof := fs.String("dpop-proof", "", "the DPoP proof sent with the token (the DPoP header), checked against -route or -method")
	clientCert := fs.String("client-cert", "", "PEM file of the client certificate a certificate-bound token is sent with (RFC 8705)")
	urlFlag := fs.String("url", "", "the URL the DPoP proof was made for (htu); default: the dpop block's public_url and the -route path or -method")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "stepup explain: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected arguments %q", fs.Args())
	case *policyFile == "":
		return fail("-policy is required")
	case *route != "" && *method != "":
		return fail("give -route or -method, not both")
	case *urlFlag != "" && *dpopProof == "":
		return fail("-url is the URL of a DPoP proof: give -dpop-proof too")
	}
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			return fail("-now: %v", err)
		}
		now = t
	}
	p, err := policy.Load(*policyFile)
	if err != nil {
		return fail("%v", err)
	}
	raw := *rawToken
	if raw == "" {
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
		if err != nil {
			return fail("reading the token from standard input: %v", err)
		}
		raw = string(b)
	}
	raw = strings.TrimSpace(raw)
	if s, ok := strings.CutPrefix(raw, "Bearer "); ok {
		raw = strings.TrimSpace(s)
	}
	if raw == "" {
		return fail("no token: give -token or pipe it on standard input")
	}

	// Pick the rules first, so that a typo fails before any key fetch.
	rules, ok := pickRules(p, *route, *method)
	if !ok {
		if *route != "" {
			return fail("no rule takes %s: the middleware would deny it (fail closed)", *route)
		}
		return fail("no rule takes %s: the interceptors would deny it (fail closed)", *method)
	}

	e := &explainer{out: stdout, p: p, cfg: p.VerifyConfig(), now: now}
	e.cfg.Now = func() time.Time { return now }
	e.cfg.NoTokenCache = true
	e.leeway = e.cfg.Leeway
	if e.leeway == 0 && !e.cfg.NoLeeway {
		e.leeway = defaultLeeway
	}

	var proofReq request
	if *dpopProof != "" {
		if proofReq, err = proofRequest(p, *route, *method, *urlFlag); err != nil {
			return fail("%v", err)
		}
	}

	tok, decErr := decode(raw)
	e.tok = tok
	opaque := introspected(p, raw)
	if tok.header != nil {
		pretty(stdout, "header", tok.header)
	}
	if tok.payload != nil {
		pretty(stdout, "claims", tok.payload)
	}
	switch {
	case opaque && decErr != nil:
		fmt.Fprintln(stdout, "token: opaque (not a JWT): the policy's introspection block sends it to the authorization server (RFC 7662)")
	case opaque:
		fmt.Fprintln(stdout, "token: a JWT, introspected all the same (introspect_jwts: true)")
	case decErr != nil:
		fmt.Fprintf(stdout, "token: cannot be decoded: %v\n", decErr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys jwks.Source = noKeys{}
	var set *jwks.Set
	var rec *recorder
	if opaque {
		client, r, err := e.introspector(ctx, *introspectionFile)
		if err != nil {
			fmt.Fprintf(stdout, "introspection: NOT asked (%v); give -introspection FILE, the endpoint's JSON answer, to explain it offline\n", err)
			return exitUsage
		}
		e.cfg.Introspector, rec = client, r
	} else {
		if *introspectionFile != "" {
			return fail("-introspection: the policy verifies this token with keys, not by introspection")
		}
		keys, set, err = e.keys(ctx, *jwksFile)
		if err != nil {
			fmt.Fprintf(stdout, "signature: NOT checked (no keys: %v)\n", err)
			return exitUsage
		}
		if r, ok := keys.(*jwks.Remote); ok {
			defer r.Close()
		}
	}
	v, err := verify.New(keys, e.cfg)
	if err != nil {
		fmt.Fprintf(stderr, "stepup explain: the policy's verifier: %v\n", err)
		return exitUsage
	}
	c, verr := v.Verify(ctx, raw)
	e.set = set
	if opaque {
		e.answer(rec, *introspectionFile)
	} else {
		e.signature(ctx, set, verr)
	}
	if opaque && verr != nil && errors.Is(verr, claims.ErrUnavailable) {
		fmt.Fprintf(stdout, "introspection: the endpoint gave no usable answer: %v\n", verr)
		return exitUsage
	}
	if verr != nil {
		var ce *claims.Error
		if !errors.As(verr, &ce) {
			fmt.Fprintf(stdout, "token: cannot be verified now: %v\n", verr)
			return exitUsage
		}
		e.refusal = ce
		errors.As(verr, &e.tokErr)
		e.explainTokenError()
	} else {
		e.claims = c
		if opaque {
			fmt.Fprintf(stdout, "token: active (the authorization server vouches for it; issuer %s, audience %s)\n", p.Issuer, p.Audience)
		} else {
			fmt.Fprintf(stdout, "token: valid (issuer %s, audience %s)\n", c.Issuer, p.Audience)
		}
		if *clientCert != "" {
			x5t, err := certThumbprint(*clientCert)
			if err != nil {
				return fail("-client-cert: %v", err)
			}
			fmt.Fprintf(stdout, "client certificate: x5t#S256 %s\n", x5t)
			e.proof = &sender{x5t: x5t}
			e.proof.s.Cert = func(any) (string, bool, error) { return x5t, true, nil }
		}
		if *dpopProof != "" {
			s, err := e.newSender(*dpopProof, proofReq)
			if err != nil {
				fmt.Fprintf(stderr, "stepup explain: the policy's dpop block: %v\n", err)
				return exitUsage
			}
			if e.proof != nil {
				s.x5t, s.s.Cert = e.proof.x5t, e.proof.s.Cert
			}
			e.proof = s
			showProof(stdout, *dpopProof)
			if p.DPoP == nil {
				fmt.Fprintln(stdout, "dpop: the policy has no dpop block: its servers read no DPoP scheme (Authorization: DPoP gets 401 without an error code, as any unknown scheme), so the token can only be sent as Bearer:")
			} else {
				fmt.Fprintf(stdout, "dpop request: %s %s (replay and nonce not checked: they are the server's state)\n", proofReq.method, proofReq.url)
			}
		} else {
			e.binding(proofReq, *clientCert != "")
		}
	}
	return e.explainRules(ctx, v, rules)
}

// answer shows the introspection answer the verifier judged, and where it
// came from.
func (e *explainer) answer(rec *recorder, file string) {
	if file != "" {
		fmt.Fprintln(e.out, "introspection: the answer of -introspection (offline)")
	} else {
		fmt.Fprintln(e.out, "introspection: asked the endpoint")
	}
	if rec == nil || rec.body == nil {
		return
	}
	pretty(e.out, "answer", rec.body)
	var m map[string]any
	if json.Unmarshal(rec.body, &m) == nil {
		e.tok.pay = m // its exp, iss, aud for the messages
	}
	fmt.Fprintln(e.out, "signature: none (an opaque token: the authorization server's answer stands for it)")
}

// keys returns the key source and, when there is one, the key set itself.
func (e *explainer) keys(ctx context.Context, file string) (jwks.Source, *jwks.Set, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, err
		}
		s, err := jwks.NewStatic(b)
		if err != nil {
			return nil, nil, err
		}
		return s, s, nil
	}
	var r *jwks.Remote
	var err error
	if e.p.JWKSURI != "" {
		r, err = jwks.NewRemote(e.p.JWKSURI)
		if err == nil {
			err = r.Refresh(ctx)
		}
	} else {
		r, err = jwks.Discover(ctx, e.p.Issuer)
	}
	if err != nil {
		return nil, nil, err
	}
	return r, r.Set(), nil
}

// signature says plainly whether the signature holds. When the policy's
// verifier refused the token before reaching the signature (typ, iss, the
// payload's checks), it checks again with those checks relaxed, so the
// answer is about the signature alone.
func (e *explainer) signature(ctx context.Context, set *jwks.Set, verr error) {
	kid := e.tok.str(e.tok.hdr, "kid")
	if kid == "" {
		kid = "(no kid)"
	}
	iss := e.tok.str(e.tok.pay, "iss")
	reason := reasonOf(verr)
	if !signedOff(reason) && reason != verify.ReasonSignature && reason != verify.ReasonKeyMismatch && set != nil && iss != "" {
		cfg := verify.Config{
			Issuer:                   iss,
			InsecureAllowHTTPIssuer:  true,
			Audience:                 e.p.Audience,
			Algorithms:               e.cfg.Algorithms,
			TokenTypes:               []string{"at+jwt", "JWT"},
			InsecureAllowMissingType: true,
			RequiredClaims:           []string{},
			NoLeeway:                 true,
			Now:                      e.cfg.Now,
			NoTokenCache:             true,
		}
		if typ := e.tok.str(e.tok.hdr, "typ"); typ != "" {
			cfg.TokenTypes = append(cfg.TokenTypes, typ)
		}
		if v, err := verify.New(set, cfg); err == nil {
			_, err := v.Verify(ctx, e.tok.raw)
			reason = reasonOf(err)
		}
	}
	switch {
	case signedOff(reason):
		fmt.Fprintf(e.out, "signature: valid with key %s of %s\n", kid, iss)
	case reason == verify.ReasonSignature:
		fmt.Fprintf(e.out, "signature: INVALID (key %s does not verify it)\n", kid)
	case reason == verify.ReasonKeyMismatch:
		fmt.Fprintf(e.out, "signature: INVALID (key %s does not fit alg %s)\n", kid, e.tok.str(e.tok.hdr, "alg"))
	case reason == verify.ReasonUnknownKey:
		fmt.Fprintf(e.out, "signature: NOT checked (no key %s in the key set)\n", kid)
	default:
		fmt.Fprintf(e.out, "signature: NOT checked (the token is refused before it: %s)\n", reason)
	}
}

// reasonOf returns the TokenError reason of err, ReasonNone for nil.
func reasonOf(err error) verify.Reason {
	if err == nil {
		return verify.ReasonNone
	}
	var te *verify.TokenError
	if errors.As(err, &te) {
		return te.Reason
	}
	return verify.ReasonUnavailable
}

// signedOff reports whether a verifier giving reason has checked the
// signature and found it valid: the reasons past the signature.
func signedOff(r verify.Reason) bool {
	switch r {
	case verify.ReasonNone, verify.ReasonAudience, verify.ReasonMissingClaim,
		verify.ReasonExpired, verify.ReasonNotYetValid, verify.ReasonIssuedInFuture:
		return true
	}
	return false
}

func (e *explainer) explainTokenError() {
	w := e.out
	te := e.tokErr
	var ie *introspect.Error
	if errors.As(e.refusal, &ie) {
		e.explainIntrospection(ie)
		return
	}
	if te == nil {
		fmt.Fprintf(w, "token: refused: %v\n", e.refusal)
		return
	}
	fmt.Fprintf(w, "token: refused (invalid_token, reason %s): %v\n", te.Reason, te)
	say := func(format string, a ...any) { fmt.Fprintf(w, "  "+format+"\n", a...) }
	switch te.Reason {
	case verify.ReasonType:
		if typ, ok := e.tok.hdr["typ"].(string); ok {
			say("the token's typ header is %s; the policy accepts %s.", te.Received(), typesOf(e.cfg))
			say("to accept it, add it to token_types (token_types: [%s]); a typ other than at+jwt weakens the protection against ID tokens presented as access tokens.", typ)
		} else {
			say("the token has no typ header; the policy accepts %s.", typesOf(e.cfg))
			say("issuers that send no typ (Okta) need their profile (profile: {provider: okta, ...}), which accepts a missing typ and requires Okta's claims instead.")
		}
	case verify.ReasonIssuer:
		got := e.tok.str(e.tok.pay, "iss")
		if got != "" && got != e.p.Issuer && strings.TrimSuffix(got, "/") == strings.TrimSuffix(e.p.Issuer, "/") {
			say("the token's iss %q and the policy's issuer %q differ only by a trailing slash; issuers are compared byte for byte.", got, e.p.Issuer)
			say("set issuer: %s (the value the issuer's discovery document and tokens use).", got)
		} else {
			say("the token's iss is %s; %s", orNone(te.Received()), te.Hint())
		}
	case verify.ReasonAudience:
		say("the token's aud is %s; the policy's audience is %q.", orNone(te.Received()), e.p.Audience)
		say("ask the issuer for a token for %s (the audience or resource parameter), or fix audience: if this API is known under that name.", e.p.Audience)
	case verify.ReasonExpired:
		if exp, ok := e.tok.time("exp"); ok {
			say("exp is %s, %s before now (%s), beyond the leeway of %s.", stamp(exp), span(e.now.Sub(exp)), stamp(e.now), e.leeway)
		}
		say("get a fresh token; a client refreshes before exp.")
	case verify.ReasonNotYetValid:
		if nbf, ok := e.tok.time("nbf"); ok {
			say("nbf is %s, %s after now (%s), beyond the leeway of %s: check the clocks.", stamp(nbf), span(nbf.Sub(e.now)), stamp(e.now), e.leeway)
		}
	case verify.ReasonIssuedInFuture:
		if iat, ok := e.tok.time("iat"); ok {
			say("iat is %s, %s after now (%s), beyond the leeway of %s: check the clocks.", stamp(iat), span(iat.Sub(e.now)), stamp(e.now), e.leeway)
		}
	case verify.ReasonUnknownKey:
		say("the token's kid %q is not in the key set%s.", e.tok.str(e.tok.hdr, "kid"), e.kidsNote())
		say("the token was signed by another issuer's key, or by a key this set no longer (or not yet) holds: compare the key set with the issuer's jwks_uri.")
	case verify.ReasonSignature:
		say("the signature does not verify with the key the kid names: the token was altered, or signed by another key under the same kid.")
	case verify.ReasonAlgorithm:
		say("alg %q is not allowed; the policy's algorithms are %s.", e.tok.str(e.tok.hdr, "alg"), orDefault(e.cfg.Algorithms))
	case verify.ReasonMalformed:
		say("a JWT access token is three base64url parts separated by dots; an opaque token can only be checked by introspection, which explain does not do.")
	case verify.ReasonMissingClaim:
		say("every token must carry the claims %s.", orDefault(e.cfg.RequiredClaims))
	}
}

func (e *explainer) kidsNote() string {
	if e.set == nil {
		return ""
	}
	var kids []string
	for _, k := range e.set.Keys() {
		kids = append(kids, k.ID)
	}
	return ", which holds " + list(kids)
}

// pickRules returns the rules to check: every rule, or the one a -route
// request or a -method call goes to; ok is false when no rule takes it.
func pickRules(p *policy.Policy, route, method string) (rules []policy.Rule, ok bool) {
	switch {
	case route != "":
		i, ok := routeRule(p, route)
		if !ok {
			return nil, false
		}
		return []policy.Rule{p.Rules[i]}, true
	case method != "":
		var wild *policy.Rule
		for _, r := range p.GRPCRules() {
			if r.GRPC == method {
				return []policy.Rule{r}, true
			}
			if svc, ok := strings.CutSuffix(r.GRPC, "*"); ok && strings.HasPrefix(method, svc) && !strings.Contains(method[len(svc):], "/") {
				wild = &r
			}
		}
		if wild != nil {
			return []policy.Rule{*wild}, true
		}
		return nil, false
	}
	return p.Rules, true
}

// ruleIndex is the handler of a rule on the ServeMux that routes -route.
type ruleIndex int

func (ruleIndex) ServeHTTP(http.ResponseWriter, *http.Request) {}

// routeRule returns the index of the rule a ServeMux with every http rule
// sends the request "METHOD /path" (or "METHOD host/path") to.
func routeRule(p *policy.Policy, route string) (int, bool) {
	m, target, ok := strings.Cut(strings.TrimSpace(route), " ")
	if !ok {
		m, target = http.MethodGet, route
	}
	target = strings.TrimSpace(target)
	host := "localhost"
	if !strings.HasPrefix(target, "/") {
		if i := strings.IndexByte(target, '/'); i > 0 {
			host, target = target[:i], target[i:]
		}
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return 0, false
	}
	mux := http.NewServeMux()
	for _, r := range p.HTTPRules() {
		mux.Handle(r.HTTP, ruleIndex(r.Index))
	}
	h, _ := mux.Handler(&http.Request{Method: m, Host: host, URL: &url.URL{Scheme: "http", Host: host, Path: u.Path, RawPath: u.RawPath}, Header: http.Header{}})
	i, ok := h.(ruleIndex)
	return int(i), ok
}

func (e *explainer) explainRules(ctx context.Context, v *verify.Verifier, rules []policy.Rule) int {
	w := e.out
	status := exitOK
	fmt.Fprintln(w, "rules:")
	for _, r := range rules {
		fmt.Fprintf(w, "  %s:\n", ruleName(r))
		if r.Public {
			fmt.Fprintln(w, "    allowed: public, no token needed")
			continue
		}
		if e.refusal != nil {
			status = exitRefused
			fmt.Fprintf(w, "    refused: %s\n", e.challenge(e.refusal))
			fmt.Fprintln(w, "    because the token is invalid (above)")
			continue
		}
		var err error
		if e.proof != nil {
			err = e.decideRule(ctx, v, e.proof, r)
		} else {
			err = v.Evaluate(e.claims, r.Requirement)
		}
		if err == nil {
			fmt.Fprintln(w, "    allowed")
			if r.Requirement.Binding != claims.BindingNone && e.proof == nil {
				fmt.Fprintln(w, "    (the token is bound as sender_constraint asks; its DPoP proof (-dpop-proof) or certificate is checked per request)")
			}
			continue
		}
		status = exitRefused
		var ce *claims.Error
		if !errors.As(err, &ce) {
			fmt.Fprintf(w, "    refused: %v\n", err)
			continue
		}
		fmt.Fprintf(w, "    refused: %s\n", e.challenge(ce))
		if e.proof != nil {
			if whys := e.whyProof(e.proof, err); len(whys) > 0 {
				for _, why := range whys {
					fmt.Fprintf(w, "    - %s\n", why)
				}
				continue
			}
		}
		for _, why := range e.why(r, ce) {
			fmt.Fprintf(w, "    - %s\n", why)
		}
	}
	if status == exitOK {
		fmt.Fprintln(w, "result: allowed")
	} else {
		fmt.Fprintln(w, "result: refused")
	}
	return status
}

func (e *explainer) challenge(ce *claims.Error) string {
	ch := ce.Challenge()
	ch.ResourceMetadata = e.p.ResourceMetadata
	return ch.String()
}

// why says in words what of r the token lacks.
func (e *explainer) why(r policy.Rule, ce *claims.Error) []string {
	c := e.claims
	q := r.Requirement
	names := e.cfg.ClaimNames
	acrName, amrName, atName := or(names.ACR, "acr"), or(names.AMR, "amr"), or(names.AuthTime, "auth_time")
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	malformed := func(name string) bool { return slices.Contains(c.Malformed, name) }

	switch q.Binding {
	case claims.BindingDPoP:
		if ce.Code == claims.CodeInvalidToken {
			add("sender_constraint dpop: the token is not DPoP-bound (no cnf.jkt)")
		}
	case claims.BindingMTLS:
		if ce.Code == claims.CodeInvalidToken {
			add("sender_constraint mtls: the token is not certificate-bound (no cnf.x5t#S256)")
		}
	case claims.BindingAny:
		if ce.Code == claims.CodeInvalidToken {
			add("sender_constraint any: the token is neither DPoP- nor certificate-bound (no cnf)")
		}
	}

	switch {
	case len(q.ACR) == 0 && q.ACRMin == "":
	case malformed("acr"):
		add("acr: claim %q is not a string", acrName)
	case c.ACR == "":
		add("acr missing: %s", e.absent(acrName, "acr"))
	default:
		if len(q.ACR) > 0 && !slices.Contains(q.ACR, c.ACR) {
			add("acr is %q; the rule wants one of %s", c.ACR, list(q.ACR))
		}
		if q.ACRMin != "" {
			have, want := slices.Index(q.ACRLevels, c.ACR), slices.Index(q.ACRLevels, q.ACRMin)
			switch {
			case have < 0:
				add("acr is %q, which is not in acr_levels %s; the rule wants at least %q", c.ACR, list(q.ACRLevels), q.ACRMin)
			case have < want:
				add("acr is %q, below %q in acr_levels %s", c.ACR, q.ACRMin, list(q.ACRLevels))
			}
		}
	}

	if len(q.AMRAll) > 0 || len(q.AMRAny) > 0 {
		switch {
		case malformed("amr"):
			add("amr: claim %q is not an array of strings", amrName)
		case len(c.AMR) == 0:
			add("amr missing: %s", e.absent(amrName, "amr"))
		default:
			var short []string
			for _, m := range q.AMRAll {
				if !slices.Contains(c.AMR, m) {
					short = append(short, m)
				}
			}
			if len(short) > 0 {
				add("amr is %s, short of %s (amr_all wants every one of %s)", list(c.AMR), list(short), list(q.AMRAll))
			}
			if len(q.AMRAny) > 0 && !slices.ContainsFunc(q.AMRAny, func(m string) bool { return slices.Contains(c.AMR, m) }) {
				add("amr is %s, with none of %s (amr_any wants one)", list(c.AMR), list(q.AMRAny))
			}
		}
	}

	if q.MaxAge > 0 {
		switch {
		case malformed("auth_time"):
			add("auth_time: claim %q is not a NumericDate", atName)
		case c.AuthTime.IsZero():
			add("auth_time missing (max_age needs it): %s", e.absent(atName, "auth_time"))
		default:
			age := e.now.Sub(c.AuthTime)
			if age > q.MaxAge+e.leeway {
				add("login at %s is %s old: older than max_age %s by %s (leeway %s)", stamp(c.AuthTime), span(age), q.MaxAge, span(age-q.MaxAge), e.leeway)
			} else if age < -e.leeway {
				add("auth_time %s is %s in the future, beyond the leeway of %s", stamp(c.AuthTime), span(-age), e.leeway)
			}
		}
	}

	if len(q.Scopes) > 0 {
		var missing []string
		for _, s := range q.Scopes {
			if !slices.Contains(c.Scopes, s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			add("scope missing %s: the token grants %s", list(missing), orEmpty(c.Scopes))
		}
	}

	if len(out) == 0 && len(r.AuthContext) > 0 {
		add("auth_context: acrs is %s, without one of %s", orEmpty(c.ACRS), list(r.AuthContext))
	}
	if len(out) == 0 {
		add("%v", ce)
	}
	return out
}

// absent explains a claim std that the token lacks under the name read:
// the names the policy reads and, when the token has the claim under
// another name ("https://x.example/acr", Auth0's namespaced claims), that one.
func (e *explainer) absent(read, std string) string {
	from := "the default name"
	switch {
	case e.p.Profile != nil:
		from = "claim_names, or the " + e.p.Profile.Provider + " profile"
	case read != std:
		from = "claim_names"
	}
	var found []string
	for name := range e.claims.All() {
		if name != read && (name == std || strings.HasSuffix(name, "/"+std) || strings.HasSuffix(name, ":"+std)) {
			found = append(found, name)
		}
	}
	if len(found) == 0 {
		return fmt.Sprintf("the policy reads %s (%s) and the token has no such claim", read, from)
	}
	slices.Sort(found)
	return fmt.Sprintf("found %s; the policy reads %s (%s): set claim_names: {%s: %q}",
		strings.Join(found, ", "), read, from, std, found[0])
}

func typesOf(cfg verify.Config) string {
	if len(cfg.TokenTypes) == 0 {
		return "[at+jwt] (the default)"
	}
	return list(cfg.TokenTypes)
}

func list(s []string) string { return "[" + strings.Join(s, " ") + "]" }

func orEmpty(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return list(s)
}

func orDefault(s []string) string {
	if len(s) == 0 {
		return "the verifier's default"
	}
	return list(s)
}

func orNone(s string) string {
	if s == "" {
		return "absent"
	}
	return s
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// span is d rounded to the second, as a duration.
func span(d time.Duration) string { return d.Round(time.Second).String() }
