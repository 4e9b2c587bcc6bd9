package sim

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// driverFile is the one file of the package allowed to read the wall clock
// and start goroutines (doc.go, "1. Engine").
const driverFile = "sweep.go"

// TestDeterministicCore holds doc.go to its word: outside sweep.go no file
// of the package starts a goroutine, reads the wall clock or waits on it,
// or imports a package that shares memory between goroutines.
func TestDeterministicCore(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	clock := map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
		"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if name == driverFile || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "sync" || p == "sync/atomic" || p == "os" || p == "net" {
				t.Errorf("%s imports %s: only %s may", name, p, driverFile)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: a go statement: only %s may start goroutines", fset.Position(n.Pos()), driverFile)
			case *ast.SelectorExpr:
				if id, ok := n.X.(*ast.Ident); ok && id.Name == "time" && clock[n.Sel.Name] {
					t.Errorf("%s: time.%s reads the wall clock: only %s may", fset.Position(n.Pos()), n.Sel.Name, driverFile)
				}
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("checked %d files: is the test running in the package directory?", checked)
	}
}
