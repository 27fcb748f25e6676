package aco

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"iter"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Stack movement: a share-stack coroutine on the copy-stack engine runs on
// the resumer's goroutine stack, which the runtime grows, shrinks and moves,
// and it may be resumed at another depth or on another goroutine each time.
// Its frames hold pointers to its own locals, which must follow it.

// deepFill recurses d levels with 1 KB frames, checks every frame's buffer
// after the recursion below it returned, and returns a checksum.
//
//go:noinline
func deepFill(d int, seed uint64) uint64 {
	var buf [1024]byte
	for i := range buf {
		buf[i] = byte(seed + uint64(d*7+i))
	}
	var sum uint64
	if d > 0 {
		sum = deepFill(d-1, seed)
	}
	for i := range buf {
		if buf[i] != byte(seed+uint64(d*7+i)) {
			panic(fmt.Sprintf("aco test: deepFill frame %d corrupted", d))
		}
		sum += uint64(buf[i]) * uint64(d+1)
	}
	return sum
}

// mval is the value element k of co id's local array holds after step s.
func mval(id, k, s int) uint64 {
	return uint64(id)<<40 ^ uint64(k)<<32 ^ uint64(s)*0x9E3779B1 ^ 0xA5A5
}

// selfRef is an address-taken struct whose fields point into its own
// frame: to a local array, into it, and to another such struct.
type selfRef struct {
	arr  *[16]uint64
	elem *uint64
	sl   []uint64
	heap *[4]uint64
	next *selfRef
}

//go:noinline
func touchSelfRef(*selfRef) {}

//go:noinline
func touchU64(*uint64) {}

// moveState is what a moveBody coroutine shares with its driver.
type moveState struct {
	id    int
	steps int // yields
	done  int // steps the co checked
	fail  string
	addrs map[uintptr]bool // addresses its local array was seen at

	// Optional work between resumes, inside the co.
	grow   int // deepFill depth to run after each resume (0: none)
	gcStep int // runtime.GC() inside the co every gcStep steps (0: never)
}

func (st *moveState) failf(format string, args ...any) {
	if st.fail == "" {
		st.fail = fmt.Sprintf("co %d: ", st.id) + fmt.Sprintf(format, args...)
	}
}

// moveBody keeps pointers to its own locals across yields in every form: a
// pointer into a local array in a plain slot, a slice of it, an
// address-taken struct pointing to the array and to another address-taken
// struct, reached only through a pointer held in a slot. It checks their
// identity and the values after every resume and changes the values.
func moveBody(co *Co) {
	st := co.Arg().(*moveState)
	id := st.id
	var arr [16]uint64
	for k := range arr {
		arr[k] = mval(id, k, 0)
	}
	p := &arr[5]
	touchU64(p)
	sl := arr[2:10]
	var inner selfRef
	inner.arr, inner.elem, inner.sl = &arr, &arr[7], arr[3:9]
	inner.heap = &[4]uint64{uint64(id), 1, 2, 3}
	var outer selfRef
	outer.arr, outer.next = &arr, &inner
	op := &outer // from here on outer and inner are reached through op only
	touchSelfRef(op)
	for s := 1; s <= st.steps; s++ {
		co.Yield()
		if !(p == &arr[5] && &sl[0] == &arr[2] && op.arr == &arr && op.next.arr == &arr &&
			op.next.elem == &arr[7] && &op.next.sl[0] == &arr[3] && op.next.next == nil) {
			// Addresses as integers: a pointer passed to fmt would move
			// arr to the heap.
			st.failf("pointers to its own locals do not point to them after resume %d: p=%#x op.arr=%#x op.next.arr=%#x &arr=%#x",
				s, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(op.arr)), uintptr(unsafe.Pointer(op.next.arr)), uintptr(unsafe.Pointer(&arr)))
			return
		}
		for k := range arr {
			if arr[k] != mval(id, k, s-1) {
				st.failf("arr[%d]=%#x after resume %d, want %#x", k, arr[k], s, mval(id, k, s-1))
				return
			}
		}
		if *p != mval(id, 5, s-1) || sl[1] != mval(id, 3, s-1) || *op.next.elem != mval(id, 7, s-1) ||
			op.next.sl[2] != mval(id, 5, s-1) || op.arr[15] != mval(id, 15, s-1) || *op.next.heap != [4]uint64{uint64(id), 1, 2, 3} {
			st.failf("values read through pointers are wrong after resume %d", s)
			return
		}
		if st.addrs != nil {
			st.addrs[uintptr(unsafe.Pointer(&arr))] = true
		}
		if st.grow > 0 {
			if got := deepFill(st.grow, uint64(s)); got != deepFillWant(st.grow, uint64(s)) {
				st.failf("deep recursion returned %d", got)
				return
			}
			if p != &arr[5] || op.next.elem != &arr[7] || *p != mval(id, 5, s-1) {
				st.failf("pointers to its own locals are wrong after the stack grew (resume %d)", s)
				return
			}
		}
		if st.gcStep > 0 && s%st.gcStep == 0 {
			runtime.GC()
		}
		// New values, written through each kind of pointer.
		*p = mval(id, 5, s)
		for k := range sl {
			if k != 3 {
				sl[k] = mval(id, k+2, s)
			}
		}
		*op.next.elem = mval(id, 7, s)
		for k := range arr {
			if k < 2 || k >= 10 {
				op.arr[k] = mval(id, k, s)
			}
		}
		st.done = s
	}
	runtime.KeepAlive(op)
}

var deepFillCache sync.Map // [2]uint64{depth, seed} -> checksum

// deepFillWant is deepFill's result, computed once per argument pair.
func deepFillWant(d int, seed uint64) uint64 {
	key := [2]uint64{uint64(d), seed}
	if v, ok := deepFillCache.Load(key); ok {
		return v.(uint64)
	}
	v := deepFill(d, seed)
	deepFillCache.Store(key, v)
	return v
}

// copyStackKind reports whether e's coroutines run on the copy-stack engine.
func copyStackKind(e *env) bool { return e.ss != nil && Engine() == CopyStack }

// TestStackGrowthInsideCo grows the goroutine stack by megabytes inside a
// coroutine between its yields (the runtime moves the co's frames and the
// resumer's), then yields and is resumed.
func TestStackGrowthInsideCo(t *testing.T) {
	depth := 4000 // 1 KB frames: over 4 MB of stack
	if testing.Short() {
		depth = 1000
	}
	for s := 1; s <= 6; s++ {
		deepFillWant(depth, uint64(s))
	}
	forKinds(t, func(t *testing.T, e *env) {
		st := &moveState{id: 1, steps: 6, grow: depth, addrs: map[uintptr]bool{}}
		co := e.create(moveBody, st)
		for k := 0; !co.IsEnd(); k++ {
			resumeAt(co, k%3)
			require.Empty(t, st.fail)
			require.Equal(t, min(k, st.steps), st.done)
		}
		co.Destroy()
		require.Equal(t, st.steps, st.done)
	})
}

// TestStackGrowthInsideCoChecksum checks the deep recursion's result inside
// the co against the one computed outside.
func TestStackGrowthInsideCoChecksum(t *testing.T) {
	depth := 4000
	if testing.Short() {
		depth = 1000
	}
	want := deepFillWant(depth, 77)
	forKinds(t, func(t *testing.T, e *env) {
		var got []uint64
		var addrs []uintptr
		co := e.create(func(co *Co) {
			var local [8]uint64
			lp := &local[3]
			touchU64(lp)
			for r := 0; r < 4; r++ {
				*lp = uint64(r)
				got = append(got, deepFill(depth, 77))
				addrs = append(addrs, uintptr(unsafe.Pointer(&local)))
				co.Yield()
				if lp != &local[3] || local[3] != uint64(r) {
					got = append(got, 0)
				}
			}
		}, nil)
		for !co.IsEnd() {
			co.Resume()
		}
		co.Destroy()
		require.Len(t, got, 4)
		for _, g := range got {
			assert.Equal(t, want, g)
		}
	})
}

// TestResumeAtDifferentDepths resumes one coroutine from resumer call
// depths that change at every resume, so its image is relocated each time.
func TestResumeAtDifferentDepths(t *testing.T) {
	depths := []int{0, 5, 1, 17, 2, 2, 30, 0, 9, 3, 40, 1, 0, 12, 6, 25, 4, 4, 0, 33, 7, 8, 1, 20, 0}
	forKinds(t, func(t *testing.T, e *env) {
		st := &moveState{id: 7, steps: len(depths) - 1, gcStep: 5, addrs: map[uintptr]bool{}}
		co := e.create(moveBody, st)
		for k, d := range depths {
			resumeAt(co, d)
			require.Empty(t, st.fail, "resume %d at depth %d", k, d)
			require.Equal(t, k, st.done)
		}
		require.True(t, co.IsEnd())
		moved := co.Moved()
		co.Destroy()
		if copyStackKind(e) && !moved {
			assert.Greater(t, len(st.addrs), 5, "resumes at other depths ran the co at other addresses")
		}
	})
}

// TestResumeWithBigResumerFrames resumes from frames of very different
// sizes, so the image moves by more than its own size.
func TestResumeWithBigResumerFrames(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		st := &moveState{id: 3, steps: 24, addrs: map[uintptr]bool{}}
		co := e.create(moveBody, st)
		for k := 0; !co.IsEnd(); k++ {
			switch k % 4 {
			case 0:
				resumeAt(co, 0)
			case 1:
				resumeBig(co, k%4+1)
			case 2:
				resumeAt(co, 11)
			case 3:
				resumeVia(co, k/4)
			}
			require.Empty(t, st.fail, "resume %d", k)
			require.Equal(t, k, st.done)
		}
		co.Destroy()
	})
}

// resumeBig resumes co below n frames of 16 KB.
//
//go:noinline
func resumeBig(co *Co, n int) {
	var pad [16 << 10]byte
	pad[0], pad[len(pad)-1] = byte(n), byte(n+1)
	if n > 0 {
		resumeBig(co, n-1)
	} else {
		co.Resume()
	}
	if pad[0] != byte(n) || pad[len(pad)-1] != byte(n+1) {
		panic("aco test: resumer frame corrupted across Resume")
	}
}

// TestResumeFromOtherGoroutines creates a coroutine on one goroutine and
// resumes it from a different goroutine each time, at varying depths: new
// goroutines (small stacks) and long-lived ones whose stacks have grown.
func TestResumeFromOtherGoroutines(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		st := &moveState{id: 11, steps: 30, gcStep: 4, addrs: map[uintptr]bool{}}
		var co *Co
		done := make(chan struct{})
		go func() { defer close(done); co = e.create(moveBody, st) }()
		<-done

		// Three workers: one with a grown stack, two plain.
		type job struct {
			depth int
			done  chan string
		}
		var wg sync.WaitGroup
		workers := make([]chan job, 3)
		for w := range workers {
			workers[w] = make(chan job)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if w == 0 {
					deepFill(300, 1) // grow this goroutine's stack
				}
				for j := range workers[w] {
					j.done <- catch(func() { resumeAt(co, j.depth) })
				}
			}()
		}
		rng := rand.New(rand.NewPCG(11, 12))
		for k := 0; !co.IsEnd(); k++ {
			var msg string
			if k%4 == 3 {
				// A new goroutine.
				ch := make(chan string)
				go func() { ch <- catch(func() { resumeAt(co, rng.IntN(6)) }) }()
				msg = <-ch
			} else {
				j := job{depth: rng.IntN(10), done: make(chan string)}
				workers[rng.IntN(len(workers))] <- j
				msg = <-j.done
			}
			require.Empty(t, msg, "resume %d panicked", k)
			require.Empty(t, st.fail, "resume %d", k)
			require.Equal(t, k, st.done)
		}
		for _, w := range workers {
			close(w)
		}
		wg.Wait()
		co.Destroy()
	})
}

// TestManyCoroutinesInterleaved runs 1000 coroutines on one goroutine in a
// random order at random depths; each checks its own locals.
func TestManyCoroutinesInterleaved(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	forKinds(t, func(t *testing.T, e *env) {
		rng := rand.New(rand.NewPCG(5, 6))
		sts := make([]*moveState, n)
		cos := make([]*Co, n)
		for i := range cos {
			sts[i] = &moveState{id: i, steps: 1 + rng.IntN(20)}
			cos[i] = e.create(moveBody, sts[i])
		}
		resumes := make([]int, n)
		for live := n; live > 0; {
			i := rng.IntN(n)
			if cos[i].IsEnd() {
				continue
			}
			resumeAt(cos[i], rng.IntN(9))
			require.Empty(t, sts[i].fail)
			require.Equal(t, resumes[i], sts[i].done, "co %d", i)
			resumes[i]++
			if cos[i].IsEnd() {
				live--
			}
			if rng.IntN(500) == 0 {
				runtime.GC()
			}
		}
		for i, co := range cos {
			require.Equal(t, sts[i].steps, sts[i].done)
			co.Destroy()
		}
	})
}

// stackAddr returns the address of a local of its caller's callee: it
// changes when the runtime moves the goroutine's stack.
//
//go:noinline
func stackAddr() uintptr {
	var x [8]byte
	touchBytes(x[:])
	return uintptr(unsafe.Pointer(&x))
}

//go:noinline
func touchBytes([]byte) {}

// TestResumerStackShrink makes the resumer's stack large, resumes, lets it
// shrink (the GC shrinks the stacks of goroutines that use little of them)
// while the coroutine is suspended, and resumes again: the co must follow
// its resumer's stack to its new place.
func TestResumerStackShrink(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		st := &moveState{id: 21, steps: 16, addrs: map[uintptr]bool{}}
		co := e.create(moveBody, st)
		moves := 0
		for k := 0; !co.IsEnd(); k++ {
			if k%2 == 0 {
				deepFill(2000, uint64(k)) // a 2 MB stack, unused after this
			}
			resumeAt(co, k%5)
			require.Empty(t, st.fail, "resume %d", k)
			before := stackAddr()
			for g := 0; g < 4; g++ {
				runtime.GC()
			}
			if stackAddr() != before {
				moves++
			}
		}
		co.Destroy()
		t.Logf("the resumer's stack moved %d times between resumes", moves)
	})
}

// TestStackShrinkInsideCo grows the stack inside the co, then lets the GC
// shrink it while the co's frames are on it, then yields.
func TestStackShrinkInsideCo(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		st := &moveState{id: 22, steps: 10, grow: 1500, gcStep: 1, addrs: map[uintptr]bool{}}
		co := e.create(moveBody, st)
		for k := 0; !co.IsEnd(); k++ {
			resumeAt(co, k%4)
			require.Empty(t, st.fail, "resume %d", k)
			require.Equal(t, k, st.done)
			runtime.GC()
		}
		co.Destroy()
	})
}

// tnode is a node of a binary tree; leaves carry values.
type tnode struct {
	left, right *tnode
	val         int
}

// buildTree builds an unbalanced random tree with n leaves numbered from
// *next on, of depth up to about maxDepth.
func buildTree(rng *rand.Rand, n, maxDepth int, next *int) *tnode {
	if n <= 1 || maxDepth <= 0 {
		*next++
		return &tnode{val: *next}
	}
	l := 1 + rng.IntN(n-1)
	if rng.IntN(3) == 0 {
		l = 1 // a long spine
	}
	return &tnode{left: buildTree(rng, l, maxDepth-1, next), right: buildTree(rng, n-l, maxDepth-1, next)}
}

func leaves(n *tnode, out []int) []int {
	if n.left == nil {
		return append(out, n.val)
	}
	return leaves(n.right, leaves(n.left, out))
}

func treeDepth(n *tnode) int {
	if n.left == nil {
		return 1
	}
	return 1 + max(treeDepth(n.left), treeDepth(n.right))
}

// genState is a tree-walking generator's output cell.
type genState struct {
	root *tnode
	out  int
	fail string
}

// walkTree yields the leaves of n in order; every frame keeps a local array
// and a pointer into it, checked after each child returns.
//
//go:noinline
func walkTree(co *Co, g *genState, n *tnode, depth int) {
	var loc [3]int
	loc[0], loc[1], loc[2] = depth, n.val, depth*3
	lp := &loc[depth%3]
	want := loc[depth%3]
	if n.left == nil {
		g.out = n.val
		co.Yield()
	} else {
		walkTree(co, g, n.left, depth+1)
		if lp != &loc[depth%3] || *lp != want {
			g.fail = fmt.Sprintf("frame at depth %d: local changed after the left subtree", depth)
		}
		walkTree(co, g, n.right, depth+1)
	}
	if lp != &loc[depth%3] || *lp != want || loc[0] != depth || loc[2] != depth*3 {
		g.fail = fmt.Sprintf("frame at depth %d: local changed", depth)
	}
}

// TestRecursiveGenerators interleaves several recursive tree walkers on one
// share stack; they yield at many different depths, each resumed at random
// resumer depths, and their outputs are compared with the trees' leaves.
func TestRecursiveGenerators(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		rng := rand.New(rand.NewPCG(8, 9))
		const ngen = 8
		gens := make([]*genState, ngen)
		cos := make([]*Co, ngen)
		want := make([][]int, ngen)
		got := make([][]int, ngen)
		for i := range gens {
			next := i * 100000
			root := buildTree(rng, 150+rng.IntN(100), 45, &next)
			gens[i] = &genState{root: root}
			want[i] = leaves(root, nil)
			cos[i] = e.create(func(co *Co) {
				g := co.Arg().(*genState)
				walkTree(co, g, g.root, 0)
			}, gens[i])
		}
		maxDepth := 0
		for _, g := range gens {
			maxDepth = max(maxDepth, treeDepth(g.root))
		}
		t.Logf("tree depths up to %d", maxDepth)
		for live := ngen; live > 0; {
			i := rng.IntN(ngen)
			if cos[i].IsEnd() {
				continue
			}
			gens[i].out = -1
			resumeAt(cos[i], rng.IntN(6))
			require.Empty(t, gens[i].fail)
			if cos[i].IsEnd() {
				live--
				continue
			}
			got[i] = append(got[i], gens[i].out)
		}
		for i, co := range cos {
			assert.Equal(t, want[i], got[i], "generator %d", i)
			co.Destroy()
		}
	})
}

// treeSeq is a recursive push iterator over the leaves of n, built from
// range-over-func loops.
func treeSeq(n *tnode) iter.Seq[int] {
	return func(yield func(int) bool) {
		if n.left == nil {
			yield(n.val)
			return
		}
		for v := range treeSeq(n.left) {
			if !yield(v) {
				return
			}
		}
		for v := range treeSeq(n.right) {
			if !yield(v) {
				return
			}
		}
	}
}

// TestRecursivePullIterators pulls from recursive iterators (yields through
// nested range-over-func frames) with PullOn, several at once, one of them
// stopped early.
func TestRecursivePullIterators(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			const n = 6
			var ss []*ShareStack
			nexts := make([]func() (int, bool), n)
			stops := make([]func(), n)
			want := make([][]int, n)
			got := make([][]int, n)
			for i := range nexts {
				next := i * 1000
				root := buildTree(rng, 60+rng.IntN(60), 30, &next)
				want[i] = leaves(root, nil)
				var s *ShareStack
				if k.ss != nil {
					s = k.ss()
					ss = append(ss, s)
				}
				nexts[i], stops[i] = PullOn(s, treeSeq(root))
			}
			want[2] = want[2][:10] // stopped early
			done := make([]bool, n)
			for left := n; left > 0; {
				i := rng.IntN(n)
				if done[i] {
					continue
				}
				if i == 2 && len(got[2]) == 10 {
					stops[2]()
					done[i] = true
					left--
					continue
				}
				var v int
				var ok bool
				pullAt(rng.IntN(5), func() { v, ok = nexts[i]() })
				if !ok {
					done[i] = true
					left--
					continue
				}
				got[i] = append(got[i], v)
			}
			for i := range stops {
				stops[i]()
				assert.Equal(t, want[i], got[i], "iterator %d", i)
			}
			for _, s := range ss {
				s.Destroy()
			}
		})
	}
}

// pullAt calls f depth frames down.
//
//go:noinline
func pullAt(depth int, f func()) {
	var pad [100]byte
	pad[depth%100] = byte(depth)
	if depth > 0 {
		pullAt(depth-1, f)
	} else {
		f()
	}
	if pad[depth%100] != byte(depth) {
		panic("aco test: frame corrupted")
	}
}

// TestStackObjectReachedOnlyThroughPointer holds, across yields, an
// address-taken struct that the co's code no longer names directly (so the
// liveness maps do not list it): only a pointer in another variable leads
// to it. Its fields point to locals of the same frame and to the heap.
func TestStackObjectReachedOnlyThroughPointer(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var collected [2]atomic.Bool
		fail := ""
		co := e.create(func(co *Co) {
			var arr [16]uint64
			for k := range arr {
				arr[k] = uint64(k * k)
			}
			var holder selfRef
			holder.arr = &arr
			holder.elem = &arr[6]
			holder.heap = newHeapArr(&collected[0])
			var holder2 selfRef
			holder2.next = &holder
			holder2.heap = newHeapArr(&collected[1])
			hp := &holder2
			touchSelfRef(hp)
			for r := 0; r < 8; r++ {
				co.Yield()
				h := hp.next
				if h.arr != &arr || h.elem != &arr[6] || *h.elem != 36+uint64(r) || h.arr[7] != 49 ||
					*h.heap != [4]uint64{1, 2, 3, 4} || *hp.heap != [4]uint64{1, 2, 3, 4} {
					fail = fmt.Sprintf("after resume %d: holder points to %#x, the array is at %#x", r, uintptr(unsafe.Pointer(h.arr)), uintptr(unsafe.Pointer(&arr)))
					return
				}
				*h.elem++
				runtime.GC()
			}
			runtime.KeepAlive(hp)
		}, nil)
		for k := 0; !co.IsEnd(); k++ {
			resumeAt(co, k%7)
			require.Empty(t, fail)
			if co.IsEnd() {
				break
			}
			runtime.GC()
			runtime.GC()
			require.False(t, collected[0].Load() || collected[1].Load(), "an object reached only through a suspended co's stack object was collected")
		}
		co.Destroy()
	})
}

// newHeapArr returns a heap array whose finalizer sets flag.
func newHeapArr(flag *atomic.Bool) *[4]uint64 {
	p := &[4]uint64{1, 2, 3, 4}
	runtime.SetFinalizer(p, func(*[4]uint64) { flag.Store(true) })
	return p
}

// TestStackMapAcrossRelocation keeps a map that the compiler allocates on
// the co's stack (a small map that does not escape: its header and group
// are stack objects pointing to each other) across yields and resumes at
// other addresses.
func TestStackMapAcrossRelocation(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		fail := ""
		co := e.create(func(co *Co) {
			m := map[int]int{1: 10, 2: 20, 3: 30}
			for r := 0; r < 6; r++ {
				co.Yield()
				if len(m) != 3+r || m[1] != 10 || m[2] != 20 || m[3] != 30 {
					fail = fmt.Sprintf("stack-allocated map wrong after resume %d: len %d, %d %d %d", r, len(m), m[1], m[2], m[3])
					return
				}
				m[100+r] = r
			}
		}, nil)
		// The first resume goes through Resume's slow path, the next ones
		// through its fast path: the image moves even at the same depth.
		// resumeVia moves it by small and large distances.
		for k := 0; !co.IsEnd(); k++ {
			resumeVia(co, k)
			require.Empty(t, fail, "resume %d", k)
		}
		co.Destroy()
	})
}

// resumeVia resumes co in one of several ways chosen by k, which between
// them move a co's image by a few words, by a few hundred bytes and by tens
// of kilobytes: directly, below small frames, below 200-byte frames, below
// 16 KB frames.
func resumeVia(co *Co, k int) {
	switch k % 6 {
	case 0, 3:
		co.Resume()
	case 1:
		resumeSmall(co, 1)
	case 2:
		resumeSmall(co, 3)
	case 4:
		resumeAt(co, 1+k%5)
	case 5:
		resumeBig(co, 1)
	}
}

// resumeSmall resumes co depth small frames down.
//
//go:noinline
func resumeSmall(co *Co, depth int) {
	if depth > 0 {
		resumeSmall(co, depth-1)
	} else {
		co.Resume()
	}
}

// TestPointerToOwnLocalsSameDepth is the plainest relocation case: two
// resumes in a row from the same function (the first through Resume's slow
// path, the second through its fast path, so the image moves a little). An
// address-taken struct that points into its own frame is named after the
// yield, so the stack maps list its words both as live slots and as a
// stack object's pointers.
func TestPointerToOwnLocalsSameDepth(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		ok := false
		co := e.create(func(co *Co) {
			var arr [16]uint64
			var s selfRef
			s.arr, s.elem, s.sl = &arr, &arr[4], arr[1:3]
			touchSelfRef(&s)
			arr[4] = 42
			co.Yield()
			ok = s.arr == &arr && s.elem == &arr[4] && &s.sl[0] == &arr[1] && *s.elem == 42
			touchSelfRef(&s)
		}, nil)
		co.Resume()
		co.Resume()
		assert.True(t, ok)
		co.Destroy()
	})
}

// TestResumeSmallDeltas moves a co's image by distances from a few words to
// tens of kilobytes, in both directions.
func TestResumeSmallDeltas(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		st := &moveState{id: 31, steps: 40, gcStep: 7, addrs: map[uintptr]bool{}}
		co := e.create(moveBody, st)
		for k := 0; !co.IsEnd(); k++ {
			resumeVia(co, k)
			require.Empty(t, st.fail, "resume %d", k)
			require.Equal(t, k, st.done)
		}
		co.Destroy()
	})
}

// TestAsyncPreemptionInsideCo runs loops without calls inside a co while
// another goroutine keeps the garbage collector busy: the runtime stops the
// co's goroutine with a signal at arbitrary instructions and unwinds through
// the co's frames, the trampoline and Resume to scan the stack.
func TestAsyncPreemptionInsideCo(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					runtime.GC()
				}
			}
		}()
		fail := ""
		var collected atomic.Bool
		co := e.create(func(co *Co) {
			var arr [16]uint64
			p := &arr[3]
			touchU64(p)
			h := newHeapArr(&collected)
			var x uint64
			for r := 0; r < 20; r++ {
				for i := 0; i < 2_000_000; i++ { // no calls: async preemption only
					x += uint64(i) ^ *p ^ h[i&3]
					arr[i&15] ^= x
				}
				want := x
				co.Yield()
				if x != want || p != &arr[3] || *h != [4]uint64{1, 2, 3, 4} {
					fail = fmt.Sprintf("state changed across resume %d", r)
					return
				}
			}
		}, nil)
		for k := 0; !co.IsEnd(); k++ {
			resumeVia(co, k)
			require.Empty(t, fail)
			if !co.IsEnd() {
				require.False(t, collected.Load())
			}
		}
		close(stop)
		wg.Wait()
		co.Destroy()
	})
}

// TestResetReuseAcrossLayouts reuses coroutine objects with Reset for
// bodies of very different frame layouts and image sizes (a few words to
// several kilobytes), resumed in different ways.
func TestResetReuseAcrossLayouts(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		cos := make([]*Co, 4)
		for i := range cos {
			cos[i] = e.create(func(co *Co) {}, nil)
			cos[i].Resume()
		}
		rng := rand.New(rand.NewPCG(21, 22))
		for round := 0; round < 30; round++ {
			i := rng.IntN(len(cos))
			co := cos[i]
			require.True(t, co.IsEnd())
			var fail string
			switch round % 3 {
			case 0: // a tiny generator
				n := 0
				co.Reset(func(co *Co) {
					for k := 0; k < 5; k++ {
						n++
						co.Yield()
					}
				}, nil)
				for k := 0; !co.IsEnd(); k++ {
					resumeVia(co, k+round)
				}
				if n != 5 {
					fail = "tiny generator"
				}
			case 1: // moveBody
				st := &moveState{id: round, steps: 6}
				co.Reset(moveBody, st)
				for k := 0; !co.IsEnd(); k++ {
					resumeVia(co, k+round)
				}
				fail = st.fail
			case 2: // a deep tree walk
				next := 0
				root := buildTree(rng, 40, 30, &next)
				g := &genState{root: root}
				co.Reset(func(co *Co) { walkTree(co, g, g.root, 0) }, nil)
				var got []int
				for k := 0; ; k++ {
					resumeVia(co, k+round)
					if co.IsEnd() {
						break
					}
					got = append(got, g.out)
				}
				if g.fail != "" || !slices.Equal(got, leaves(root, nil)) {
					fail = "tree walk " + g.fail
				}
			}
			require.Empty(t, fail, "round %d", round)
			if round%7 == 0 {
				runtime.GC()
			}
		}
		for _, co := range cos {
			co.Destroy()
		}
	})
}

// bigFrames recurses depth levels with 1 KB frames and yields at the
// bottom times times; every frame checks its contents after each resume
// on the way back.
//
//go:noinline
func bigFrames(co *Co, depth, times int, fail *string) {
	var buf [1024]byte
	for i := range buf {
		buf[i] = byte(depth*31 + i)
	}
	bp := &buf[depth%1024]
	touchBytes(buf[:])
	if depth > 0 {
		bigFrames(co, depth-1, times, fail)
	} else {
		for k := 0; k < times; k++ {
			co.Yield()
		}
	}
	if bp != &buf[depth%1024] {
		*fail = fmt.Sprintf("frame %d: pointer to its buffer moved away from it", depth)
	}
	for i := range buf {
		if buf[i] != byte(depth*31+i) {
			*fail = fmt.Sprintf("frame %d corrupted at byte %d", depth, i)
			return
		}
	}
}

// TestHugeImage yields with about a megabyte of frames live and resumes the
// co from new goroutines (whose small stacks must grow before the image
// fits), from deep resumers and from the creating goroutine.
func TestHugeImage(t *testing.T) {
	depth := 1000
	if testing.Short() {
		depth = 200
	}
	forKinds(t, func(t *testing.T, e *env) {
		var fail string
		co := e.create(func(co *Co) { bigFrames(co, depth, 8, &fail) }, nil)
		for k := 0; !co.IsEnd(); k++ {
			switch k % 4 {
			case 0, 2:
				done := make(chan string)
				go func() { done <- catch(func() { resumeSmall(co, k%3) }) }()
				require.Empty(t, <-done, "resume %d", k)
			case 1:
				resumeBig(co, 3)
			case 3:
				resumeAt(co, 20)
			}
			require.Empty(t, fail, "resume %d", k)
			if k%3 == 0 {
				runtime.GC()
			}
		}
		st := co.SaveStack()
		co.Destroy()
		if copyStackKind(e) {
			assert.Greater(t, st.MaxCopySize, depth*1024)
		}
	})
}

// TestResumeDuringPanic resumes and destroys coroutines with pending defers
// from a deferred call of a panicking resumer, which then recovers.
func TestResumeDuringPanic(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		tr := &dtrace{}
		a := e.create(func(co *Co) { threeFrames(co, tr) }, nil)
		b := e.create(func(co *Co) { heapDefers(co, tr, "b") }, nil)
		for k := 0; k < 3; k++ {
			resumeAt(a, k)
			resumeAt(b, k)
		}
		r := func() (r any) {
			defer func() { r = recover() }()
			defer func() {
				resumeAt(a, 2) // yields again (f3's second yield)
				tr.add("resumed a during the panic")
				b.Destroy() // unwinds b during the panic
				tr.add("destroyed b during the panic")
			}()
			panic("resumer panic")
		}()
		assert.Equal(t, "resumer panic", r)
		require.False(t, a.IsEnd())
		for !a.IsEnd() {
			resumeAt(a, 1)
		}
		a.Destroy()
		want := []string{"resumed a during the panic", "b heap 3", "b heap 2", "b heap 1", "destroyed b during the panic"}
		want = append(want, threeFramesOrder...)
		assert.Equal(t, want, tr.ev)
	})
}

// TestNestedResumeAlternating resumes an inner co sometimes from inside an
// outer co (its image then sits below the outer co's frames) and sometimes
// directly from the test, so it moves between very different places.
func TestNestedResumeAlternating(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		main, ss1, ss2 := e.main, e.ss, e.newStack()
		tr := &dtrace{}
		st := &moveState{id: 41, steps: 30, gcStep: 6}
		inner := Create(main, ss2, 0, func(co *Co) {
			defer tr.add("inner open")
			for i := 0; i < 2; i++ {
				defer tr.add(fmt.Sprint("inner heap ", i))
				co.Yield()
			}
			moveBody(co)
		}, st)
		outerSt := &moveState{id: 42, steps: 1000}
		outer := Create(main, ss1, 0, func(co *Co) {
			defer tr.add("outer open")
			var arr [8]uint64
			p := &arr[2]
			touchU64(p)
			for i := 0; !inner.IsEnd(); i++ {
				*p = uint64(i)
				resumeAt(inner, i%4)
				co.Yield()
				if p != &arr[2] || arr[2] != uint64(i) {
					outerSt.failf("outer's locals wrong after resume %d", i)
					return
				}
			}
		}, outerSt)
		rng := rand.New(rand.NewPCG(41, 42))
		for k := 0; !inner.IsEnd(); k++ {
			if rng.IntN(2) == 0 {
				resumeVia(outer, k)
			} else {
				resumeVia(inner, k)
			}
			require.Empty(t, st.fail)
			require.Empty(t, outerSt.fail)
		}
		for !outer.IsEnd() {
			outer.Resume()
		}
		require.Empty(t, outerSt.fail)
		assert.Equal(t, []string{"inner heap 1", "inner heap 0", "inner open", "outer open"}, tr.ev)
		inner.Destroy()
		outer.Destroy()
	})
}

// pgoCounter is what pgoYieldBody reports.
type pgoCounter struct {
	before, after int
	done          bool
}

// pgoYieldBody is the co function of TestYieldInlinedByPGO, whose
// co.Yield() call the profile written by that test marks hot.
func pgoYieldBody(co *Co) {
	c := co.Arg().(*pgoCounter)
	for i := 0; i < 5; i++ {
		c.before++
		co.Yield()
		c.after++
	}
	c.done = true
}

// pgoChildEnv makes TestYieldInlinedByPGO run its check (in the binary it
// built with the profile).
const pgoChildEnv = "ACO_TEST_PGO_CHILD"

// TestYieldInlinedByPGO builds this test binary with profile-guided
// optimization and a profile in which the co.Yield() call of pgoYieldBody is
// hot, so the compiler inlines Co.Yield into pgoYieldBody (hot call sites
// get a far larger inlining budget), and checks that the co still continues
// after its Yield. The profile is given to the compiler of this package
// only (-gcflags=<pkg>=-pgoprofile), in the compiler's preprocessed format,
// so the build is quick and its cache stays valid from run to run.
func TestYieldInlinedByPGO(t *testing.T) {
	if os.Getenv(pgoChildEnv) == "1" {
		forKinds(t, func(t *testing.T, e *env) {
			c := &pgoCounter{}
			co := e.create(pgoYieldBody, c)
			for k := 0; k < 5; k++ {
				resumeVia(co, k)
				require.False(t, co.IsEnd(), "the co ended at resume %d instead of yielding", k)
				require.Equal(t, pgoCounter{before: k + 1, after: k}, *c, "resume %d", k)
			}
			co.Resume()
			assert.True(t, co.IsEnd())
			assert.Equal(t, pgoCounter{before: 5, after: 5, done: true}, *c)
			co.Destroy()
		})
		return
	}
	if testing.Short() {
		t.Skip("builds the test binary again")
	}
	if Engine() != CopyStack {
		t.Skip("the portable engine does not depend on the frame layout at a yield")
	}
	// The call site's line offset from the function's start line, which is
	// how the profile names it.
	_, file, _, _ := runtime.Caller(0)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, nil, 0)
	require.NoError(t, err)
	offset := -1
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "pgoYieldBody" {
			continue
		}
		start := fset.Position(fd.Pos()).Line
		ast.Inspect(fd, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Yield" {
					offset = fset.Position(call.Pos()).Line - start
				}
			}
			return true
		})
	}
	require.GreaterOrEqual(t, offset, 0, "pgoYieldBody's co.Yield() call not found in %s", file)
	pkg := reflect.TypeFor[Co]().PkgPath()
	dir := t.TempDir()
	prof := filepath.Join(dir, "yield.pgo")
	require.NoError(t, os.WriteFile(prof, fmt.Appendf(nil, "GO PREPROFILE V1\n%s.pgoYieldBody\n%s.(*Co).Yield\n%d 1000000\n", pkg, pkg, offset), 0o644))

	bin, out := buildTestBinary(t, "-gcflags="+pkg+"=-pgoprofile="+prof+" -m")
	inlined := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, filepath.Base(file)) && strings.Contains(line, "inlining call to (*Co).Yield") {
			inlined = true
		}
	}
	t.Logf("Co.Yield inlined into pgoYieldBody under PGO: %v", inlined)

	out, err = runTestBinary(bin, "^TestYieldInlinedByPGO$", pgoChildEnv+"=1")
	if err != nil || !strings.Contains(out, "--- PASS: TestYieldInlinedByPGO") {
		t.Fatalf("with Co.Yield inlined by PGO (%v) the co misbehaves: %v\n%s", inlined, err, tail(out, 6000))
	}
}

// buildTestBinary builds this package's test binary again with extra build
// flags and returns its path and the build's output. It skips the test if
// there is no go command.
func buildTestBinary(t *testing.T, flags ...string) (bin, out string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	_, file, _, _ := runtime.Caller(0)
	bin = filepath.Join(t.TempDir(), "aco.test")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append(append([]string{"test", "-c", "-o", bin}, flags...), ".")
	build := exec.CommandContext(ctx, goTool, args...)
	build.Dir = filepath.Dir(file)
	o, err := build.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), tail(string(o), 6000))
	return bin, string(o)
}

// runTestBinary runs the tests matching run in bin with extra environment.
func runTestBinary(bin, run string, env ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := childCommand(ctx, bin, "-test.run="+run, "-test.v", "-test.count=1", "-test.short")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestUnoptimizedBuild builds the package without optimizations or
// inlining (-gcflags=-N -l, as debuggers build it: every variable then lives
// in the frame, which changes every frame layout at a yield, and every
// helper is a real call that can move the stack) and runs a selection of
// the engine's tests in that binary, TestEngineReport among them: the
// copy-stack engine runs there as in optimized builds.
func TestUnoptimizedBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the test binary again")
	}
	pkg := reflect.TypeFor[Co]().PkgPath()
	bin, _ := buildTestBinary(t, "-gcflags="+pkg+"=-N -l")
	run := "^(TestEngineReport|TestResumeSmallDeltas|TestResumeAtDifferentDepths|TestStackObjectReachedOnlyThroughPointer|TestStackMapAcrossRelocation|" +
		"TestDeferThreeFramesEveryStop|TestYieldInsideDeferredCalls|TestPanicWithPendingDefersReachesResumer|" +
		"TestTortureGCLiveness|TestTortureGCLivenessNested|TestTortureSharedRoots|TestRecursiveGenerators|TestHugeImage|" +
		"TestRootsOfFirstDeepYieldFromFreshGoroutine|TestDeferInsideRangeFuncBodyThenYield|TestDestroySiblingWithDefersOnSameShareStack|" +
		"TestCoroutineValues|TestCoroutineLargeValues|TestCoroutineMoved)$"
	out, err := runTestBinary(bin, run)
	if err != nil || !strings.Contains(out, "\nPASS") {
		t.Fatalf("tests of the unoptimized build failed: %v\n%s", err, tail(out, 8000))
	}
	if copyStackSupported && !strings.Contains(out, "engine: copystack") {
		t.Errorf("the unoptimized build does not run the copy-stack engine:\n%s", tail(out, 2000))
	}
}

// addrParams takes the addresses of its parameters and of its result (so
// they are stack objects in the argument area, in its caller's frame),
// yields, and checks them: objs holds heap objects only it refers to, s
// points into its caller's frame, res to the heap.
//
//go:noinline
func addrParams(co *Co, tc *tortureCo, objs [4]*tobj, s selfRef, yields int) (res selfRef) {
	po, ps, pr := &objs, &s, &res
	touchSelfRef(ps)
	touchSelfRef(pr)
	pr.heap = &[4]uint64{9, 8, 7, 6}
	for r := 1; r <= yields; r++ {
		co.Yield()
		tc.checks++
		for k, o := range po {
			tc.check(o.ok(tc.idx, 50+k), "address-taken parameter's object", r)
		}
		tc.check(ps.arr == s.arr && *ps.elem == 7 && ps.elem == &ps.arr[3] && *pr.heap == [4]uint64{9, 8, 7, 6}, "address-taken parameters' pointers", r)
		if tc.idx%10 == r {
			runtime.GC()
		}
	}
	for _, o := range po {
		o.tr.release()
	}
	touchSelfRef(ps)
	return res
}

// TestAddressTakenParams holds, across yields and relocations, parameters
// and results whose addresses are taken.
func TestAddressTakenParams(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		l := newLedger(t)
		const n = 50
		tcs := make([]*tortureCo, n)
		cos := make([]*Co, n)
		for i := range cos {
			tc := &tortureCo{idx: i, l: l}
			tcs[i] = tc
			cos[i] = e.create(func(co *Co) {
				var arr [16]uint64
				arr[3] = 7
				var s selfRef
				s.arr, s.elem = &arr, &arr[3]
				var objs [4]*tobj
				for k := range objs {
					objs[k] = tc.obj(50+k, "address-taken parameter")
				}
				res := addrParams(co, tc, objs, s, 6)
				tc.check(*res.heap == [4]uint64{9, 8, 7, 6} && s.elem == &arr[3], "address-taken result", 7)
			}, nil)
		}
		for k := 0; k < 8; k++ {
			for i, co := range cos {
				if !co.IsEnd() {
					resumeVia(co, k+i)
				}
			}
			runtime.GC()
			l.requireNoFailures(t, fmt.Sprint("after pass ", k))
		}
		for i, co := range cos {
			require.True(t, co.IsEnd())
			require.Equal(t, 6, tcs[i].checks)
			co.Destroy()
		}
		assert.Empty(t, l.stillHeld())
	})
}

// yieldAtDepth yields d calls below its caller.
//
//go:noinline
func yieldAtDepth(co *Co, d int) {
	if d > 0 {
		yieldAtDepth(co, d-1)
		return
	}
	co.Yield()
}

// TestAsyncPreemptionDuringYield resumes a co millions of times while
// another goroutine keeps the garbage collector running, which stops the
// co's goroutine with signals at arbitrary instructions, in the middle of
// the yield's switch too, to scan its stack. The co yields at three depths
// in turn, so the switch also looks its frame layouts up. No preemption
// may leave the stack in a state the runtime cannot unwind (the runtime
// throws "traceback: unexpected SPWRITE function" when it meets a function
// that writes SP, like the switch routines, below the innermost frame).
func TestAsyncPreemptionDuringYield(t *testing.T) {
	n := 20_000_000
	if testing.Short() {
		n = 1_000_000
	}
	forKinds(t, func(t *testing.T, e *env) {
		n := n
		if !copyStackKind(e) {
			n = min(n, 300_000) // the portable engine: nothing to switch by hand
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					runtime.GC()
				}
			}
		}()
		count := 0
		co := e.create(func(co *Co) {
			for i := 0; ; i++ {
				count++
				yieldAtDepth(co, i%3)
			}
		}, nil)
		for i := 0; i < n; i++ {
			co.Resume()
		}
		close(stop)
		wg.Wait()
		assert.Equal(t, n, count)
		co.Destroy()
	})
}
