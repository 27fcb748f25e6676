package aco

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestEngineHooksListed checks that engine.go lists the copy-stack
// engine's hooks exactly as engine_portable_only.go stubs them, in the same
// order: a hook stubbed and not listed (or listed and not stubbed) fails.
func TestEngineHooksListed(t *testing.T) {
	src, err := os.ReadFile("engine.go")
	require.NoError(t, err)
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^//   - ([^(]+) \(`).FindAllSubmatch(src, -1) {
		for _, n := range strings.Split(string(m[1]), ",") {
			listed = append(listed, strings.TrimSpace(n))
		}
	}
	f, err := parser.ParseFile(token.NewFileSet(), "engine_portable_only.go", nil, 0)
	require.NoError(t, err)
	var stubbed []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			stubbed = append(stubbed, d.Name.Name)
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					stubbed = append(stubbed, s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						stubbed = append(stubbed, n.Name)
					}
				}
			}
		}
	}
	require.NotEmpty(t, listed, "engine.go lists no hooks")
	require.Equal(t, listed, stubbed, "engine.go's list of hooks and engine_portable_only.go's stubs differ")
}
