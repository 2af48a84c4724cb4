package httpmw

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/stepupauth/stepup/internal/answer"
	"github.com/stepupauth/stepup/internal/grammar"
)

// WellKnownMetadata is the well-known URI suffix of protected resource
// metadata (RFC 9728 §3).
const WellKnownMetadata = "/.well-known/oauth-protected-resource"

// ResourceMetadata is the protected resource metadata document of RFC 9728
// §2, served by MetadataHandler.
type ResourceMetadata struct {
	// Resource is the resource identifier: an https URL without a fragment
	// (RFC 9728 §1.2), the same one the well-known URL is built from
	// (§3.3). Required.
	Resource string `json:"resource"`
	// AuthorizationServers are the issuer identifiers of the authorization
	// servers whose tokens the resource accepts.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// ScopesSupported are the scope values the resource uses.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported: "header", and "body" when the guard has
	// WithFormToken. "query" is refused: this package never reads tokens
	// from the query string.
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	// ResourceName is a human-readable name of the resource.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is the URL of human-readable documentation: an
	// https URL (http only for a loopback host) without a fragment, like
	// every URL member of the document; other schemes (javascript:, data:)
	// are refused.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
}

// MetadataHandler returns a handler that serves m as application/json to GET
// and HEAD requests (405 to other methods). Mount it at the path MetadataPath
// returns for m.Resource. It reports an error when m breaks RFC 9728: a
// missing or non-https Resource (http is accepted for loopback hosts, for
// tests), an authorization server that is not an https URL without query and
// fragment, an empty or ill-formed scope, an unknown or query bearer method,
// or a documentation URL that is not https (http for loopback) or has a
// fragment.
//
// The handler is safe for concurrent use.
func MetadataHandler(m ResourceMetadata) (http.Handler, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	doc, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("httpmw: metadata: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}), nil
}

func (m ResourceMetadata) validate() error {
	if m.Resource == "" {
		return errors.New("httpmw: metadata: resource is required")
	}
	if err := answer.CheckURL(m.Resource, true); err != nil {
		return fmt.Errorf("httpmw: metadata: resource: %w", err)
	}
	for _, as := range m.AuthorizationServers {
		if err := answer.CheckURL(as, false); err != nil {
			return fmt.Errorf("httpmw: metadata: authorization server %q: %w", as, err)
		}
	}
	for _, s := range m.ScopesSupported {
		if !grammar.ScopeToken(s) {
			return fmt.Errorf("httpmw: metadata: invalid scope %q", s)
		}
	}
	for _, b := range m.BearerMethodsSupported {
		if b != "header" && b != "body" {
			return fmt.Errorf("httpmw: metadata: unsupported bearer method %q (want header or body)", b)
		}
	}
	if d := m.ResourceDocumentation; d != "" {
		if err := answer.CheckURL(d, true); err != nil {
			return fmt.Errorf("httpmw: metadata: resource documentation %q: %w", d, err)
		}
	}
	return nil
}

// MetadataURL returns the URL of the metadata document of the protected
// resource identified by resource, by RFC 9728 §3.1: the well-known suffix is
// inserted between the host and the path (and query) of the resource, a
// terminating slash after the host being dropped first.
//
//	https://api.example.com     -> https://api.example.com/.well-known/oauth-protected-resource
//	https://api.example.com/v1  -> https://api.example.com/.well-known/oauth-protected-resource/v1
//
// Use it as WithResourceMetadata's argument. resource must be an https URL
// (http for a loopback host) without a fragment.
func MetadataURL(resource string) (string, error) {
	u, err := metadataLocation(resource)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// MetadataPath returns the path part of MetadataURL(resource), escaped
// exactly as in that URL, the path to mount MetadataHandler at: for example
// "/.well-known/oauth-protected-resource/v1" for https://api.example.com/v1,
// and "/.well-known/oauth-protected-resource/a%2Fb" for
// https://api.example.com/a%2Fb. A net/http ServeMux matches patterns
// against the escaped path of a request, so the handler mounted there
// answers the GET of MetadataURL(resource).
func MetadataPath(resource string) (string, error) {
	u, err := metadataLocation(resource)
	if err != nil {
		return "", err
	}
	return u.EscapedPath(), nil
}

func metadataLocation(resource string) (*url.URL, error) {
	if err := answer.CheckURL(resource, true); err != nil {
		return nil, fmt.Errorf("httpmw: resource %q: %w", resource, err)
	}
	u, _ := url.Parse(resource) // checked above
	p := u.EscapedPath()
	if p == "/" {
		p = ""
	}
	path := WellKnownMetadata + p
	loc := &url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: u.RawQuery}
	if err := setPath(loc, path); err != nil {
		return nil, fmt.Errorf("httpmw: resource %q: %w", resource, err)
	}
	return loc, nil
}

// setPath sets u's path from an escaped path, keeping its escaping.
func setPath(u *url.URL, escaped string) error {
	unescaped, err := url.PathUnescape(escaped)
	if err != nil {
		return err
	}
	u.Path = unescaped
	if strings.Contains(escaped, "%") {
		u.RawPath = escaped
	}
	return nil
}
