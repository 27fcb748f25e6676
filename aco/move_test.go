//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"fmt"
	"iter"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withMove runs f with the move threshold and the run of costly yields
// before a move set to threshold and after.
func withMove(t testing.TB, threshold, after uintptr, f func()) {
	t.Helper()
	oldT, oldA := moveThreshold, moveAfter
	moveThreshold, moveAfter = threshold, after
	defer func() { moveThreshold, moveAfter = oldT, oldA }()
	f()
}

// pinOnShareStack keeps cos on their share stacks (whatever
// ACO_MOVE_THRESHOLD says) until the function it returns is called.
func pinOnShareStack() func() {
	oldT, oldA := moveThreshold, moveAfter
	moveThreshold, moveAfter = moveOff, moveOff
	return func() { moveThreshold, moveAfter = oldT, oldA }
}

// warmGoroutinePool starts n goroutines at once and lets them end: the
// runtime keeps their descriptors for reuse, which a heap baseline taken
// before must already hold.
func warmGoroutinePool(n int) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	wg.Add(n)
	for range n {
		go func() {
			<-release
			wg.Done()
		}()
	}
	close(release)
	wg.Wait()
}

// binTree is a complete binary tree whose in-order walk is the recursive
// generator a Go programmer writes: two recursive call sites.
type binTree struct {
	l, r *binTree
	v    int
}

func newBinTree(depth int, next *int) *binTree {
	if depth == 0 {
		return nil
	}
	t := &binTree{l: newBinTree(depth-1, next)}
	t.v = *next
	*next++
	t.r = newBinTree(depth-1, next)
	return t
}

func (t *binTree) walk(yield func(int) bool) bool {
	return t == nil || t.l.walk(yield) && yield(t.v) && t.r.walk(yield)
}

func (t *binTree) all(yield func(int) bool) { t.walk(yield) }

// heapInUse returns the live heap after the collector has run and every
// pending cleanup has had the chance to.
func heapInUse() uint64 {
	var ms runtime.MemStats
	for range 3 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond) // cleanups run on a goroutine of their own
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestFrameCacheBounded walks a binary tree of depth 16 through aco.Pull,
// whose yields take 2^16 distinct call paths (two recursive call sites per
// level), on both sides of the move threshold: the frame cache must hold a
// handful of frame layouts (one per continuation PC), and after stop the
// heap is back where it was before the walk. The old engine cached a layout
// per call path and never freed it.
func TestFrameCacheBounded(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	var count int
	tree := newBinTree(16, &count)
	walk := func(stopEarly bool) int {
		next, stop := Pull(tree.all)
		defer stop()
		n := 0
		for {
			v, ok := next()
			if !ok {
				return n
			}
			require.Equal(t, n, v, "values in order")
			n++
			if stopEarly && n == 1000 {
				return n
			}
		}
	}
	for _, side := range []struct {
		name             string
		threshold, after uintptr
	}{{"share stack", ^uintptr(0), 1}, {"moved", 0, 1}, {"default", MoveThreshold, moveAfter}} {
		t.Run(side.name, func(t *testing.T) {
			withMove(t, side.threshold, side.after, func() {
				start := frameCacheLen()
				walk(false) // learns the frame layouts
				before, base := frameCacheLen(), heapInUse()
				require.Equal(t, 1<<16-1, walk(false))
				walk(true)
				after, heap := frameCacheLen(), heapInUse()
				assert.Equal(t, before, after, "the frame cache grew while the same code yielded along new call paths")
				assert.Less(t, after-start, 16, "frame layouts the walk added to the cache: one per continuation PC")
				assert.Less(t, int64(heap)-int64(base), int64(256<<10), "heap after the walks and stop: %d bytes more than before", int64(heap)-int64(base))
			})
		})
	}
}

// TestAbandonedPullsFreed drops 10,000 aco.Pull iterators in the middle of
// their sequence, on both sides of the move threshold: none may leave a
// goroutine behind, and the heap must come back to where it was. On the
// share stack an abandoned co is garbage like any object; a moved co has a
// goroutine, which the handle's cleanup ends. Neither runs more of seq nor
// its pending deferred calls.
func TestAbandonedPullsFreed(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	const n = 10_000
	for _, side := range []struct {
		name             string
		threshold, after uintptr
		nexts            int
		moved            bool
	}{
		{"share stack", ^uintptr(0), 1, 1, false},
		// The first next's yield marks the co, the second moves it.
		{"moved", 0, 1, 2, true},
		// Two more nexts on the moved fast path, which leaves the co
		// marked suspended while it runs.
		{"moved and pulled", 0, 1, 4, true},
	} {
		t.Run(side.name, func(t *testing.T) {
			withMove(t, side.threshold, side.after, func() {
				ran := 0
				seq := func(yield func(int) bool) {
					defer func() { ran++ }()
					for i := 0; yield(i); i++ {
					}
				}
				// Warm up what a first co learns (frame layouts) and the
				// runtime's pool of goroutine descriptors, which it keeps.
				func() {
					next, _ := Pull(seq)
					next()
					next()
				}()
				warmGoroutinePool(n)
				goroutines, base := runtime.NumGoroutine(), heapInUse()
				ran = 0
				// Without collections while they are made, so that all of
				// them are alive at once.
				gc := debug.SetGCPercent(-1)
				func() {
					for range n {
						next, _ := Pull(seq)
						for range side.nexts {
							next()
						}
					}
				}()
				// The runtime's cleanup goroutine counts while it runs a
				// cleanup: allow for it in every count below.
				if side.moved {
					assert.Greater(t, runtime.NumGoroutine(), goroutines+n*9/10, "the moved cos have goroutines of their own")
				} else {
					assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines+1, "cos on the share stack have no goroutines")
				}
				debug.SetGCPercent(gc)
				deadline := time.Now().Add(30 * time.Second)
				for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
					heapInUse()
				}
				assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines+1, "goroutines left by abandoned iterators")
				heap := heapInUse()
				assert.Less(t, int64(heap)-int64(base), int64(n*64), "heap: %d bytes more after %d abandoned iterators", int64(heap)-int64(base), n)
				assert.Zero(t, ran, "an abandoned iterator's deferred calls ran")
			})
		})
	}
}

// TestMovedCoIntrospection moves a share-stack co and checks what it says
// about itself, its statistics (copies stop at the move, which restores the
// image once more), its values and defers, and that Reset puts it back on
// its share stack.
func TestMovedCoIntrospection(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	withMove(t, 0, 1, func() {
		main, ss := NewMain(), NewShareStack(0)
		defer main.Destroy()
		defer ss.Destroy()
		var trace []string
		co := Create(main, ss, 0, func(co *Co) {
			defer func() { trace = append(trace, "deferred") }()
			for i := range 3 {
				trace = append(trace, string(rune('a'+i)))
				co.Yield()
			}
		}, nil)
		assert.Equal(t, CopyStack, co.Engine())
		assert.False(t, co.Moved())
		co.Resume() // yields at "a", on the share stack: marked to move
		assert.Equal(t, CopyStack, co.Engine())
		st := co.SaveStack()
		assert.EqualValues(t, 1, st.CtSave)
		assert.EqualValues(t, 0, st.CtRestore)
		co.Resume() // moves, yields at "b" on its own goroutine
		assert.True(t, co.Moved())
		assert.Equal(t, Portable, co.Engine())
		assert.Same(t, ss, co.ShareStack())
		assert.False(t, co.Standalone())
		co.Resume()
		st = co.SaveStack()
		assert.EqualValues(t, 1, st.CtSave, "no copies after the move")
		assert.EqualValues(t, 1, st.CtRestore, "the move restores the image once")
		assert.Positive(t, st.MaxCopySize)
		co.Resume()
		assert.True(t, co.IsEnd())
		assert.Equal(t, []string{"a", "b", "c", "deferred"}, trace)
		assert.Nil(t, ss.Owner())

		co.Reset(func(co *Co) { co.Yield() }, nil)
		assert.False(t, co.Moved(), "Reset puts a moved co back on its share stack")
		assert.Equal(t, CopyStack, co.Engine())
		co.Resume()
		co.Destroy()
		assert.Equal(t, EngineName(""), main.Engine())
	})
}

// TestMovedCoOwnsItsShareStack checks that a moved co still holds its share
// stack while it runs: a sibling on the same share stack cannot be resumed
// from inside it, as on the share stack itself.
func TestMovedCoOwnsItsShareStack(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	withMove(t, 0, 1, func() {
		main, ss := NewMain(), NewShareStack(0)
		sib := Create(main, ss, 0, func(co *Co) { co.Yield() }, nil)
		var got any
		co := Create(main, ss, 0, func(co *Co) {
			co.Yield()
			func() {
				defer func() { got = recover() }()
				assert.Same(t, co, ss.Owner())
				sib.Resume()
			}()
			co.Yield()
		}, nil)
		co.Resume()
		co.Resume()
		assert.True(t, co.Moved())
		assert.Contains(t, got, "share stack is busy")
		co.Destroy()
		sib.Destroy()
		ss.Destroy()
		main.Destroy()
	})
}

// BenchmarkMoveCrossover is where MoveThreshold, MoveWalkFrameBytes and
// moveAfter come from: aco.Pull round trips that stay on the share stack
// (move=false) or move at once (move=true), for an image of one frame
// holding an array of n bytes ("array") and for a chain of d recursive
// frames ("frames"), and a whole pass over a 15-value tree walk ("short").
// Compare each pair in one run.
func BenchmarkMoveCrossover(b *testing.B) {
	pair := func(b *testing.B, name string, seq func(yield func(int) bool)) {
		for _, move := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/move=%v", name, move), func(b *testing.B) {
				threshold := ^uintptr(0)
				if move {
					threshold = 0
				}
				withMove(b, threshold, 1, func() {
					next, stop := Pull(seq)
					next()
					next()
					for b.Loop() {
						next()
					}
					stop()
				})
			})
		}
	}
	pair(b, "array24", holdArray[[24]byte])
	pair(b, "array232", holdArray[[232]byte])
	pair(b, "array488", holdArray[[488]byte])
	pair(b, "array1000", holdArray[[1000]byte])
	pair(b, "array2024", holdArray[[2024]byte])
	pair(b, "array4072", holdArray[[4072]byte])
	pair(b, "array7992", holdArray[[7992]byte])
	for _, d := range []int{2, 4, 8, 12} {
		pair(b, fmt.Sprintf("frames%d", d), func(yield func(int) bool) { recurseThenYield(yield, d) })
	}
	var count int
	tree := newBinTree(4, &count)
	for _, move := range []bool{false, true} {
		b.Run(fmt.Sprintf("short/move=%v", move), func(b *testing.B) {
			threshold := ^uintptr(0)
			if move {
				threshold = 0
			}
			withMove(b, threshold, 1, func() {
				for b.Loop() {
					next, stop := Pull(tree.all)
					for _, ok := next(); ok; _, ok = next() {
					}
					stop()
				}
			})
		})
	}
}

// holdArray yields in a loop with an array of A's size live in its frame.
//
//go:noinline
func holdArray[A ~[24]byte | ~[232]byte | ~[488]byte | ~[1000]byte | ~[2024]byte | ~[4072]byte | ~[7992]byte](yield func(int) bool) {
	var a A
	for i := range len(a) {
		a[i] = byte(i)
	}
	for i := 0; yield(int(a[i%len(a)])); i++ {
	}
}

//go:noinline
func recurseThenYield(yield func(int) bool, d int) bool {
	if d > 0 {
		return recurseThenYield(yield, d-1)
	}
	for yield(d) {
	}
	return false
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
		walk := func() {
			next, stop := Pull(tree.all)
			for _, ok := next(); ok; _, ok = next() {
			}
			stop()
		}
		// What the first walks on the share stack learn (the frame
		// layouts, a co's memos) is allocated once: under
		// ACO_MOVE_THRESHOLD=0 the passes above moved, and learned none.
		for range 3 {
			walk()
		}
		allocs = testing.AllocsPerRun(100, walk)
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

// TestPullGoexitMatchesIterPull: a generator that calls runtime.Goexit ends
// the goroutine that called next, as iter.Pull's does, and leaves the
// iterator usable from another goroutine: next then reports the end and
// stop does nothing. On its share stack and once moved onto a goroutine of
// its own (where next's fast path has no deferred call: the co's end gives
// the iterator back).
func TestPullGoexitMatchesIterPull(t *testing.T) {
	trace := func(pull func(iter.Seq[int]) (func() (int, bool), func())) []string {
		var out []string
		next, stop := pull(func(yield func(int) bool) {
			defer func() { out = append(out, "seq deferred") }()
			for i := 1; i <= 3; i++ {
				yield(i)
			}
			runtime.Goexit()
		})
		for range 3 {
			v, ok := next()
			out = append(out, fmt.Sprint("next ", v, " ", ok))
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { out = append(out, fmt.Sprint("goroutine exited, recovered ", recover())) }()
			next()
			out = append(out, "next returned")
		}()
		<-done
		v, ok := next()
		out = append(out, fmt.Sprint("next ", v, " ", ok))
		stop()
		out = append(out, "stopped")
		v, ok = next()
		out = append(out, fmt.Sprint("next ", v, " ", ok))
		return out
	}
	want := trace(iter.Pull[int])
	t.Run("sharestack", func(t *testing.T) {
		defer pinOnShareStack()()
		require.Equal(t, want, trace(Pull[int]))
	})
	t.Run("moved", func(t *testing.T) {
		withMove(t, 0, 1, func() {
			require.Equal(t, want, trace(Pull[int]))
		})
	})
}

// placementDepth is how deep placementGen recurses before each yield,
// placementCount how many values it yields.
var placementDepth, placementCount = 0, 100

// placementGen yields placementCount values, each from placementDepth
// frames down: a generator whose iterators move when it is deep (see
// placement.go).
func placementGen(yield func(int) bool) {
	for i := range placementCount {
		if !placementYield(yield, i, placementDepth) {
			return
		}
	}
}

//go:noinline
func placementYield(yield func(int) bool, v, d int) bool {
	if d > 0 {
		var pad [64]byte // a frame worth copying
		sink(pad[:])
		return placementYield(yield, v, d-1)
	}
	return yield(v)
}

// TestPlacementLearnsAndDecays: the iterators of a generator that moved
// start on a goroutine of their own, placeMoved of them per move learned;
// then one starts on its share stack to learn again. Once the generator's
// iterators turn cheap, that one stays on its share stack and the next
// ones start there too.
func TestPlacementLearnsAndDecays(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	withMove(t, MoveThreshold, 32, func() { // the default policy, whatever ACO_MOVE_THRESHOLD says
		pc := funcPC(iter.Seq[int](placementGen))
		placementSlot(pc).Store(0)
		// drain runs one iterator to its end and reports whether it
		// started moved and whether its co moved.
		drain := func() (premoved, moved bool) {
			p := newPull(iter.Seq[int](placementGen))
			next, stop := p.funcs()
			defer stop()
			premoved = p.premoved
			sum := 0
			for v, ok := next(); ok; v, ok = next() {
				sum += v
				moved = moved || p.co.Moved()
			}
			require.Equal(t, placementCount*(placementCount-1)/2, sum, "the values")
			return premoved, moved
		}
		placementDepth = deepFrames
		for round := range 2 {
			premoved, moved := drain()
			require.False(t, premoved, "round %d: nothing learned yet", round)
			require.True(t, moved, "round %d: a deep generator's co moves", round)
			require.Equal(t, placeMoved, placementScore(pc))
			for k := range placeMoved {
				premoved, moved := drain()
				require.True(t, premoved && moved, "round %d: iterator %d starts moved", round, k)
				require.Equal(t, placeMoved-1-k, placementScore(pc))
			}
		}
		// The generator turns cheap: the learned iterators still start
		// moved, then the one that starts on its share stack stays there,
		// and so do the next ones.
		placementDepth = 0
		require.Equal(t, 0, placementScore(pc))
		premoved, moved := drain()
		require.False(t, premoved || moved, "a cheap generator's co stays on its share stack")
		placementDepth = deepFrames
		drain() // learns again
		placementDepth = 0
		for k := range placeMoved {
			premoved, _ := drain()
			require.True(t, premoved, "learned iterator %d", k)
		}
		for k := range 3 {
			premoved, moved := drain()
			require.False(t, premoved || moved, "cheap iterator %d after the decay", k)
		}
		require.Equal(t, 0, placementScore(pc))
		// A short iterator started on a goroutine (fewer yields than a
		// move takes) makes the next ones start on their share stack.
		placementDepth = deepFrames
		drain() // learns
		placementCount = 10
		defer func() { placementCount = 100 }()
		premoved, _ = drain()
		require.True(t, premoved)
		require.Equal(t, 0, placementScore(pc), "a short iterator forgets what was learned")
		premoved, moved = drain()
		require.False(t, premoved || moved)
	})
}

// TestPlacementTableBounded: learning about any number of generator
// functions allocates nothing and keeps at most placementSlots of them.
func TestPlacementTableBounded(t *testing.T) {
	var saved [placementSlots]uint64
	for i := range placements {
		saved[i] = placements[i].Load()
	}
	defer func() {
		for i := range placements {
			placements[i].Store(saved[i])
		}
	}()
	const n = 10_000
	pcs := make([]uintptr, n)
	for i := range pcs {
		pcs[i] = 0x40_0000 + uintptr(i)*16
	}
	allocs := testing.AllocsPerRun(3, func() {
		for _, pc := range pcs {
			learnMoved(pc)
		}
	})
	require.Zero(t, allocs)
	known := 0
	for _, pc := range pcs {
		if placementScore(pc) > 0 {
			known++
		}
	}
	require.LessOrEqual(t, known, placementSlots)
	require.Equal(t, placeMoved, placementScore(pcs[n-1]), "the last one learned holds its slot")
}

// TestDeepIteratorsKeepMoving: the iterators of a generator whose yields
// cost more than a goroutine switch keep moving (or starting moved), with
// walk buffers and the memo index in play: a thousand walks of a depth-8
// tree, of which at least nine in ten must end on a goroutine.
func TestDeepIteratorsKeepMoving(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	withMove(t, MoveThreshold, 32, func() { // the default policy, whatever ACO_MOVE_THRESHOLD says
		var count int
		tree := newBinTree(8, &count)
		moved := 0
		const iterators = 1000
		for range iterators {
			p := newPull(tree.all)
			next, stop := p.funcs()
			sum, m := 0, false
			for v, ok := next(); ok; v, ok = next() {
				sum += v
				m = m || p.co != nil && p.co.Moved()
			}
			stop()
			require.Equal(t, count*(count-1)/2, sum, "the values")
			if m {
				moved++
			}
		}
		assert.GreaterOrEqual(t, moved, iterators*9/10, "iterators that moved")
	})
}

// TestCollectedYieldsMove: a co whose every yield reaches a stack object
// (the closure its body passes down a shallow recursion), so that Go code
// must find its roots, counts each such yield as costly and moves, however
// small its image. A cheap first attempt at the same yield must not count
// it as cheap before it falls back to that scan.
func TestCollectedYieldsMove(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	withMove(t, MoveThreshold, 32, func() { // the default policy, whatever ACO_MOVE_THRESHOLD says
		var count int
		tree := newBinTree(4, &count)
		m := NewMain()
		defer m.Destroy()
		got := 0
		co := Create(m, nil, 0, func(co *Co) {
			for {
				// A closure that does not escape: a stack object of the
				// body's frame, which the frames below point to.
				tree.walk(func(v int) bool { got = v; co.Yield(); return true })
			}
		}, nil)
		defer co.Destroy()
		for i := range 1000 {
			co.Resume()
			require.Equal(t, i%count, got, "the values")
		}
		assert.True(t, co.Moved(), "a co whose yields all need a scan in Go moved")
	})
}

// movedPull returns an iterator over seq whose co has moved onto a
// goroutine of its own, with the values before the move pulled: the first
// next's yield marks the co, the second next moves it, and from the third
// on next takes its moved fast path, which runs the co marked suspended.
func movedPull(t *testing.T, seq iter.Seq[int]) (func() (int, bool), func()) {
	t.Helper()
	var next func() (int, bool)
	var stop func()
	withMove(t, 0, 1, func() {
		next, stop = Pull(seq)
		for want := range 2 {
			v, ok := next()
			require.True(t, ok)
			require.Equal(t, want, v)
		}
	})
	return next, stop
}

// TestMovedPullFastPathMisuse is the misuse of a Pull iterator whose co moved,
// on next's fast path (see movedPull): every call is refused, or ends the
// iteration, as on the co's other paths.
func TestMovedPullFastPathMisuse(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	t.Run("next from inside the generator", func(t *testing.T) {
		var next func() (int, bool)
		next, stop := movedPull(t, func(yield func(int) bool) {
			for i := range 2 {
				yield(i)
			}
			next()
		})
		defer stop()
		require.PanicsWithValue(t, msgNextAgain, func() { next() })
		_, ok := next()
		require.False(t, ok, "the generator panicked: the iteration is over")
	})
	t.Run("stop from inside the generator", func(t *testing.T) {
		var stop func()
		after, deferred := false, false
		next, stop := movedPull(t, func(yield func(int) bool) {
			defer func() { deferred = true }()
			for i := range 2 {
				yield(i)
			}
			stop()
			after = true
			yield(2)
		})
		requireStoppedInside(t, next, stop, &after, &deferred)
	})
	t.Run("yield from another goroutine", func(t *testing.T) {
		var out mcOut
		next, stop := movedPull(t, func(yield func(int) bool) {
			for i := range 2 {
				yield(i)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				out = mc(func() { yield(99) })
			}()
			<-done
			yield(2)
		})
		defer stop()
		v, ok := next()
		require.True(t, out.panicked, "a yield from another goroutine was let through")
		require.Equal(t, msgYieldOutside, out.v)
		require.True(t, ok)
		require.Equal(t, 2, v, "the generator goes on")
	})
	t.Run("yield with a thread lock taken inside", func(t *testing.T) {
		next, stop := movedPull(t, func(yield func(int) bool) {
			for i := range 2 {
				yield(i)
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			yield(2)
		})
		defer stop()
		require.PanicsWithValue(t, msgYieldLocked, func() { next() })
	})
	t.Run("next from two goroutines at once", func(t *testing.T) {
		running, release := make(chan struct{}), make(chan struct{})
		next, stop := movedPull(t, func(yield func(int) bool) {
			for i := range 2 {
				yield(i)
			}
			close(running)
			<-release
			for i := 2; yield(i); i++ {
			}
		})
		defer stop()
		first := make(chan int, 1)
		go func() {
			v, _ := next()
			first <- v
		}()
		<-running
		require.PanicsWithValue(t, msgNextTwo, func() { next() })
		close(release)
		require.Equal(t, 2, <-first, "the first next goes on")
		v, ok := next()
		require.True(t, ok)
		require.Equal(t, 3, v, "the iterator stays usable")
	})
}
