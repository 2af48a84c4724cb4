package introspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/stepupauth/stepup/internal/loopback"
)

// maxMetadataSize caps an authorization server metadata document.
const maxMetadataSize = 1 << 20

// ErrIssuerMismatch is wrapped by the error of Discover when a metadata
// document names another issuer than the one asked for (RFC 8414 §3.3).
var ErrIssuerMismatch = errors.New("introspect: metadata issuer mismatch")

// Discover reads the introspection_endpoint of issuer from its metadata and
// returns New(cfg) with Endpoint set to it. It tries RFC 8414 §3.1 first
// (/.well-known/oauth-authorization-server inserted between host and path
// of the issuer), and OpenID Connect Discovery 1.0 §4 (issuer +
// /.well-known/openid-configuration) when that document cannot be had.
//
// The document's issuer must equal issuer exactly (RFC 8414 §3.3), else
// the error wraps ErrIssuerMismatch and nothing else is tried. issuer must
// be https (plain http only on a loopback IP literal), and so must the
// introspection_endpoint of an https issuer. cfg.Endpoint must be empty;
// an empty cfg.Issuer is set to issuer (so that the responses' iss is
// checked against it), another one is a configuration error. The metadata
// is fetched with cfg.HTTPClient (redirects refused) and cfg.Timeout per
// request; ctx bounds the whole call.
//
// With cfg.SignedResponses, cfg.Keys must be set: Discover does not build
// a key source from the metadata's jwks_uri, because the Client has no
// Close to stop one with. Pass the issuer's keys, for example a
// jwks.Discover(ctx, issuer), which the caller closes.
func Discover(ctx context.Context, issuer string, cfg Config) (*Client, error) {
	if cfg.Endpoint != "" {
		return nil, configErr("Discover sets Endpoint; leave it empty or call New")
	}
	switch cfg.Issuer {
	case "":
		cfg.Issuer = issuer
	case issuer:
	default:
		return nil, configErr("Issuer %q differs from the discovered issuer %q", cfg.Issuer, issuer)
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		!(strings.EqualFold(u.Scheme, "https") || strings.EqualFold(u.Scheme, "http") && loopback.Is(u.Hostname())) {
		return nil, configErr("issuer %q must be an https URL without query, fragment or user info (http only on a loopback IP literal)", issuer)
	}
	// A temporary Client only for its checked settings (timeout, HTTP
	// client); the endpoint is not known yet.
	probe := cfg
	probe.Endpoint = "https://metadata.invalid/"
	s, err := probe.check()
	if err != nil {
		return nil, err
	}

	endpoint, err := metadata(ctx, s, issuer, oauthURL(u))
	if err != nil && !errors.Is(err, ErrIssuerMismatch) {
		var err2 error
		if endpoint, err2 = metadata(ctx, s, issuer, oidcURL(issuer)); err2 != nil {
			err = fmt.Errorf("%w; %w", err, err2)
		} else {
			err = nil
		}
	}
	if err != nil {
		return nil, err
	}
	if e, _ := url.Parse(endpoint); strings.EqualFold(u.Scheme, "https") && (e == nil || !strings.EqualFold(e.Scheme, "https")) {
		return nil, fmt.Errorf("introspect: discovery: the https issuer %q names the introspection_endpoint %q, which is not https", issuer, endpoint)
	}
	cfg.Endpoint = endpoint
	return New(cfg)
}

// oauthURL inserts the RFC 8414 well-known path before the issuer's path.
func oauthURL(issuer *url.URL) string {
	u := *issuer
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	u.RawPath = ""
	u.Path = "/.well-known/oauth-authorization-server"
	return u.String() + p
}

// oidcURL appends the OIDC well-known path (OIDC Discovery §4).
func oidcURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// metadata fetches one metadata document and returns its
// introspection_endpoint.
func metadata(ctx context.Context, s *settings, issuer, docURL string) (string, error) {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("introspect: discovery: %s: "+format, append([]any{docURL}, args...)...)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return "", fail("%w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return "", fail("%w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fail("status %d", resp.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", fail("not application/json")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize+1))
	if err != nil {
		return "", fail("%w", err)
	}
	if len(body) > maxMetadataSize {
		return "", fail("larger than %d bytes", maxMetadataSize)
	}
	var doc struct {
		Issuer   *string `json:"issuer"`
		Endpoint *string `json:"introspection_endpoint"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fail("malformed metadata: %w", err)
	}
	if doc.Issuer == nil || *doc.Issuer != issuer {
		got := "none"
		if doc.Issuer != nil {
			got = fmt.Sprintf("%q", *doc.Issuer)
		}
		return "", fail("%w: got %s, want %q", ErrIssuerMismatch, got, issuer)
	}
	if doc.Endpoint == nil || *doc.Endpoint == "" {
		return "", fail("no introspection_endpoint")
	}
	return *doc.Endpoint, nil
}
