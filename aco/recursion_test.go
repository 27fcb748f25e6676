package aco

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Recursion inside coroutines: trees walked by recursive generators (Co and
// Pull), stack objects reached only through pointers, stack maps across
// relocation, pointers to a co's own locals, and asynchronous preemption
// inside a co.

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
