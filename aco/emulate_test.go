package aco

import (
	"context"
	"os"
	"os/exec"
)

// testExecEnv names the program that runs binaries of the target GOARCH
// when the tests themselves run through `go test -exec` on another
// architecture (qemu-aarch64-static for GOARCH=arm64 on amd64: .ci/run sets
// both). A test that starts a child process, the test binary again or a
// program it built, must start it the same way, or the kernel refuses the
// foreign binary (exec format error) and the test fails for a reason that
// is not the one it names. Empty when binaries run natively.
const testExecEnv = "ACO_TEST_EXEC"

// childCommand is exec.CommandContext for a binary of the target GOARCH,
// through the program testExecEnv names, if any.
func childCommand(ctx context.Context, bin string, args ...string) *exec.Cmd {
	if w := os.Getenv(testExecEnv); w != "" {
		return exec.CommandContext(ctx, w, append([]string{bin}, args...)...)
	}
	return exec.CommandContext(ctx, bin, args...)
}
