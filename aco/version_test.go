package aco

import (
	"os"
	"regexp"
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
