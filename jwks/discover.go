package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Discover finds the JWKS of issuer through its metadata and returns a warm
// Remote bound to that issuer. It tries OpenID Connect Discovery 1.0 §4
// (issuer + "/.well-known/openid-configuration", a trailing slash of the
// issuer removed first) and, if that document cannot be had, RFC 8414 §3.1
// (/.well-known/oauth-authorization-server inserted between host and
// path). The document's issuer must equal issuer exactly, else the error
// wraps ErrIssuerMismatch and no fallback is tried. Its jwks_uri must be
// https: an https issuer naming an http jwks_uri is an error wrapping
// ErrDowngrade, even for a loopback address, unless InsecureAllowHTTP
// is set; an http issuer (a loopback IP literal, or with
// InsecureAllowHTTP) may name an http jwks_uri on a loopback IP
// literal. With WithJWKSHosts, the jwks_uri's host must be in the list,
// else the error wraps ErrHostNotAllowed. Errors about the document are
// *FetchError values naming its URL. Discover then fetches the JWKS and
// fails if that fetch fails: it fails fast instead of starting empty.
// ctx bounds the whole call; each request is also bounded by WithTimeout.
func Discover(ctx context.Context, issuer string, opts ...Option) (*Remote, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	u, err := parseURL(issuer, o.insecureHTTP)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errorf("issuer must not have query, fragment or user info: %q", issuer)
	}
	f := newFetcher(&o)

	jwksURI, err := discover(ctx, f, u, issuer, oidcURL(issuer), &o)
	if err != nil && !errors.Is(err, ErrIssuerMismatch) {
		var err2 error
		jwksURI, err2 = discover(ctx, f, u, issuer, oauthURL(u), &o)
		if err2 != nil {
			// One line, for logs; both stay reachable with errors.Is
			// and errors.As.
			err = fmt.Errorf("%w; %w", err, err2)
		} else {
			err = nil
		}
	}
	if err != nil {
		return nil, err
	}
	r, err := newRemote(jwksURI, issuer, o)
	if err != nil {
		return nil, err
	}
	if err := r.Refresh(ctx); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// oidcURL appends the OIDC well-known path (OIDC Discovery §4).
func oidcURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// oauthURL inserts the RFC 8414 well-known path before the issuer's path.
func oauthURL(issuer *url.URL) string {
	u := *issuer
	p := strings.TrimSuffix(u.EscapedPath(), "/")
	u.RawPath = ""
	u.Path = "/.well-known/oauth-authorization-server"
	s := u.String()
	return s + p
}

// discover fetches one metadata document and returns its jwks_uri.
func discover(ctx context.Context, f *fetcher, issuerURL *url.URL, issuer, docURL string, o *options) (string, error) {
	body, _, err := f.get(ctx, docURL, discoveryTypes)
	if err != nil {
		return "", err
	}
	var doc struct {
		Issuer  *string `json:"issuer"`
		JWKSURI *string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", &FetchError{URL: docURL, Err: errorf("malformed metadata document: %w", err)}
	}
	if doc.Issuer == nil || *doc.Issuer != issuer {
		got := ""
		if doc.Issuer != nil {
			got = *doc.Issuer
		}
		return "", &FetchError{URL: docURL, Err: errorf("%w: got %q, want %q", ErrIssuerMismatch, got, issuer)}
	}
	if doc.JWKSURI == nil || *doc.JWKSURI == "" {
		return "", &FetchError{URL: docURL, Err: errorf("metadata document has no jwks_uri")}
	}
	ju, err := o.jwksURL(*doc.JWKSURI)
	if err != nil {
		return "", &FetchError{URL: docURL, Err: err}
	}
	// An https issuer's keys come over https: the loopback exception of
	// parseURL is for issuers that are themselves on plain http (tests).
	if strings.EqualFold(issuerURL.Scheme, "https") && !strings.EqualFold(ju.Scheme, "https") && !o.insecureHTTP {
		return "", &FetchError{URL: docURL, Err: fmt.Errorf("%w: %q; publish an https jwks_uri, or pass InsecureAllowHTTP to accept keys over http", ErrDowngrade, *doc.JWKSURI)}
	}
	return *doc.JWKSURI, nil
}
