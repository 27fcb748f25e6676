package aco

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
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
