package httpmw_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/httpmw"
)

func TestMetadataLocation(t *testing.T) {
	tests := []struct {
		resource, url, path string
	}{
		{"https://api.example.com", "https://api.example.com/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource"},
		{"https://api.example.com/", "https://api.example.com/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource"},
		{"https://api.example.com/v1", "https://api.example.com/.well-known/oauth-protected-resource/v1", "/.well-known/oauth-protected-resource/v1"},
		{"https://api.example.com/v1/", "https://api.example.com/.well-known/oauth-protected-resource/v1/", "/.well-known/oauth-protected-resource/v1/"},
		{"https://api.example.com:8443/a/b", "https://api.example.com:8443/.well-known/oauth-protected-resource/a/b", "/.well-known/oauth-protected-resource/a/b"},
		{"https://api.example.com/v1?tenant=x", "https://api.example.com/.well-known/oauth-protected-resource/v1?tenant=x", "/.well-known/oauth-protected-resource/v1"},
		{"https://api.example.com/a%2Fb", "https://api.example.com/.well-known/oauth-protected-resource/a%2Fb", "/.well-known/oauth-protected-resource/a%2Fb"},
		{"https://api.example.com/a%20b/c", "https://api.example.com/.well-known/oauth-protected-resource/a%20b/c", "/.well-known/oauth-protected-resource/a%20b/c"},
		{"http://127.0.0.1:8080/api", "http://127.0.0.1:8080/.well-known/oauth-protected-resource/api", "/.well-known/oauth-protected-resource/api"},
	}
	for _, tt := range tests {
		u, err := httpmw.MetadataURL(tt.resource)
		if err != nil || u != tt.url {
			t.Errorf("MetadataURL(%q): got %q, %v; want %q", tt.resource, u, err, tt.url)
		}
		p, err := httpmw.MetadataPath(tt.resource)
		if err != nil || p != tt.path {
			t.Errorf("MetadataPath(%q): got %q, %v; want %q", tt.resource, p, err, tt.path)
		}
	}
	for _, bad := range []string{"", "api.example.com", "/v1", "http://api.example.com/v1", "https://api.example.com/v1#frag", "https://user@api.example.com/", "ftp://api.example.com/", "https:///v1"} {
		if u, err := httpmw.MetadataURL(bad); err == nil {
			t.Errorf("MetadataURL(%q): got %q, want an error", bad, u)
		}
		if p, err := httpmw.MetadataPath(bad); err == nil {
			t.Errorf("MetadataPath(%q): got %q, want an error", bad, p)
		}
	}
}

// TestMetadataHandler serves the RFC 9728 document for a root resource and
// for one with a path, at their well-known paths.
func TestMetadataHandler(t *testing.T) {
	tests := []struct {
		name string
		m    httpmw.ResourceMetadata
		path string
		want string
	}{
		{
			name: "root resource",
			m: httpmw.ResourceMetadata{
				Resource:               "https://api.example.com",
				AuthorizationServers:   []string{"https://idp.example.com/"},
				ScopesSupported:        []string{"profile", "transfer"},
				BearerMethodsSupported: []string{"header"},
				ResourceName:           "Example API",
				ResourceDocumentation:  "https://docs.example.com/api",
			},
			path: "/.well-known/oauth-protected-resource",
			want: `{"resource":"https://api.example.com","authorization_servers":["https://idp.example.com/"],"scopes_supported":["profile","transfer"],"bearer_methods_supported":["header"],"resource_name":"Example API","resource_documentation":"https://docs.example.com/api"}`,
		},
		{
			name: "resource with a path",
			m: httpmw.ResourceMetadata{
				Resource:               "https://api.example.com/v1",
				AuthorizationServers:   []string{"https://idp.example.com/", "https://login.example.net"},
				BearerMethodsSupported: []string{"header", "body"},
			},
			path: "/.well-known/oauth-protected-resource/v1",
			want: `{"resource":"https://api.example.com/v1","authorization_servers":["https://idp.example.com/","https://login.example.net"],"bearer_methods_supported":["header","body"]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := httpmw.MetadataHandler(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			path, err := httpmw.MetadataPath(tt.m.Resource)
			if err != nil || path != tt.path {
				t.Fatalf("MetadataPath: got %q, %v; want %q", path, err, tt.path)
			}
			mux := http.NewServeMux()
			mux.Handle("GET "+path, h)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("GET", "https://api.example.com"+tt.path, nil))
			if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("got %d %q, want 200 application/json", rec.Code, rec.Header().Get("Content-Type"))
			}
			if got := rec.Body.String(); got != tt.want {
				t.Errorf("document:\n got %s\nwant %s", got, tt.want)
			}
			var doc map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			// RFC 9728 §3.3: resource identical to the identifier the
			// well-known URL was built from.
			u, _ := httpmw.MetadataURL(tt.m.Resource)
			if doc["resource"] != tt.m.Resource || !strings.HasSuffix(u, tt.path) {
				t.Errorf("resource %v and URL %q do not match %q", doc["resource"], u, tt.m.Resource)
			}
		})
	}

	h, err := httpmw.MetadataHandler(httpmw.ResourceMetadata{Resource: "https://api.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/.well-known/oauth-protected-resource", nil))
	if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: got %d Allow %q, want 405 Allow GET, HEAD", rec.Code, rec.Header().Get("Allow"))
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/.well-known/oauth-protected-resource", nil))
	if got, want := rec.Body.String(), `{"resource":"https://api.example.com"}`; got != want {
		t.Errorf("minimal document: got %s, want %s", got, want)
	}
}

func TestMetadataHandlerErrors(t *testing.T) {
	ok := httpmw.ResourceMetadata{Resource: "https://api.example.com"}
	tests := []struct {
		name string
		edit func(m *httpmw.ResourceMetadata)
	}{
		{"no resource", func(m *httpmw.ResourceMetadata) { m.Resource = "" }},
		{"http resource", func(m *httpmw.ResourceMetadata) { m.Resource = "http://api.example.com" }},
		{"resource with fragment", func(m *httpmw.ResourceMetadata) { m.Resource = "https://api.example.com/#x" }},
		{"relative server", func(m *httpmw.ResourceMetadata) { m.AuthorizationServers = []string{"idp.example.com"} }},
		{"server with query", func(m *httpmw.ResourceMetadata) { m.AuthorizationServers = []string{"https://idp.example.com/?x=1"} }},
		{"empty scope", func(m *httpmw.ResourceMetadata) { m.ScopesSupported = []string{""} }},
		{"scope with space", func(m *httpmw.ResourceMetadata) { m.ScopesSupported = []string{"a b"} }},
		{"query bearer method", func(m *httpmw.ResourceMetadata) { m.BearerMethodsSupported = []string{"query"} }},
		{"unknown bearer method", func(m *httpmw.ResourceMetadata) { m.BearerMethodsSupported = []string{"cookie"} }},
		{"relative documentation", func(m *httpmw.ResourceMetadata) { m.ResourceDocumentation = "/docs" }},
		{"javascript documentation", func(m *httpmw.ResourceMetadata) { m.ResourceDocumentation = "javascript://x/%0aalert(1)" }},
		{"javascript: documentation", func(m *httpmw.ResourceMetadata) { m.ResourceDocumentation = "javascript:alert(1)" }},
		{"data documentation", func(m *httpmw.ResourceMetadata) { m.ResourceDocumentation = "data:text/html,<script>x</script>" }},
		{"http documentation", func(m *httpmw.ResourceMetadata) { m.ResourceDocumentation = "http://docs.example.com/" }},
		{"documentation with fragment", func(m *httpmw.ResourceMetadata) { m.ResourceDocumentation = "https://docs.example.com/#x" }},
		{"http server", func(m *httpmw.ResourceMetadata) { m.AuthorizationServers = []string{"http://idp.example.com"} }},
		{"javascript server", func(m *httpmw.ResourceMetadata) { m.AuthorizationServers = []string{"javascript://idp.example.com"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ok
			tt.edit(&m)
			h, err := httpmw.MetadataHandler(m)
			if err == nil || h != nil {
				t.Fatalf("MetadataHandler: got %v, %v; want an error", h, err)
			}
			if !strings.HasPrefix(err.Error(), "httpmw: ") {
				t.Errorf("error %q lacks the httpmw: prefix", err)
			}
		})
	}
}

// TestMetadataServedAtMetadataURL mounts MetadataHandler at MetadataPath on a
// ServeMux and GETs MetadataURL, as a client that read resource_metadata
// does: both must name the same resource, escaped path included.
func TestMetadataServedAtMetadataURL(t *testing.T) {
	for _, resource := range []string{
		"http://127.0.0.1",
		"http://127.0.0.1/",
		"http://127.0.0.1/v1",
		"http://127.0.0.1/a/b",
		"http://127.0.0.1/a%2Fb",
		"http://127.0.0.1/a%20b/c%2Fd",
		"http://127.0.0.1/v1?tenant=x",
	} {
		t.Run(resource, func(t *testing.T) {
			h, err := httpmw.MetadataHandler(httpmw.ResourceMetadata{Resource: resource})
			if err != nil {
				t.Fatal(err)
			}
			path, err := httpmw.MetadataPath(resource)
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.Handle("GET "+path, h)
			mux.Handle("/", http.NotFoundHandler())
			u, err := httpmw.MetadataURL(resource)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s with the handler at %q: got status %d, want 200", u, path, rec.Code)
			}
			var doc httpmw.ResourceMetadata
			if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil || doc.Resource != resource {
				t.Errorf("GET %s: got resource %q (%v), want %q", u, doc.Resource, err, resource)
			}
		})
	}
}

// FuzzMetadataURL checks that MetadataURL and MetadataPath never panic,
// agree with each other, and give a URL that itself passes the checks of
// WithResourceMetadata, on the resource's scheme and host.
func FuzzMetadataURL(f *testing.F) {
	for _, s := range []string{
		"https://api.example.com", "https://api.example.com/", "https://api.example.com/v1?x=1",
		"https://api.example.com/a%2Fb", "http://127.0.0.1:8080/api", "https://api.example.com/%zz",
		"javascript:alert(1)", "https://api.example.com/#x", "https://[::1]/", "", "https://a/b/../c",
	} {
		f.Add(s)
	}
	v := newIssuer(f).verifier(f)
	f.Fuzz(func(t *testing.T, resource string) {
		u, uerr := httpmw.MetadataURL(resource)
		p, perr := httpmw.MetadataPath(resource)
		if (uerr == nil) != (perr == nil) {
			t.Fatalf("MetadataURL(%q) error %v but MetadataPath error %v", resource, uerr, perr)
		}
		if uerr != nil {
			if u != "" || p != "" {
				t.Fatalf("error with values %q, %q", u, p)
			}
			return
		}
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatalf("MetadataURL(%q) = %q, which does not parse: %v", resource, u, err)
		}
		if parsed.EscapedPath() != p {
			t.Fatalf("MetadataURL(%q) = %q has path %q, MetadataPath = %q", resource, u, parsed.EscapedPath(), p)
		}
		if !strings.HasPrefix(p, httpmw.WellKnownMetadata) {
			t.Fatalf("MetadataPath(%q) = %q lacks the well-known prefix", resource, p)
		}
		r, _ := url.Parse(resource)
		if parsed.Scheme != r.Scheme || parsed.Host != r.Host {
			t.Fatalf("MetadataURL(%q) = %q changed scheme or host", resource, u)
		}
		if _, err := httpmw.New(v, httpmw.WithResourceMetadata(u)); err != nil {
			t.Fatalf("MetadataURL(%q) = %q is refused by WithResourceMetadata: %v", resource, u, err)
		}
	})
}
