package aco

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Images of every shape: Reset across frame layouts, huge images, resumes
// during a panic, nested resumes, address-taken parameters, preemption
// during a yield.

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
