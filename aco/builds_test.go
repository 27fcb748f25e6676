package aco

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Other builds of the package: a profile-guided build that inlines Yield's
// caller, and the key tests in a build without optimizations (-N -l).

// pgoCounter is what pgoYieldBody reports.
type pgoCounter struct {
	before, after int
	done          bool
}

// pgoYieldBody is the co function of TestYieldInlinedByPGO, whose
// co.Yield() call the profile written by that test marks hot.
func pgoYieldBody(co *Co) {
	c := co.Arg().(*pgoCounter)
	for i := 0; i < 5; i++ {
		c.before++
		co.Yield()
		c.after++
	}
	c.done = true
}

// pgoChildEnv makes TestYieldInlinedByPGO run its check (in the binary it
// built with the profile).
const pgoChildEnv = "ACO_TEST_PGO_CHILD"

// TestYieldInlinedByPGO builds this test binary with profile-guided
// optimization and a profile in which the co.Yield() call of pgoYieldBody is
// hot, so the compiler inlines Co.Yield into pgoYieldBody (hot call sites
// get a far larger inlining budget), and checks that the co still continues
// after its Yield. The profile is given to the compiler of this package
// only (-gcflags=<pkg>=-pgoprofile), in the compiler's preprocessed format,
// so the build is quick and its cache stays valid from run to run.
func TestYieldInlinedByPGO(t *testing.T) {
	if os.Getenv(pgoChildEnv) == "1" {
		forKinds(t, func(t *testing.T, e *env) {
			c := &pgoCounter{}
			co := e.create(pgoYieldBody, c)
			for k := 0; k < 5; k++ {
				resumeVia(co, k)
				require.False(t, co.IsEnd(), "the co ended at resume %d instead of yielding", k)
				require.Equal(t, pgoCounter{before: k + 1, after: k}, *c, "resume %d", k)
			}
			co.Resume()
			assert.True(t, co.IsEnd())
			assert.Equal(t, pgoCounter{before: 5, after: 5, done: true}, *c)
			co.Destroy()
		})
		return
	}
	if testing.Short() {
		t.Skip("builds the test binary again")
	}
	if Engine() != CopyStack {
		t.Skip("the portable engine does not depend on the frame layout at a yield")
	}
	// The call site's line offset from the function's start line, which is
	// how the profile names it.
	_, file, _, _ := runtime.Caller(0)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	require.NoError(t, err)
	offset := -1
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "pgoYieldBody" {
			continue
		}
		start := fset.Position(fd.Pos()).Line
		ast.Inspect(fd, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Yield" {
					offset = fset.Position(call.Pos()).Line - start
				}
			}
			return true
		})
	}
	require.GreaterOrEqual(t, offset, 0, "pgoYieldBody's co.Yield() call not found in %s", file)
	pkg := reflect.TypeFor[Co]().PkgPath()
	dir := t.TempDir()
	prof := filepath.Join(dir, "yield.pgo")
	require.NoError(t, os.WriteFile(prof, fmt.Appendf(nil, "GO PREPROFILE V1\n%s.pgoYieldBody\n%s.(*Co).Yield\n%d 1000000\n", pkg, pkg, offset), 0o644))

	bin, out := buildTestBinary(t, "-gcflags="+pkg+"=-pgoprofile="+prof+" -m")
	inlined := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, filepath.Base(file)) && strings.Contains(line, "inlining call to (*Co).Yield") {
			inlined = true
		}
	}
	t.Logf("Co.Yield inlined into pgoYieldBody under PGO: %v", inlined)

	out, err = runTestBinary(bin, "^TestYieldInlinedByPGO$", pgoChildEnv+"=1")
	if err != nil || !strings.Contains(out, "--- PASS: TestYieldInlinedByPGO") {
		t.Fatalf("with Co.Yield inlined by PGO (%v) the co misbehaves: %v\n%s", inlined, err, failure(out))
	}
}

// buildTestBinary builds this package's test binary again with extra build
// flags and returns its path and the build's output. It skips the test if
// there is no go command.
func buildTestBinary(t *testing.T, flags ...string) (bin, out string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	_, file, _, _ := runtime.Caller(0)
	bin = filepath.Join(t.TempDir(), "aco.test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append(append([]string{"test", "-c", "-o", bin}, flags...), ".")
	build := exec.CommandContext(ctx, goTool, args...)
	build.Dir = filepath.Dir(file)
	o, err := build.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), tail(string(o), 6000))
	return bin, string(o)
}

// runTestBinary runs the tests matching run in bin with extra environment.
func runTestBinary(bin, run string, env ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := childCommand(ctx, bin, "-test.run="+run, "-test.v", "-test.count=1", "-test.short")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestUnoptimizedBuild builds the package without optimizations or
// inlining (-gcflags=-N -l, as debuggers build it: every variable then lives
// in the frame, which changes every frame layout at a yield, and every
// helper is a real call that can move the stack) and runs a selection of
// the engine's tests in that binary, TestEngineReport among them: the
// copy-stack engine runs there as in optimized builds.
func TestUnoptimizedBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the test binary again")
	}
	pkg := reflect.TypeFor[Co]().PkgPath()
	bin, _ := buildTestBinary(t, "-gcflags="+pkg+"=-N -l")
	run := "^(TestEngineReport|TestResumeSmallDeltas|TestResumeAtDifferentDepths|TestStackObjectReachedOnlyThroughPointer|TestStackMapAcrossRelocation|" +
		"TestDeferThreeFramesEveryStop|TestYieldInsideDeferredCalls|TestPanicWithPendingDefersReachesResumer|" +
		"TestTortureGCLiveness|TestTortureGCLivenessNested|TestTortureSharedRoots|TestRecursiveGenerators|TestHugeImage|" +
		"TestRootsOfFirstDeepYieldFromFreshGoroutine|TestDeferInsideRangeFuncBodyThenYield|TestDestroySiblingWithDefersOnSameShareStack|" +
		"TestCoroutineValues|TestCoroutineLargeValues|TestCoroutineMoved)$"
	out, err := runTestBinary(bin, run)
	if err != nil || !strings.Contains(out, "\nPASS") {
		t.Fatalf("tests of the unoptimized build failed: %v\n%s", err, failure(out))
	}
	if copyStackSupported && !strings.Contains(out, "engine: copystack") {
		t.Errorf("the unoptimized build does not run the copy-stack engine:\n%s", tail(out, 2000))
	}
}
