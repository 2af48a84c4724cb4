package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepupauth/stepup/policy"
)

// FuzzParse feeds arbitrary documents to Parse and to each parser: it must
// never panic, return either a policy whose rules all validate or an
// *Error, never both.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata", filepath.Join("..", "examples", "policies")} {
		files, err := filepath.Glob(filepath.Join(dir, "*"))
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			if fi, err := os.Stat(name); err != nil || fi.IsDir() {
				continue
			}
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	for _, s := range []string{
		"",
		"{}",
		"[]",
		"null",
		head + "rules: [{http: /a}]\n",
		head + "rules: &r [*r]\n",
		head + "rules:\n  - <<: {http: /a}\n",
		head + "rules: [{http: \"GET /{x}\", grpc: /S/*, amr_any: [hwk], acr_values: [a]}]\n",
		`{"issuer":"https://a/","audience":"a","rules":[{"http":"/a","public":true}]}`,
		`{"issuer":"https://a/","audience":"a","rules":[{"http":"/a"},{"http":"/a"}]}`,
		"a: &a [*a, *a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n",
		"--- !!binary aGVsbG8=\n",
		"{\"a\":" + strings.Repeat("[", 100),
		head + "rules: [{http: GET /admin/}, {http: \"GET /admin/{x}\", public: true}]\n",
		head + "rules: [{http: \"/{p...}\"}, {http: \"GET h.example/a/{$}\", public: true, overrides_protected: true}]\n",
		head + "rules: [{grpc: /S/*}, {grpc: /S/M, public: !!bool yes}]\n",
		`{"issuer":"https://a/","audience":"a","rules":[{"http":"/\ud800","public":true}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for format, parse := range map[string]func([]byte) (*policy.Policy, error){
			"detected": policy.Parse, "yaml": policy.ParseYAML, "json": policy.ParseJSON,
		} {
			p, err := parse(data)
			if err != nil {
				var e *policy.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: error %T is not a *policy.Error: %v", format, err, err)
				}
				if p != nil {
					t.Fatalf("%s: both a policy and an error", format)
				}
				if !strings.HasPrefix(err.Error(), "policy: ") {
					t.Fatalf("%s: error %q lacks the package prefix", format, err)
				}
				continue
			}
			if p.Issuer == "" || p.Audience == "" || len(p.Rules) == 0 {
				t.Fatalf("%s: accepted an incomplete policy %+v", format, p)
			}
			for _, r := range p.Rules {
				if r.HTTP == "" && r.GRPC == "" {
					t.Fatalf("%s: rules[%d] has no route", format, r.Index)
				}
				if err := r.Requirement.Validate(); err != nil {
					t.Fatalf("%s: rules[%d]: %v", format, r.Index, err)
				}
			}
		}
	})
}
