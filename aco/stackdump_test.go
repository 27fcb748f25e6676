package aco

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The functions of TestStacks' coroutines, one per depth, so that a dump
// names which frame each co is suspended in.

//go:noinline
func stackOuter(co *Co, depth int) {
	if depth > 1 {
		stackMiddle(co, depth-1)
		return
	}
	co.Yield()
}

//go:noinline
func stackMiddle(co *Co, depth int) {
	if depth > 1 {
		stackInner(co)
		return
	}
	co.Yield()
}

//go:noinline
func stackInner(co *Co) { co.Yield() }

// dumpFuncs returns the function names of the frames of one co in a dump,
// in order, without the package path.
func dumpFuncs(t *testing.T, dump string) []string {
	t.Helper()
	var fns []string
	for _, l := range strings.Split(dump, "\n") {
		if strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "coroutine ") || l == "" {
			continue
		}
		require.True(t, strings.HasSuffix(l, "(...)"), "a frame line %q", l)
		fns = append(fns, strings.TrimPrefix(strings.TrimSuffix(l, "(...)"), acoPkg+"."))
	}
	return fns
}

// TestStacks: three coroutines suspended at depths 1, 2 and 3 show their
// own frames, innermost first, each with its file:line; WriteStacks writes
// them in creation order, with a not-started co and an ended one.
func TestStacks(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var cos []*Co
		for d := 1; d <= 3; d++ {
			co := e.create(func(co *Co) { stackOuter(co, d) }, nil)
			co.Resume()
			cos = append(cos, co)
		}
		want := [][]string{
			{"(*Co).Yield", "stackOuter", "TestStacks.func1.1"},
			{"(*Co).Yield", "stackMiddle", "stackOuter", "TestStacks.func1.1"},
			{"(*Co).Yield", "stackInner", "stackMiddle", "stackOuter", "TestStacks.func1.1"},
		}
		for i, co := range cos {
			dump := string(co.Stack())
			assert.Equal(t, want[i], dumpFuncs(t, dump), "the frames of the co suspended at depth %d:\n%s", i+1, dump)
			assert.Regexp(t, regexp.MustCompile(`\n\t.*/stackdump_test\.go:\d+\n`), dump, "file:line of the test's frames")
		}
		fresh := e.create(func(co *Co) {}, nil)
		ended := e.create(func(co *Co) {}, nil)
		ended.Resume()

		var b bytes.Buffer
		require.NoError(t, e.main.WriteStacks(&b))
		parts := strings.Split(strings.TrimSuffix(b.String(), "\n\n"), "\n\n")
		require.Len(t, parts, 5, "one stack per live co:\n%s", b.String())
		for i := range cos {
			assert.Equal(t, want[i], dumpFuncs(t, parts[i]))
		}
		assert.Contains(t, parts[3], "[init")
		assert.Contains(t, parts[3], "not started: it will run "+acoPkg+".TestStacks.func1.2")
		assert.Contains(t, parts[4], "[ended]")

		for _, co := range append(cos, fresh, ended) {
			co.Destroy()
		}
	})
}

// TestStackMoved: a co that moved onto a goroutine of its own shows the same
// frames, read from its goroutine.
func TestStackMoved(t *testing.T) {
	if !copyStackOn {
		t.Skip("no move without the copy-stack engine")
	}
	defaultMoves(t)
	e := newEnv(t, kinds[1])
	defer e.close()
	co := e.create(func(co *Co) {
		for {
			deepYield(deepFrames, func() { stackInner(co) })
		}
	}, nil)
	for i := 0; i < 100 && !co.Moved(); i++ {
		co.Resume()
	}
	require.True(t, co.Moved(), "the co did not move")
	dump := string(co.Stack())
	fns := dumpFuncs(t, dump)
	require.GreaterOrEqual(t, len(fns), 15, dump)
	assert.Equal(t, []string{"(*Co).Yield", "stackInner", "TestStackMoved.func1.1", "deepYield"}, fns[:4], dump)
	assert.Equal(t, "TestStackMoved.func1", fns[len(fns)-1], dump)
	assert.Contains(t, dump, "moved to a goroutine")
	co.Destroy()
}

var sinkByte byte

// deepFrames is how many frames of deepYield (or placementYield) hold more
// than MoveThreshold bytes, on every architecture: each holds 64 bytes of
// its own.
const deepFrames = MoveThreshold/64 + 16

// deepYield calls yield from d frames below it, each with 64 bytes live
// across the call: yields this deep, repeated, make the copy-stack engine
// move the co onto a goroutine of its own.
//
//go:noinline
func deepYield(d int, yield func()) {
	var pad [64]byte
	pad[d%64] = byte(d)
	if d == 0 {
		yield()
		return
	}
	deepYield(d-1, yield)
	sinkByte = pad[d%64]
}

// TestStackWhileResumed dumps a co over and over while another goroutine
// resumes it: the resumes wait for the dumps and never fail, and the dumps
// see the co suspended or running, never anything else.
func TestStackWhileResumed(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		co := e.create(func(co *Co) {
			for {
				stackInner(co)
			}
		}, nil)
		co.Resume()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				co.Resume()
			}
			close(stop)
		}()
		dumps := 0
		for done := false; !done; dumps++ {
			select {
			case <-stop:
				done = true
			default:
			}
			d := string(co.Stack())
			if !strings.Contains(d, "[running]") {
				require.Equal(t, []string{"(*Co).Yield", "stackInner", "TestStackWhileResumed.func1.1"}, dumpFuncs(t, d), d)
			}
		}
		wg.Wait()
		t.Logf("%d dumps", dumps)
		co.Destroy()
	})
}

// TestStackWhileSiblingResumed dumps a suspended co over and over while
// another goroutine resumes its sibling on the same share stack: a dump
// holds only the co it reads, so the sibling's resumes never fail (the
// share stack is the lock of its cos: a dump must not take it).
func TestStackWhileSiblingResumed(t *testing.T) {
	m, ss := NewMain(), NewShareStack(0)
	defer m.Destroy()
	defer ss.Destroy()
	body := func(co *Co) {
		for {
			stackInner(co)
		}
	}
	dumped, sibling := Create(m, ss, 0, body, nil), Create(m, ss, 0, body, nil)
	defer dumped.Destroy()
	defer sibling.Destroy()
	dumped.Resume()
	sibling.Resume()
	var failed any
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		defer func() { failed = recover() }()
		for end := time.Now().Add(300 * time.Millisecond); time.Now().Before(end); {
			for range 1000 {
				sibling.Resume()
			}
		}
	}()
	dumps := 0
	for done := false; !done; dumps++ {
		select {
		case <-stop:
			done = true
		default:
		}
		require.Contains(t, string(dumped.Stack()), "stackInner")
	}
	require.Nil(t, failed, "a Resume of the sibling while the co was dumped")
	t.Logf("%d dumps", dumps)
}

// TestPanicOnGoroutineTraceback: an unrecovered panic of a coroutine on a
// goroutine of its own (on the portable engine, or moved off its share stack) kills
// the program from the Resume that ran it, with aco's frame and the
// resumer's: not from inside iter.Pull's next, which the program never
// called. Each case runs in a child process, which must die of the panic.
func TestPanicOnGoroutineTraceback(t *testing.T) {
	if c := os.Getenv(tracebackChildEnv); c != "" {
		tracebackChild(c)
		return
	}
	for _, c := range []string{"portable", "moved"} {
		t.Run(c, func(t *testing.T) {
			if c == "moved" && !copyStackOn {
				t.Skip("no move without the copy-stack engine")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := childCommand(ctx, os.Args[0], "-test.run=^TestPanicOnGoroutineTraceback$", "-test.count=1")
			cmd.Env = append(os.Environ(), tracebackChildEnv+"="+c, "ACO_MOVE_THRESHOLD=") // the default policy: the co moves
			out, err := cmd.CombinedOutput()
			s := string(out)
			require.Error(t, err, "the child survived its panic:\n%s", s)
			require.Contains(t, s, "panic: "+tracebackChildValue, "the child did not die of the co's panic:\n%s", s)
			g1 := s[strings.Index(s, "goroutine "):]
			if i := strings.Index(g1, "\n\n"); i > 0 {
				g1 = g1[:i]
			}
			assert.NotContains(t, g1, "iter.Pull", "the panicking goroutine's traceback shows iter.Pull's frames:\n%s", g1)
			assert.Contains(t, g1, acoPkg+".(*Co).Resume(", "the traceback does not show the Resume that ran the co:\n%s", g1)
			assert.Contains(t, g1, "tracebackChild(", "the traceback does not show the resumer's frames:\n%s", g1)
		})
	}
}

const (
	tracebackChildEnv   = "ACO_PANIC_TRACEBACK_CHILD"
	tracebackChildValue = "the coroutine's own panic"
)

// tracebackChild resumes a co, standalone or moved, that panics: nothing
// recovers it.
func tracebackChild(c string) {
	m := NewMain()
	m.x.portableKids = true // "portable": a standalone co, a goroutine of its own
	var ss *ShareStack
	if c == "moved" {
		ss = NewShareStack(0)
	}
	boom := false
	co := Create(m, ss, 0, func(co *Co) {
		for {
			deepYield(deepFrames, func() {
				co.Yield()
				if boom {
					panic(tracebackChildValue)
				}
			})
		}
	}, nil)
	for i := 0; i < 100 && (ss == nil || !co.Moved()); i++ {
		co.Resume()
	}
	if ss != nil && !co.Moved() {
		fmt.Println("the co did not move")
		os.Exit(0)
	}
	boom = true
	co.Resume()
}
