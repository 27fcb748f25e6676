//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"
	"unsafe"

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
	moveThreshold, moveAfter = 1<<30, 1<<30
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
func holdArray[A ~[24]byte | ~[232]byte | ~[488]byte | ~[1000]byte | ~[2024]byte](yield func(int) bool) {
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

// TestMemosOfAlternatingYields: a co that yields at three places in turn,
// twice at each (a lexer's yield per kind of token), resumed at a
// different depth each time, keeps a memo of each place instead of
// building a new one at every second yield, and the images it relocates
// from a memo come back intact.
func TestMemosOfAlternatingYields(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	defer pinOnShareStack()()
	main, ss := NewMain(), NewShareStack(0)
	defer main.Destroy()
	defer ss.Destroy()
	type tok struct{ kind, n int }
	var got []tok
	co := Create(main, ss, 0, func(co *Co) {
		for i := 0; ; i++ {
			v := &tok{n: i}
			switch i / 2 % 3 {
			case 0:
				v.kind = 0
				co.Yield()
			case 1:
				v.kind = 1
				co.Yield()
			default:
				v.kind = 2
				co.Yield()
			}
			got = append(got, *v) // v lives across the yield
		}
	}, nil)
	defer co.Destroy()
	memos := map[*yieldMemo]bool{}
	var resumeAt func(d int)
	resumeAt = func(d int) {
		if d > 0 {
			resumeAt(d - 1)
			return
		}
		co.Resume()
	}
	for i := range 300 {
		resumeAt(i % 7) // a new place for the image at each resume
		if i%50 == 0 {
			runtime.GC()
		}
		if co.memo != nil {
			memos[co.memo] = true
		}
	}
	require.NotEmpty(t, memos)
	require.LessOrEqual(t, len(memos), memoWays, "memos built for three yield places")
	require.Len(t, got, 299)
	for i, v := range got {
		require.Equal(t, tok{kind: i / 2 % 3, n: i}, v)
	}
}

// TestCosRunningTheSameCodeShareAMemo: coroutines on share stacks of their
// own that yield with the same frames (actors of one kind) end up with one
// memo between them, and keep yielding correctly with it.
func TestCosRunningTheSameCodeShareAMemo(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	defer pinOnShareStack()()
	main := NewMain()
	defer main.Destroy()
	const n = 100
	var sum [n]int
	cos := make([]*Co, n)
	stacks := make([]*ShareStack, n)
	for i := range cos {
		stacks[i] = NewShareStack(0)
		cos[i] = Create(main, stacks[i], 0, func(co *Co) {
			for k := 1; ; k++ {
				v := &k
				co.Yield()
				sum[i] += *v
			}
		}, nil)
	}
	memos := map[*yieldMemo]int{}
	for round := range 5 {
		for _, co := range cos {
			co.Resume()
		}
		if round == 2 {
			runtime.GC()
		}
	}
	for i, co := range cos {
		require.NotNil(t, co.memo, "co %d", i)
		memos[co.memo]++
		require.Equal(t, 1+2+3+4, sum[i], "co %d", i)
	}
	require.Len(t, memos, 1, "memos of one yield of one code")
	for i, co := range cos {
		co.Destroy()
		stacks[i].Destroy()
	}
}

// TestMovedPullAllocatesNothing: the round trip of an aco.Pull iterator
// whose co moved onto a goroutine of its own allocates nothing (see
// TestCommonYieldAllocatesNothing).
func TestMovedPullAllocatesNothing(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	withMove(t, 0, 1, func() {
		p := &puller[int]{} // Pull's, with its co at hand
		p.init(&p.own, func(yield func(int) bool) {
			for i := 0; yield(i); i++ {
			}
		})
		next, stop := p.funcs()
		defer stop()
		next()
		next()
		require.True(t, p.co.Moved())
		require.Zero(t, testing.AllocsPerRun(1000, func() { next() }))
	})
}

// TestCopyLoopEverySize: images of every size the copy loop distinguishes
// (whole 32-byte blocks, a 16-byte and a word tail, REP MOVSB from
// copyRepMin on) come back word for word, resumed at another depth each
// time.
func TestCopyLoopEverySize(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	defer pinOnShareStack()()
	main, ss := NewMain(), NewShareStack(0)
	defer main.Destroy()
	defer ss.Destroy()
	sizes, largest := map[uintptr]bool{}, uintptr(0)
	for depth := 0; depth < 200; depth += 1 + depth/8 {
		for top := range 4 {
			var bad string
			co := Create(main, ss, 0, func(co *Co) {
				bad = holdFrames(co, depth, top, uintptr(depth*7+top))
			}, nil)
			for i := range 3 {
				resumeAtDepth(co, i*3)
			}
			sizes[co.n%32] = true
			largest = max(largest, co.n)
			co.Resume()
			require.True(t, co.IsEnd())
			require.Empty(t, bad, "depth %d top %d", depth, top)
			co.Destroy()
		}
	}
	require.Len(t, sizes, int(32/ptrSize), "image sizes modulo 32 covered")
	require.Greater(t, largest, uintptr(2*repMovsbMin), "images large enough for REP MOVSB")
}

// holdFrames recurses depth frames, each holding a word, then holds an
// array of 1 to 4 words across three yields and checks every word.
//
//go:noinline
func holdFrames(co *Co, depth, top int, seed uintptr) string {
	if depth > 0 {
		w := seed * 31
		bad := holdFrames(co, depth-1, top, seed+1)
		if w != seed*31 && bad == "" {
			bad = "a frame's word changed"
		}
		return bad
	}
	switch top {
	case 0:
		return holdWords(co, &[1]uintptr{seed})
	case 1:
		return holdWords(co, &[2]uintptr{seed, seed + 1})
	case 2:
		return holdWords(co, &[3]uintptr{seed, seed + 1, seed + 2})
	}
	return holdWords(co, &[4]uintptr{seed, seed + 1, seed + 2, seed + 3})
}

//go:noinline
func holdWords[A [1]uintptr | [2]uintptr | [3]uintptr | [4]uintptr](co *Co, p *A) string {
	a := *p // a copy in this frame
	for range 3 {
		co.Yield()
	}
	if a != *p {
		return "the top frame's words changed"
	}
	return ""
}

func resumeAtDepth(co *Co, d int) {
	if d > 0 {
		resumeAtDepth(co, d-1)
		return
	}
	co.Resume()
}

// TestMovedPullMisuse checks a Pull iterator whose co moved onto a
// goroutine of its own: a resume under an OS thread lock the co was not
// moved with gets aco's panic (the runtime's switch would throw, killing
// the process), a next from inside the generator panics, and the end is
// seen, after which next keeps returning false.
func TestMovedPullMisuse(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	withMove(t, 0, 1, func() {
		var next func() (int, bool)
		var inside func()
		var gens []uintptr // the goroutine the generator runs on, at each yield
		next, stop := Pull(func(yield func(int) bool) {
			for i := 0; i < 3; i++ {
				gens = append(gens, getg())
				if !yield(i) {
					return
				}
			}
			inside()
			yield(3)
		})
		defer stop()
		for want := range 2 {
			v, ok := next()
			require.True(t, ok)
			require.Equal(t, want, v)
		}
		require.NotEqual(t, getg(), gens[len(gens)-1], "the co moved onto a goroutine of its own")

		runtime.LockOSThread()
		require.PanicsWithValue(t, "aco: Resume of a standalone co from an OS thread whose LockOSThread state differs from that of its first resume",
			func() { next() }, "a locked resumer")
		runtime.UnlockOSThread()

		inside = func() {
			require.PanicsWithValue(t, msgNextAgain, func() { next() }, "next from inside the generator")
		}
		v, ok := next()
		require.Equal(t, 2, v)
		require.True(t, ok)
		v, ok = next() // runs inside, then yields 3
		require.Equal(t, 3, v)
		require.True(t, ok)
		_, ok = next()
		require.False(t, ok, "the end")
		_, ok = next()
		require.False(t, ok)
	})
}

// TestGrowStackMakesRoom checks growStack on fresh goroutines (whose
// stacks start small, as a moved co's does): afterwards the stack has at
// least n bytes below the caller's frame, for sizes in each of its cases.
func TestGrowStackMakesRoom(t *testing.T) {
	for _, n := range []int{100, 3 << 10, 4 << 10, 6 << 10, 12 << 10, 20 << 10, 70 << 10} {
		room := make(chan uintptr)
		go func() {
			growStack(n)
			var here byte
			room <- uintptr(unsafe.Pointer(&here)) - gStackLo(getg())
		}()
		require.GreaterOrEqual(t, <-room, uintptr(n), "room after growStack(%d)", n)
	}
}

var firstYieldRan int

func firstYieldDefer() { firstYieldRan++ }

// TestFirstYieldSharesMemo: cos created on one share stack to run the same
// code, each yielding once, take their first yield from the share stack's
// memo (captureFast) once two of them have yielded alike, and Destroy
// trusts a memo without open-coded defers. With a pending open-coded
// defer (a defer record in builds without optimization), Destroy still
// runs it: a memo of such frames says they have one.
func TestFirstYieldSharesMemo(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	main, ss := NewMain(), NewShareStack(0)
	defer main.Destroy()
	defer ss.Destroy()

	calls := 0
	plain := func(co *Co) { calls++; co.Yield(); calls++ }
	var memo *yieldMemo
	for i := range 10 {
		co := Create(main, ss, 0, plain, nil)
		co.Resume()
		if i >= 2 {
			require.NotNil(t, co.memo, "co %d: first yield without a memo", i)
			if memo == nil {
				memo = co.memo
			}
			assert.Same(t, memo, co.memo, "co %d: not the share stack's memo", i)
			assert.Nil(t, co.x, "co %d: a memo taken from the share stack needs no extra state", i)
			assert.False(t, co.hasPendingDefers())
		}
		co.Destroy()
	}
	assert.Equal(t, 10, calls, "Destroy ran the rest of a co")

	firstYieldRan = 0
	deferring := func(co *Co) {
		defer firstYieldDefer() // a static function: no closure on the stack
		co.Yield()
	}
	for i := range 10 {
		co := Create(main, ss, 0, deferring, nil)
		co.Resume()
		if co.memo != nil && co.memo.matchImage(co.pc, co.buf+co.n+ptrSize, co.n) {
			assert.True(t, co.memo.openDefers, "co %d: the memo of a frame with an open-coded defer", i)
		}
		co.Destroy()
		assert.Equal(t, i+1, firstYieldRan, "co %d: Destroy did not run the pending defer", i)
	}
}

// TestResumedAtNewDepthsMoves checks the relocation count of the move: a
// co whose resumes mostly come from a new call depth (so that each
// relocates its image) moves onto a goroutine of its own, as a lexer
// pulled by a recursive-descent parser does, even with a cheap resume now
// and then; one resumed at one depth, or at a new one only every other
// time, stays on its share stack. Its values
// go on in order either way.
func TestResumedAtNewDepthsMoves(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	cases := []struct {
		name  string
		depth func(i int) int // call depth of the i-th resume
		moves bool
	}{
		{"a new depth every time", func(i int) int { return i % 5 }, true},
		{"two depths in turn", func(i int) int { return i % 2 * 3 }, true},
		{"a new depth nine times in ten", func(i int) int { return (i - i%10/9) % 5 }, true},
		{"one depth", func(int) int { return 2 }, false},
		{"a new depth every other time", func(i int) int { return i / 2 % 2 * 3 }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			withMove(t, MoveThreshold, 32, func() {
				main, ss := NewMain(), NewShareStack(0)
				defer main.Destroy()
				defer ss.Destroy()
				n := 0
				co := Create(main, ss, 0, func(co *Co) {
					for {
						n++
						co.Yield()
					}
				}, nil)
				var at func(d int)
				at = func(d int) {
					if d > 0 {
						at(d - 1)
						return
					}
					co.Resume()
				}
				for i := range 400 {
					at(c.depth(i))
					require.Equal(t, i+1, n, "resume %d", i)
				}
				assert.Equal(t, c.moves, co.Moved())
				co.Destroy()
			})
		})
	}
}
