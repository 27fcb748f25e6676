package examples_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arkenstone-go/arkenstone/examples/internal/playable"
)

// TestPrograms checks that every example program is what gen_examples.go
// makes from aco's Example functions, and that it prints the Example's
// output when run.
func TestPrograms(t *testing.T) {
	progs, err := playable.Programs("../aco")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(progs), 8, "the synopsis and tutorials 0-6 at least")
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "./...")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, p := range progs {
		t.Run(p.Dir, func(t *testing.T) {
			committed, err := os.ReadFile(filepath.Join(p.Dir, "main.go"))
			require.NoError(t, err)
			assert.Equal(t, string(p.Source), string(committed), "examples/%s is stale: run go generate ./...", p.Dir)
			var stdout bytes.Buffer
			// Through the emulator that runs this test binary, if any
			// (ACO_TEST_EXEC, as in package aco's tests): the programs
			// are built for the same GOARCH.
			var cmd *exec.Cmd
			if w := os.Getenv("ACO_TEST_EXEC"); w != "" {
				cmd = exec.Command(w, filepath.Join(bin, p.Dir))
			} else {
				cmd = exec.Command(filepath.Join(bin, p.Dir))
			}
			cmd.Stdout = &stdout
			cmd.Stderr = os.Stderr
			require.NoError(t, cmd.Run())
			assert.Equal(t, p.Output, stdout.String())
		})
	}
}
