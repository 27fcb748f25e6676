package aco

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Program shapes that once behaved differently on the two engines (or
// differently from iter.Pull): each test runs on both kinds of coroutine.

// TestTortureLedgersAreSeparate checks the torture's sentinels: an object
// dropped while held counts a failure in the ledger of the run that made
// it, with that run's name, and in no other ledger.
func TestTortureLedgersAreSeparate(t *testing.T) {
	a := &ledger{test: "earlier test"}
	b := newLedger(t)
	func() {
		tc := &tortureCo{idx: 1, l: a}
		tc.obj(2, "dropped while held")
	}()
	left := a.waitAllCollected(10 * time.Second)
	require.Empty(t, left, "the dropped object was collected")
	require.EqualValues(t, 1, a.failures.Load())
	require.Contains(t, a.msgs[0], "earlier test: co 1: object 2 (dropped while held)")
	require.Zero(t, b.failures.Load(), "another run's ledger counts nothing")
}

// deepMapYield recurses k frames and then yields holding a map literal that
// does not escape: its header (and perhaps its groups) are stack objects,
// reached only through the frame's pointer to them, and the tracked values
// only through the map. It checks the values after the resume.
//
//go:noinline
func deepMapYield(co *Co, tc *tortureCo, k int) int {
	if k > 0 {
		return deepMapYield(co, tc, k-1) + 1
	}
	m := map[int]*tobj{1: tc.obj(1, "map value"), 2: tc.obj(2, "map value"), 3: tc.obj(3, "map value")}
	useIntMap(m)
	co.Yield()
	tc.checks++
	for key, o := range m {
		tc.check(o.ok(tc.idx, key), "value of a non-escaping map", 1)
	}
	tc.releaseAll()
	return len(m)
}

//go:noinline
func useIntMap(map[int]*tobj) {}

// TestRootsOfFirstDeepYieldFromFreshGoroutine is the reproducer of a
// liveness failure in builds without inlining: a co started on a fresh
// goroutine (a small stack, and no margin from an earlier image) recurses
// 150 frames and yields holding a non-escaping map. The slow root
// collection then ran as ordinary Go code holding absolute stack addresses
// across calls whose prologues could move the stack: the map's header was
// looked for on the freed old stack, its values were never roots, and they
// were finalized while the co slept. CI runs it under -gcflags=all=-N -l,
// where it failed every run.
func TestRootsOfFirstDeepYieldFromFreshGoroutine(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		l := newLedger(t)
		for run := range 20 {
			tc := &tortureCo{idx: run, l: l}
			got := -1
			co := e.create(func(co *Co) { got = deepMapYield(co, tc, 150) }, nil)
			done := make(chan struct{})
			go func() {
				defer close(done)
				co.Resume()
			}()
			<-done
			for range 3 {
				churn(1 << 16)
				runtime.GC()
			}
			l.requireNoFailures(t, fmt.Sprintf("while run %d was suspended", run))
			co.Resume()
			require.True(t, co.IsEnd())
			require.Equal(t, 153, got, "the co returned through its 150 frames")
			require.Equal(t, 1, tc.checks, "the co checked its map after the resume")
			co.Destroy()
		}
		l.requireNoFailures(t, "at the end")
	})
}

// count3 is a push iterator over 0, 1, 2.
func count3(yield func(int) bool) {
	for i := range 3 {
		if !yield(i) {
			return
		}
	}
}

// rangeDeferBody defers a call inside a range-over-func loop body and then
// yields, once per value: the defers belong to rangeDeferBody's frame (a
// range-over-func record on the goroutine's defer chain, holding the
// body's deferred calls) and run when it returns, last first.
//
//go:noinline
func rangeDeferBody(co *Co, tr *[]string) {
	defer func() { *tr = append(*tr, "outer defer") }()
	for v := range count3 {
		defer func() { *tr = append(*tr, fmt.Sprint("deferred ", v)) }()
		*tr = append(*tr, fmt.Sprint("yield ", v))
		co.Yield()
	}
	*tr = append(*tr, "loop done")
}

// TestDeferInsideRangeFuncBodyThenYield: a defer in a range-over-func loop
// body followed by a yield works on both engines, across resumes from other
// goroutines and depths, and Destroy of a co suspended there runs the
// deferred calls.
func TestDeferInsideRangeFuncBodyThenYield(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var tr []string
		co := e.create(func(co *Co) { rangeDeferBody(co, &tr) }, nil)
		for i := 0; !co.IsEnd(); i++ {
			if i%2 == 1 {
				done := make(chan struct{})
				go func() { defer close(done); resumeAt(co, i) }()
				<-done
			} else {
				resumeAt(co, i)
			}
			runtime.GC()
		}
		co.Destroy()
		require.Equal(t, []string{"yield 0", "yield 1", "yield 2", "loop done",
			"deferred 2", "deferred 1", "deferred 0", "outer defer"}, tr)

		tr = nil
		co = e.create(func(co *Co) { rangeDeferBody(co, &tr) }, nil)
		co.Resume()
		co.Resume()
		co.Destroy()
		require.Equal(t, []string{"yield 0", "yield 1", "deferred 1", "deferred 0", "outer defer"}, tr,
			"Destroy of a co suspended in the loop body runs its deferred calls")
	})
}

// TestDestroySiblingWithDefersOnSameShareStack: a supervisor co destroys a
// suspended worker of its own share stack whose frames hold deferred
// calls. The worker's deferred calls run, nested in the supervisor, the
// worker is destroyed, and the supervisor keeps its share stack; the same
// from a co nested in the supervisor, and from another goroutine while the
// supervisor runs there.
func TestDestroySiblingWithDefersOnSameShareStack(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var tr []string
		worker := func(name string) *Co {
			return e.create(func(co *Co) {
				defer func() { tr = append(tr, name+" deferred") }()
				for {
					co.Yield()
				}
			}, nil)
		}
		w := worker("w")
		w.Resume()
		sup := e.create(func(co *Co) {
			tr = append(tr, "supervisor destroys w")
			w.Destroy()
			if co.ss != nil && co.ss.owner != co {
				tr = append(tr, "supervisor lost its share stack")
			}
			tr = append(tr, "supervisor goes on")
			co.Yield()
			tr = append(tr, "supervisor resumed")
		}, nil)
		sup.Resume()
		require.Equal(t, []string{"supervisor destroys w", "w deferred", "supervisor goes on"}, tr)
		require.Panics(t, func() { w.Resume() }, "w is destroyed")
		sup.Resume()
		require.True(t, sup.IsEnd())
		sup.Destroy()

		// From a co nested in the supervisor, on another share stack.
		tr = nil
		w = worker("w2")
		w.Resume()
		inner := Create(e.main, e.newStack(), 0, func(co *Co) { w.Destroy() }, nil)
		sup = e.create(func(co *Co) { inner.Resume() }, nil)
		sup.Resume()
		require.Equal(t, []string{"w2 deferred"}, tr)
		inner.Destroy()
		sup.Destroy()

		if e.ss == nil {
			return // standalone cos share no stack
		}
		// From another goroutine while the supervisor runs.
		tr = nil
		w = worker("w3")
		w.Resume()
		running, release := make(chan struct{}), make(chan struct{})
		sup = e.create(func(co *Co) {
			close(running)
			<-release
		}, nil)
		done := make(chan struct{})
		go func() { defer close(done); sup.Resume() }()
		<-running
		w.Destroy()
		require.Same(t, sup, e.ss.owner, "sup still owns the share stack")
		require.Equal(t, []string{"w3 deferred"}, tr)
		require.Panics(t, func() { w.Resume() }, "w3 is destroyed")
		close(release)
		<-done
		require.True(t, sup.IsEnd())
		require.Nil(t, e.ss.owner, "the share stack is free once sup ended")
		sup.Destroy()
	})
}
