package handlers_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wsgw/wsgw"
	"github.com/wsgw/wsgw/docs"
	"github.com/wsgw/wsgw/internal/httperr"
)

// TestErrorTypesDocumented collects every error type the code can emit and
// compares it with the enum of docs/openapi.yaml. Error types are the
// wsgw.E* constants of error.go; the code may only emit those: an error
// built with a string literal as its code (wsgw.Errorf("...", …),
// httperr.Body{Type: "..."}) fails here, so a new type cannot bypass the
// list.
func TestErrorTypesDocumented(t *testing.T) {
	fset := token.NewFileSet()
	consts := map[string]string{} // value -> name
	var literal []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != ".." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		root := f.Name.Name == "wsgw" && filepath.Dir(path) == ".."
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if root && strings.HasPrefix(name.Name, "E") && i < len(n.Values) {
						if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							v, _ := strconv.Unquote(lit.Value)
							consts[v] = name.Name
						}
					}
				}
			case *ast.CallExpr:
				if isWsgw(n.Fun, "Errorf", root) && len(n.Args) > 0 {
					if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						literal = append(literal, fset.Position(lit.Pos()).String()+": Errorf("+lit.Value)
					}
				}
			case *ast.CompositeLit:
				if isBody(n.Type, f.Name.Name == "httperr") {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok && kv.Key.(*ast.Ident).Name == "Type" {
							if lit, ok := kv.Value.(*ast.BasicLit); ok {
								literal = append(literal, fset.Position(lit.Pos()).String()+": Body{Type: "+lit.Value)
							}
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range literal {
		t.Errorf("%s: an error type must be one of the wsgw.E* constants", l)
	}
	var emitted []string
	for v, name := range consts {
		emitted = append(emitted, v)
		if status := httperr.Status(wsgw.Errorf(v, "x")); status == 500 && v != wsgw.EInternal {
			t.Errorf("wsgw.%s (%s) has no HTTP status in internal/httperr", name, v)
		}
	}
	if len(emitted) < 8 {
		t.Fatalf("found only the error types %v in error.go", emitted)
	}

	documented, err := docs.ErrorTypes()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(emitted)
	slices.Sort(documented)
	if !slices.Equal(emitted, documented) {
		t.Fatalf("the code emits the error types\n  %v\nbut docs/openapi.yaml's Error.type enum lists\n  %v", emitted, documented)
	}
}

// isWsgw reports whether e names wsgw's name: wsgw.name, or name itself in
// package wsgw.
func isWsgw(e ast.Expr, name string, inWsgw bool) bool {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		return ok && x.Name == "wsgw" && e.Sel.Name == name
	case *ast.Ident:
		return inWsgw && e.Name == name
	}
	return false
}

// isBody reports whether e names internal/httperr's Body: httperr.Body, or
// Body itself in package httperr.
func isBody(e ast.Expr, inHTTPErr bool) bool {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		return ok && x.Name == "httperr" && e.Sel.Name == "Body"
	case *ast.Ident:
		return inHTTPErr && e.Name == "Body"
	}
	return false
}
