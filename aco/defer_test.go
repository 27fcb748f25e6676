package aco

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Deferred calls pending in a coroutine's frames across its yields: the
// copy-stack engine detaches the co's defer records from the goroutine at
// every yield and re-attaches them (relocated) at every resume. Each of the
// compiler's three kinds of defer is covered: open-coded (a function with
// few defers, none in a loop), stack-allocated records (too many defers to
// open-code) and heap-allocated records (a defer in a loop).

// dtrace records events in order.
type dtrace struct{ ev []string }

func (d *dtrace) add(s string) { d.ev = append(d.ev, s) }

// ending is a way a test ends its coroutine: resumed to its end, or
// destroyed while suspended.
type ending struct {
	name string
	end  func(t *testing.T, co *Co, resume func())
}

var endings = []ending{
	{"exit", func(t *testing.T, co *Co, resume func()) {
		for !co.IsEnd() {
			resume()
		}
		co.Destroy()
	}},
	{"destroy", func(t *testing.T, co *Co, resume func()) {
		require.False(t, co.IsEnd())
		co.Destroy()
	}},
}

// forEndings runs f for each kind and each way of ending.
func forEndings(t *testing.T, f func(t *testing.T, e *env, end ending)) {
	for _, end := range endings {
		t.Run(end.name, func(t *testing.T) {
			forKinds(t, func(t *testing.T, e *env) { f(t, e, end) })
		})
	}
}

// openCoded has three open-coded defers and yields between them.
//
//go:noinline
func openCoded(co *Co, tr *dtrace, tag string) {
	defer tr.add(tag + " open 1")
	co.Yield()
	defer func() { tr.add(tag + " open 2") }()
	co.Yield()
	if tr != nil {
		defer tr.add(tag + " open 3") // conditional: still open-coded
	}
	co.Yield()
	tr.add(tag + " open body end")
}

var openCodedOrder = []string{"open body end", "open 3", "open 2", "open 1"}

// stackDefers has nine defers, more than can be open-coded: each is a
// _defer record in the frame. It yields between them.
//
//go:noinline
func stackDefers(co *Co, tr *dtrace, tag string) {
	defer tr.add(tag + " stack 1")
	defer tr.add(tag + " stack 2")
	defer tr.add(tag + " stack 3")
	co.Yield()
	defer tr.add(tag + " stack 4")
	defer func() { tr.add(tag + " stack 5") }()
	defer tr.add(tag + " stack 6")
	co.Yield()
	defer tr.add(tag + " stack 7")
	defer tr.add(tag + " stack 8")
	defer tr.add(tag + " stack 9")
	co.Yield()
	tr.add(tag + " stack body end")
}

var stackDefersOrder = []string{"stack body end", "stack 9", "stack 8", "stack 7", "stack 6", "stack 5", "stack 4", "stack 3", "stack 2", "stack 1"}

// heapDefers defers in a loop (heap-allocated _defer records) and yields
// after each.
//
//go:noinline
func heapDefers(co *Co, tr *dtrace, tag string) {
	for i := 1; i <= 4; i++ {
		defer tr.add(fmt.Sprint(tag, " heap ", i))
		co.Yield()
	}
	tr.add(tag + " heap body end")
}

var heapDefersOrder = []string{"heap body end", "heap 4", "heap 3", "heap 2", "heap 1"}

// tagged prefixes every event of evs with tag.
func tagged(tag string, evs ...[]string) []string {
	var out []string
	for _, l := range evs {
		for _, ev := range l {
			out = append(out, tag+" "+ev)
		}
	}
	return out
}

// ranBefore returns the events of want that are in pending, in want's
// order: what a co destroyed with those defers pending records.
func ranBefore(want []string, pending ...string) []string {
	var out []string
	for _, w := range want {
		for _, p := range pending {
			if w == p {
				out = append(out, w)
			}
		}
	}
	return out
}

func TestDeferOpenCodedAcrossYields(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { openCoded(co, tr, "a") }, nil)
		for k := 0; k < 3; k++ {
			resumeAt(co, k)
			assert.Empty(t, tr.ev)
		}
		end.end(t, co, func() { resumeAt(co, 4) })
		want := tagged("a", openCodedOrder)
		if end.name == "destroy" {
			want = want[1:]
		}
		assert.Equal(t, want, tr.ev)
	})
}

func TestDeferStackRecordsAcrossYields(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { stackDefers(co, tr, "b") }, nil)
		for k := 0; k < 3; k++ {
			resumeAt(co, 2*k)
			assert.Empty(t, tr.ev)
		}
		end.end(t, co, func() { resumeAt(co, 1) })
		want := tagged("b", stackDefersOrder)
		if end.name == "destroy" {
			want = want[1:]
		}
		assert.Equal(t, want, tr.ev)
	})
}

func TestDeferHeapRecordsAcrossYields(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { heapDefers(co, tr, "c") }, nil)
		for k := 0; k < 4; k++ {
			resumeAt(co, 3-k)
			assert.Empty(t, tr.ev)
		}
		end.end(t, co, func() { resumeAt(co, 2) })
		want := tagged("c", heapDefersOrder)
		if end.name == "destroy" {
			want = want[1:]
		}
		assert.Equal(t, want, tr.ev)
	})
}

// threeFrames runs the three kinds of defer in three nested frames: open
// coded outermost, then stack records, then heap records innermost. Each
// frame yields (with its defers pending) before calling the next.
//
//go:noinline
func threeFrames(co *Co, tr *dtrace) {
	defer tr.add("f1 open 1")
	defer func() { tr.add("f1 open 2") }()
	co.Yield()
	threeFramesStack(co, tr)
	tr.add("f1 end")
}

//go:noinline
func threeFramesStack(co *Co, tr *dtrace) {
	defer tr.add("f2 stack 1")
	defer tr.add("f2 stack 2")
	defer tr.add("f2 stack 3")
	defer tr.add("f2 stack 4")
	defer tr.add("f2 stack 5")
	defer tr.add("f2 stack 6")
	defer tr.add("f2 stack 7")
	defer tr.add("f2 stack 8")
	co.Yield()
	defer tr.add("f2 stack 9")
	threeFramesHeap(co, tr)
	tr.add("f2 end")
}

//go:noinline
func threeFramesHeap(co *Co, tr *dtrace) {
	for i := 1; i <= 3; i++ {
		defer tr.add(fmt.Sprint("f3 heap ", i))
		co.Yield()
	}
	tr.add("f3 end")
}

var threeFramesOrder = []string{
	"f3 end", "f3 heap 3", "f3 heap 2", "f3 heap 1",
	"f2 end", "f2 stack 9", "f2 stack 8", "f2 stack 7", "f2 stack 6", "f2 stack 5", "f2 stack 4", "f2 stack 3", "f2 stack 2", "f2 stack 1",
	"f1 end", "f1 open 2", "f1 open 1",
}

// TestDeferThreeFramesEveryStop runs threeFrames to each of its yields,
// resumed at a different depth each time, then exits or destroys it: the
// defers registered so far run, once each, innermost first.
func TestDeferThreeFramesEveryStop(t *testing.T) {
	// The events registered before each yield.
	registered := [][]string{
		{"f1 open 1", "f1 open 2"},
		{"f2 stack 1", "f2 stack 2", "f2 stack 3", "f2 stack 4", "f2 stack 5", "f2 stack 6", "f2 stack 7", "f2 stack 8"},
		{"f2 stack 9", "f3 heap 1"},
		{"f3 heap 2"},
		{"f3 heap 3"},
	}
	for stop := 1; stop <= len(registered); stop++ {
		t.Run(fmt.Sprint("yields=", stop), func(t *testing.T) {
			forEndings(t, func(t *testing.T, e *env, end ending) {
				tr := &dtrace{}
				co := e.create(func(co *Co) { threeFrames(co, tr) }, nil)
				for k := 0; k < stop; k++ {
					resumeAt(co, (k*5)%7)
					require.Empty(t, tr.ev)
				}
				n := 0
				end.end(t, co, func() { resumeAt(co, n%4); n++ })
				want := threeFramesOrder
				if end.name == "destroy" {
					var pending []string
					for _, r := range registered[:stop] {
						pending = append(pending, r...)
					}
					want = ranBefore(threeFramesOrder, pending...)
				}
				assert.Equal(t, want, tr.ev)
			})
		})
	}
}

// TestDeferFromOtherGoroutines resumes a co with pending defers of all
// kinds from a different goroutine each time.
func TestDeferFromOtherGoroutines(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { threeFrames(co, tr) }, nil)
		onOther := func(depth int) {
			done := make(chan string)
			go func() { done <- catch(func() { resumeAt(co, depth) }) }()
			require.Empty(t, <-done)
		}
		for k := 0; k < 5; k++ {
			onOther(k)
		}
		n := 0
		end.end(t, co, func() { onOther(n); n++ })
		want := threeFramesOrder
		if end.name == "destroy" {
			want = ranBefore(threeFramesOrder, "f3 heap 3", "f3 heap 2", "f3 heap 1", "f2 stack 9", "f2 stack 8", "f2 stack 7",
				"f2 stack 6", "f2 stack 5", "f2 stack 4", "f2 stack 3", "f2 stack 2", "f2 stack 1", "f1 open 2", "f1 open 1")
		}
		assert.Equal(t, want, tr.ev)
	})
}

// TestDeferAllKindsSequence calls the three single-kind functions in
// sequence from one co, each finishing before the next starts.
func TestDeferAllKindsSequence(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		tr := &dtrace{}
		co := e.create(func(co *Co) {
			openCoded(co, tr, "x")
			stackDefers(co, tr, "y")
			heapDefers(co, tr, "z")
		}, nil)
		for k := 0; !co.IsEnd(); k++ {
			resumeAt(co, k%6)
		}
		co.Destroy()
		var want []string
		for _, ev := range openCodedOrder {
			want = append(want, "x "+ev)
		}
		for _, ev := range stackDefersOrder {
			want = append(want, "y "+ev)
		}
		for _, ev := range heapDefersOrder {
			want = append(want, "z "+ev)
		}
		assert.Equal(t, want, tr.ev)
	})
}

// TestDestroyUnwindsThreeFramesOfDefers destroys a co suspended with heap,
// stack and open-coded defers pending in three frames: every one runs,
// once, innermost first.
func TestDestroyUnwindsThreeFramesOfDefers(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { threeFrames(co, tr) }, nil)
		for k := 0; k < 5; k++ {
			resumeAt(co, k)
		}
		require.Empty(t, tr.ev)
		co.Destroy()
		assert.Equal(t, []string{"f3 heap 3", "f3 heap 2", "f3 heap 1", "f2 stack 9", "f2 stack 8", "f2 stack 7",
			"f2 stack 6", "f2 stack 5", "f2 stack 4", "f2 stack 3", "f2 stack 2", "f2 stack 1", "f1 open 2", "f1 open 1"}, tr.ev)
		assert.True(t, co.IsEnd())
	})
}

// TestResumerDefersIntact gives the resumer defers of all three kinds
// pending around its Resume calls, while the co keeps its own defers across
// yields: each side's run once, in order, in its own frames.
func TestResumerDefersIntact(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { threeFrames(co, tr) }, nil)
		resumerOpen(co, tr, func() { end.end(t, co, co.Resume) })
		want := []string{"r heap resumed 0", "r heap resumed 1", "r heap resumed 2"}
		if end.name == "exit" {
			want = append(want, threeFramesOrder...)
		} else {
			want = append(want, ranBefore(threeFramesOrder, "f2 stack 8", "f2 stack 7", "f2 stack 6", "f2 stack 5", "f2 stack 4",
				"f2 stack 3", "f2 stack 2", "f2 stack 1", "f1 open 2", "f1 open 1", "f2 stack 9", "f3 heap 1")...)
		}
		want = append(want, "r ended", "r heap 2", "r heap 1", "r heap 0")
		for i := 9; i >= 1; i-- {
			want = append(want, fmt.Sprint("r stack ", i))
		}
		want = append(want, "r open 2", "r open 1")
		assert.Equal(t, want, tr.ev)
	})
}

//go:noinline
func resumerOpen(co *Co, tr *dtrace, end func()) {
	defer tr.add("r open 1")
	defer func() { tr.add("r open 2") }()
	resumerStack(co, tr, end)
}

//go:noinline
func resumerStack(co *Co, tr *dtrace, end func()) {
	defer tr.add("r stack 1")
	defer tr.add("r stack 2")
	defer tr.add("r stack 3")
	defer tr.add("r stack 4")
	defer tr.add("r stack 5")
	defer tr.add("r stack 6")
	defer tr.add("r stack 7")
	defer tr.add("r stack 8")
	defer tr.add("r stack 9")
	resumerLoop(co, tr, end)
}

//go:noinline
func resumerLoop(co *Co, tr *dtrace, end func()) {
	for i := 0; i < 3; i++ {
		defer tr.add(fmt.Sprint("r heap ", i))
		co.Resume()
		tr.add(fmt.Sprint("r heap resumed ", i))
	}
	end()
	tr.add("r ended")
}

// TestRecoverInsideCoThenYield panics and recovers inside a co that has
// defers pending from earlier yields, then yields again and is resumed.
func TestRecoverInsideCoThenYield(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) {
			defer tr.add("outer open")
			for i := 0; i < 2; i++ {
				defer tr.add(fmt.Sprint("outer heap ", i))
				co.Yield()
			}
			for round := 0; round < 3; round++ {
				func() {
					defer func() {
						r := recover()
						tr.add(fmt.Sprint("recovered ", r))
					}()
					defer tr.add(fmt.Sprint("inner ", round))
					co.Yield()
					panic(fmt.Sprint("boom ", round))
				}()
				tr.add(fmt.Sprint("after recover ", round))
				co.Yield()
			}
			tr.add("end")
		}, nil)
		resumeAt(co, 0)
		resumeAt(co, 3)
		for round := 0; round < 3; round++ {
			resumeAt(co, round)
			require.Len(t, tr.ev, 3*round)
			resumeAt(co, 5-round)
			require.Equal(t, []string{fmt.Sprint("inner ", round), fmt.Sprint("recovered boom ", round), fmt.Sprint("after recover ", round)}, tr.ev[3*round:])
		}
		end.end(t, co, co.Resume)
		want := []string{
			"inner 0", "recovered boom 0", "after recover 0",
			"inner 1", "recovered boom 1", "after recover 1",
			"inner 2", "recovered boom 2", "after recover 2",
		}
		if end.name == "exit" {
			want = append(want, "end")
		}
		want = append(want, "outer heap 1", "outer heap 0", "outer open")
		assert.Equal(t, want, tr.ev)
	})
}

// TestPanicWithPendingDefersReachesResumer panics in a co that has defers of
// every kind pending across yields in several frames: they all run, in
// order, then the panic reaches the resumer, which recovers it.
func TestPanicWithPendingDefersReachesResumer(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		tr := &dtrace{}
		boom := errors.New("boom from the co")
		co := e.create(func(co *Co) {
			defer tr.add("open")
			func() {
				for i := 0; i < 2; i++ {
					defer tr.add(fmt.Sprint("heap ", i))
					co.Yield()
				}
				func() {
					defer tr.add("s1")
					defer tr.add("s2")
					defer tr.add("s3")
					defer tr.add("s4")
					defer tr.add("s5")
					defer tr.add("s6")
					defer tr.add("s7")
					defer tr.add("s8")
					defer tr.add("s9")
					co.Yield()
					panic(boom)
				}()
			}()
		}, nil)
		for k := 0; k < 3; k++ {
			resumeAt(co, k*2)
		}
		require.Empty(t, tr.ev)
		var r any
		func() {
			defer func() { r = recover() }()
			resumeAt(co, 4)
		}()
		assert.Same(t, boom, r)
		assert.True(t, co.IsEnd())
		assert.Equal(t, []string{"s9", "s8", "s7", "s6", "s5", "s4", "s3", "s2", "s1", "heap 1", "heap 0", "open"}, tr.ev)
		if e.ss != nil {
			assert.Nil(t, e.ss.Owner())
		}
		co.Destroy()
		healthy(t, e)
	})
}

// TestRecoverValueInCoDefers checks recover() in the co's deferred calls:
// nil on a normal end, the co's own *Unwind on Exit.
func TestRecoverValueInCoDefers(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var got []string
		co := e.create(func(co *Co) {
			defer func() {
				r := recover()
				u, ok := r.(*Unwind)
				got = append(got, fmt.Sprint("outer ", ok && u.Co() == co))
				if r != nil {
					panic(r)
				}
			}()
			func() {
				defer func() { got = append(got, fmt.Sprint("inner ", recover() == nil)) }()
				co.Yield()
			}()
			co.Yield()
			co.Exit()
		}, nil)
		co.Resume()
		co.Resume()
		co.Resume()
		assert.True(t, co.IsEnd())
		assert.Equal(t, []string{"inner true", "outer true"}, got)
		co.Destroy()
	})
}

// TestNestedCoroutinesWithDefers has an outer co with pending defers resume
// an inner co (on another share stack) with its own pending defers, so
// their records interleave on the goroutine's defer chain.
func TestNestedCoroutinesWithDefers(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		main, ss1, ss2 := e.main, e.ss, e.newStack()
		tr := &dtrace{}
		inner := Create(main, ss2, 0, func(co *Co) {
			defer tr.add("inner open")
			for i := 0; i < 3; i++ {
				defer tr.add(fmt.Sprint("inner heap ", i))
				co.Yield()
			}
		}, nil)
		outer := Create(main, ss1, 0, func(co *Co) {
			defer tr.add("outer open")
			for i := 0; i < 4; i++ {
				defer tr.add(fmt.Sprint("outer heap ", i))
				if !inner.IsEnd() {
					inner.Resume()
				}
				co.Yield()
			}
		}, nil)
		for k := 0; !outer.IsEnd(); k++ {
			resumeAt(outer, k%3)
		}
		assert.True(t, inner.IsEnd())
		assert.Equal(t, []string{"inner heap 2", "inner heap 1", "inner heap 0", "inner open",
			"outer heap 3", "outer heap 2", "outer heap 1", "outer heap 0", "outer open"}, tr.ev)
		inner.Destroy()
		outer.Destroy()
	})
}

// TestDestroyFromInsideAnotherCo destroys an inner co with pending
// defers from inside an outer co that has its own pending defers.
func TestDestroyFromInsideAnotherCo(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		main, ss1, ss2 := e.main, e.ss, e.newStack()
		tr := &dtrace{}
		inner := Create(main, ss2, 0, func(co *Co) {
			defer tr.add("inner open")
			for i := 0; i < 3; i++ {
				defer tr.add(fmt.Sprint("inner heap ", i))
				co.Yield()
			}
		}, nil)
		outer := Create(main, ss1, 0, func(co *Co) {
			defer tr.add("outer open")
			for i := 0; i < 2; i++ {
				defer tr.add(fmt.Sprint("outer heap ", i))
				inner.Resume()
				co.Yield()
			}
			inner.Destroy()
			tr.add("outer destroyed inner")
			co.Yield()
		}, nil)
		for k := 0; !outer.IsEnd(); k++ {
			resumeAt(outer, k%3)
		}
		assert.Equal(t, []string{"inner heap 1", "inner heap 0", "inner open", "outer destroyed inner",
			"outer heap 1", "outer heap 0", "outer open"}, tr.ev)
		outer.Destroy()
	})
}

// panicChildEnv makes TestUnrecoveredPanicTraceback's child process run a
// co that panics without recovery, on the kind it names.
const panicChildEnv = "ACO_TEST_PANIC_CHILD"

// acoTracebackVictim is the co function whose panic the child does not
// recover; its name must appear in the traceback.
//
//go:noinline
func acoTracebackVictim(co *Co) {
	defer func() {}() // a pending defer across the yield
	co.Yield()
	acoTracebackVictimInner(co)
}

//go:noinline
func acoTracebackVictimInner(co *Co) {
	panic("aco traceback test panic")
}

// TestUnrecoveredPanicTraceback runs, in a child process, a co whose panic
// nobody recovers, and checks the crash report: the panic value, the co's
// function (its frames are on the stack when the runtime prints it on the
// copy-stack engine) and Resume.
func TestUnrecoveredPanicTraceback(t *testing.T) {
	if k := os.Getenv(panicChildEnv); k != "" {
		main := NewMain()
		var ss *ShareStack
		if k == "sharestack" {
			ss = NewShareStack(0)
		}
		co := Create(main, ss, 0, acoTracebackVictim, nil)
		co.Resume()
		// A co the engine moves onto a goroutine of its own panics there:
		// the crash shows the resumer's frames, as for a standalone co.
		fmt.Fprintf(os.Stderr, "aco-moves=%v\n", co.moveNext)
		resumeAt(co, 2)
		t.Fatal("the panic did not reach the resumer")
		return
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := childCommand(ctx, exe, "-test.run=^TestUnrecoveredPanicTraceback$", "-test.count=1")
			cmd.Env = append(os.Environ(), panicChildEnv+"="+k.name, "GOTRACEBACK=single")
			out, err := cmd.CombinedOutput()
			s := string(out)
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "the child must crash:\n%s", s)
			assert.Equal(t, 2, ee.ExitCode(), "a Go panic exits with status 2:\n%s", s)
			assert.Contains(t, s, "panic: aco traceback test panic")
			assert.Contains(t, s, "aco.(*Co).Resume", "the traceback shows Resume:\n%s", s)
			assert.NotContains(t, s, "fatal error", "the runtime could unwind the stack:\n%s", s)
			assert.NotContains(t, s, "unexpected return pc", "the runtime could unwind the stack:\n%s", s)
			if k.ss != nil && Engine() == CopyStack && !strings.Contains(s, "aco-moves=true") {
				assert.Contains(t, s, "aco.acoTracebackVictimInner", "the co's frames are in the traceback:\n%s", s)
				assert.Contains(t, s, "aco.acoTracebackVictim(", "the co's frames are in the traceback:\n%s", s)
			}
		})
	}
}

// yieldingDefers has deferred calls of kind kind ("open", "stack" or
// "heap") that yield when they run at the function's normal return.
//
//go:noinline
func yieldingDefers(co *Co, tr *dtrace, kind string) {
	switch kind {
	case "open":
		yieldingOpen(co, tr)
	case "stack":
		yieldingStack(co, tr)
	case "heap":
		yieldingHeap(co, tr)
	}
	tr.add("returned")
}

// yieldIn is a deferred call that yields in the middle.
func yieldIn(co *Co, tr *dtrace, name string) {
	tr.add(name + " before")
	co.Yield()
	tr.add(name + " after")
}

//go:noinline
func yieldingOpen(co *Co, tr *dtrace) {
	defer yieldIn(co, tr, "d1")
	defer yieldIn(co, tr, "d2")
	co.Yield()
	tr.add("body")
}

//go:noinline
func yieldingStack(co *Co, tr *dtrace) {
	defer tr.add("s1")
	defer tr.add("s2")
	defer tr.add("s3")
	defer tr.add("s4")
	defer tr.add("s5")
	defer tr.add("s6")
	defer tr.add("s7")
	defer yieldIn(co, tr, "d1")
	defer yieldIn(co, tr, "d2")
	co.Yield()
	tr.add("body")
}

//go:noinline
func yieldingHeap(co *Co, tr *dtrace) {
	for _, name := range []string{"d1", "d2"} {
		defer yieldIn(co, tr, name)
	}
	co.Yield()
	tr.add("body")
}

// TestYieldInsideDeferredCalls yields from deferred calls running at a
// function's normal return (for records, inside runtime.deferreturn), and
// destroys the co while it is suspended inside one: the deferred call in
// progress is abandoned, the remaining ones run.
func TestYieldInsideDeferredCalls(t *testing.T) {
	for _, kind := range []string{"open", "stack", "heap"} {
		t.Run(kind, func(t *testing.T) {
			var stackTail []string
			if kind == "stack" {
				stackTail = []string{"s7", "s6", "s5", "s4", "s3", "s2", "s1"}
			}
			full := append(append([]string{"body", "d2 before", "d2 after", "d1 before", "d1 after"}, stackTail...), "returned")
			// Destroyed after k resumes: the events so far, then the
			// deferred calls not started yet.
			partial := map[int][]string{
				1: append([]string{"d2 before", "d1 before"}, stackTail...), // suspended in the body
				2: append([]string{"body", "d2 before", "d1 before"}, stackTail...),
				3: append([]string{"body", "d2 before", "d2 after", "d1 before"}, stackTail...),
			}
			for stop := 1; stop <= 4; stop++ {
				t.Run(fmt.Sprint("resumes=", stop), func(t *testing.T) {
					forKinds(t, func(t *testing.T, e *env) {
						tr := &dtrace{}
						co := e.create(func(co *Co) { yieldingDefers(co, tr, kind) }, nil)
						for k := 0; k < stop; k++ {
							require.False(t, co.IsEnd())
							resumeVia(co, k)
						}
						if stop == 4 {
							require.True(t, co.IsEnd())
							co.Destroy()
							assert.Equal(t, full, tr.ev)
							return
						}
						require.False(t, co.IsEnd())
						co.Destroy()
						assert.Equal(t, partial[stop], tr.ev)
					})
				})
			}
		})
	}
}

// TestPanicThroughNestedCos panics in an inner co resumed by an outer co:
// the panic runs the inner co's pending defers, comes out of the outer co's
// Resume call, runs the outer co's pending defers and reaches the test.
func TestPanicThroughNestedCos(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		main, ss1, ss2 := e.main, e.ss, e.newStack()
		tr := &dtrace{}
		inner := Create(main, ss2, 0, func(co *Co) {
			defer tr.add("inner open")
			for i := 0; i < 2; i++ {
				defer tr.add(fmt.Sprint("inner heap ", i))
				co.Yield()
			}
			panic("inner boom")
		}, nil)
		outer := Create(main, ss1, 0, func(co *Co) {
			defer tr.add("outer open")
			for i := 0; ; i++ {
				defer tr.add(fmt.Sprint("outer heap ", i))
				resumeAt(inner, i)
				co.Yield()
			}
		}, nil)
		resumeAt(outer, 0)
		resumeAt(outer, 3)
		r := func() (r any) {
			defer func() { r = recover() }()
			resumeAt(outer, 1)
			return nil
		}()
		assert.Equal(t, "inner boom", r)
		assert.True(t, inner.IsEnd())
		assert.True(t, outer.IsEnd())
		assert.Equal(t, []string{"inner heap 1", "inner heap 0", "inner open", "outer heap 2", "outer heap 1", "outer heap 0", "outer open"}, tr.ev)
		inner.Destroy()
		outer.Destroy()
		if ss1 != nil {
			assert.Nil(t, ss1.Owner())
			assert.Nil(t, ss2.Owner())
		}
	})
}

// TestGoexitInsideCo calls runtime.Goexit in a co with defers of every kind
// pending across yields: the co's deferred calls run in order, then the
// resumer's, and the resumer's goroutine ends without Resume returning; the
// co has ended and its share stack is free again.
func TestGoexitInsideCo(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		tr := &dtrace{}
		co := e.create(func(co *Co) {
			defer tr.add("co open")
			func() {
				for i := 0; i < 2; i++ {
					defer tr.add(fmt.Sprint("co heap ", i))
					co.Yield()
				}
				stackDefersThenGoexit(co, tr)
			}()
		}, nil)
		resumeAt(co, 0)
		resumeAt(co, 2)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer tr.add("resumer deferred")
			resumeAt(co, 1) // yields in stackDefersThenGoexit
			tr.add("resumed once")
			resumeAt(co, 3) // Goexit
			tr.add("Resume returned after Goexit")
		}()
		<-done
		assert.Equal(t, []string{"resumed once", "s3", "s2", "s1", "co heap 1", "co heap 0", "co open", "resumer deferred"}, tr.ev)
		assert.True(t, co.IsEnd())
		if e.ss != nil {
			assert.Nil(t, e.ss.Owner())
		}
		co.Destroy()
		healthy(t, e)
	})
}

//go:noinline
func stackDefersThenGoexit(co *Co, tr *dtrace) {
	defer tr.add("s1")
	defer tr.add("s2")
	defer tr.add("s3")
	for i := 0; i < 6; i++ {
		defer func() {}() // in a loop: the frame's defers are records
	}
	co.Yield()
	runtime.Goexit()
}
