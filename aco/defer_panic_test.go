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

// Panics, recover and runtime.Goexit through coroutines with pending
// defers (defer_test.go has the defers themselves).

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
		fmt.Fprintf(os.Stderr, "aco-moves=%v\n", co.moveNext())
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
