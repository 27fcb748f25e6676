package aco

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVersionMatchesChangelog keeps Version equal to the newest released
// section of CHANGELOG.md (see its "Releasing"): a release changes both.
func TestVersionMatchesChangelog(t *testing.T) {
	b, err := os.ReadFile("../CHANGELOG.md")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$`).FindSubmatch(b)
	require.NotNil(t, m, "CHANGELOG.md has a released section")
	require.Equal(t, string(m[1]), Version, "Version and the newest release in CHANGELOG.md")
}

// TestReleaseWindowInOnePlace: every build constraint in the package that
// names Go releases keeps to the window releaseFirst..releaseLast, the
// constraints that bound the copy-stack engine say exactly go1.F &&
// !go1.(L+1), each release in the window has its runtime tables, and the
// generator writes the same window into the files it generates.
func TestReleaseWindowInOnePlace(t *testing.T) {
	lo, hi := fmt.Sprintf("go1.%d", releaseFirst), fmt.Sprintf("!go1.%d", releaseLast+1)
	term := regexp.MustCompile(`(!?)go1\.(\d+)`)
	files, err := filepath.Glob("*")
	require.NoError(t, err)
	bounded := 0
	for _, f := range files {
		if !strings.HasSuffix(f, ".go") && !strings.HasSuffix(f, ".s") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var line string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "//go:build ") {
				line = l
				break
			}
		}
		if line == "" {
			continue
		}
		ms := term.FindAllStringSubmatch(line, -1)
		for _, m := range ms {
			n, _ := strconv.Atoi(m[2])
			require.True(t, n >= releaseFirst && n <= releaseLast+1, "%s: %s names go1.%d, outside the window go1.%d..go1.%d", f, line, n, releaseFirst, releaseLast)
		}
		if strings.HasPrefix(f, "zrtlayout_") {
			continue // one release each
		}
		if len(ms) > 0 {
			bounded++
			require.Contains(t, line, lo+" && "+hi, "%s: %s", f, line)
		}
	}
	require.Greater(t, bounded, 10, "files bounded by the window")
	for r := releaseFirst; r <= releaseLast; r++ {
		tables, _ := filepath.Glob(fmt.Sprintf("zrtlayout_go1%d_*.go", r))
		require.NotEmpty(t, tables, "runtime tables for go1.%d", r)
	}
	gen, err := os.ReadFile("../gen/decls.go")
	require.NoError(t, err)
	for _, v := range []string{"baseConstraint", "getgConstraint"} {
		m := regexp.MustCompile(`var ` + v + ` = \[\]string\{([^}]*)\}`).FindSubmatch(gen)
		require.NotNil(t, m, "gen/decls.go declares %s", v)
		require.Contains(t, string(m[1]), `"`+lo+`", "`+hi+`"`, "gen/decls.go: %s", v)
	}
}
