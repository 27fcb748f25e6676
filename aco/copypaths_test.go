//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"cmp"
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The copy-stack engine's paths: memos, the copy loop at every size, stack
// growth, moves by depth, and a moved Pull's cost and misuse.

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
// memo (capture's fast path) once two of them have yielded alike, and Destroy
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
		// Without optimization the defer is a record, which Destroy runs
		// from the co's records whatever the memo says.
		records := co.x != nil && len(co.x.cs.defers) > 0
		if co.memo != nil && co.memo.matchImage(co.pc, uintptr(co.buf)+co.n+ptrSize, co.n) && !records {
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
// time, stays on its share stack; with moves off (ACO_MOVE_THRESHOLD=off)
// none moves. Its values go on in order either way.
func TestResumedAtNewDepthsMoves(t *testing.T) {
	if Engine() != CopyStack {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	cases := []struct {
		name      string
		depth     func(i int) int // call depth of the i-th resume
		moves     bool
		threshold uintptr // 0: MoveThreshold
	}{
		{"a new depth every time", func(i int) int { return i % 5 }, true, 0},
		{"two depths in turn", func(i int) int { return i % 2 * 3 }, true, 0},
		{"a new depth nine times in ten", func(i int) int { return (i - i%10/9) % 5 }, true, 0},
		{"one depth", func(int) int { return 2 }, false, 0},
		{"a new depth every other time", func(i int) int { return i / 2 % 2 * 3 }, false, 0},
		{"a new depth every time, moves off", func(i int) int { return i % 5 }, false, moveOff},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			threshold := cmp.Or(c.threshold, MoveThreshold)
			withMove(t, threshold, 32, func() {
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

// TestResumeFromLockedThread: a resumer that holds its OS thread may
// resume a co, which yields with the lock counts of its resume (the
// trampoline keeps them while it runs, on every path); a lock the co takes
// and releases within a run is no misuse either. The resumer's counts
// change between resumes, so counts kept from an earlier resume fail.
func TestResumeFromLockedThread(t *testing.T) {
	if !copyStackOn {
		// A co on a goroutine must be resumed with the lock state of its
		// first resume (a misuse row): its goroutine cannot follow.
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	defer pinOnShareStack()() // a moved co is on a goroutine
	m, ss := NewMain(), NewShareStack(0)
	n := 0
	co := Create(m, ss, 0, func(co *Co) {
		for {
			n++
			runtime.LockOSThread()
			runtime.UnlockOSThread()
			co.Yield()
		}
	}, nil)
	for i := range 6 { // the first resume, then the fast path
		locked := i%2 == 1
		if locked {
			runtime.LockOSThread()
		}
		co.Resume()
		if locked {
			runtime.UnlockOSThread()
		}
	}
	require.Equal(t, 6, n)
	require.False(t, co.IsEnd())
	require.False(t, co.Moved(), "the co stayed on its share stack")
	co.Destroy()
	ss.Destroy()
	m.Destroy()
}

// TestNewCoIsReset: a new share-stack co's context is what resetCopyStack
// makes of it (initCopyStack sets only the fields a new Co does not have
// zero, and must not fall behind resetCopyStack).
func TestNewCoIsReset(t *testing.T) {
	if !copyStackOn {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	m, ss := NewMain(), NewShareStack(0)
	for _, size := range []int{0, 1 << 12} { // the inline save stack, and one of its own
		co := Create(m, ss, size, func(co *Co) {}, nil)
		fresh := co.cs
		co.resetCopyStack()
		assert.Equal(t, co.cs, fresh, "save stack size %d", size)
		co.Destroy()
	}
	ss.Destroy()
	m.Destroy()
}

// TestDestroyAfterMemoYieldsRunsOpenDefer: Destroy trusts the memo of the
// yield that saved the image to say there are no open-coded defers (see
// imageMemo). A co that yielded with a memo at one place and then at
// another, with an open-coded defer pending and frames no memo describes,
// must still be unwound: a trust left over from the earlier yields would
// skip its deferred call.
func TestDestroyAfterMemoYieldsRunsOpenDefer(t *testing.T) {
	if !copyStackOn {
		t.Skip("the copy-stack engine is off:", EngineNote())
	}
	defer pinOnShareStack()() // a moved co is unwound on its goroutine
	m, ss := NewMain(), NewShareStack(0)
	ran := false
	co := Create(m, ss, 0, func(co *Co) {
		for range 4 {
			yieldPlain(co)
		}
		yieldUnderOpenDefer(co, &ran)
	}, nil)
	for range 4 {
		co.Resume()
	}
	require.True(t, co.memoImage, "the yields at one place use a memo (else this test tests nothing)")
	co.Resume() // now suspended under the open-coded defer
	require.False(t, ran)
	co.Destroy()
	require.True(t, ran, "Destroy ran the pending open-coded deferred call")
	ss.Destroy()
	m.Destroy()
}

//go:noinline
func yieldPlain(co *Co) { co.Yield() }

//go:noinline
func yieldUnderOpenDefer(co *Co, ran *bool) {
	defer func() { *ran = true }()
	co.Yield()
}

var memoIndexSink func(int) bool

// TestMemoIndexSharesLayouts: the cos of one generator, each new (a Pull
// per walk of a small tree), yield with the same layouts, one per node, none
// twice in a row; from the third walk on the yields find their layouts in
// the memo index (another co's memo) instead of walking their frames (all
// but the few whose slots other memos took: the index is a hash table of
// fixed size), and the values and roots stay right.
func TestMemoIndexSharesLayouts(t *testing.T) {
	defer pinOnShareStack()()
	// Other code's memos first, with images of many sizes: every co yields
	// from Yield's one place, so a layout of the tree's can share its PC
	// and size with one of these, whose frames differ.
	m, ss := NewMain(), NewShareStack(0)
	for depth := range 40 {
		for top := range 4 {
			co := Create(m, ss, 0, func(co *Co) { holdFrames(co, depth, top, 1) }, nil)
			for !co.IsEnd() {
				co.Resume()
			}
			co.Destroy()
		}
	}
	ss.Destroy()
	m.Destroy()
	var count int
	tree := newBinTree(4, &count)
	for pass := range 4 {
		m, ss := NewMain(), NewShareStack(0) // no memo from another co of ss
		var got []int
		co := Create(m, ss, 0, func(co *Co) {
			yield := func(v int) bool {
				p := new(int) // a heap root in the yield's frames
				*p = v
				co.Yield()
				got = append(got, *p)
				return true
			}
			// On the heap, as Pull's yield function is: one on the stack,
			// which the walk's frames point to, is a stack object whose
			// roots a yield collects in Go, memo or not.
			memoIndexSink = yield
			tree.all(yield)
		}, nil)
		for co.Resume(); !co.IsEnd(); co.Resume() {
			runtime.GC()
		}
		require.Len(t, got, count)
		for i, v := range got {
			require.Equal(t, i, v)
		}
		if pass >= 2 {
			// At most a third: which of the tree's layouts lose their
			// slots to the other code's depends on the code's addresses
			// and frame sizes (an optimized build walked at most 3 of 15 here,
			// one without inlining 4); with no index it is every one.
			assert.LessOrEqual(t, int(ss.walks), count/3, "pass %d: yields whose frames were walked, of %d", pass, count)
		}
		co.Destroy()
		ss.Destroy()
		m.Destroy()
	}
}

// heldBox is a heap object that only one frame of heldWalk refers to.
type heldBox struct{ a, b uintptr }

var heldSink *heldBox

// newHeldBox allocates a heldBox on the heap (its result escapes).
//
//go:noinline
func newHeldBox(v uintptr) *heldBox { return &heldBox{a: v, b: ^v} }

// heldWalk walks a complete binary tree of the given depth in pre-order,
// yielding at each node; every frame holds a heap object of its own,
// referenced from nowhere else, which it checks when its calls return.
// While the co is suspended, only its roots keep those objects alive.
// Both children are walked from one call site, as a loop over children
// does: the frames of the two subtrees have the same PCs and different
// objects, so a leaf's yield and its sibling's have the same frames.
func heldWalk(co *Co, depth int, next *uintptr, bad *string) {
	if depth == 0 {
		return
	}
	h := newHeldBox(*next * 1000003)
	*next++
	co.Yield()
	for range 2 {
		heldWalk(co, depth-1, next, bad)
	}
	if h.a != ^h.b && *bad == "" {
		heldFreed(bad, depth)
	}
}

// heldFreed reports a freed heldBox: apart, so that heldWalk's frames have
// no stack object (fmt's arguments), as most generators' frames have none.
//
//go:noinline
func heldFreed(bad *string, depth int) {
	*bad = fmt.Sprintf("depth %d: a frame's heap object was freed while the co was suspended", depth)
}

// TestDeepWalkScansChangedFrames: a yield of a recursive walk scans only
// the frames that changed since the last one (walkBufs): at depth 20 an
// pre-order walk scans at most 4 frames per yield on average, and the
// frames below keep their roots (the collector runs while the co is
// suspended, and the heap objects only those frames refer to survive).
func TestDeepWalkScansChangedFrames(t *testing.T) {
	defer pinOnShareStack()()
	m, ss := NewMain(), NewShareStack(0)
	defer m.Destroy()
	defer ss.Destroy()
	var next uintptr
	var bad string
	co := Create(m, ss, 0, func(co *Co) { heldWalk(co, 20, &next, &bad) }, nil)
	defer co.Destroy()
	const warm, yields = 100, 20000
	var walks uint32
	var frames uint64
	for i := range warm + yields {
		if i == warm {
			walks, frames = ss.walks, ss.walkedFrames
		}
		co.Resume()
		require.Equal(t, uintptr(i+1), next, "yield %d", i)
		if i%50 == 0 {
			// The co is suspended: a heap object only its frames refer
			// to survives this if its roots hold it, and is zeroed by the
			// allocations after if they do not.
			runtime.GC()
			for range 256 {
				heldSink = new(heldBox)
			}
		}
		require.Empty(t, bad, "yield %d", i)
	}
	walks, frames = ss.walks-walks, ss.walkedFrames-frames
	perYield := float64(frames) / yields
	t.Logf("%d yields: %d walked, %d frames scanned (%.2f per yield)", yields, walks, frames, perYield)
	assert.LessOrEqual(t, perYield, 4.0, "frames scanned per yield at depth 20")
}

// TestYieldOutsideLeavesTheCoAlone: a Yield by a goroutine that does not
// run the co panics without writing to the co's switch context: neither to
// a suspended co's (the Yield that Destroy resumes it into reads its
// status: it once read the misuse's and panicked in the co instead of
// unwinding it) nor to a running one's (its own Yield, on the goroutine
// running it, reads the status of its capture).
func TestYieldOutsideLeavesTheCoAlone(t *testing.T) {
	m, ss := NewMain(), NewShareStack(0)
	running, release := make(chan struct{}), make(chan struct{})
	co := Create(m, ss, 0, func(co *Co) {
		co.Yield()
		close(running)
		<-release
		co.Yield()
	}, nil)
	co.Resume()

	before := co.swctx
	out := mc(co.Yield)
	require.True(t, out.panicked)
	require.Contains(t, fmt.Sprint(out.v), "aco: Yield called outside the co")
	require.Equal(t, before, co.swctx, "a Yield from outside changed the suspended co's context")

	done := make(chan mcOut, 1)
	go func() { done <- mc(co.Resume) }()
	<-running // the co is blocked in its body, on that goroutine
	before = co.swctx
	out = mc(co.Yield)
	require.True(t, out.panicked)
	require.Equal(t, msgYieldOutside, out.v)
	require.Equal(t, before, co.swctx, "a Yield from another goroutine changed the running co's context")
	close(release)
	require.False(t, (<-done).panicked)

	co.Destroy()
	ss.Destroy()
	m.Destroy()
}
