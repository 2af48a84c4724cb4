package claims

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stepupauth/stepup/internal/cnf"
	"github.com/stepupauth/stepup/internal/grammar"
)

// RequirementError reports a Requirement that cannot be enforced as written.
// Field names the offending field, with the path through AnyOf when the
// problem is inside a branch (for example "AnyOf[1].ACRMin").
type RequirementError struct {
	Field string
	Msg   string
}

// Error returns "claims: invalid requirement: <field>: <msg>".
func (e *RequirementError) Error() string {
	return "claims: invalid requirement: " + e.Field + ": " + e.Msg
}

// Validate reports, as a *RequirementError, a Requirement that cannot be
// enforced or could never be met: empty strings; acr values (ACR, ACRLevels,
// AMRACRValues) with characters outside %x21-7E, since they travel
// space-separated in acr_values; scopes that are not RFC 6749 scope-tokens;
// ACRMin without ACRLevels or absent from them; repeated ACRLevels; ACR and
// ACRMin that no value satisfies together; AMRACRValues that the acr
// condition would refuse; a negative MaxAge, or one above ten years (of
// 365 days: anything longer means no limit in practice, and the bound keeps
// MaxAge plus a leeway, and the max_age of a challenge, free of overflow).
// Branches of AnyOf are validated too. Call it once when the requirement
// is built: Evaluate assumes a valid requirement and fails closed on an
// invalid one.
func (r Requirement) Validate() error {
	return r.validate("")
}

// maxRequirementAge is the longest Requirement.MaxAge that Validate accepts (see
// Validate). Evaluate saturates instead of overflowing even for an
// unvalidated MaxAge.
const maxRequirementAge = 10 * 365 * 24 * time.Hour

func (r Requirement) validate(path string) error {
	bad := func(field, msg string) error {
		return &RequirementError{Field: path + field, Msg: msg}
	}
	for _, f := range []struct {
		name string
		vals []string
	}{{"ACR", r.ACR}, {"ACRLevels", r.ACRLevels}, {"AMRACRValues", r.AMRACRValues}} {
		for i, v := range f.vals {
			if !grammar.ACRValue(v) {
				return bad(f.name+"["+strconv.Itoa(i)+"]", "empty or not printable ascii without spaces")
			}
		}
	}
	for _, f := range []struct {
		name string
		vals []string
	}{{"AMRAll", r.AMRAll}, {"AMRAny", r.AMRAny}} {
		for i, v := range f.vals {
			if v == "" {
				return bad(f.name+"["+strconv.Itoa(i)+"]", "empty")
			}
		}
	}
	for i, v := range r.Scopes {
		if !grammar.ScopeToken(v) {
			return bad("Scopes["+strconv.Itoa(i)+"]", "not an rfc 6749 scope-token")
		}
	}
	for i, v := range r.ACRLevels {
		if slices.Index(r.ACRLevels, v) != i {
			return bad("ACRLevels["+strconv.Itoa(i)+"]", "repeated")
		}
	}
	if r.ACRMin != "" && !slices.Contains(r.ACRLevels, r.ACRMin) {
		return bad("ACRMin", "not one of ACRLevels")
	}
	acceptable, constrained := r.acceptableACR()
	if constrained && len(acceptable) == 0 {
		return bad("ACR", "no value is also at least ACRMin")
	}
	if constrained {
		for i, v := range r.AMRACRValues {
			if !slices.Contains(acceptable, v) {
				return bad("AMRACRValues["+strconv.Itoa(i)+"]", "not acceptable to the acr condition")
			}
		}
	}
	if r.MaxAge < 0 {
		return bad("MaxAge", "negative")
	}
	if r.Binding > BindingAny {
		return bad("Binding", "not one of BindingNone, BindingDPoP, BindingMTLS, BindingAny")
	}
	if r.Binding != BindingNone && path != "" {
		return bad("Binding", "set it on the top-level requirement, not in AnyOf")
	}
	if r.MaxAge > maxRequirementAge {
		return bad("MaxAge", "longer than 10 years")
	}
	for i, b := range r.AnyOf {
		if err := b.validate(path + "AnyOf[" + strconv.Itoa(i) + "]."); err != nil {
			return err
		}
	}
	return nil
}

func scopeChar(b byte) bool {
	return b == 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e)
}

// acceptableACR returns the acr values the acr conditions accept, in the
// order a challenge asks for them, and whether there is an acr condition at
// all. With ACR alone: ACR as written (its order is the preference order).
// With ACRMin alone: ACRMin, then the higher levels from lowest to highest,
// so the authorization server is asked first for the least it must do
// (Keycloak-style step-up). With both: the ACR values, in ACR order, that
// are at least ACRMin. An ACRMin missing from ACRLevels accepts nothing.
func (r Requirement) acceptableACR() ([]string, bool) {
	if r.ACRMin == "" {
		return r.ACR, len(r.ACR) > 0
	}
	minIdx := slices.Index(r.ACRLevels, r.ACRMin)
	if minIdx < 0 {
		return nil, true
	}
	levels := r.ACRLevels[minIdx:]
	if len(r.ACR) == 0 {
		return levels, true
	}
	var out []string
	for _, v := range r.ACR {
		if slices.Contains(levels, v) {
			out = append(out, v)
		}
	}
	return out, true
}

// shortfall is what an unmet requirement needs. A nil *shortfall means met.
type shortfall struct {
	user    bool     // user authentication is short (401 step-up)
	acrish  bool     // ... because of acr or amr
	fresh   bool     // ... because of auth_time
	scope   bool     // scopes are short
	acr     []string // acr_values to ask for
	maxAge  MaxAge   // max_age to ask for
	scopes  []string // scopes to ask for
	reasons []string // for Error.Err
	// origin is set when the shortfall is exactly one Check result, which
	// is then returned unchanged.
	origin *Error
	// hard is a Check result whose code is neither step-up nor scope: the
	// request fails regardless of the rest.
	hard *Error
}

// Evaluate reports whether c meets r at time now, allowing leeway of clock
// skew on auth_time. It returns nil when r is met and otherwise the
// rejection, with a challenge that asks for everything r is missing:
//
//   - User authentication (acr, ACRMin, amr, MaxAge) is checked before
//     scopes. Any shortfall gives 401 insufficient_user_authentication with
//     acr_values (the acceptable acr values, or AMRACRValues when an amr
//     condition fails) and max_age as needed, plus scope when scopes are
//     short too.
//   - Scopes alone short gives 403 insufficient_scope with scope listing
//     every required scope.
//   - AnyOf is met when one branch is; otherwise the challenge asks for the
//     union of what would satisfy the branches, in branch order, without
//     repeats, and the strictest max_age.
//   - Check runs only once the fields and AnyOf hold; its *Error is
//     returned as is.
//
// auth_time exactly MaxAge old passes, and so does one up to leeway older;
// a missing auth_time fails when MaxAge is set, and so does one more than
// leeway in the future. A claim listed in c.Malformed counts as absent and
// is named in the error's Err. The max_age asked for is MaxAge truncated to
// whole seconds, never more lenient than r; below one second it is
// max_age=0 (a fresh login).
//
// Evaluate is pure and safe for concurrent use. A nil c fails as
// invalid_token.
func (r Requirement) Evaluate(c *Claims, now time.Time, leeway time.Duration) *Error {
	if c == nil {
		return InvalidToken(errors.New("claims: no claims to evaluate"))
	}
	if leeway < 0 {
		leeway = 0
	}
	if e := r.checkBinding(c); e != nil {
		return e
	}
	sf := r.eval(c, now, leeway)
	if sf == nil {
		return nil
	}
	return sf.err()
}

func (r Requirement) eval(c *Claims, now time.Time, leeway time.Duration) *shortfall {
	sf := r.evalFields(c, now, leeway)
	if len(r.AnyOf) > 0 {
		var branches *shortfall
		met := false
		for i, b := range r.AnyOf {
			s := b.eval(c, now, leeway)
			if s == nil {
				met = true
				break
			}
			if i == 0 {
				branches = s
			} else {
				branches = or(branches, s)
			}
		}
		if !met {
			sf = and(sf, branches)
		}
	}
	if sf != nil {
		return sf
	}
	if r.Check != nil {
		if e := r.Check(c); e != nil {
			return fromCheck(e)
		}
	}
	return nil
}

func (r Requirement) evalFields(c *Claims, now time.Time, leeway time.Duration) *shortfall {
	var sf *shortfall
	fail := func(reason string) {
		if sf == nil {
			sf = &shortfall{}
		}
		sf.reasons = append(sf.reasons, reason)
	}

	acrFailed := false
	if acceptable, constrained := r.acceptableACR(); constrained {
		switch {
		case c.isMalformed("acr"):
			acrFailed = true
			fail("acr claim malformed")
		case c.ACR == "":
			acrFailed = true
			fail("acr claim missing")
		case !slices.Contains(acceptable, c.ACR):
			acrFailed = true
			fail("acr " + strconv.Quote(c.ACR) + " not acceptable")
		}
		if acrFailed {
			sf.user, sf.acrish = true, true
			sf.acr = acceptable
		}
		if r.ACRMin != "" && !slices.Contains(r.ACRLevels, r.ACRMin) {
			fail("requirement acr_min not in acr_levels")
		}
	}

	if len(r.AMRAll) > 0 || len(r.AMRAny) > 0 {
		amrFailed := false
		malformed := c.isMalformed("amr")
		if malformed {
			amrFailed = true
			fail("amr claim malformed")
		} else if c.AMR == nil {
			amrFailed = true
			fail("amr claim missing")
		} else {
			for _, m := range r.AMRAll {
				if !slices.Contains(c.AMR, m) {
					amrFailed = true
					fail("amr lacks " + strconv.Quote(m))
				}
			}
			if len(r.AMRAny) > 0 && !containsAny(c.AMR, r.AMRAny) {
				amrFailed = true
				fail("amr has none of " + strconv.Quote(strings.Join(r.AMRAny, " ")))
			}
		}
		if amrFailed {
			sf.user, sf.acrish = true, true
			if ask := r.amrACRAsk(); len(ask) > 0 {
				sf.acr = ask // ⊆ the acceptable acr values, so it satisfies both
			}
		}
	}

	if r.MaxAge != 0 {
		stale := ""
		switch {
		case r.MaxAge < 0:
			stale = "requirement max_age negative"
		case c.isMalformed("auth_time"):
			stale = "auth_time claim malformed"
		case c.AuthTime.IsZero():
			stale = "auth_time claim missing"
		case c.AuthTime.After(now.Add(leeway)):
			stale = "auth_time in the future"
		case now.Sub(c.AuthTime) > addSat(r.MaxAge, leeway):
			stale = "auth_time " + now.Sub(c.AuthTime).Truncate(time.Second).String() + " ago exceeds max_age " + r.MaxAge.String()
		}
		if stale != "" {
			fail(stale)
			sf.user, sf.fresh = true, true
			sf.maxAge = MaxAgeOf(r.MaxAge)
		}
	}

	if len(r.Scopes) > 0 {
		var missing []string
		for _, s := range r.Scopes {
			if !slices.Contains(c.Scopes, s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			if c.isMalformed("scope") || c.isMalformed("scp") {
				fail("scope claim malformed")
			}
			fail("scope lacks " + strconv.Quote(strings.Join(missing, " ")))
			sf.scope = true
			sf.scopes = r.Scopes
		}
	}
	return sf
}

// amrACRAsk is AMRACRValues restricted to what the acr condition accepts
// (Validate makes that a no-op); when nothing is left, the acceptable
// values themselves.
func (r Requirement) amrACRAsk() []string {
	acceptable, constrained := r.acceptableACR()
	if !constrained {
		return r.AMRACRValues
	}
	var out []string
	for _, v := range r.AMRACRValues {
		if slices.Contains(acceptable, v) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return acceptable
	}
	return out
}

// addSat returns a+b for non-negative a and b, saturating at the largest
// Duration instead of wrapping to a negative one.
func addSat(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func containsAny(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}

func (c *Claims) isMalformed(name string) bool {
	return slices.Contains(c.Malformed, name)
}

func fromCheck(e *Error) *shortfall {
	e = normalizeCheck(e)
	switch e.Code {
	case CodeInsufficientUserAuthentication:
		return &shortfall{user: true, acr: e.ACRValues, maxAge: e.MaxAge,
			scope: len(e.Scope) > 0, scopes: e.Scope, origin: e, reasons: causeOf(e)}
	case CodeInsufficientScope:
		return &shortfall{scope: true, scopes: e.Scope, origin: e, reasons: causeOf(e)}
	default:
		return &shortfall{hard: e}
	}
}

// normalizeCheck makes a Check result safe to answer with. Codes reach
// WWW-Authenticate, and only the registered ones may (plus Entra ID's
// documented CodeInsufficientClaims): an empty Code (which would give a
// valid token the no-token challenge) or an unregistered one becomes
// insufficient_user_authentication, keeping the Description when it is
// valid error_description text (RFC 6750 §3: %x20-21 / %x23-5B /
// %x5D-7E), else the fixed one, and the cause in Err. A registered result
// is returned unchanged.
func normalizeCheck(e *Error) *Error {
	switch e.Code {
	case CodeInvalidRequest, CodeInvalidToken, CodeInsufficientScope,
		CodeInsufficientUserAuthentication, CodeInsufficientClaims:
		return e
	}
	n := *e
	n.Code = CodeInsufficientUserAuthentication
	if n.Description == "" || keep6750(n.Description, false) != n.Description {
		n.Description = descStepUp
	}
	cause := errors.New("claims: check returned unregistered error code " + strconv.Quote(string(e.Code)))
	if e.Err != nil {
		cause = errors.Join(cause, e.Err)
	}
	n.Err = cause
	return &n
}

func causeOf(e *Error) []string {
	if e.Err == nil {
		return []string{"check failed"}
	}
	return []string{"check: " + e.Err.Error()}
}

// and combines the shortfalls of conditions that must all hold.
func and(a, b *shortfall) *shortfall {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.hard != nil:
		return a
	case b.hard != nil:
		return b
	}
	return union(a, b)
}

// or combines the shortfalls of branches of which one must hold: a branch
// that fails hard is only one way the request could have been met.
func or(a, b *shortfall) *shortfall {
	switch {
	case a.hard != nil && b.hard != nil:
		return a
	case a.hard != nil:
		return b
	case b.hard != nil:
		return a
	}
	return union(a, b)
}

func union(a, b *shortfall) *shortfall {
	return &shortfall{
		user:    a.user || b.user,
		acrish:  a.acrish || b.acrish,
		fresh:   a.fresh || b.fresh,
		scope:   a.scope || b.scope,
		acr:     unionStrings(a.acr, b.acr),
		maxAge:  a.maxAge.stricter(b.maxAge),
		scopes:  unionStrings(a.scopes, b.scopes),
		reasons: append(slices.Clip(a.reasons), b.reasons...),
	}
}

func unionStrings(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := slices.Clone(a)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (sf *shortfall) err() *Error {
	if sf.hard != nil {
		return sf.hard
	}
	if sf.origin != nil {
		return sf.origin
	}
	var cause error
	if len(sf.reasons) > 0 {
		cause = &UnmetError{Reasons: sf.reasons}
	}
	if !sf.user {
		return &Error{
			Code:        CodeInsufficientScope,
			Description: descInsufficientScope,
			Scope:       slices.Clone(sf.scopes),
			Err:         cause,
		}
	}
	desc := descStepUp
	switch {
	case sf.acrish && sf.fresh:
		desc = descACRFresh
	case sf.acrish:
		desc = descACR
	case sf.fresh:
		desc = descFresh
	}
	e := &Error{
		Code:        CodeInsufficientUserAuthentication,
		Description: desc,
		ACRValues:   slices.Clone(sf.acr),
		MaxAge:      sf.maxAge,
		Err:         cause,
	}
	if sf.scope {
		e.Scope = slices.Clone(sf.scopes)
	}
	return e
}

// UnmetError is the cause (Error.Err) of a rejection by Evaluate: which
// conditions failed, for logs. It never reaches the client.
type UnmetError struct {
	Reasons []string
}

// Error returns "claims: requirement not met: " and the reasons joined by
// "; ".
func (e *UnmetError) Error() string {
	return "claims: requirement not met: " + strings.Join(e.Reasons, "; ")
}

// checkBinding refuses a token that is not sender-constrained the way
// r.Binding demands. Whether a bound token came with its proof or over its
// certificate is the transport's check, made for every bound token.
func (r Requirement) checkBinding(c *Claims) *Error {
	if r.Binding == BindingNone {
		return nil
	}
	conf, err := cnf.Parse(c.Confirmation)
	dpop, mtls := conf.JKT != "", conf.X5T != ""
	if err == nil {
		switch r.Binding {
		case BindingDPoP:
			if dpop {
				return nil
			}
		case BindingMTLS:
			if mtls {
				return nil
			}
		case BindingAny:
			if dpop || mtls {
				return nil
			}
		}
	}
	e := &Error{Code: CodeInvalidToken, Err: &UnmetError{Reasons: []string{"binding"}}}
	switch r.Binding {
	case BindingDPoP:
		e.Scheme, e.Description = "DPoP", descBindingDPoP
	case BindingMTLS:
		e.Description = descBindingMTLS
	default:
		e.Scheme, e.Description = "DPoP", descBindingAny
	}
	return e
}
