package workload

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkloadsAgree runs one pass of every workload through every
// implementation: each must pull the same number of values (the workloads
// and the implementations both being what the benchmarks compare).
func TestWorkloadsAgree(t *testing.T) {
	ins, err := Inspect(SourceFile())
	require.NoError(t, err)
	wd, err := WalkDir(GoSrc())
	require.NoError(t, err)
	ws := []Workload{Tree(4), Tree(10), ins, wd, Nested(200), Actors(1000), Send(100)}
	for _, w := range ws {
		var counts []int
		for _, impl := range Impls {
			step, stop := w.Start(impl)
			counts = append(counts, step(), step())
			stop()
		}
		for i := 2; i < len(counts); i += 2 {
			assert.Equal(t, counts[:2], counts[i:i+2], "%s: %s pulled other counts than %s", w.Name, Impls[i/2], Impls[0])
		}
		assert.Positive(t, counts[0], w.Name)
	}
}

// TestTreeValues checks the tree walk's values in order, through each
// implementation.
func TestTreeValues(t *testing.T) {
	tr := NewTree(6)
	for _, impl := range Impls {
		next, stop := Pull(impl, tr.All())
		for want := 0; want < 63; want++ {
			v, ok := next()
			require.True(t, ok, "%s: ended after %d values", impl, want)
			require.Equal(t, want, v, impl.String())
		}
		_, ok := next()
		assert.False(t, ok, impl.String())
		stop()
	}
}

// TestChanPullStop checks the goroutine+channel implementation's early stop
// and stop before the first next.
func TestChanPullStop(t *testing.T) {
	next, stop := chanPull(NewTree(4).All())
	v, ok := next()
	assert.True(t, ok)
	assert.Equal(t, 0, v)
	stop()
	_, ok = next()
	assert.False(t, ok)
	_, stop = chanPull(NewTree(4).All())
	stop()
}
