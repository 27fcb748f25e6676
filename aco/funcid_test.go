//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRuntimeFuncIDs checks the funcIDs the frame decoder relies on
// (internal/abi's FuncID_gopanic and FuncID_sigpanic) against the runtime's
// own frames: a deferred call run by a panic, and one run by a nil
// dereference.
func TestRuntimeFuncIDs(t *testing.T) {
	ids := func(f func()) map[string]uint8 {
		got := map[string]uint8{}
		func() {
			defer func() {
				pcs := make([]uintptr, 32)
				for _, pc := range pcs[:runtime.Callers(1, pcs)] {
					if fn := runtime.FuncForPC(pc - 1); fn != nil {
						got[fn.Name()] = findfunc(pc - 1).funcID()
					}
				}
				recover()
			}()
			f()
		}()
		return got
	}
	got := ids(func() { panic("x") })
	require.Contains(t, got, "runtime.gopanic")
	require.EqualValues(t, funcIDGopanic, got["runtime.gopanic"])
	got = ids(func() { nilDeref(nil) })
	require.Contains(t, got, "runtime.sigpanic")
	require.EqualValues(t, funcIDSigpanic, got["runtime.sigpanic"])
}
