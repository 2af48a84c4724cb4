package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stepupauth/stepup/claims"
	"github.com/stepupauth/stepup/idp"
	"github.com/stepupauth/stepup/verify"
)

// maxSize bounds a policy document. Real policies are a few kilobytes.
const maxSize = 1 << 20

// format is the syntax of a policy document (see Syntax in the package
// documentation).
type format int

const (
	detect format = iota // by content: '{' first is JSON, else YAML
	yamlFormat
	jsonFormat
)

// Policy is a loaded policy file: the verifier's settings and the rules per
// HTTP route and gRPC method.
//
// A Policy is plain data. Once Load or Parse returned it, it is safe for
// concurrent reads; treat it and the slices it holds as read-only.
type Policy struct {
	Issuer   string // issuer: exact match with the token's iss; the profile's first issuer when the file has none
	Audience string // audience: must be in the token's aud
	// JWKSURI is jwks_uri, the key set's URL; empty means "discover it from
	// Issuer" (OpenID Connect Discovery, RFC 8414 fallback).
	JWKSURI string
	// Algorithms is the algorithms allowlist; nil means the verifier's
	// default asymmetric set.
	Algorithms []string
	// TokenTypes is the accepted typ values, in canonical spelling
	// ("at+jwt", "application/at+jwt", "JWT"); nil means the verifier's
	// default (RFC 9068 at+jwt).
	TokenTypes []string
	// Leeway is the clock skew allowed on exp, nbf and iat; zero means the
	// verifier's default.
	Leeway time.Duration
	// ClaimNames maps acr, amr and auth_time to the names the issuer uses.
	ClaimNames claims.Names
	// ResourceMetadata is the URL of the RFC 9728 protected resource
	// metadata document, sent in challenges as resource_metadata; empty for
	// none.
	ResourceMetadata string
	// ACRLevels orders acr values from the lowest to the highest, for
	// acr_min rules.
	ACRLevels []string
	// Profile is the identity-provider profile the file names (the
	// profile field), nil when it names none. Parse has already copied
	// into the fields above what the file left out: Issuer (the profile's
	// first exact issuer), JWKSURI (when discovery cannot find the keys),
	// TokenTypes, ClaimNames and ACRLevels. VerifyConfig adds the rest.
	Profile *idp.Profile
	// DPoP is the dpop block, how DPoP proofs (RFC 9449) are checked; nil
	// when the file has none, and then no rule demands sender_constraint:
	// dpop. See DPoPConfig.
	DPoP *DPoP
	// MTLS is the mtls block, the proxies trusted to pass client
	// certificates (RFC 9440); nil when the file has none, and then only
	// the TLS connection is read. See MTLSConfig.
	MTLS *MTLS
	// Introspection is the introspection block, how opaque access tokens
	// are checked at the authorization server (RFC 7662); nil when the
	// file has none, and then every token must be a JWT. See
	// IntrospectConfig.
	Introspection *Introspection
	// Rules in file order.
	Rules []Rule
}

// Rule is one entry of the rules list: a route, an RPC or both, and what
// they require.
type Rule struct {
	Index int // position in the rules list, from 0
	Line  int // line of the rule in the file; 0 when unknown

	// HTTP is a net/http ServeMux pattern ("GET /profile", "/admin/");
	// empty when the rule names no HTTP route.
	HTTP string
	// GRPC is a full method ("/bank.v1.Bank/Transfer") or every method of
	// a service ("/bank.v1.Admin/*"); empty when the rule names no RPC.
	GRPC string

	// Public rules need no token at all. Their Requirement is the zero
	// value, which on its own would demand a valid token: callers must
	// test Public first.
	Public bool
	// OverridesProtected (overrides_protected) lets a public rule take
	// requests or calls that a protected rule also names: without it, Parse
	// refuses such a rule (see the package documentation, Shadowing).
	OverridesProtected bool

	// Requirement is what a token must satisfy, exactly the value code
	// would build: ACR, ACRMin (with ACRLevels copied from the policy),
	// AMRAll, AMRAny, AMRACRValues (from acr_values), MaxAge and Scopes;
	// Check is the Entra ID authentication context check of auth_context
	// (idp.Profile.AuthContext). AnyOf has no file syntax and is left
	// empty.
	Requirement claims.Requirement
	// AuthContext lists the rule's Entra ID authentication contexts
	// (auth_context), which Requirement.Check enforces; nil without.
	AuthContext []string
}

// Load reads and parses the policy file at path, YAML or JSON as its
// extension says, and checks it as Parse does (see Syntax in the package
// documentation).
//
// Every error is an *Error whose File is path.
func Load(path string) (*Policy, error) {
	f := detect
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		f = yamlFormat
	case ".json":
		f = jsonFormat
	}
	data, err := readFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: path, Rule: -1, Err: err}
	}
	p, err := parse(data, f)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.File = path
		}
		return nil, err
	}
	return p, nil
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, errTooLarge
	}
	return data, nil
}

var errTooLarge = fmt.Errorf("larger than %d bytes", maxSize)

// Parse parses a policy document, YAML or JSON as its content says (see
// Syntax in the package documentation), and checks it against the schema: unknown fields, duplicate fields, values of the
// wrong type, bad durations, URLs or algorithms, acr_min outside
// acr_levels, rules with neither http nor grpc, duplicate or conflicting
// routes and methods, public rules that would take requests or calls
// a protected rule names (see Shadowing in the package documentation), and
// a sender_constraint: dpop rule without a dpop block (see Sender
// constraints) are errors. Every Requirement produced
// passes claims.Requirement.Validate.
//
// Every error is an *Error. Besides the Syntax rules of the package
// documentation, no string may escape a lone UTF-16 surrogate ("\ud800"),
// which encoding/json would silently turn into U+FFFD and YAML already
// refuses.
func Parse(data []byte) (*Policy, error) { return parse(data, detect) }

func parse(data []byte, f format) (*Policy, error) {
	if len(data) > maxSize {
		return nil, &Error{Rule: -1, Err: errTooLarge}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if line, ok := invalidUTF8(data); ok {
		return nil, &Error{Line: line, Rule: -1, Err: errors.New("not valid UTF-8 (save the file as UTF-8)")}
	}
	if f == detect {
		f = yamlFormat
		if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
			f = jsonFormat
		}
	}
	var root *node
	var err error
	if f == jsonFormat {
		root, err = parseJSON(data)
	} else {
		root, err = parseYAML(data)
	}
	if err != nil {
		var se *syntaxError
		if errors.As(err, &se) {
			return nil, &Error{Line: se.line, Rule: -1, Err: errors.New(se.msg)}
		}
		return nil, &Error{Rule: -1, Err: err}
	}
	return build(root)
}

// invalidUTF8 reports the line of the first byte of data that is not part
// of valid UTF-8, if any.
func invalidUTF8(data []byte) (line int, ok bool) {
	if utf8.Valid(data) {
		return 0, false
	}
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return bytes.Count(data[:i], []byte{'\n'}) + 1, true
		}
		i += size
	}
	return 0, false // not reached: utf8.Valid found an invalid byte
}

// VerifyConfig returns the verify.Config the policy describes: Issuer,
// Audience, Algorithms, TokenTypes, Leeway, ClaimNames and, from the
// introspection block, IntrospectJWTs. Fields the file left out stay zero
// so that verify.New applies its defaults; MaxTokenSize, Now and the
// Introspector (an *introspect.Client built from IntrospectConfig) are the
// caller's to set.
//
// With a profile, it also sets what the profile requires of every token
// (RequiredClaims, RequiredValues, ExcludedValues,
// InsecureAllowMissingType) and, while
// Issuer is still the profile's own (or empty, for Entra ID's any-tenant
// template), the profile's other issuers and issuer templates. A caller
// that replaces Issuer after Load (a test issuer, say) gets exactly that
// issuer.
func (p *Policy) VerifyConfig() verify.Config {
	cfg := verify.Config{
		Issuer:     p.Issuer,
		Audience:   p.Audience,
		Algorithms: clone(p.Algorithms),
		TokenTypes: clone(p.TokenTypes),
		Leeway:     p.Leeway,
		ClaimNames: p.ClaimNames,
	}
	if p.Introspection != nil {
		cfg.IntrospectJWTs = p.Introspection.IntrospectJWTs
	}
	if p.Profile == nil {
		return cfg
	}
	pc := p.Profile.Config(p.Audience)
	cfg.RequiredClaims = pc.RequiredClaims
	cfg.RequiredValues = pc.RequiredValues
	cfg.ExcludedValues = pc.ExcludedValues
	cfg.InsecureAllowMissingType = pc.InsecureAllowMissingType
	if p.Issuer == "" || p.Issuer == pc.Issuer {
		cfg.Issuer = pc.Issuer
		cfg.Issuers = pc.Issuers
		cfg.IssuerTemplates = pc.IssuerTemplates
	}
	return cfg
}

// HTTPRules returns the rules that name an HTTP route, in file order.
func (p *Policy) HTTPRules() []Rule {
	var out []Rule
	for _, r := range p.Rules {
		if r.HTTP != "" {
			out = append(out, r)
		}
	}
	return out
}

// GRPCRules returns the rules that name a gRPC method or service, in file
// order.
func (p *Policy) GRPCRules() []Rule {
	var out []Rule
	for _, r := range p.Rules {
		if r.GRPC != "" {
			out = append(out, r)
		}
	}
	return out
}

func clone(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}
