package aco

import (
	"fmt"
	"iter"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type pullFunc func(seq iter.Seq[int]) (func() (int, bool), func())

// pullImpls are the implementations held to iter.Pull's behaviour.
var pullImpls = map[string]pullFunc{
	"Pull":              Pull[int],
	"PullOn standalone": func(seq iter.Seq[int]) (func() (int, bool), func()) { return PullOn(nil, seq) },
	"PullOn sharestack": func(seq iter.Seq[int]) (func() (int, bool), func()) { return PullOn(NewShareStack(0), seq) },
}

// pullTrace drives a pull iterator through ops ('n' = next, 's' = stop) and
// records what happens, panics included.
func pullTrace(pull pullFunc, seq iter.Seq[int], ops string) []string {
	var out []string
	next, stop := pull(func(yield func(int) bool) {
		defer func() { out = append(out, "seq deferred") }()
		seq(func(v int) bool {
			ok := yield(v)
			out = append(out, fmt.Sprint("yield returned ", ok))
			return ok
		})
	})
	for _, op := range ops {
		func() {
			defer func() {
				if r := recover(); r != nil {
					out = append(out, fmt.Sprint("panic ", r))
				}
			}()
			switch op {
			case 'n':
				v, ok := next()
				out = append(out, fmt.Sprint("next ", v, " ", ok))
			case 's':
				stop()
				out = append(out, "stopped")
			}
		}()
	}
	return out
}

func TestPullMatchesIterPull(t *testing.T) {
	seqs := map[string]iter.Seq[int]{
		"empty": func(yield func(int) bool) {},
		"three": func(yield func(int) bool) {
			for i := 1; i <= 3; i++ {
				if !yield(i) {
					return
				}
			}
		},
		"ignores false": func(yield func(int) bool) {
			for i := 1; i <= 3; i++ {
				yield(i)
			}
		},
		"panics": func(yield func(int) bool) {
			yield(1)
			panic("seq failed")
		},
		"nested": func(yield func(int) bool) {
			inner, stop := iter.Pull(func(y func(int) bool) { y(10); y(20) })
			defer stop()
			for {
				v, ok := inner()
				if !ok || !yield(v) {
					return
				}
			}
		},
	}
	opss := []string{"", "n", "nn", "nnnnn", "s", "ns", "nsn", "nnss", "snn", "nnnns"}
	for name, seq := range seqs {
		for _, ops := range opss {
			want := pullTrace(iter.Pull[int], seq, ops)
			for impl, pull := range pullImpls {
				got := pullTrace(pull, seq, ops)
				assert.Equal(t, want, got, "%s on seq %q with ops %q", impl, name, ops)
			}
		}
	}
}

func TestPull2(t *testing.T) {
	seq := func(yield func(string, int) bool) {
		_ = yield("a", 1) && yield("b", 2)
	}
	for _, ss := range []*ShareStack{nil, NewShareStack(0)} {
		next, stop := Pull2On(ss, seq)
		k, v, ok := next()
		assert.Equal(t, []any{"a", 1, true}, []any{k, v, ok})
		k, v, ok = next()
		assert.Equal(t, []any{"b", 2, true}, []any{k, v, ok})
		k, v, ok = next()
		assert.Equal(t, []any{"", 0, false}, []any{k, v, ok})
		stop()
		if ss != nil {
			assert.Equal(t, 0, ss.Live(), "an ended iterator no longer counts on its share stack")
			ss.Destroy()
		}
	}
	next, stop := Pull2(seq)
	k, _, _ := next()
	assert.Equal(t, "a", k)
	stop()
}

func TestPullShareStackCounts(t *testing.T) {
	ss := NewShareStack(0)
	next, stop := PullOn(ss, func(yield func(int) bool) { yield(1) })
	assert.Equal(t, 1, ss.Live())
	assert.Equal(t, "aco: Destroy of a share stack that still has live coroutines (destroy them first)", catch(ss.Destroy))
	next()
	stop()
	assert.Equal(t, 0, ss.Live())
	ss.Destroy()
}

func TestPullManyInterleaved(t *testing.T) {
	// Many iterators on one share stack, pulled in turn (never nested).
	ss := NewShareStack(0)
	const n = 100
	nexts := make([]func() (int, bool), n)
	for i := range nexts {
		nexts[i], _ = PullOn(ss, func(yield func(int) bool) {
			for j := 0; j < 10; j++ {
				if !yield(i*100 + j) {
					return
				}
			}
		})
	}
	for j := 0; j < 11; j++ {
		for i, next := range nexts {
			v, ok := next()
			if j < 10 {
				assert.True(t, ok)
				assert.Equal(t, i*100+j, v)
			} else {
				assert.False(t, ok)
			}
		}
	}
	assert.Equal(t, 0, ss.Live())
	ss.Destroy()
}

// TestPullRecyclesCoroutines: the coroutine of an ended Pull iterator is
// reused by the next Pull, save stack and all, so pulling a recursive
// generator in a loop allocates only the iterator's own small objects; the
// reused coroutine starts clean after every way an iterator can end (run to
// the end, stopped early, stopped before the first next, a panic in seq),
// and holds nothing of the last generator.
func TestPullRecyclesCoroutines(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	var count int
	tree := newBinTree(4, &count)
	pass := func(stopAt int) []int {
		next, stop := Pull(tree.all)
		defer stop()
		var got []int
		for v, ok := next(); ok; v, ok = next() {
			got = append(got, v)
			if len(got) == stopAt {
				break
			}
		}
		return got
	}
	for range 3 {
		require.Len(t, pass(-1), 15)
		require.Equal(t, []int{0, 1, 2}, pass(3))
		_, stop := Pull(tree.all)
		stop()
		func() {
			next, stop := Pull(func(yield func(int) bool) {
				yield(1)
				panic("seq panics")
			})
			defer stop()
			next()
			require.PanicsWithValue(t, "seq panics", func() { next() })
		}()
	}
	var allocs float64
	withMove(t, ^uintptr(0), 1, func() { // a co that moved is not reused
		allocs = testing.AllocsPerRun(100, func() {
			next, stop := Pull(tree.all)
			for _, ok := next(); ok; _, ok = next() {
			}
			stop()
		})
	})
	// next and stop, their handle, the puller (with its share stack), the
	// coroutine's function value and seq's yield, and the method value
	// tree.all this test passes: 7. Without reuse a walk of depth 4 also
	// allocated its coroutine, save stack, roots, walk buffers and root
	// scratch (14 in all). iter.Pull allocates 6.
	require.LessOrEqual(t, allocs, 7.0, "allocations per pass of a depth-4 walk through aco.Pull")

	// A reused coroutine keeps no root of the last generator.
	collected := make(chan struct{})
	func() {
		o := &struct{ p *int }{new(int)}
		runtime.SetFinalizer(o, func(any) { close(collected) })
		next, stop := Pull(func(yield func(int) bool) {
			yield(*o.p)
			yield(1)
		})
		next()
		stop()
	}()
	for range 5 {
		runtime.GC()
		select {
		case <-collected:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("an object the last generator held stayed reachable through the recycled coroutine")
}
