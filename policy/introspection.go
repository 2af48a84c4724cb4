package policy

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/stepupauth/stepup/introspect"
)

// Introspection is the introspection block of a policy file: how opaque
// access tokens are checked at the authorization server's introspection
// endpoint (RFC 7662). It is plain data; IntrospectConfig turns it into an
// introspect.Config. The client secret is never in the file, only the
// name of the environment variable holding it.
type Introspection struct {
	// Endpoint (endpoint) is the introspection endpoint, an https URL
	// (plain http only for a loopback IP literal); empty with Discover.
	Endpoint string
	// Discover (discover: true) reads the endpoint from the issuer's
	// metadata, introspection_endpoint (RFC 8414, as introspect.Discover
	// does), instead of Endpoint.
	Discover bool
	// ClientID (client_id) is this resource server's client identifier at
	// the authorization server.
	ClientID string
	// ClientSecretEnv (client_secret_env) names the environment variable
	// that holds the client secret, such as "STEPUP_INTROSPECTION_SECRET".
	ClientSecretEnv string
	// Auth (auth) is the client authentication, "client_secret_basic" (the
	// default, also when the file leaves auth out) or "client_secret_post"
	// (RFC 6749 §2.3.1).
	Auth string
	// CacheTTL (cache_ttl) bounds how long an active answer is reused,
	// and so how long a revoked token may still be accepted; zero means
	// the introspect package's default.
	CacheTTL time.Duration
	// NoCache (no_cache: true) asks the endpoint for every request.
	NoCache bool
	// InactiveTTL (inactive_ttl) is how long a refusal is reused; zero
	// means the introspect package's default.
	InactiveTTL time.Duration
	// StaleTTL (stale_ttl) serves answers known active for that long past
	// their cache entry while the endpoint is down; zero serves nothing
	// stale.
	StaleTTL time.Duration
	// AudienceRequired (audience_required: true) refuses an answer without
	// aud; an answer with aud must name the policy's audience either way.
	AudienceRequired bool
	// IntrospectJWTs (introspect_jwts: true) sends JWT access tokens to the
	// endpoint too, instead of verifying them with the issuer's keys (see
	// verify.Config.IntrospectJWTs).
	IntrospectJWTs bool
}

// The client authentications an introspection block can name.
const (
	authClientSecretBasic = "client_secret_basic"
	authClientSecretPost  = "client_secret_post"
)

// maxIntrospectionTTL bounds cache_ttl, inactive_ttl and stale_ttl: a
// token revoked at the authorization server stays accepted for up to
// cache_ttl plus stale_ttl.
const maxIntrospectionTTL = time.Hour

// introspectionFields are the fields of an introspection block, in
// schema order.
const introspectionFields = "endpoint, discover, client_id, client_secret_env, auth, cache_ttl, no_cache, inactive_ttl, stale_ttl, audience_required or introspect_jwts"

// introspectionField parses the top-level introspection mapping. Errors
// carry the sub-field in their field suffix (".client_id").
func introspectionField(n *node) (*Introspection, string, error) {
	if n.kind != kindMap {
		return nil, "", errAt(n, "want a mapping such as {endpoint: https://idp.example.com/introspect, client_id: api, client_secret_env: INTROSPECTION_SECRET}, got %v", n.kind)
	}
	in := &Introspection{Auth: authClientSecretBasic}
	seen, field, err := blockFields(n, func(k, v *node) (err error) {
		switch k.text {
		case "endpoint":
			in.Endpoint, err = urlField(v)
		case "discover":
			in.Discover, err = boolean(v)
		case "client_id":
			in.ClientID, err = text(v)
		case "client_secret_env":
			in.ClientSecretEnv, err = envName(v)
		case "client_secret":
			err = errAt(k, "a secret never belongs in the policy file; put it in an environment variable and name that variable with client_secret_env")
		case "auth":
			in.Auth, err = clientAuth(v)
		case "cache_ttl":
			in.CacheTTL, err = introspectionTTL(v, "5m0s")
		case "no_cache":
			in.NoCache, err = boolean(v)
		case "inactive_ttl":
			in.InactiveTTL, err = introspectionTTL(v, "10s")
		case "stale_ttl":
			in.StaleTTL, err = introspectionTTL(v, "")
		case "audience_required":
			in.AudienceRequired, err = boolean(v)
		case "introspect_jwts":
			in.IntrospectJWTs, err = boolean(v)
		default:
			err = errAt(k, "unknown field (want %s)", introspectionFields)
		}
		return err
	})
	if err != nil {
		return nil, field, err
	}
	_, hasEndpoint := seen["endpoint"]
	switch {
	case hasEndpoint && in.Discover:
		return nil, ".discover", errAt(n.vals[indexOf(n, "discover")], "discover: true reads the endpoint from the issuer's metadata; give endpoint or discover: true, not both")
	case !hasEndpoint && !in.Discover:
		return nil, ".endpoint", errAt(n, "required (or discover: true, to read introspection_endpoint from the issuer's metadata)")
	}
	if _, ok := seen["client_id"]; !ok {
		return nil, ".client_id", errAt(n, "required: this API's client identifier at the authorization server")
	}
	if _, ok := seen["client_secret_env"]; !ok {
		return nil, ".client_secret_env", errAt(n, "required: the name of the environment variable holding the client secret")
	}
	if in.NoCache {
		for _, f := range []string{"cache_ttl", "inactive_ttl", "stale_ttl"} {
			if line, ok := seen[f]; ok {
				return nil, "." + f, &posError{line: line, err: errors.New("no_cache: true switches the cache off; leave " + f + " out")}
			}
		}
	}
	return in, "", nil
}

// indexOf returns the index of key name in the mapping n, which has it.
func indexOf(n *node, name string) int {
	for i, k := range n.keys {
		if k.text == name {
			return i
		}
	}
	return -1
}

// envName is the name of an environment variable: a letter or underscore,
// then letters, digits and underscores (POSIX's portable names).
func envName(n *node) (string, error) {
	s, err := text(n)
	if err != nil {
		return "", err
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return "", errAt(n, "%q is not an environment variable name (letters, digits and _, not a digit first); the secret itself never belongs in the file", s)
	}
	return s, nil
}

// clientAuth reads auth: client_secret_basic or client_secret_post.
func clientAuth(n *node) (string, error) {
	s, err := text(n)
	switch {
	case err != nil:
		return "", err
	case s == authClientSecretBasic || s == authClientSecretPost:
		return s, nil
	case s == "private_key_jwt":
		return "", errAt(n, "private_key_jwt needs a private key, which is set in code (introspect.Config.PrivateKey), not in the policy file")
	}
	return "", errAt(n, "%q is not client_secret_basic or client_secret_post", s)
}

// introspectionTTL is a positive duration up to maxIntrospectionTTL. def
// is the introspect package's default for the zero value, "" when zero
// means none.
func introspectionTTL(n *node, def string) (time.Duration, error) {
	d, err := duration(n)
	switch {
	case err != nil:
		return 0, err
	case d < 0:
		return 0, errAt(n, "%s is negative", n.text)
	case d == 0 && def != "":
		return 0, errAt(n, "0 would mean the default (%s); leave the field out for it, or set no_cache: true to switch the cache off", def)
	case d == 0:
		return 0, errAt(n, "0 is the default (nothing stale is served); leave the field out for it")
	case d > maxIntrospectionTTL:
		return 0, errAt(n, "%s is more than %v (a token revoked at the authorization server stays accepted that long)", n.text, maxIntrospectionTTL)
	}
	return d, nil
}

// errNoIntrospection is IntrospectConfig's error for a policy without an
// introspection block.
var errNoIntrospection = errors.New("policy: no introspection block")

// IntrospectConfig returns the introspect.Config the introspection block
// describes: Endpoint (empty with discover: true, for introspect.Discover
// on p.Issuer), ClientID, ClientSecret read with getenv from the variable
// client_secret_env names (nil getenv means os.Getenv), SecretPost for
// client_secret_post, the cache settings, RequireAudience from
// audience_required, and from the rest of the policy Issuer, Audience,
// Leeway and Names (claim_names). HTTPClient, Timeout and Now are the
// caller's to set. Feed the result to introspect.New (or
// introspect.Discover), call Check at start-up, and set the client as
// verify.Config.Introspector.
//
// The error says the policy has no introspection block (check
// p.Introspection first), or that the variable is unset or empty, naming
// it; it never contains the secret.
func (p *Policy) IntrospectConfig(getenv func(string) string) (introspect.Config, error) {
	in := p.Introspection
	if in == nil {
		return introspect.Config{}, errNoIntrospection
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	secret := getenv(in.ClientSecretEnv)
	if secret == "" {
		return introspect.Config{}, fmt.Errorf("policy: introspection: $%s is unset or empty; it must hold the client secret of client_id %q", in.ClientSecretEnv, in.ClientID)
	}
	return introspect.Config{
		Endpoint:        in.Endpoint,
		ClientID:        in.ClientID,
		ClientSecret:    secret,
		SecretPost:      in.Auth == authClientSecretPost,
		Issuer:          p.Issuer,
		Audience:        p.Audience,
		RequireAudience: in.AudienceRequired,
		Leeway:          p.Leeway,
		CacheTTL:        in.CacheTTL,
		NoCache:         in.NoCache,
		InactiveTTL:     in.InactiveTTL,
		StaleTTL:        in.StaleTTL,
		Names:           p.ClaimNames,
	}, nil
}
