package aco

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// defaultMoves gives the test the default move policy, whatever
// ACO_MOVE_THRESHOLD says.
func defaultMoves(t testing.TB) {
	oldT, oldA := moveThreshold, moveAfter
	moveThreshold, moveAfter = MoveThreshold, 32
	t.Cleanup(func() { moveThreshold, moveAfter = oldT, oldA })
}

// kind is a way to create non-main coroutines: every behavioural test runs
// once per kind, so share-stack coroutines and standalone ones are held to
// the same behaviour.
type kind struct {
	name string
	ss   func() *ShareStack // nil: standalone
	// portable: standalone cos on the portable engine (a goroutine each),
	// as where the copy-stack engine does not run (see portableKids).
	portable bool
}

var kinds = []kind{
	{"standalone", nil, false},
	{"sharestack", func() *ShareStack { return NewShareStack(0) }, false},
	{"portable", nil, true},
}

// env is a main co and a share stack (or none) for one test.
type env struct {
	t     testing.TB
	main  *Co
	ss    *ShareStack
	extra []*ShareStack // from newStack, destroyed by close
	// portable: the env's cos run on the portable engine, a goroutine each
	// (standalone cos of a main whose portableKids is set, or any co where
	// the copy-stack engine does not run).
	portable bool
}

func newEnv(t testing.TB, k kind) *env {
	e := &env{t: t, main: NewMain(), portable: Engine() == Portable}
	if k.ss != nil {
		e.ss = k.ss()
	}
	if k.portable {
		e.main.x.portableKids = true
		e.portable = true
	}
	return e
}

// engine names the engine e's coroutines run on (until one moves).
func (e *env) engine() EngineName {
	if e.portable {
		return Portable
	}
	return CopyStack
}

func (e *env) create(fn Func, arg any) *Co { return Create(e.main, e.ss, 0, fn, arg) }

// newStack gives a test that nests cos a second share stack of the same
// kind (nil when the env's cos are standalone); close destroys it.
func (e *env) newStack() *ShareStack {
	if e.ss == nil {
		return nil
	}
	ss := NewShareStack(0)
	e.extra = append(e.extra, ss)
	return ss
}

// close destroys the share stacks and the main co, which also checks that the
// test destroyed every coroutine it made.
func (e *env) close() {
	for _, ss := range e.extra {
		ss.Destroy()
	}
	if e.ss != nil {
		e.ss.Destroy()
	}
	e.main.Destroy()
}

func forKinds(t *testing.T, f func(t *testing.T, e *env)) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			e := newEnv(t, k)
			f(t, e)
			e.close()
		})
	}
}

func TestResumeYieldOrder(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var trace []string
		co := e.create(func(co *Co) {
			for i := 0; i < 3; i++ {
				trace = append(trace, fmt.Sprint("co ", i))
				co.Yield()
			}
			trace = append(trace, "co end")
		}, nil)
		for i := 0; !co.IsEnd(); i++ {
			trace = append(trace, fmt.Sprint("main ", i))
			co.Resume()
		}
		co.Destroy()
		assert.Equal(t, []string{"main 0", "co 0", "main 1", "co 1", "main 2", "co 2", "main 3", "co end"}, trace)
	})
}

func TestArgAndAccessors(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		n := 0
		var seen *Co
		co := e.create(func(co *Co) {
			seen = co
			p := co.Arg().(*int)
			*p = 42
		}, &n)
		assert.False(t, co.IsMain())
		assert.True(t, e.main.IsMain())
		assert.Same(t, e.main, co.Main())
		assert.Equal(t, e.ss == nil, co.Standalone())
		if e.ss != nil {
			assert.Same(t, e.ss, co.ShareStack())
		} else {
			assert.Nil(t, co.ShareStack())
		}
		co.Resume()
		assert.Same(t, co, seen, "the function receives its own co (aco_get_co)")
		assert.Equal(t, 42, n, "Arg is aco_get_arg")
		assert.True(t, co.IsEnd())
		co.Destroy()
		assert.True(t, co.IsEnd())
	})
}

func TestDeepYield(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var depthAtYield []int
		var rec func(co *Co, d int)
		rec = func(co *Co, d int) {
			var pad [64]byte
			pad[d%64] = byte(d)
			if d%50 == 0 {
				depthAtYield = append(depthAtYield, d)
				co.Yield()
			}
			if d < 500 {
				rec(co, d+1)
			}
			require.Equal(t, byte(d), pad[d%64], "frame contents survive yields")
		}
		co := e.create(func(co *Co) { rec(co, 0) }, nil)
		n := 0
		for !co.IsEnd() {
			co.Resume()
			n++
		}
		co.Destroy()
		assert.Equal(t, 12, n)
		assert.Len(t, depthAtYield, 11)
	})
}

func TestExit(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var trace []string
		co := e.create(func(co *Co) {
			defer func() { trace = append(trace, "deferred") }()
			func() {
				defer func() { trace = append(trace, "inner deferred") }()
				co.Exit()
				trace = append(trace, "not reached")
			}()
			trace = append(trace, "not reached")
		}, nil)
		co.Resume()
		assert.True(t, co.IsEnd())
		assert.Equal(t, []string{"inner deferred", "deferred"}, trace)
		co.Destroy()
	})
}

func TestReturnIsExit(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		co := e.create(func(co *Co) {}, nil)
		assert.False(t, co.IsEnd())
		co.Resume()
		assert.True(t, co.IsEnd())
		co.Destroy()
	})
}

func TestPanicReachesResumer(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		boom := errors.New("boom")
		ran := false
		co := e.create(func(co *Co) {
			defer func() { ran = true }()
			co.Yield()
			panic(boom)
		}, nil)
		co.Resume()
		r := func() (r any) {
			defer func() { r = recover() }()
			co.Resume()
			return nil
		}()
		assert.Same(t, boom, r)
		assert.True(t, ran, "the co's defers ran before the panic reached the resumer")
		assert.True(t, co.IsEnd(), "a co whose function panicked has ended")
		if e.ss != nil {
			assert.Nil(t, e.ss.Owner(), "the share stack is free again")
		}
		co.Destroy()
	})
}

func TestRecoverInsideCo(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		got := ""
		co := e.create(func(co *Co) {
			func() {
				defer func() { got = fmt.Sprint(recover()) }()
				co.Yield()
				panic("inner")
			}()
			co.Yield()
		}, nil)
		co.Resume()
		co.Resume()
		assert.Equal(t, "inner", got)
		assert.False(t, co.IsEnd())
		co.Resume()
		assert.True(t, co.IsEnd())
		co.Destroy()
	})
}

func TestDestroySuspendedRunsDefers(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var trace []string
		co := e.create(func(co *Co) {
			defer func() { trace = append(trace, "outer") }()
			for i := 0; i < 3; i++ {
				defer func() { trace = append(trace, fmt.Sprint("loop ", i)) }()
			}
			func() {
				defer func() {
					r := recover()
					u, ok := r.(*Unwind)
					trace = append(trace, fmt.Sprint("recovered unwind ", ok && u.Co() == co))
					panic(r)
				}()
				co.Yield()
				trace = append(trace, "not reached")
			}()
		}, nil)
		co.Resume()
		assert.Empty(t, trace)
		co.Destroy()
		assert.Equal(t, []string{"recovered unwind true", "loop 2", "loop 1", "loop 0", "outer"}, trace)
		assert.True(t, co.IsEnd())
	})
}

func TestDestroyPanickingDefer(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		co := e.create(func(co *Co) {
			defer panic("from defer")
			co.Yield()
		}, nil)
		co.Resume()
		assert.PanicsWithValue(t, "from defer", co.Destroy)
		assert.True(t, co.IsEnd())
		assert.PanicsWithValue(t, "aco: Destroy of a destroyed co", co.Destroy, "the co was destroyed despite the panic")
	})
}

func TestDestroyInitAndEnded(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		ran := false
		co := e.create(func(co *Co) { ran = true }, nil)
		co.Destroy()
		assert.False(t, ran, "destroying an unstarted co does not run it")
		co2 := e.create(func(co *Co) {}, nil)
		co2.Resume()
		co2.Destroy()
	})
}

func TestReset(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var got []string
		co := e.create(func(co *Co) {
			got = append(got, co.Arg().(string))
			co.Yield()
		}, "first")
		co.Resume()
		co.Resume()
		require.True(t, co.IsEnd())
		co.Reset(func(co *Co) {
			got = append(got, co.Arg().(string))
		}, "second")
		assert.False(t, co.IsEnd())
		assert.Equal(t, "second", co.Arg())
		co.Resume()
		assert.True(t, co.IsEnd())
		assert.Equal(t, []string{"first", "second"}, got)
		co.Destroy()
	})
}

func TestLastWord(t *testing.T) {
	defer ThreadInit(nil)
	forKinds(t, func(t *testing.T, e *env) {
		var words []string
		ThreadInit(func(co *Co, v any) {
			words = append(words, fmt.Sprintf("%v died: %v, ended=%v", co.Arg(), v, co.IsEnd()))
		})
		co := e.create(func(co *Co) { panic("oops") }, "worker")
		assert.PanicsWithValue(t, "oops", co.Resume)
		ok := e.create(func(co *Co) {}, "fine")
		ok.Resume()
		exit := e.create(func(co *Co) { co.Exit() }, "exit")
		exit.Resume()
		assert.Equal(t, []string{"worker died: oops, ended=true"}, words,
			"the hook runs for a panic only, not for return or Exit")
		co.Destroy()
		ok.Destroy()
		exit.Destroy()
	})
}

func TestNestedResume(t *testing.T) {
	// Two share stacks, so the nested co does not need the busy one.
	main := NewMain()
	ss1, ss2 := NewShareStack(0), NewShareStack(0)
	var trace []string
	inner := Create(main, ss2, 0, func(co *Co) {
		for i := 0; i < 2; i++ {
			trace = append(trace, fmt.Sprint("inner ", i))
			co.Yield()
		}
	}, nil)
	outer := Create(main, ss1, 0, func(co *Co) {
		for !inner.IsEnd() {
			inner.Resume()
			trace = append(trace, "outer")
			co.Yield()
		}
	}, nil)
	for !outer.IsEnd() {
		outer.Resume()
	}
	assert.Equal(t, []string{"inner 0", "outer", "inner 1", "outer", "outer"}, trace)
	inner.Destroy()
	outer.Destroy()
	ss1.Destroy()
	ss2.Destroy()
	main.Destroy()
}

func TestShareStackOwner(t *testing.T) {
	main := NewMain()
	ss := NewShareStack(0)
	var owners []*Co
	a := Create(main, ss, 0, func(co *Co) {
		owners = append(owners, co.ShareStack().Owner())
		co.Yield()
		owners = append(owners, co.ShareStack().Owner())
	}, nil)
	b := Create(main, ss, 0, func(co *Co) {
		owners = append(owners, co.ShareStack().Owner())
	}, nil)
	assert.Equal(t, 2, ss.Live())
	a.Resume()
	assert.Nil(t, ss.Owner())
	b.Resume()
	a.Resume()
	assert.Equal(t, []*Co{a, b, a}, owners)
	a.Destroy()
	b.Destroy()
	assert.Equal(t, 0, ss.Live())
	ss.Destroy()
	main.Destroy()
}

func TestShareStackSizes(t *testing.T) {
	const pg = 4096
	cases := []struct {
		sz          int
		guard       bool
		valid, real int
	}{
		{0, true, 2 << 20, 2<<20 + pg},
		{0, false, 2 << 20, 2 << 20},
		{1, false, 4096, 4096},
		{1, true, pg, 2 * pg},
		{pg, true, pg, 2 * pg},
		{pg + 1, true, 2 * pg, 3 * pg},
		{3 * pg, true, 3 * pg, 4 * pg},
		{5000, false, 5000, 5000},
	}
	for _, c := range cases {
		valid, real := shareStackSizes(c.sz, c.guard, pg)
		assert.Equal(t, c.valid, valid, "valid size for %d guard=%v", c.sz, c.guard)
		assert.Equal(t, c.real, real, "real size for %d guard=%v", c.sz, c.guard)
		assert.GreaterOrEqual(t, valid, 4096)
		assert.GreaterOrEqual(t, valid, c.sz)
		if c.guard {
			assert.Zero(t, valid%pg)
		}
	}
	ss := NewShareStack2(10000, false)
	assert.Equal(t, 10000, ss.Size())
	assert.False(t, ss.GuardPage())
	ss = NewShareStack(0)
	assert.True(t, ss.GuardPage())
	assert.Equal(t, DefaultShareStackSize, ss.Size())
	assert.Greater(t, ss.RealSize(), ss.Size())
}

func TestCreateMainViaCreate(t *testing.T) {
	m := Create(nil, nil, 0, nil, nil)
	assert.True(t, m.IsMain())
	m.Destroy()
}

func TestSaveStackStats(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		co := Create(e.main, e.ss, 1000, func(co *Co) { co.Yield() }, nil)
		st := co.SaveStack()
		assert.Equal(t, 1000, st.ValidSize)
		co.Resume()
		co.Resume()
		st = co.SaveStack()
		if e.portable {
			assert.Zero(t, st.CtSave, "no copies on the portable engine")
			assert.Zero(t, st.CtRestore)
			assert.Zero(t, st.MaxCopySize)
		} else {
			assert.Equal(t, uint64(1), st.CtSave)
			assert.Equal(t, uint64(1), st.CtRestore)
			assert.Positive(t, st.MaxCopySize)
		}
		co.Destroy()
	})
}

func TestManyGoroutines(t *testing.T) {
	// Like libaco's tutorial 3: each goroutine drives its own coroutines.
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			main := NewMain()
			ss := NewShareStack(0)
			var cos []*Co
			for i := 0; i < 20; i++ {
				cos = append(cos, Create(main, ss, 0, func(co *Co) {
					for j := 0; j < 50; j++ {
						mu.Lock()
						total++
						mu.Unlock()
						co.Yield()
					}
				}, nil))
			}
			for live := len(cos); live > 0; {
				live = 0
				for _, co := range cos {
					if !co.IsEnd() {
						co.Resume()
						live++
					}
				}
			}
			for _, co := range cos {
				co.Destroy()
			}
			ss.Destroy()
			main.Destroy()
		}()
	}
	wg.Wait()
	assert.Equal(t, 8*20*50, total)
}

func TestResumeFromAnotherGoroutine(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var got []int
		co := e.create(func(co *Co) {
			for i := 0; i < 10; i++ {
				got = append(got, i)
				co.Yield()
			}
		}, nil)
		for !co.IsEnd() {
			done := make(chan struct{})
			go func() { defer close(done); co.Resume() }()
			<-done
		}
		co.Destroy()
		assert.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, got)
	})
}

// TestEngineReport says which engine runs share-stack coroutines in this
// build (CI prints it for every GOARCH and toolchain), and checks that the
// copy-stack engine is on wherever the package has its runtime tables.
func TestEngineReport(t *testing.T) {
	t.Logf("engine: %s (%s %s/%s) %s", Engine(), runtime.Version(), runtime.GOOS, runtime.GOARCH, EngineNote())
	if copyStackSupported && os.Getenv("ACO_ENGINE") == "" {
		assert.Equal(t, CopyStack, Engine(), EngineNote())
	}
}

func TestVersion(t *testing.T) {
	assert.Equal(t, fmt.Sprintf("%d.%d.%d", VersionMajor, VersionMinor, VersionPatch), Version)
	assert.Equal(t, "1.2.2", LibacoVersion)
}

func TestStrings(t *testing.T) {
	m := NewMain()
	assert.Equal(t, "aco.Co(main)", m.String())
	co := Create(m, nil, 0, func(co *Co) {}, nil)
	assert.Equal(t, "aco.Co(init)", co.String())
	co.Resume()
	assert.Equal(t, "aco.Co(ended)", co.String())
	co.Destroy()
	assert.Equal(t, "aco.Co(destroyed)", co.String())
	var nilCo *Co
	assert.Equal(t, "aco.Co(nil)", nilCo.String())
	assert.True(t, strings.HasPrefix((&Unwind{co: co, reason: "Exit"}).Error(), "aco: "))
	m.Destroy()
}

// TestCommonYieldAllocatesNothing guards the switch path's budget (see
// capture's fast path and resumeOnG): a round trip of a suspended coroutine —
// share-stack, standalone, an aco.Pull iterator — allocates nothing (a
// moved co: TestMovedPullAllocatesNothing).
func TestCommonYieldAllocatesNothing(t *testing.T) {
	main := NewMain()
	defer main.Destroy()
	ss := NewShareStack(0)
	defer ss.Destroy()
	body := func(co *Co) {
		for {
			co.Yield()
		}
	}
	for name, s := range map[string]*ShareStack{"sharestack": ss, "standalone": nil} {
		co := Create(main, s, 0, body, nil)
		co.Resume()
		co.Resume()
		require.Zero(t, testing.AllocsPerRun(1000, co.Resume), name)
		co.Destroy()
	}
	flat := func(yield func(int) bool) {
		for i := 0; yield(i); i++ {
		}
	}
	next, stop := Pull(flat)
	next()
	next()
	require.Zero(t, testing.AllocsPerRun(1000, func() { next() }), "aco.Pull")
	stop()
}

// TestStandaloneCopyStack: on the copy-stack engine a standalone co runs on
// its resumer's stack with a share stack of its own, which the API does not
// show: its yields are counted copies, two standalone cos nest (each has
// its own stack) while two cos of one share stack cannot, and one whose
// yields hold deep frames moves onto a goroutine as a share-stack co does.
func TestStandaloneCopyStack(t *testing.T) {
	if !copyStackOn {
		t.Skip("standalone cos are goroutines without the copy-stack engine")
	}
	defaultMoves(t)
	m := NewMain()
	defer m.Destroy()

	var inner *Co
	outer := Create(m, nil, 0, func(co *Co) {
		for {
			inner.Resume() // a standalone co resumed from inside another
			co.Yield()
		}
	}, nil)
	inner = Create(m, nil, 0, func(co *Co) {
		for {
			co.Yield()
		}
	}, nil)
	for range 3 {
		outer.Resume()
	}
	for _, co := range []*Co{outer, inner} {
		assert.Equal(t, CopyStack, co.Engine())
		assert.True(t, co.Standalone())
		assert.Nil(t, co.ShareStack())
		st := co.SaveStack()
		assert.Equal(t, uint64(3), st.CtSave, "a yield of a standalone co is a copy")
		assert.Positive(t, st.MaxCopySize)
	}
	outer.Destroy()
	inner.Destroy()

	deep := Create(m, nil, 0, func(co *Co) {
		for {
			deepYield(deepFrames, co.Yield) // past MoveThreshold
		}
	}, nil)
	for i := 0; i < 100 && !deep.Moved(); i++ {
		deep.Resume()
	}
	assert.True(t, deep.Moved(), "a standalone co with deep yields did not move onto a goroutine")
	assert.Equal(t, Portable, deep.Engine())
	deep.Resume()
	deep.Destroy()
}
