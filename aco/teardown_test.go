package aco

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// teardownCos creates, on e's main co, suspended coroutines holding every
// kind of pending deferred call, one ended, one never started; each
// deferred call logs to tr.
func teardownCos(e *env, tr *[]string) {
	log := func(s string) { *tr = append(*tr, s) }
	c1 := e.create(func(co *Co) {
		defer log("c1 open-coded")
		co.Yield()
	}, nil)
	c2 := e.create(func(co *Co) {
		for i := range 2 {
			defer log(fmt.Sprint("c2 heap ", i)) // in a loop: heap records
		}
		co.Yield()
	}, nil)
	e.create(func(co *Co) { log("c3 never started") }, nil)
	c4 := e.create(func(co *Co) { log("c4 ran to its end") }, nil)
	c5 := e.create(func(co *Co) {
		for v := range count3 {
			defer log(fmt.Sprint("c5 range-over-func ", v))
			co.Yield()
		}
	}, nil)
	c1.Resume()
	c2.Resume()
	c4.Resume()
	c5.Resume()
	c5.Resume()
}

// TestDestroyAll: DestroyAll destroys a main co's coroutines, newest first,
// running their pending deferred calls, then the main co; the share stack
// can be destroyed after it.
func TestDestroyAll(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var tr []string
		teardownCos(e, &tr)
		tr = append(tr, "teardown")
		require.NoError(t, e.main.DestroyAll())
		require.Equal(t, []string{"c4 ran to its end", "teardown",
			"c5 range-over-func 1", "c5 range-over-func 0", "c2 heap 1", "c2 heap 0", "c1 open-coded"}, tr)
		require.PanicsWithValue(t, "aco: Create: main co has been destroyed", func() { e.create(func(*Co) {}, nil) })
		if e.ss != nil {
			e.ss.Destroy()
		}
		e.main, e.ss = NewMain(), nil // for e.close
	})
}

// TestDestroyAllCollectsPanics: a deferred call that panics does not stop
// the teardown; DestroyAll returns it, with the co, as a *PanicError.
// Coroutines that deferred calls create are destroyed too.
func TestDestroyAllCollectsPanics(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var tr []string
		boom := errors.New("boom")
		ss2 := e.newStack()
		e.create(func(co *Co) {
			defer func() { tr = append(tr, "first") }()
			co.Yield()
		}, nil).Resume()
		bad := e.create(func(co *Co) {
			defer func() {
				tr = append(tr, "bad")
				late := Create(e.main, ss2, 0, func(co *Co) {
					defer func() { tr = append(tr, "created during teardown") }()
					co.Yield()
				}, nil)
				late.Resume()
				panic(boom)
			}()
			co.Yield()
		}, nil)
		bad.Resume()
		err := e.main.DestroyAll()
		require.Equal(t, []string{"bad", "created during teardown", "first"}, tr)
		var pe *PanicError
		require.ErrorAs(t, err, &pe)
		require.Same(t, bad, pe.Co)
		require.ErrorIs(t, err, boom)
		require.Contains(t, err.Error(), "aco: DestroyAll: a deferred call of")
		if e.ss != nil {
			e.ss.Destroy()
			ss2.Destroy()
			e.extra = nil
		}
		e.main, e.ss = NewMain(), nil
	})
}

// TestDestroyAllMisuse: DestroyAll of a running co's main panics before
// changing anything, as it does for a co that is not a live main co.
func TestDestroyAllMisuse(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var got any
		var tr []string
		other := e.create(func(co *Co) {
			defer func() { tr = append(tr, "other") }()
			co.Yield()
		}, nil)
		other.Resume()
		co := e.create(func(co *Co) {
			defer func() { got = recover() }()
			e.main.DestroyAll()
		}, nil)
		co.Resume()
		require.Contains(t, fmt.Sprint(got), "aco: DestroyAll while one of the main co's coroutines runs")
		require.Empty(t, tr, "nothing was destroyed")
		require.PanicsWithValue(t, "aco: DestroyAll of a co that is not a main co (DestroyAll ends a main co and its coroutines)", func() { other.DestroyAll() })
		require.NoError(t, e.main.DestroyAll())
		require.Equal(t, []string{"other"}, tr)
		require.PanicsWithValue(t, "aco: DestroyAll of a destroyed co", func() { e.main.DestroyAll() })
		if e.ss != nil {
			e.ss.Destroy()
		}
		e.main, e.ss = NewMain(), nil
	})
}

// TestDestroyAllManyKeepsTheList: the main co's list of coroutines stays
// within twice the live ones while many are created and destroyed.
func TestDestroyAllManyKeepsTheList(t *testing.T) {
	m := NewMain()
	ss := NewShareStack(0)
	var keep []*Co
	for i := range 10000 {
		co := Create(m, ss, 0, func(co *Co) { co.Yield() }, nil)
		co.Resume()
		if i%10 == 0 {
			keep = append(keep, co)
		} else {
			co.Destroy()
		}
		require.LessOrEqual(t, len(m.x.kids.cos), 2*m.x.kids.n+16)
	}
	require.Equal(t, len(keep), m.x.kids.n)
	require.NoError(t, m.DestroyAll())
	for _, co := range keep {
		require.Equal(t, stDestroyed, co.state())
	}
	ss.Destroy()
}

// teardownChildEnv makes TestDestroyAllInFailingTestCleanup's child run the
// failing test.
const teardownChildEnv = "ACO_TEST_TEARDOWN_CHILD"

// TestDestroyAllInFailingTestCleanup: a test that fails half-way (t.Fatal,
// or a panic) with suspended coroutines holding deferred calls, and tears
// them down in t.Cleanup: the output shows the test's own failure, the
// deferred calls ran, and no second panic hides the first. It runs in a
// child process, where the test really fails.
func TestDestroyAllInFailingTestCleanup(t *testing.T) {
	if mode := os.Getenv(teardownChildEnv); mode != "" {
		failingTestWithCos(t, mode)
		return
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	for _, mode := range []string{"fatal", "panic"} {
		for _, k := range kinds {
			out, err := runTestBinary(exe, "^TestDestroyAllInFailingTestCleanup$", teardownChildEnv+"="+mode, "ACO_TEST_TEARDOWN_KIND="+k.name)
			require.Error(t, err, "the child test fails")
			want := "the test's own failure"
			if mode == "panic" {
				want = "panic: the test's own panic"
			}
			require.Contains(t, out, want, "%s/%s:\n%s", mode, k.name, out)
			require.Contains(t, out, "cleanup: deferred calls ran: [c5 range-over-func 1 c5 range-over-func 0 c2 heap 1 c2 heap 0 c1 open-coded]", "%s/%s:\n%s", mode, k.name, out)
			require.NotContains(t, out, "aco: Destroy of a main co that still has live coroutines", "%s/%s", mode, k.name)
		}
	}
}

func failingTestWithCos(t *testing.T, mode string) {
	k := kinds[0]
	for _, kk := range kinds {
		if kk.name == os.Getenv("ACO_TEST_TEARDOWN_KIND") {
			k = kk
		}
	}
	e := newEnv(t, k)
	var tr []string
	t.Cleanup(func() {
		tr = tr[:0:0]
		err := e.main.DestroyAll()
		fmt.Printf("cleanup: deferred calls ran: %v (err %v)\n", tr, err)
	})
	teardownCos(e, &tr)
	if mode == "panic" {
		panic("the test's own panic")
	}
	t.Fatal("the test's own failure")
}

// TestCoSize guards the size of a share-stack Co on amd64: Create makes
// them 17 to a 4 KiB slab (coSlab), and a field more would make it 15.
func TestCoSize(t *testing.T) {
	if runtime.GOARCH != "amd64" || !copyStackSupported {
		t.Skip("the budget is for amd64 builds with the copy-stack engine")
	}
	require.EqualValues(t, 240, unsafe.Sizeof(Co{}), "a Co is 240 bytes")
	require.Equal(t, 17, coSlab, "17 Cos to a 4 KiB slab")
}

// TestCreateSlab: Create gives each share-stack co a Co of its own across
// several slabs, never the Co of a destroyed one (a stale *Co stays
// destroyed), and a destroyed co lets go of its argument while a sibling
// of its slab keeps the slab alive.
func TestCreateSlab(t *testing.T) {
	if !copyStackOn {
		t.Skip("slabs hold share-stack cos of the copy-stack engine")
	}
	m, ss := NewMain(), NewShareStack(0)
	defer ss.Destroy()
	defer m.Destroy()
	idle := func(co *Co) {
		for {
			co.Yield()
		}
	}
	seen := map[*Co]bool{}
	var cos []*Co
	create := func(arg any) *Co {
		co := Create(m, ss, 0, idle, arg)
		require.False(t, seen[co], "Create handed out a Co twice")
		seen[co] = true
		require.Equal(t, stInit, co.state())
		require.Zero(t, co.n, "a new Co's save stack is empty")
		cos = append(cos, co)
		return co
	}
	for i := range 3*coSlab + 1 {
		create(i)
	}
	for i, co := range cos {
		co.Resume()
		require.Equal(t, i, co.Arg())
	}
	for i, co := range cos {
		if i%2 == 0 {
			co.Destroy()
		}
	}
	for i := range 2 * coSlab {
		create(-i).Resume()
	}
	for i, co := range cos {
		if i%2 == 0 && i <= 3*coSlab {
			require.PanicsWithValue(t, "aco: Resume of a destroyed co", co.Resume)
			continue
		}
		co.Destroy()
	}

	// The first two cos of a new main co share a slab: the first,
	// destroyed, must not keep its argument alive.
	m2 := NewMain()
	defer m2.Destroy()
	var collected atomic.Bool
	a := Create(m2, ss, 0, idle, newSentinel(1, &collected))
	b := Create(m2, ss, 0, idle, nil)
	require.Equal(t, unsafe.Sizeof(Co{}), uintptr(unsafe.Pointer(b))-uintptr(unsafe.Pointer(a)), "not in one slab")
	a.Resume()
	a.Destroy()
	require.True(t, waitCollected(&collected), "a destroyed co's argument stayed reachable")
	b.Destroy()
}

// TestKidListDestroyOrders: whatever order coroutines are destroyed in,
// the main co's list holds exactly the live ones in creation order (each
// destroyed co clears its own slot, found through its place number), stays
// within about twice the live ones, and DestroyAll ends the rest newest
// first.
func TestKidListDestroyOrders(t *testing.T) {
	const n = 600
	orders := map[string]func(i int) int{
		"creation": func(i int) int { return i },
		"reverse":  func(i int) int { return n - 1 - i },
		"strided":  func(i int) int { return i * 7 % n }, // 7 and 600 are coprime
		"middle out": func(i int) int {
			if i%2 == 0 {
				return n/2 + i/2
			}
			return n/2 - 1 - i/2
		},
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			m := NewMain()
			var ended []int
			cos := make([]*Co, n)
			for i := range cos {
				cos[i] = Create(m, nil, 0, func(co *Co) {
					defer func() { ended = append(ended, i) }()
					co.Yield()
				}, nil)
				cos[i].Resume()
			}
			live := make([]bool, n)
			for i := range live {
				live[i] = true
			}
			// The list's array: a new one starts at the list's first
			// slot; dropping slots at the front keeps its end.
			l := &m.x.kids
			var start, end uintptr
			for k := range n - n/10 { // a tenth are left for DestroyAll
				i := order(k)
				cos[i].Destroy()
				live[i] = false
				require.LessOrEqual(t, len(l.cos), 2*l.n+16)
				if e := uintptr(unsafe.Pointer(unsafe.SliceData(l.cos))) + uintptr(cap(l.cos))*unsafe.Sizeof(l.cos[0]); e != end {
					start, end = uintptr(unsafe.Pointer(unsafe.SliceData(l.cos))), e
				}
				require.LessOrEqual(t, int((end-start)/unsafe.Sizeof(l.cos[0])), 4*l.n+32, "the words of the list's array")
				if k%37 == 0 {
					var want, got []*Co
					for j, co := range cos {
						if live[j] {
							want = append(want, co)
						}
					}
					for _, co := range l.cos {
						if co != nil {
							got = append(got, co)
						}
					}
					require.Equal(t, want, got, "after %d destroyed", k+1)
				}
			}
			ended = ended[:0] // Destroy ran the deferred calls of those
			require.NoError(t, m.DestroyAll())
			var want []int
			for j := n - 1; j >= 0; j-- {
				if live[j] {
					want = append(want, j)
				}
			}
			require.Equal(t, want, ended, "DestroyAll ends the newest first")
		})
	}
}

// TestCreateSlabCleanup: what Create's doc says of a co in a slab (not at
// the start of its allocation): runtime.AddCleanup works on it, and runs
// once the slab is unreachable.
func TestCreateSlabCleanup(t *testing.T) {
	var ran atomic.Bool
	func() {
		m, ss := NewMain(), NewShareStack(0)
		a := Create(m, ss, 0, func(co *Co) { co.Yield() }, nil)
		b := Create(m, ss, 0, func(co *Co) { co.Yield() }, nil)
		runtime.AddCleanup(b, func(f *atomic.Bool) { f.Store(true) }, &ran)
		b.Resume()
		require.NoError(t, m.DestroyAll())
		ss.Destroy()
		runtime.KeepAlive(a)
	}()
	require.True(t, waitCollected(&ran), "the cleanup of a destroyed, unreachable co did not run")
}
