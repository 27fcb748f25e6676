package aco

import (
	"fmt"
	"iter"
	"reflect"
	"runtime"
	"testing"

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

// TestPullNilIterator: each Pull function names itself when given a nil
// iterator, instead of a nil dereference later.
func TestPullNilIterator(t *testing.T) {
	ss := NewShareStack(0)
	defer ss.Destroy()
	require.PanicsWithValue(t, "aco: Pull: nil iterator", func() { Pull[int](nil) })
	require.PanicsWithValue(t, "aco: PullOn: nil iterator", func() { PullOn[int](ss, nil) })
	require.PanicsWithValue(t, "aco: PullOn: nil iterator", func() { PullOn[int](nil, nil) })
	require.PanicsWithValue(t, "aco: Pull2: nil iterator", func() { Pull2[int, int](nil) })
	require.PanicsWithValue(t, "aco: Pull2On: nil iterator", func() { Pull2On[int, int](ss, nil) })
	require.Zero(t, ss.Live(), "a refused PullOn counts nothing")
}

// TestPullStopInsideGenerator: stop called by the generator itself does
// what iter.Pull's does there: the next call running the generator returns,
// the generator never runs again (its deferred calls do not run), and the
// iteration is over. (iter.Pull's next then returns the generator's last
// value once more; aco's returns the zero value and false, on every
// engine.)
func TestPullStopInsideGenerator(t *testing.T) {
	for _, on := range []string{"Pull", "PullOn"} {
		t.Run(on, func(t *testing.T) {
			var stop func()
			after, deferred := false, false
			seq := func(yield func(int) bool) {
				defer func() { deferred = true }()
				if !yield(1) {
					return
				}
				stop()
				after = true
				yield(2)
			}
			var next func() (int, bool)
			var ss *ShareStack
			if on == "Pull" {
				next, stop = Pull(seq)
			} else {
				ss = NewShareStack(0)
				next, stop = PullOn(ss, seq)
			}
			v, ok := next()
			require.Equal(t, 1, v)
			require.True(t, ok)
			requireStoppedInside(t, next, stop, &after, &deferred)
			if ss != nil {
				require.Zero(t, ss.Live(), "the iteration is over: the share stack is free")
				ss.Destroy()
			}
		})
	}
}

// requireStoppedInside checks an iterator whose generator calls stop from
// inside at the next call of next: that next reports the end, as every
// later one does, stop does nothing more, and the generator neither runs
// on (after) nor runs its deferred calls (deferred).
func requireStoppedInside(t *testing.T, next func() (int, bool), stop func(), after, deferred *bool) {
	t.Helper()
	_, ok := next() // the generator calls stop
	require.False(t, ok, "the next running a generator that stopped itself reports the end")
	_, ok = next()
	require.False(t, ok)
	stop()
	require.False(t, *after, "the generator never runs again")
	require.False(t, *deferred, "its deferred calls do not run, as with iter.Pull")
}

// TestPullFuncsNotCopiedByInlining guards funcs' go:noinline: next and stop
// must be funcs' own closures, which the compiler inlines calls into, not
// copies that inlining funcs into Pull or PullOn made (whose calls to
// acquire, release and the atomics stay out of line). A copy's name
// carries the function it was inlined into.
func TestPullFuncsNotCopiedByInlining(t *testing.T) {
	for name, pull := range pullImpls {
		next, stop := pull(func(yield func(int) bool) { yield(1) })
		for fname, f := range map[string]any{"next": next, "stop": stop} {
			fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
			assert.NotRegexp(t, `aco\.Pull(On)?\[`, fn, "%s: %s (%s) is a copy made by inlining funcs", name, fname, fn)
		}
		stop()
	}
}
