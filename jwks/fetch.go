package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stepupauth/stepup/internal/loopback"
)

const maxRedirects = 5

// Media types accepted for a JWKS (RFC 7517 §8.5) and a discovery document.
var (
	jwksTypes      = []string{"application/json", "application/jwk-set+json"}
	discoveryTypes = []string{"application/json"}
)

var (
	errRedirectHost  = errors.New("redirect to another host refused")
	errTooManyHops   = errors.New("too many redirects")
	errBodyTooLarge  = errors.New("body larger than 1 MiB")
	errContentType   = errors.New("unacceptable content type")
	errInsecureURL   = errors.New("url must be https (http only for loopback ip literals)")
	errMalformedURL  = errors.New("malformed url")
	errUnexpectedRes = errors.New("unexpected status")
)

// checkURL enforces https, except for loopback IP literals (127.0.0.0/8,
// ::1) or when insecureHTTP is set.
//
// The name "localhost" is not trusted for plain http: like RFC 8252 §8.3
// advises for native-app redirect URIs, only loopback IP literals are,
// because a name goes through the hosts file and DNS (search domains
// included) and may resolve to a non-loopback interface, where keys
// fetched over http could be replaced. Write http://127.0.0.1:port or
// http://[::1]:port instead.
func checkURL(u *url.URL, insecureHTTP bool) error {
	if u.Host == "" || u.Opaque != "" {
		return errMalformedURL
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if insecureHTTP || loopback.Is(u.Hostname()) {
			return nil
		}
	}
	return errInsecureURL
}

// isLoopback reports whether host is a loopback IP literal.

func parseURL(raw string, insecureHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errorf("%w: %q", errMalformedURL, raw)
	}
	if err := checkURL(u, insecureHTTP); err != nil {
		return nil, errorf("%w: %q", err, raw)
	}
	return u, nil
}

// jwksURL parses the URL of a JWKS and applies the https rule of
// parseURL and the WithJWKSHosts list.
func (o *options) jwksURL(raw string) (*url.URL, error) {
	u, err := parseURL(raw, o.insecureHTTP)
	if err != nil {
		return nil, err
	}
	if !o.hostAllowed(u.Hostname()) {
		return nil, fmt.Errorf("%w: %q in %q; add the host to WithJWKSHosts if its keys are trusted", ErrHostNotAllowed, u.Hostname(), raw)
	}
	return u, nil
}

// fetcher performs bounded GETs. It is safe for concurrent use.
type fetcher struct {
	client  *http.Client
	timeout time.Duration
}

func newFetcher(o *options) *fetcher {
	c := &http.Client{}
	if o.client != nil {
		cp := *o.client
		c = &cp
	}
	insecure := o.insecureHTTP
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return errTooManyHops
		}
		if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
			return errRedirectHost
		}
		return checkURL(req.URL, insecure)
	}
	return &fetcher{client: c, timeout: o.timeout}
}

// get fetches rawURL and returns the body and headers of a 200 response
// whose media type is one of types and whose body is at most maxBodySize.
// Every error is a *FetchError.
func (f *fetcher) get(ctx context.Context, rawURL string, types []string) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	fail := func(status int, err error) ([]byte, http.Header, error) {
		return nil, nil, &FetchError{URL: rawURL, StatusCode: status, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fail(0, err)
	}
	req.Header.Set("Accept", strings.Join(types, ", "))
	resp, err := f.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is already in FetchError
		}
		return fail(0, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail(resp.StatusCode, errorf("%w %d", errUnexpectedRes, resp.StatusCode))
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(types, strings.ToLower(mt)) {
		return fail(0, errorf("%w %q", errContentType, resp.Header.Get("Content-Type")))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodySize+1))
	if err != nil {
		return fail(0, err)
	}
	if len(body) > maxBodySize {
		return fail(0, errBodyTooLarge)
	}
	return body, resp.Header, nil
}

// maxAge returns the freshness lifetime of a response from its
// Cache-Control max-age minus Age (RFC 9111 §4.2), ok=false without one.
// no-store and no-cache give a zero lifetime.
func maxAge(h http.Header) (time.Duration, bool) {
	var (
		age   time.Duration
		found bool
	)
	for _, line := range h.Values("Cache-Control") {
		for _, dir := range strings.Split(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0, true
			case "max-age":
				n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
				if err != nil || n < 0 {
					continue
				}
				if n > int64(365*24*time.Hour/time.Second) {
					n = int64(365 * 24 * time.Hour / time.Second)
				}
				age, found = time.Duration(n)*time.Second, true
			}
		}
	}
	if !found {
		return 0, false
	}
	if a, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && a > 0 {
		age -= time.Duration(min(a, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	return max(age, 0), true
}
