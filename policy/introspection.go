package policy

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
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
	// that holds the client secret, such as "STEPUP_INTROSPECTION_SECRET";
	// required with client_secret_basic and client_secret_post, refused
	// with private_key_jwt.
	ClientSecretEnv string
	// Auth (auth) is the client authentication, "client_secret_basic" (the
	// default, also when the file leaves auth out), "client_secret_post"
	// (RFC 6749 §2.3.1) or "private_key_jwt" (RFC 7523 §2.2, OpenID
	// Connect Core §9), which needs PrivateKeyFile.
	Auth string
	// PrivateKeyFile (private_key_file) is the path of the PEM file holding
	// the private key of private_key_jwt (PKCS #8, SEC 1 "EC PRIVATE KEY"
	// or PKCS #1 "RSA PRIVATE KEY", unencrypted): the policy names the
	// file, never holds the key. A relative path is relative to the
	// working directory of the process. IntrospectConfig reads it.
	PrivateKeyFile string
	// KeyID (key_id) is the kid of the private_key_jwt assertions,
	// optional.
	KeyID string
	// IssuerRequired (issuer_required: true) refuses an answer without
	// iss; an answer with iss must name the policy's issuer either way.
	IssuerRequired bool
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
	authPrivateKeyJWT     = "private_key_jwt"
)

// maxIntrospectionTTL bounds cache_ttl, inactive_ttl and stale_ttl: a
// token revoked at the authorization server stays accepted for up to
// cache_ttl plus stale_ttl.
const maxIntrospectionTTL = time.Hour

// introspectionFields are the fields of an introspection block, in
// schema order.
const introspectionFields = "endpoint, discover, client_id, client_secret_env, auth, private_key_file, key_id, cache_ttl, no_cache, inactive_ttl, stale_ttl, issuer_required, audience_required or introspect_jwts"

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
		case "private_key_file":
			in.PrivateKeyFile, err = text(v)
		case "key_id":
			in.KeyID, err = text(v)
		case "cache_ttl":
			in.CacheTTL, err = introspectionTTL(v, "5m0s")
		case "no_cache":
			in.NoCache, err = boolean(v)
		case "inactive_ttl":
			in.InactiveTTL, err = introspectionTTL(v, "10s")
		case "stale_ttl":
			in.StaleTTL, err = introspectionTTL(v, "")
		case "issuer_required":
			in.IssuerRequired, err = boolean(v)
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
	_, hasSecret := seen["client_secret_env"]
	_, hasKey := seen["private_key_file"]
	switch {
	case in.Auth == authPrivateKeyJWT && hasSecret:
		return nil, ".client_secret_env", errAt(n.vals[indexOf(n, "client_secret_env")], "auth: private_key_jwt authenticates with private_key_file, not a secret; leave client_secret_env out")
	case in.Auth == authPrivateKeyJWT && !hasKey:
		return nil, ".private_key_file", errAt(n, "required with auth: private_key_jwt: the path of the PEM file holding the private key")
	case in.Auth != authPrivateKeyJWT && hasKey:
		return nil, ".private_key_file", errAt(n.vals[indexOf(n, "private_key_file")], "private_key_file is the key of auth: private_key_jwt; set auth: private_key_jwt, or leave it out")
	case in.Auth != authPrivateKeyJWT && !hasSecret:
		return nil, ".client_secret_env", errAt(n, "required: the name of the environment variable holding the client secret (or auth: private_key_jwt with private_key_file)")
	}
	if _, ok := seen["key_id"]; ok && in.Auth != authPrivateKeyJWT {
		return nil, ".key_id", errAt(n.vals[indexOf(n, "key_id")], "key_id names the key of auth: private_key_jwt; leave it out with %s", in.Auth)
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
	case s == authClientSecretBasic || s == authClientSecretPost || s == authPrivateKeyJWT:
		return s, nil
	}
	return "", errAt(n, "%q is not client_secret_basic, client_secret_post or private_key_jwt", s)
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
// on p.Issuer), ClientID, the client authentication (ClientSecret read
// with getenv from the variable client_secret_env names, nil getenv
// meaning os.Getenv, and SecretPost for client_secret_post; or, for
// private_key_jwt, PrivateKey read from private_key_file and KeyID), the
// cache settings, RequireIssuer from issuer_required, RequireAudience
// from audience_required, and from the rest of the policy Issuer,
// Audience, Leeway and Names (claim_names). HTTPClient, Timeout and Now
// are the caller's to set. Feed the result to introspect.New (or
// introspect.Discover), call Check at start-up, and set the client as
// verify.Config.Introspector.
//
// The error says the policy has no introspection block (check
// p.Introspection first), that the variable is unset or empty, naming
// it, or that the key file cannot be read or holds no usable key, naming
// the file; it never contains the secret or the key.
func (p *Policy) IntrospectConfig(getenv func(string) string) (introspect.Config, error) {
	in := p.Introspection
	if in == nil {
		return introspect.Config{}, errNoIntrospection
	}
	cfg := introspect.Config{
		Endpoint:        in.Endpoint,
		ClientID:        in.ClientID,
		Issuer:          p.Issuer,
		RequireIssuer:   in.IssuerRequired,
		Audience:        p.Audience,
		RequireAudience: in.AudienceRequired,
		Leeway:          p.Leeway,
		CacheTTL:        in.CacheTTL,
		NoCache:         in.NoCache,
		InactiveTTL:     in.InactiveTTL,
		StaleTTL:        in.StaleTTL,
		Names:           p.ClaimNames,
	}
	if in.Auth == authPrivateKeyJWT {
		key, err := readPrivateKey(in.PrivateKeyFile)
		if err != nil {
			return introspect.Config{}, fmt.Errorf("policy: introspection: private_key_file %s: %w", in.PrivateKeyFile, err)
		}
		cfg.PrivateKey, cfg.KeyID = key, in.KeyID
		return cfg, nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	secret := getenv(in.ClientSecretEnv)
	if secret == "" {
		return introspect.Config{}, fmt.Errorf("policy: introspection: $%s is unset or empty; it must hold the client secret of client_id %q", in.ClientSecretEnv, in.ClientID)
	}
	cfg.ClientSecret, cfg.SecretPost = secret, in.Auth == authClientSecretPost
	return cfg, nil
}

// maxKeyFile bounds the key file IntrospectConfig reads: an 8192-bit RSA
// key in PEM is under 7 KiB.
const maxKeyFile = 64 << 10

// readPrivateKey reads the one PEM private key of path. Its errors name
// what is wrong, never the key's bytes.
func readPrivateKey(path string) (crypto.Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d bytes: not a PEM private key", maxKeyFile)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block (want -----BEGIN PRIVATE KEY-----, EC PRIVATE KEY or RSA PRIVATE KEY)")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("more than one PEM block: the file must hold the private key only")
	}
	if _, encrypted := block.Headers["Proc-Type"]; encrypted {
		return nil, errors.New("the key is encrypted; give the file an unencrypted key (protect it with file permissions)")
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("the key is encrypted; give the file an unencrypted key (protect it with file permissions)")
	default:
		return nil, fmt.Errorf("a PEM block of type %q, not a private key (want PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%s block: malformed key", block.Type)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T key cannot sign", key)
	}
	return signer, nil
}
