package dpop

import "testing"

func TestNormalizeURI(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		strip    bool
	}{
		{in: "https://example.com/a", want: "https://example.com/a"},
		{in: "HTTPS://Example.COM:443/a", want: "https://example.com/a"},
		{in: "http://example.com:80/a", want: "http://example.com/a"},
		{in: "http://example.com:443/a", want: "http://example.com:443/a"},
		{in: "https://example.com:8443/a", want: "https://example.com:8443/a"},
		{in: "https://example.com:08443/a", want: "https://example.com:8443/a"},
		{in: "https://example.com:/a", want: "https://example.com/a"},
		{in: "https://example.com", want: "https://example.com/"},
		{in: "https://example.com:443", want: "https://example.com/"},
		{in: "https://example.com/%7euser/%41", want: "https://example.com/~user/A"},
		{in: "https://example.com/a%2fb", want: "https://example.com/a%2Fb"},
		{in: "https://example.com/a%2Fb", want: "https://example.com/a%2Fb"},
		{in: "https://example.com/A", want: "https://example.com/A"},
		{in: "https://example.com/a/./b/../c", want: "https://example.com/a/c"},
		{in: "https://example.com/a/%2E%2E/c", want: "https://example.com/c"},
		{in: "https://example.com/../../a", want: "https://example.com/a"},
		{in: "https://example.com/a/", want: "https://example.com/a/"},
		{in: "https://[2001:DB8::1]:443/a", want: "https://[2001:db8::1]/a"},
		{in: "https://[2001:db8::1]:8443/a", want: "https://[2001:db8::1]:8443/a"},
		{in: "https://ex%41mple.com/", want: "https://example.com/"},
		{in: "https://example.com/a?q=1#f", want: "https://example.com/a", strip: true},
		{in: "https://example.com?q", want: "https://example.com/", strip: true},
		{in: "https://example.com/a#f", want: "https://example.com/a", strip: true},
	} {
		got, ok := normalizeURI(tt.in, tt.strip)
		if !ok || got != tt.want {
			t.Errorf("normalizeURI(%q, %v) = %q, %v; want %q", tt.in, tt.strip, got, ok, tt.want)
		}
	}
	for _, in := range []string{
		"", "/a", "example.com/a", "//example.com/a", "ftp://example.com/a", "https:/example.com",
		"https://example.com/a?q=1", "https://example.com/a?", "https://example.com/a#", "https://example.com/a#f",
		"https://user@example.com/a", "https://user:pw@example.com/a", "https://:443/a", "https:///a",
		"https://example.com:99999/a", "https://example.com:+443/a", "https://example.com:4a/a",
		"https://example.com/a b", "https://example.com/a\x00", "https://example.com/\xff", "https://example.com/%", "https://example.com/%4",
		"https://example.com/%zz", "https://[2001:db8::1/a", "https://[::1]x/a", "https://a:b:c/", "https://ex[ample.com/",
		"https://example.com/\\a",
	} {
		if got, ok := normalizeURI(in, false); ok {
			t.Errorf("normalizeURI(%q) = %q, want refused", in, got)
		}
	}
}

func TestRemoveDotSegments(t *testing.T) {
	// RFC 3986 §5.2.4 and §5.4 examples, on absolute paths.
	for in, want := range map[string]string{
		"/a/b/c/./../../g":     "/a/g",
		"/./a":                 "/a",
		"/a/.":                 "/a/",
		"/a/..":                "/",
		"/a/b/..":              "/a/",
		"/..":                  "/",
		"/a/b/c/../../../../g": "/g",
		"/a/.b/..c/g.":         "/a/.b/..c/g.",
		"":                     "",
		"/":                    "/",
	} {
		if got := removeDotSegments(in); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeURI(f *testing.F) {
	for _, s := range []string{"https://example.com/a", "HTTPS://Example.COM:443/a/../b?q#f", "http://[::1]:80/%7e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := normalizeURI(s, true)
		if !ok {
			return
		}
		// The normal form is its own normal form.
		n2, ok := normalizeURI(n, false)
		if !ok || n2 != n {
			t.Fatalf("normalizeURI(%q) = %q, whose normal form is %q, %v", s, n, n2, ok)
		}
	})
}
