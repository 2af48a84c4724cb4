// Command surface counts the exported API of the library packages: the
// figure issue 14 asks to keep small. It reads the non-test Go files of
// every package below the module root except examples, interop, bench,
// scripts and internal, and prints one line per package and a total.
//
//	go run ./scripts/surface
//
// A name counts once: each exported const, var, type, function and method
// of an exported type (the "names" column), and each exported struct field
// and interface method (the "fields" column).
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	counts := map[string][2]int{}
	skip := map[string]bool{"examples": true, "interop": true, "bench": true, "scripts": true, "internal": true, "testdata": true}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skip[d.Name()] || strings.HasPrefix(d.Name(), ".") && path != "." {
				return filepath.SkipDir
			}
			// A directory with a go.mod of its own is another module
			// (redisstore): counted apart, by running surface there.
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" {
			return nil
		}
		names, flds := count(f)
		c := counts[filepath.Dir(path)]
		counts[filepath.Dir(path)] = [2]int{c[0] + names, c[1] + flds}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "surface:", err)
		os.Exit(1)
	}
	pkgs := make([]string, 0, len(counts))
	for p := range counts {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	var names, flds int
	fmt.Printf("%-28s %6s %6s\n", "package", "names", "fields")
	for _, p := range pkgs {
		fmt.Printf("%-28s %6d %6d\n", p, counts[p][0], counts[p][1])
		names += counts[p][0]
		flds += counts[p][1]
	}
	fmt.Printf("%-28s %6d %6d  (%d packages, %d in all)\n", "total", names, flds, len(pkgs), names+flds)
}

func count(f *ast.File) (names, flds int) {
	n := 0
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() {
				continue
			}
			if d.Recv != nil && !exportedRecv(d.Recv.List[0].Type) {
				continue
			}
			n++
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.ValueSpec:
					for _, name := range s.Names {
						if name.IsExported() {
							n++
						}
					}
				case *ast.TypeSpec:
					if !s.Name.IsExported() {
						continue
					}
					n++
					switch t := s.Type.(type) {
					case *ast.StructType:
						flds += fields(t.Fields)
					case *ast.InterfaceType:
						flds += fields(t.Methods)
					}
				}
			}
		}
	}
	return n, flds
}

func fields(l *ast.FieldList) int {
	n := 0
	for _, f := range l.List {
		for _, name := range f.Names {
			if name.IsExported() {
				n++
			}
		}
	}
	return n
}

func exportedRecv(e ast.Expr) bool {
	for {
		switch t := e.(type) {
		case *ast.StarExpr:
			e = t.X
		case *ast.IndexExpr:
			e = t.X
		case *ast.IndexListExpr:
			e = t.X
		case *ast.Ident:
			return t.IsExported()
		default:
			return false
		}
	}
}
