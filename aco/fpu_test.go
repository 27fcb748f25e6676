//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"iter"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// mxcsrRoundTowardZero is MXCSR's rounding-control field set to "toward
// zero" (bits 13-14).
const mxcsrRoundTowardZero = 3 << 13

//go:noinline
func divide(a, b float64) float64 { return a / b }

// TestFPUEnvironment sets a non-default SSE rounding mode inside a
// share-stack co. By default each co keeps its own FPU environment, as in
// libaco: the co's mode survives its switches and its resumer never sees it.
// With -tags aco_share_fpu_env all coroutines share one environment: the
// resumer sees the co's mode.
func TestFPUEnvironment(t *testing.T) {
	if os.Getenv("ACO_ENGINE") != "" {
		t.Skip("the FPU environment is switched by the copy-stack engine, which ACO_ENGINE turned off")
	}
	require.Equal(t, CopyStack, Engine(), "the copy-stack engine switches the FPU environment: %s", EngineNote())
	cw0, mx0 := fpuEnv()
	defer fpuSetEnv(cw0, mx0)
	nearest := divide(1, 10)

	main, ss := NewMain(), NewShareStack(0)
	var inCo []bool // after each resume: the co still rounds toward zero
	co := Create(main, ss, 0, func(co *Co) {
		cw, mx := fpuEnv()
		fpuSetEnv(cw, mx|mxcsrRoundTowardZero)
		for i := 0; i < 3; i++ {
			co.Yield()
			_, mx := fpuEnv()
			inCo = append(inCo, mx&mxcsrRoundTowardZero == mxcsrRoundTowardZero && divide(1, 10) != nearest)
		}
	}, nil)
	var outside []bool // after each yield: the resumer rounds toward zero too
	for !co.IsEnd() {
		co.Resume()
		_, mx := fpuEnv()
		outside = append(outside, mx&mxcsrRoundTowardZero == mxcsrRoundTowardZero)
	}
	fpuSetEnv(cw0, mx0)
	co.Destroy()
	ss.Destroy()
	main.Destroy()

	require.NotEqual(t, nearest, func() float64 {
		cw, mx := fpuEnv()
		fpuSetEnv(cw, mx|mxcsrRoundTowardZero)
		defer fpuSetEnv(cw, mx)
		return divide(1, 10)
	}(), "the rounding mode changes 1/10, so the test can see it")
	if sharedFPUEnv {
		require.Equal(t, []bool{true, true, true, true}, outside, "shared environment: the resumer sees the co's rounding mode")
		require.Equal(t, []bool{true, true, true}, inCo, "shared environment: the mode stays set")
	} else {
		require.Equal(t, []bool{false, false, false, false}, outside, "own environment: the co's rounding mode never reaches its resumer")
		require.Equal(t, []bool{true, true, true}, inCo, "own environment: the co keeps its rounding mode across switches")
	}
}

// TestPullSharesTheFPUEnvironment: an aco.Pull generator shares the FPU
// environment of whoever calls next, as an iter.Pull generator does, on the
// share stack and after a move alike: a rounding mode it sets reaches the
// caller, and one the caller sets reaches it. The script runs through
// iter.Pull too, and both must see the same.
func TestPullSharesTheFPUEnvironment(t *testing.T) {
	cw0, mx0 := fpuEnv()
	defer fpuSetEnv(cw0, mx0)
	toward := func(on bool) {
		if on {
			fpuSetEnv(cw0, mx0|mxcsrRoundTowardZero)
		} else {
			fpuSetEnv(cw0, mx0)
		}
	}
	rounding := func() bool {
		_, mx := fpuEnv()
		return mx&mxcsrRoundTowardZero == mxcsrRoundTowardZero
	}
	script := func(pull func(iter.Seq[bool]) (func() (bool, bool), func())) (seen []bool) {
		defer toward(false)
		next, stop := pull(func(yield func(bool) bool) {
			for i := 0; ; i++ {
				toward(i%2 == 0) // the generator sets a mode...
				if !yield(rounding()) {
					return
				}
				seen = append(seen, rounding()) // ...and sees the caller's
			}
		})
		defer stop()
		for i := range 6 {
			_, _ = next()
			seen = append(seen, rounding()) // the caller sees the generator's
			toward(i%3 == 0)
		}
		return seen
	}
	want := script(iter.Pull[bool])
	for _, side := range []struct {
		name             string
		threshold, after uintptr
	}{{"on the share stack", 1 << 30, 1 << 30}, {"moved", 0, 1}} {
		withMove(t, side.threshold, side.after, func() {
			require.Equal(t, want, script(Pull[bool]), side.name)
		})
	}
	_, mx := fpuEnv()
	require.Equal(t, mx0, mx, "the caller's environment is back")
}
