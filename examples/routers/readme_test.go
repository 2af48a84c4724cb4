package routers

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEQuotesRecipes: the README's router recipes are the code the
// tests run, byte for byte: the text between a file's "// recipe:" and
// "// end recipe" markers is a Go code block of the README.
func TestREADMEQuotesRecipes(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"chi.go", "gorillamux.go", "echo.go", "gin.go"} {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s := string(src)
		start := strings.Index(s, "// recipe: ")
		end := strings.Index(s, "\n// end recipe")
		if start < 0 || end < start {
			t.Fatalf("%s: no recipe markers", file)
		}
		body := s[start:end]
		body = strings.TrimLeft(body[strings.Index(body, "\n"):], "\n")
		block := "```go\n" + strings.TrimRight(body, "\n") + "\n```\n"
		if !strings.Contains(string(readme), block) {
			t.Errorf("README.md does not quote the recipe of %s as it is; the block should be:\n%s", file, block)
		}
	}
}
