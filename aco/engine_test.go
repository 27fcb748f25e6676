package aco

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

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
			if d.Name.Name != "init" { // an init is no hook
				stubbed = append(stubbed, d.Name.Name)
			}
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

// TestMoveEnvParsed: readMoveEnv takes "off" and byte counts, and panics on
// anything else, naming the variable and the value.
func TestMoveEnvParsed(t *testing.T) {
	oldT, oldA := moveThreshold, moveAfter
	defer func() { moveThreshold, moveAfter = oldT, oldA }()
	moveThreshold, moveAfter = MoveThreshold, 32
	readMoveEnv("")
	require.Equal(t, [2]uintptr{MoveThreshold, 32}, [2]uintptr{moveThreshold, moveAfter}, "empty: the default policy")
	require.False(t, movesOff())
	readMoveEnv("off")
	require.True(t, movesOff(), "off")
	readMoveEnv("300")
	require.Equal(t, [2]uintptr{300, 1}, [2]uintptr{moveThreshold, moveAfter}, "a byte count moves at the first yield above it")
	require.False(t, movesOff())
	readMoveEnv("0")
	require.Equal(t, [2]uintptr{0, 1}, [2]uintptr{moveThreshold, moveAfter})
	for _, bad := range []string{"Off", "-1", "512b", " 512", "1073741824", "99999999999999999999"} {
		require.PanicsWithValue(t, `aco: ACO_MOVE_THRESHOLD="`+bad+`": want a byte count below 2^30 or off`,
			func() { readMoveEnv(bad) }, "%q", bad)
	}
}

// TestMoveEnvReadAtInit: the package reads ACO_MOVE_THRESHOLD at init, on
// every engine (a child process prints the policy it got), and a program
// started with a misspelt value stops at init with the package's panic.
func TestMoveEnvReadAtInit(t *testing.T) {
	if os.Getenv(moveEnvChild) != "" {
		fmt.Printf("policy: %d %d\n", moveThreshold, moveAfter)
		return
	}
	for _, c := range []struct{ v, want string }{
		{"off", fmt.Sprintf("policy: %d %d", moveOff, moveOff)},
		{"200", "policy: 200 1"},
		{"of", `panic: aco: ACO_MOVE_THRESHOLD="of": want a byte count below 2^30 or off`},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := childCommand(ctx, os.Args[0], "-test.run=^TestMoveEnvReadAtInit$", "-test.count=1")
		cmd.Env = append(os.Environ(), moveEnvChild+"=1", "ACO_MOVE_THRESHOLD="+c.v)
		out, err := cmd.CombinedOutput()
		cancel()
		require.Contains(t, string(out), c.want, "ACO_MOVE_THRESHOLD=%s", c.v)
		require.Equal(t, c.v == "of", err != nil, "ACO_MOVE_THRESHOLD=%s: the child's error: %v", c.v, err)
	}
}

const moveEnvChild = "ACO_MOVE_ENV_CHILD"
