package jwks

import (
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/stepupauth/stepup/internal/testclock"
)

// Defaults of the Remote options, stated in the doc of each option.
const (
	defaultTimeout          = 10 * time.Second
	defaultMinRefresh       = 5 * time.Minute
	defaultMaxRefresh       = time.Hour
	defaultCooldown         = 30 * time.Second
	defaultStaleness        = 24 * time.Hour
	defaultNegativeCacheLen = 1024
	// maxBodySize caps a JWKS or discovery response body (1 MiB, see the
	// package documentation).
	maxBodySize = 1 << 20
)

// Observer receives events of a Remote for metrics and logs. Every field
// is optional. The functions are called synchronously from the fetching
// goroutine, before the lookups waiting for that fetch (and Refresh) resume,
// so they must be safe for concurrent use and return quickly. The package
// never logs by itself.
type Observer struct {
	// FetchDone is called after every JWKS fetch attempt, after the other
	// hooks for that fetch; err is nil on success. took is wall-clock time.
	FetchDone func(url string, took time.Duration, err error)
	// KeysChanged is called when a successful fetch changed the set; added
	// and removed list kids (a key whose material changed under the same
	// kid is in both).
	KeysChanged func(url string, added, removed []string)
	// KeyRejected is called for every key of a fetched set that was
	// skipped (see ParseKey), on every fetch that contains it.
	KeyRejected func(url, kid, reason string)
	// Stale is called once per outage, when a lookup first finds the last
	// good set older than the staleness bound; age is the time since the
	// last successful fetch (zero if none ever succeeded).
	Stale func(url string, age time.Duration)
}

// Option tunes a Remote (NewRemote, Discover). A zero duration or size
// given to an option means that option's default; a negative one is a
// configuration error.
type Option func(*options)

type options struct {
	client        *http.Client
	timeout       time.Duration
	minRefresh    time.Duration
	maxRefresh    time.Duration
	cooldown      time.Duration
	staleness     time.Duration
	negativeLen   int
	now           func() time.Time
	observer      Observer
	insecureHTTP  bool
	jitterPercent int64
	// jwksHosts is the WithJWKSHosts allow-list, normalised by
	// normHostPattern; nil when the option is not used. hostsErr is the
	// first entry that could not be normalised, reported by validate.
	jwksHosts    []string
	jwksHostsSet bool
	hostsErr     error
}

// applyOptions returns the options of NewRemote and Discover: the
// defaults, then opts in order, then the defaults again for every value an
// option left zero. A nil Option is an error.
func applyOptions(opts []Option) (options, error) {
	o := options{now: time.Now, jitterPercent: 10}
	for _, opt := range opts {
		if opt == nil {
			return o, errorf("nil option")
		}
		opt(&o)
	}
	zeroDefault(&o.timeout, defaultTimeout)
	zeroDefault(&o.minRefresh, defaultMinRefresh)
	zeroDefault(&o.maxRefresh, defaultMaxRefresh)
	zeroDefault(&o.cooldown, defaultCooldown)
	zeroDefault(&o.staleness, defaultStaleness)
	zeroDefault(&o.negativeLen, defaultNegativeCacheLen)
	return o, o.validate()
}

func zeroDefault[T time.Duration | int](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

func (o *options) validate() error {
	switch {
	case o.timeout < 0:
		return errorf("WithTimeout is negative; pass a positive duration, or leave the option out for the default of %v", defaultTimeout)
	case o.minRefresh < 0 || o.maxRefresh < 0:
		return errorf("WithRefreshBounds has a negative bound; pass positive durations, or zero for the defaults of %v and %v", defaultMinRefresh, defaultMaxRefresh)
	case o.maxRefresh < o.minRefresh:
		return errorf("WithRefreshBounds: min %v is above max %v; pass min <= max (a zero bound is the default: %v min, %v max)", o.minRefresh, o.maxRefresh, defaultMinRefresh, defaultMaxRefresh)
	case o.cooldown < 0:
		return errorf("WithCooldown is negative; pass a positive duration, or leave the option out for the default of %v", defaultCooldown)
	case o.staleness < 0:
		return errorf("WithStaleness is negative; pass a positive duration, or leave the option out for the default of %v", defaultStaleness)
	case o.staleness < o.maxRefresh:
		return errorf("WithStaleness %v is below the maximum refresh interval %v; pass at least that to WithStaleness, or a smaller max to WithRefreshBounds", o.staleness, o.maxRefresh)
	case o.negativeLen < 0:
		return errorf("WithNegativeCacheSize is negative; pass a positive size, or leave the option out for the default of %d", defaultNegativeCacheLen)
	case o.now == nil:
		return errorf("clock must not be nil")
	case o.hostsErr != nil:
		return o.hostsErr
	case o.jwksHostsSet && len(o.jwksHosts) == 0:
		return errorf("WithJWKSHosts needs at least one host: name the hosts JWKS may come from, or leave the option out for no restriction")
	}
	return nil
}

// WithHTTPClient sets the client used for fetches (default: a client on
// http.DefaultTransport). The client is copied and its CheckRedirect is
// replaced by this package's policy (same host only, at most 5 hops);
// per-fetch timeouts come from WithTimeout.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithTimeout bounds each fetch, and so the longest time a lookup waits for
// one (default 10s).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithRefreshBounds clamps the refresh interval taken from the JWKS
// response's Cache-Control max-age to [min, max] (defaults 5m and 1h; a
// zero bound keeps its default). Without max-age, max is used.
func WithRefreshBounds(min, max time.Duration) Option {
	return func(o *options) { o.minRefresh, o.maxRefresh = min, max }
}

// WithCooldown sets the minimum time between the start of one fetch and a
// fetch triggered by an unknown kid or a retry after a failure (default
// 30s). During the cooldown, misses fail fast. There is no way to turn it
// off: without it a flood of made-up kids would cause one fetch each.
func WithCooldown(d time.Duration) Option { return func(o *options) { o.cooldown = d } }

// WithStaleness sets how long after the last successful fetch the set is
// still served while fetches fail (default 24h). It must be at least the
// maximum refresh interval (see WithRefreshBounds).
func WithStaleness(d time.Duration) Option { return func(o *options) { o.staleness = d } }

// The clock of a key source is the wall clock; tests set another through
// package internal/testclock (the library's one user-set clock is the
// verifier's, verify.Config.Now).
func init() {
	testclock.JWKS = func(now func() time.Time) any {
		return Option(func(o *options) { o.now = now })
	}
}

// WithObserver installs event hooks.
func WithObserver(obs Observer) Option { return func(o *options) { o.observer = obs } }

// WithNegativeCacheSize bounds the cache of kids that stayed unknown after
// a refresh (default 1024 kids).
func WithNegativeCacheSize(n int) Option { return func(o *options) { o.negativeLen = n } }

// InsecureAllowHTTP allows plain http URLs for hosts other than
// loopback, for example an issuer on a private container network, and lets
// Discover accept an http jwks_uri from an https issuer (without it, the
// keys of an https issuer must come over https, even from a loopback
// address). Keys fetched over http can be replaced by anyone on the path:
// never use it across networks you do not control.
func InsecureAllowHTTP() Option { return func(o *options) { o.insecureHTTP = true } }

// WithJWKSHosts restricts the hosts keys may be fetched from: the URL given
// to NewRemote and the jwks_uri that Discover finds in an issuer's metadata
// must name one of hosts, else NewRemote or Discover fails with an error
// wrapping ErrHostNotAllowed (before any request to that host). It is meant
// for deployments whose issuers are configured by tenants, so that a
// tenant's metadata cannot point the key fetch at another tenant's or an
// internal host. The issuer's own metadata URL is not checked: the issuer
// is configuration.
//
// An entry is a host name or IP literal, compared case-insensitively,
// ignoring the port and one trailing dot ("idp.example.com", "10.0.0.7",
// "::1" or "[::1]"), or "*." and a domain, which matches every name below
// that domain but not the domain itself ("*.auth0.com" matches
// "tenant.auth0.com", not "auth0.com"). Entries with a scheme, port, path
// or other punctuation are configuration errors. Calling it with no host
// is a configuration error too; a later call replaces the list. The https
// rules (see NewRemote and Discover) apply as well. Default: no host
// restriction.
func WithJWKSHosts(hosts ...string) Option {
	return func(o *options) {
		o.jwksHostsSet, o.jwksHosts, o.hostsErr = true, nil, nil
		for _, h := range hosts {
			n, ok := normHostPattern(h)
			if !ok {
				o.hostsErr = errorf("WithJWKSHosts entry %q is not a host name, an IP literal or *.domain: write it as in \"idp.example.com\" or \"*.example.com\", without scheme, port or path", h)
				return
			}
			o.jwksHosts = append(o.jwksHosts, n)
		}
	}
}

// normHostPattern normalises a WithJWKSHosts entry: lower case, no
// trailing dot, IP literals in their canonical form without brackets.
func normHostPattern(h string) (string, bool) {
	if strings.HasPrefix(h, "*.") {
		n, ok := normName(h[2:])
		return "*." + n, ok
	}
	if ip, ok := parseIP(h); ok {
		return ip, true
	}
	return normName(h)
}

// parseIP returns the canonical form of an IP literal, with or without
// the brackets of a URL.
func parseIP(h string) (string, bool) {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	a, err := netip.ParseAddr(h)
	if err != nil || a.Zone() != "" {
		return "", false
	}
	return a.String(), true
}

// normName lower-cases a DNS name and drops one trailing dot. It accepts
// letters, digits, '-' and '_' in non-empty labels.
func normName(h string) (string, bool) {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "" || len(h) > 253 {
		return "", false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" {
			return "", false
		}
		for _, c := range label {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
				return "", false
			}
		}
	}
	return h, true
}

// hostAllowed reports whether host (a URL's Hostname) matches the
// WithJWKSHosts list; true when the option is not used.
func (o *options) hostAllowed(host string) bool {
	if !o.jwksHostsSet {
		return true
	}
	h, isIP := parseIP(host)
	if !isIP {
		var ok bool
		if h, ok = normName(host); !ok {
			return false
		}
	}
	for _, p := range o.jwksHosts {
		if p == h {
			return true
		}
		// A wildcard matches names only, never an IP literal.
		if d, wild := strings.CutPrefix(p, "*"); wild && !isIP && len(h) > len(d) && strings.HasSuffix(h, d) {
			return true
		}
	}
	return false
}
