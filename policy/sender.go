package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stepupauth/stepup/dpop"
	"github.com/stepupauth/stepup/mtls"
)

// DPoP is the dpop block of a policy file: how DPoP proofs (RFC 9449) are
// checked. It is plain data; DPoPConfig turns it into a dpop.Config.
type DPoP struct {
	// PublicURL (public_url) is the absolute URL clients address the API
	// by, such as "https://api.example.com" or "https://example.com/api"
	// behind a proxy: every proof's htu is PublicURL followed by the
	// request's path (or a gRPC full method). It is what httpmw.WithDPoP
	// and grpcmw.WithDPoP take as their publicURL.
	PublicURL string
	// Algorithms (algorithms) are the accepted proof algorithms; nil means
	// the dpop package's default set.
	Algorithms []string
	// MaxAge (max_age) is how old a proof may be; zero means
	// dpop.DefaultMaxAge.
	MaxAge time.Duration
	// Nonce (nonce) makes every proof carry a nonce the server issued (RFC
	// 9449 §9). The nonces' secret is never in the file: the caller passes
	// it to DPoPConfig.
	Nonce bool
}

// MTLS is the mtls block of a policy file: where the client certificate of
// a certificate-bound token (RFC 8705) may come from besides the TLS
// connection. MTLSConfig turns it into an mtls.Config.
type MTLS struct {
	// TrustedProxies (trusted_proxies) are the networks of the reverse
	// proxies whose Client-Cert header (RFC 9440) is believed; see
	// mtls.Config.
	TrustedProxies []netip.Prefix
}

// maxDPoPAge bounds a dpop block's max_age: a client makes a proof per
// request (RFC 9449 §11.1 asks for "seconds or minutes"), and the replay
// store holds every proof for that long.
const maxDPoPAge = 5 * time.Minute

// dpopAlgorithms is the dpop package's default (and complete) list of
// proof algorithms, read from the package rather than copied.
var dpopAlgorithms = sync.OnceValue(func() []string {
	v, err := dpop.New(dpop.Config{Replay: dpop.NewMemoryStore(1)})
	if err != nil {
		panic(err) // the zero Config is valid
	}
	return v.Algorithms()
})

// dpopField parses the top-level dpop mapping. Errors carry the sub-field
// in their field suffix (".max_age").
func dpopField(n *node) (*DPoP, string, error) {
	if n.kind != kindMap {
		return nil, "", errAt(n, "want a mapping such as {public_url: https://api.example.com}, got %v", n.kind)
	}
	d := &DPoP{}
	seen, field, err := blockFields(n, func(k, v *node) (err error) {
		switch k.text {
		case "public_url":
			d.PublicURL, err = publicURL(v)
		case "algorithms":
			d.Algorithms, err = dpopAlgorithmList(v)
		case "max_age":
			d.MaxAge, err = dpopMaxAge(v)
		case "nonce":
			d.Nonce, err = boolean(v)
		case "replay":
			err = replay(v)
		default:
			err = errAt(k, "unknown field (want public_url, algorithms, max_age, nonce or replay)")
		}
		return err
	})
	if err != nil {
		return nil, field, err
	}
	if _, ok := seen["public_url"]; !ok {
		return nil, ".public_url", errAt(n, "required: the URL clients address the API by, the prefix of every proof's htu")
	}
	return d, "", nil
}

// publicURL is a urlField without a query, in printable ASCII: the base
// that httpmw.WithDPoP and grpcmw.WithDPoP accept.
func publicURL(n *node) (string, error) {
	s, err := urlField(n)
	if err != nil {
		return "", err
	}
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return "", errAt(n, "%q is not printable ASCII (percent-encode the path, punycode the host)", s)
	}
	if u, _ := url.Parse(s); u.RawQuery != "" || u.ForceQuery {
		return "", errAt(n, "%q must not have a query (it is the prefix of every proof's htu)", s)
	}
	return s, nil
}

func dpopAlgorithmList(n *node) ([]string, error) {
	return allowedAlgorithms(n, dpopAlgorithms(), ": an unsigned proof proves nothing (RFC 9449 §11.6)", "a proof needs an asymmetric signature (RFC 9449 §4.2)")
}

func dpopMaxAge(n *node) (time.Duration, error) {
	d, err := duration(n)
	switch {
	case err != nil:
		return 0, err
	case d < 0:
		return 0, errAt(n, "%s is negative", n.text)
	case d == 0:
		return 0, errAt(n, "0 would mean the default (%v); leave max_age out for it", dpop.DefaultMaxAge)
	case d < time.Second:
		return 0, errAt(n, "%s is under 1s (a proof's iat is in whole seconds)", n.text)
	case d > maxDPoPAge:
		return 0, errAt(n, "%s is more than %v (a client makes a proof per request, RFC 9449 §11.1)", n.text, maxDPoPAge)
	}
	return d, nil
}

// replay reads the replay store's name: memory, the only one a file can
// name.
func replay(n *node) error {
	s, err := text(n)
	switch {
	case err != nil:
		return err
	case s == "memory":
		return nil
	case strings.EqualFold(s, "redis"):
		return errAt(n, "the Redis store lives in the separate module github.com/stepupauth/stepup/redisstore and must be wired in code (dpop.Config.Replay); leave replay out here")
	}
	return errAt(n, "%q is not memory, the only store a policy file can name", s)
}

// mtlsField parses the top-level mtls mapping.
func mtlsField(n *node) (*MTLS, string, error) {
	if n.kind != kindMap {
		return nil, "", errAt(n, "want a mapping such as {trusted_proxies: [10.0.0.7/32]}, got %v", n.kind)
	}
	m := &MTLS{}
	_, field, err := blockFields(n, func(k, v *node) (err error) {
		if k.text != "trusted_proxies" {
			return errAt(k, "unknown field (want trusted_proxies)")
		}
		m.TrustedProxies, err = prefixList(v)
		return err
	})
	if err != nil {
		return nil, field, err
	}
	if m.TrustedProxies == nil {
		return nil, ".trusted_proxies", errAt(n, "required (without proxies, leave the mtls block out: the TLS connection is always read)")
	}
	return m, "", nil
}

// prefixList is a non-empty list of distinct CIDR prefixes, each its
// network address, none of length zero, as mtls.New accepts them.
func prefixList(n *node) ([]netip.Prefix, error) {
	if n.kind != kindList {
		return nil, errAt(n, "want a list, got %v", n.kind)
	}
	if len(n.list) == 0 {
		return nil, errAt(n, "must not be empty (leave the mtls block out instead)")
	}
	out := make([]netip.Prefix, 0, len(n.list))
	for _, e := range n.list {
		s, err := text(e)
		if err != nil {
			return nil, err
		}
		p, err := netip.ParsePrefix(s)
		switch {
		case err != nil:
			return nil, errAt(e, "%q is not a CIDR prefix (want an address and a length, such as \"10.0.0.7/32\")", s)
		case p.Bits() == 0:
			return nil, errAt(e, "%q trusts every address; list the proxies' own networks", s)
		case p != p.Masked():
			return nil, errAt(e, "%q has bits set past its length (want %q)", s, p.Masked().String())
		case slices.Contains(out, p):
			return nil, errAt(e, "duplicate value %q", s)
		}
		if _, err := mtls.New(mtls.Config{TrustedProxies: []netip.Prefix{p}}); err != nil {
			return nil, errAt(e, "%q: %v", s, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// errNoDPoP is DPoPConfig's error for a policy without a dpop block.
var errNoDPoP = errors.New("policy: no dpop block")

// DPoPConfig returns the dpop.Config the dpop block describes: Algorithms,
// MaxAge and, with nonce: true, Nonces made from nonceSecret
// (dpop.NewNonces with the default lifetime). The secret is the caller's
// (an environment variable or a file, never the policy): at least 32
// random bytes, the same on every instance behind PublicURL; it is ignored
// when nonce is false. Replay and Now are the caller's to set: a nil Replay
// is dpop's in-memory store, a fleet needs a shared one (such as the
// module github.com/stepupauth/stepup/redisstore). Feed the result to
// dpop.New and the verifier, with p.DPoP.PublicURL, to httpmw.WithDPoP or
// grpcmw.WithDPoP.
//
// The error says the policy has no dpop block (check p.DPoP first), or
// wraps dpop.ErrConfig for a missing or short secret.
func (p *Policy) DPoPConfig(nonceSecret []byte) (dpop.Config, error) {
	if p.DPoP == nil {
		return dpop.Config{}, errNoDPoP
	}
	cfg := dpop.Config{Algorithms: clone(p.DPoP.Algorithms), MaxAge: p.DPoP.MaxAge}
	if p.DPoP.Nonce {
		n, err := dpop.NewNonces(nonceSecret, 0)
		if err != nil {
			return dpop.Config{}, fmt.Errorf("policy: dpop nonce: %w", err)
		}
		cfg.Nonces = n
	}
	return cfg, nil
}

// MTLSConfig returns the mtls.Config the mtls block describes, for
// mtls.New and then httpmw.WithClientCertificates or
// grpcmw.WithClientCertificates. Without a block it is the zero Config,
// which reads the TLS connection only (as the middleware does by default).
func (p *Policy) MTLSConfig() mtls.Config {
	if p.MTLS == nil {
		return mtls.Config{}
	}
	return mtls.Config{TrustedProxies: slices.Clone(p.MTLS.TrustedProxies)}
}
