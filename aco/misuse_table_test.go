package aco

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMisuseCatalogue triggers every misuse of the API, once on each kind of
// coroutine (share-stack: the copy-stack engine when it is active;
// standalone: the portable engine), and checks that each one panics with a
// string that starts with the message the code gives for it — a clear
// "aco: " message, not a crash, a hang, an *Unwind escaping or silence — and
// that the package still works afterwards (healthy).
//
// A misuse that an engine does not detect may crash the process (a runtime
// throw) or hang it, so the rows marked isolate run in a child process (the
// test binary re-executed for that one subtest): the parent reports how the
// child ended. Every row has a time limit, so a hang fails instead of
// blocking the run.
func TestMisuseCatalogue(t *testing.T) {
	for _, row := range mcRows {
		t.Run(row.name, func(t *testing.T) {
			forKinds(t, func(t *testing.T, e *env) {
				if row.isolate && os.Getenv(mcChildEnv) == "" {
					mcRunChild(t, e)
					return
				}
				if prepare := mcPrepare[row.name]; prepare != nil {
					prepare(t)
				}
				out, finished := mcRunRow(t, e, row)
				if !finished {
					t.Fatalf("misuse %q on the %s engine: no panic within %v — the misuse hangs instead of being detected",
						row.name, mcEngine(e), mcTimeout)
				}
				mcCheck(t, e, row, out)
				healthy(t, e)
			})
		})
	}
}

// mcChildEnv is set in the child process that runs one isolated row.
const mcChildEnv = "ACO_MISUSE_CATALOGUE_CHILD"

// mcTimeout bounds one row: a row that takes longer hangs.
const mcTimeout = 10 * time.Second

// mcOut is what a misuse did: the panic value, if it panicked, and notes
// the row adds for the report.
type mcOut struct {
	v        any
	panicked bool
	note     string
}

type mcRow struct {
	name    string
	want    string // the panic message's expected prefix
	isolate bool   // run in a child process (see TestMisuseCatalogue)
	run     func(t *testing.T, e *env) mcOut
}

// mcPrepare holds, by row name, work a row needs done first, outside its
// time limit (building a program, say).
var mcPrepare = map[string]func(t *testing.T){}

// mc runs f and returns the panic it raised.
func mc(f func()) (out mcOut) {
	out.panicked = true
	defer func() {
		if out.panicked {
			out.v = recover()
		}
	}()
	f()
	out.panicked = false
	return out
}

// mcEngine names the engine e's coroutines run on.
func mcEngine(e *env) EngineName {
	if e.ss == nil {
		return Portable
	}
	return Engine()
}

// mcRunRow runs a row on a new goroutine and gives up after mcTimeout.
func mcRunRow(t *testing.T, e *env, row mcRow) (mcOut, bool) {
	done := make(chan mcOut, 1)
	go func() {
		var out mcOut
		defer func() {
			if v := recover(); v != nil {
				out = mcOut{note: fmt.Sprintf("the row itself panicked with %T %v (a panic that escaped where none should)", v, v)}
			}
			done <- out
		}()
		out = row.run(t, e)
	}()
	timer := time.NewTimer(mcTimeout)
	defer timer.Stop()
	select {
	case out := <-done:
		return out, true
	case <-timer.C:
		return mcOut{}, false
	}
}

func mcCheck(t *testing.T, e *env, row mcRow, out mcOut) {
	t.Helper()
	eng := mcEngine(e)
	switch {
	case !out.panicked:
		t.Errorf("misuse %q on the %s engine: no panic — the misuse is not detected (want a panic %q)", row.name, eng, row.want)
		if out.note != "" {
			t.Errorf("misuse %q on the %s engine: %s", row.name, eng, out.note)
		}
	default:
		msg, ok := out.v.(string)
		if !ok {
			t.Errorf("misuse %q on the %s engine: panicked with %T %v, want a string starting with %q", row.name, eng, out.v, out.v, row.want)
			break
		}
		if !strings.HasPrefix(msg, row.want) {
			t.Errorf("misuse %q on the %s engine: panic %q, want prefix %q", row.name, eng, msg, row.want)
		}
		if out.note != "" {
			t.Errorf("misuse %q on the %s engine: %s", row.name, eng, out.note)
		}
	}
}

// mcRunChild re-runs the current subtest in a child process and reports how
// it ended.
func mcRunChild(t *testing.T, e *env) {
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*mcTimeout)
	defer cancel()
	cmd := childCommand(ctx, os.Args[0], "-test.run="+strings.Join(parts, "/"), "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), mcChildEnv+"=1")
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	if err == nil && strings.Contains(out, "--- PASS: "+t.Name()) {
		return
	}
	how := fmt.Sprintf("the child process failed (%v)", err)
	switch {
	case ctx.Err() != nil:
		how = "the child process hung and was killed"
	case strings.Contains(out, "fatal error:"):
		how = "the child process crashed with a fatal runtime error: " + mcLine(out, "fatal error:")
	case strings.Contains(out, "--- FAIL: "+t.Name()):
		how = "the row failed in the child process"
	case !strings.Contains(out, "=== RUN   "+t.Name()):
		how = "the child process did not run the row"
	}
	t.Errorf("isolated misuse %s on the %s engine: %s\n--- child output (first lines) ---\n%s",
		t.Name(), mcEngine(e), how, mcHead(out, 24))
}

func mcLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

func mcHead(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append(lines[:n:n], "...")
	}
	return strings.Join(lines, "\n")
}

// mcRunning starts co on a new goroutine, where its function blocks until
// release is closed; it returns once the co runs. wait waits for that
// Resume to return (and recovers what it panics).
func mcRunning(e *env, body func(co *Co)) (co *Co, release func(), wait func() mcOut) {
	running, rel := make(chan struct{}), make(chan struct{})
	co = e.create(func(co *Co) {
		close(running)
		<-rel
		if body != nil {
			body(co)
		}
	}, nil)
	done := make(chan mcOut, 1)
	go func() { done <- mc(co.Resume) }()
	<-running
	var once sync.Once
	return co, func() { once.Do(func() { close(rel) }) }, func() mcOut { return <-done }
}

// mcPull is PullOn e's share stack, or Pull for standalone kinds (PullOn
// with no share stack is iter.Pull itself).
func mcPull(e *env, seq func(yield func(int) bool)) (func() (int, bool), func()) {
	if e.ss != nil {
		return PullOn(e.ss, seq)
	}
	return Pull(seq)
}

// mcPulling starts a next of an iterator over 1, 2, 3 on a new goroutine,
// where the generator blocks before its first value until release is
// called; it returns once the generator runs. wait waits for that next
// (and checks its value).
func mcPulling(e *env) (next func() (int, bool), stop, release func(), wait func() mcOut) {
	running, rel := make(chan struct{}), make(chan struct{})
	next, stop = mcPull(e, func(yield func(int) bool) {
		close(running)
		<-rel
		for i := 1; i <= 3 && yield(i); i++ {
		}
	})
	done := make(chan mcOut, 1)
	go func() {
		var v int
		out := mc(func() { v, _ = next() })
		if !out.panicked && v != 1 {
			out = mcOut{panicked: true, v: fmt.Sprintf("the first next returned %d, want 1", v)}
		}
		done <- out
	}()
	<-running
	var once sync.Once
	return next, stop, func() { once.Do(func() { close(rel) }) }, func() mcOut { return <-done }
}

// mcPullCollision runs second (a call of next or stop) while another
// goroutine's next runs the generator, and returns what second panicked
// with; the note says if the first next did not return 1 or the iterator
// did not go on with 2 afterwards.
func mcPullCollision(e *env, second func(next func() (int, bool), stop func())) mcOut {
	next, stop, release, wait := mcPulling(e)
	out := mc(func() { second(next, stop) })
	release()
	if w := wait(); w.panicked {
		out.note = fmt.Sprintf("the first next panicked: %v", w.v)
	} else if v, ok := next(); !ok || v != 2 {
		out.note = fmt.Sprintf("after the collision next returned %v, %v, want 2, true", v, ok)
	}
	stop()
	return out
}

// mcCoroutineCollision runs second while another goroutine's Resume runs
// a Coroutine (which doubles what it is sent), and returns what second
// panicked with; the note says if the first Resume did not return 2 or the
// coroutine did not go on with 6 for 3 afterwards.
func mcCoroutineCollision(e *env, second func(c *Coroutine[int, int])) mcOut {
	running, rel := make(chan struct{}), make(chan struct{})
	c := NewCoroutine(e.main, e.ss, func(c *Coroutine[int, int], in int) {
		close(running)
		<-rel
		for {
			in = c.Yield(2 * in)
		}
	})
	done := make(chan mcOut, 1)
	go func() {
		var v int
		out := mc(func() { v, _ = c.Resume(1) })
		if !out.panicked && v != 2 {
			out = mcOut{panicked: true, v: fmt.Sprintf("the first Resume returned %d, want 2", v)}
		}
		done <- out
	}()
	<-running
	out := mc(func() { second(c) })
	close(rel)
	if w := <-done; w.panicked {
		out.note = fmt.Sprintf("the first Resume panicked: %v", w.v)
	} else if v, ok := c.Resume(3); !ok || v != 6 {
		out.note = fmt.Sprintf("after the collision Resume returned %v, %v, want 6, true", v, ok)
	}
	c.Destroy()
	return out
}

var mcRows = []mcRow{
	// Resume.
	{"resume an ended co", "aco: Resume of an ended co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) {}, nil)
		co.Resume()
		out := mc(co.Resume)
		co.Destroy()
		return out
	}},
	{"resume a running co from inside itself", "aco: Resume of a running co from inside itself or a co it resumed (a co cannot be resumed or destroyed until it has yielded back to its resumer)", false, func(t *testing.T, e *env) mcOut {
		var out mcOut
		co := e.create(func(co *Co) { out = mc(co.Resume) }, nil)
		co.Resume()
		co.Destroy()
		return out
	}},
	{"resume a running co from another goroutine", "aco: Resume of a running co while another goroutine runs it (a co runs on one goroutine at a time; a standalone co it resumed has a goroutine of its own too)", false, func(t *testing.T, e *env) mcOut {
		co, release, wait := mcRunning(e, nil)
		out := mc(co.Resume)
		release()
		if w := wait(); w.panicked {
			out.note = fmt.Sprintf("the first Resume panicked: %v", w.v)
		}
		co.Destroy()
		return out
	}},
	{"resume a main co", "aco: Resume of a main co", false, func(t *testing.T, e *env) mcOut {
		return mc(e.main.Resume)
	}},
	{"resume a co whose share stack is busy", "aco: Resume: share stack is busy", false, func(t *testing.T, e *env) mcOut {
		// A share-stack rule: both kinds use a share stack of their own.
		ss := NewShareStack(0)
		other := Create(e.main, ss, 0, func(co *Co) {}, nil)
		var out mcOut
		co := Create(e.main, ss, 0, func(co *Co) { out = mc(other.Resume) }, nil)
		co.Resume()
		other.Resume()
		co.Destroy()
		other.Destroy()
		ss.Destroy()
		return out
	}},
	{"resume the same co from two goroutines at once", "aco: Resume of a running co", true, mcTwoResumers},
	{"resume a nil *Co", "aco: Resume of a nil *Co", false, func(t *testing.T, e *env) mcOut {
		var co *Co
		return mc(co.Resume)
	}},

	// Pull iterators (PullOn the kind's share stack; Pull for standalone).
	{"pull: next from two goroutines at once", "aco: Pull: next called from two goroutines at once (an iterator, like iter.Pull's, is used by one goroutine at a time: the second call panics and the first goes on)", false, func(t *testing.T, e *env) mcOut {
		return mcPullCollision(e, func(next func() (int, bool), _ func()) { next() })
	}},
	{"pull: stop while another goroutine runs next", "aco: Pull: stop called while another goroutine runs next or stop", false, func(t *testing.T, e *env) mcOut {
		return mcPullCollision(e, func(_ func() (int, bool), stop func()) { stop() })
	}},
	{"pull: next from inside the generator", "aco: Pull: next called again before yield", false, func(t *testing.T, e *env) mcOut {
		var out mcOut
		var next func() (int, bool)
		var stop func()
		next, stop = mcPull(e, func(yield func(int) bool) {
			out = mc(func() { next() })
			yield(1)
		})
		if v, ok := next(); !ok || v != 1 {
			out.note = fmt.Sprintf("next returned %v, %v, want 1, true", v, ok)
		}
		stop()
		return out
	}},
	{"pull: a nil iterator", "aco: Pull: nil iterator", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { Pull[int](nil) }) // PullOn, Pull2, Pull2On: TestPullNilIterator
	}},

	// Coroutine (typed): its guard, in front of the co's.
	{"coroutine: resume from two goroutines at once", "aco: Coroutine.Resume while another goroutine resumes or destroys it (a Coroutine is used by one goroutine at a time: the second call panics and the first goes on)", false, func(t *testing.T, e *env) mcOut {
		return mcCoroutineCollision(e, func(c *Coroutine[int, int]) { c.Resume(5) })
	}},
	{"coroutine: destroy while another goroutine resumes it", "aco: Coroutine.Destroy while another goroutine resumes or destroys it", false, func(t *testing.T, e *env) mcOut {
		return mcCoroutineCollision(e, func(c *Coroutine[int, int]) { c.Destroy() })
	}},
	{"coroutine: resume from inside itself", "aco: Coroutine.Resume from inside the coroutine (it cannot be resumed or destroyed until it has yielded)", false, func(t *testing.T, e *env) mcOut {
		var out mcOut
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[int, int], first int) {
			out = mc(func() { c.Resume(1) })
			c.Yield(first)
		})
		if v, ok := c.Resume(7); !ok || v != 7 {
			out.note = fmt.Sprintf("Resume returned %v, %v, want 7, true", v, ok)
		}
		c.Destroy()
		return out
	}},
	{"coroutine: resume a destroyed coroutine", "aco: Coroutine.Resume of a destroyed coroutine", false, func(t *testing.T, e *env) mcOut {
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[int, int], first int) { c.Yield(first) })
		c.Resume(1)
		c.Destroy()
		return mc(func() { c.Resume(2) })
	}},
	{"coroutine: a nil or zero Coroutine", "aco: Coroutine.Resume of a nil *Coroutine or a zero Coroutine value (make them with NewCoroutine)", false, func(t *testing.T, e *env) mcOut {
		var zero Coroutine[int, int]
		out := mc(func() { zero.Resume(1) })
		var nilC *Coroutine[int, int]
		for _, f := range []func(){func() { nilC.Resume(1) }, func() { nilC.Yield(1) }, func() { zero.Destroy() }, func() { nilC.IsEnd() }} {
			if o := mc(f); !o.panicked || !strings.HasPrefix(fmt.Sprint(o.v), "aco: Coroutine.") || !strings.Contains(fmt.Sprint(o.v), "nil *Coroutine or a zero Coroutine") {
				out.note = fmt.Sprintf("another method of a nil or zero Coroutine: %v", o.v)
			}
		}
		return out
	}},
	{"coroutine: yield from outside", "aco: Yield called outside the co", false, func(t *testing.T, e *env) mcOut {
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[int, int], first int) { c.Yield(first) })
		c.Resume(1)
		out := mc(func() { c.Yield(3) })
		// The slot the resumer reads is empty between calls: a Yield from
		// outside must not fill it (another goroutine's Resume may be
		// reading it).
		if c.out != 0 {
			out.note = fmt.Sprintf("the Yield from outside stored %v where the resumer reads", c.out)
		}
		if v, ok := c.Resume(2); ok || v != 0 {
			out.note = fmt.Sprintf("the Resume after the misuse returned %v, %v, want the end (0, false)", v, ok)
		}
		c.Destroy()
		return out
	}},

	// Yield and Exit outside the co.
	{"yield from the resumer while the co is suspended", "aco: Yield called outside the co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		out := mc(co.Yield)
		co.Destroy()
		return out
	}},
	{"yield on a zero Co value", "aco: use of a Co that Create did not make", false, func(t *testing.T, e *env) mcOut {
		var co Co
		return mc(co.Yield)
	}},
	{"reset a zero Co value", "aco: use of a Co that Create did not make", false, func(t *testing.T, e *env) mcOut {
		var co Co
		return mc(func() { co.Reset(func(*Co) {}, nil) })
	}},
	{"destroy a nil *Co", "aco: Destroy of a nil *Co", false, func(t *testing.T, e *env) mcOut {
		var co *Co
		return mc(co.Destroy)
	}},
	{"reset a nil *Co", "aco: Reset of a nil *Co", false, func(t *testing.T, e *env) mcOut {
		var co *Co
		return mc(func() { co.Reset(func(*Co) {}, nil) })
	}},
	{"create on a zero ShareStack value", "aco: Create: share stack was not made by NewShareStack (a zero ShareStack value)", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { Create(e.main, &ShareStack{}, 0, func(*Co) {}, nil) })
	}},
	{"yield before the co started", "aco: Yield called outside the co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) {}, nil)
		out := mc(co.Yield)
		co.Destroy()
		return out
	}},
	{"yield on a main co", "aco: Yield on a main co", false, func(t *testing.T, e *env) mcOut {
		return mc(e.main.Yield)
	}},
	{"yield from another goroutine while the co runs", "aco: Yield called outside the co (from another goroutine", true, func(t *testing.T, e *env) mcOut {
		co, release, wait := mcRunning(e, nil)
		out := mc(co.Yield)
		release()
		if w := wait(); w.panicked {
			out.note = fmt.Sprintf("the co's Resume panicked: %v", w.v)
		}
		if !co.IsEnd() {
			out.note += "; the co did not run to its end"
		}
		co.Destroy()
		return out
	}},
	{"exit from the resumer while the co is suspended", "aco: Exit called outside the co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		out := mc(co.Exit)
		co.Destroy()
		return out
	}},
	{"exit before the co started", "aco: Exit called outside the co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) {}, nil)
		out := mc(co.Exit)
		co.Destroy()
		return out
	}},
	{"exit on a main co", "aco: Exit on a main co", false, func(t *testing.T, e *env) mcOut {
		return mc(e.main.Exit)
	}},
	// No message exists for this one yet; Yield's counterpart says "aco:
	// Yield called from a goroutine other than the one running the co".
	// Any "aco: Exit called ..." string is accepted; an *Unwind raised on
	// the calling goroutine is not.
	{"exit from another goroutine while the co runs", "aco: Exit called outside the co (from another goroutine)", true, func(t *testing.T, e *env) mcOut {
		ended := false
		co, release, wait := mcRunning(e, func(co *Co) { co.Yield(); ended = true })
		out := mc(co.Exit)
		release()
		w := wait()
		if w.panicked {
			out.note = fmt.Sprintf("the co's Resume panicked: %v", w.v)
		}
		if !co.IsEnd() {
			co.Resume()
		}
		if !ended {
			out.note += "; the co was unwound at its next Yield by the misuse on another goroutine"
		}
		co.Destroy()
		return out
	}},

	// Destroy.
	{"destroy a running co from inside itself", "aco: Destroy of a running co from inside itself or a co it resumed", false, func(t *testing.T, e *env) mcOut {
		var out mcOut
		co := e.create(func(co *Co) { out = mc(co.Destroy) }, nil)
		co.Resume()
		co.Destroy()
		return out
	}},
	{"destroy a running co from another goroutine", "aco: Destroy of a running co while another goroutine runs it", false, func(t *testing.T, e *env) mcOut {
		co, release, wait := mcRunning(e, nil)
		out := mc(co.Destroy)
		release()
		if w := wait(); w.panicked {
			out.note = fmt.Sprintf("the co's Resume panicked: %v", w.v)
		}
		co.Destroy()
		return out
	}},
	{"destroy a share stack with live coroutines", "aco: Destroy of a share stack that still has live coroutines", false, func(t *testing.T, e *env) mcOut {
		ss := NewShareStack(0)
		co := Create(e.main, ss, 0, func(co *Co) { co.Yield() }, nil)
		co.Resume()
		out := mc(ss.Destroy)
		co.Destroy()
		ss.Destroy()
		return out
	}},
	{"destroy a share stack twice", "aco: Destroy of a destroyed share stack", false, func(t *testing.T, e *env) mcOut {
		ss := NewShareStack(0)
		ss.Destroy()
		return mc(ss.Destroy)
	}},
	{"destroy a co twice", "aco: Destroy of a destroyed co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) {}, nil)
		co.Resume()
		co.Destroy()
		return mc(co.Destroy)
	}},
	{"destroy the main co with live children", "aco: Destroy of a main co that still has live coroutines", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		out := mc(e.main.Destroy)
		co.Destroy()
		return out
	}},
	{"destroy a main co twice", "aco: Destroy of a destroyed co", false, func(t *testing.T, e *env) mcOut {
		m := NewMain()
		m.Destroy()
		return mc(m.Destroy)
	}},

	// Use after Destroy.
	{"resume after destroy", "aco: Resume of a destroyed co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		co.Destroy()
		return mc(co.Resume)
	}},
	{"yield after destroy", "aco: Yield called outside the co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		co.Destroy()
		return mc(co.Yield)
	}},
	{"exit after destroy", "aco: Exit called outside the co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		co.Destroy()
		return mc(co.Exit)
	}},
	{"reset after destroy", "aco: Reset of a destroyed co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) {}, nil)
		co.Resume()
		co.Destroy()
		return mc(func() { co.Reset(func(*Co) {}, nil) })
	}},
	{"destroy after destroy of a suspended co", "aco: Destroy of a destroyed co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		co.Destroy()
		return mc(co.Destroy)
	}},

	// Create, Reset and sizes.
	{"create with a nil function", "aco: Create: nil function", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { Create(e.main, e.ss, 0, nil, nil) })
	}},
	{"reset with a nil function", "aco: Reset: nil function", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) {}, nil)
		co.Resume()
		out := mc(func() { co.Reset(nil, nil) })
		co.Destroy()
		return out
	}},
	{"create with a negative save stack size", "aco: Create: negative save stack size", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { Create(e.main, e.ss, -1, func(*Co) {}, nil) })
	}},
	{"share stack with a negative size", "aco: NewShareStack: negative size", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { NewShareStack(-1) })
	}},
	{"share stack (guard option off) with a negative size", "aco: NewShareStack: negative size", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { NewShareStack2(-4096, false) })
	}},
	{"create with a nil main co", "aco: Create: main co is nil", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { Create(nil, e.ss, 0, func(*Co) {}, nil) })
	}},
	{"create with a non-main co as main", "aco: Create: main argument is not a main co", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) {}, nil)
		out := mc(func() { Create(co, e.ss, 0, func(*Co) {}, nil) })
		co.Destroy()
		return out
	}},
	{"create with a zero Co value as main", "aco: Create: main argument is not a main co", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { Create(new(Co), e.ss, 0, func(*Co) {}, nil) })
	}},
	{"resume a zero Co value", "aco: use of a Co that Create did not make", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { new(Co).Resume() })
	}},
	{"destroy a zero Co value", "aco: use of a Co that Create did not make", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { new(Co).Destroy() })
	}},
	{"create on a destroyed main co", "aco: Create: main co has been destroyed", false, func(t *testing.T, e *env) mcOut {
		m := NewMain()
		m.Destroy()
		return mc(func() { Create(m, e.ss, 0, func(*Co) {}, nil) })
	}},
	{"create on a destroyed share stack", "aco: Create: share stack has been destroyed", false, func(t *testing.T, e *env) mcOut {
		ss := NewShareStack(0)
		ss.Destroy()
		return mc(func() { Create(e.main, ss, 0, func(*Co) {}, nil) })
	}},
	{"reset a running co", "aco: Reset of a co that has not ended", false, func(t *testing.T, e *env) mcOut {
		var out mcOut
		co := e.create(func(co *Co) { out = mc(func() { co.Reset(func(*Co) {}, nil) }) }, nil)
		co.Resume()
		co.Destroy()
		return out
	}},
	{"reset a suspended co", "aco: Reset of a co that has not ended", false, func(t *testing.T, e *env) mcOut {
		co := e.create(func(co *Co) { co.Yield() }, nil)
		co.Resume()
		out := mc(func() { co.Reset(func(*Co) {}, nil) })
		co.Destroy()
		return out
	}},
	{"reset a main co", "aco: Reset of a main co", false, func(t *testing.T, e *env) mcOut {
		return mc(func() { e.main.Reset(func(*Co) {}, nil) })
	}},

	// Yields the copy-stack engine refuses.
	{"yield while the thread is locked", "aco: Yield while the co holds an OS thread lock", true, func(t *testing.T, e *env) mcOut {
		var out mcOut
		co := e.create(func(co *Co) {
			runtime.LockOSThread()
			out = mc(co.Yield)
			runtime.UnlockOSThread()
		}, nil)
		co.Resume()
		for !co.IsEnd() {
			co.Resume()
		}
		co.Destroy()
		return out
	}},
	{"yield an outer co from inside a co it resumed", "aco: Yield called outside the co (from another goroutine, or from inside another co it resumed)", true, func(t *testing.T, e *env) mcOut {
		var ss2 *ShareStack // the inner co must not need the outer one's share stack
		if e.ss != nil {
			ss2 = NewShareStack(0)
		}
		var out mcOut
		var outer *Co
		inner := Create(e.main, ss2, 0, func(co *Co) { out = mc(outer.Yield) }, nil)
		outer = e.create(func(co *Co) {
			inner.Resume()
			co.Yield()
		}, nil)
		outer.Resume()
		for i := 0; !outer.IsEnd() && i < 3; i++ {
			outer.Resume()
		}
		if !inner.IsEnd() || !outer.IsEnd() {
			out.note = "the coroutines did not end"
		}
		inner.Destroy()
		outer.Destroy()
		if ss2 != nil {
			ss2.Destroy()
		}
		return out
	}},
}

// mcTwoResumers resumes one suspended co from two goroutines released at the
// same instant, many times: each time exactly one may run it, the other must
// panic. The co counts how many resumers are inside it. Hitting the window
// of a racy check is a matter of chance, so a pass proves little; a failure
// ("both goroutines got into the co at once") is a real double resume.
func mcTwoResumers(t *testing.T, e *env) mcOut {
	const trials = 10000
	spinYield := runtime.GOMAXPROCS(0) < 2
	var inside atomic.Int32
	double := make(chan struct{}, 2)
	proceed := make(chan struct{}, 2)
	co := e.create(func(co *Co) {
		for {
			if inside.Add(1) != 1 {
				double <- struct{}{}
			}
			<-proceed // the losing resumer has returned
			inside.Add(-1)
			co.Yield()
		}
	}, nil)
	// Start it once so that each trial resumes a suspended co.
	proceed <- struct{}{}
	co.Resume()

	var out mcOut
	var notes []string
	// Effort, not an assertion: stop early if the trials are slow (the
	// race detector, a loaded machine), well within the row's time limit.
	budget := time.Now().Add(mcTimeout / 4)
	for i := 0; i < trials && len(notes) == 0 && (i < 100 || time.Now().Before(budget)); i++ {
		var arrived atomic.Int32
		results := make(chan mcOut, 2)
		for range 2 {
			go func() {
				// Spin until both are here, so that they call Resume
				// within nanoseconds of each other (yielding the
				// processor only if there is one).
				arrived.Add(1)
				for i := 0; arrived.Load() < 2; i++ {
					if spinYield || i > 100000 {
						runtime.Gosched()
					}
				}
				results <- mc(co.Resume)
			}()
		}
		var r [2]mcOut
		select {
		case r[0] = <-results:
		case <-double:
			notes = append(notes, fmt.Sprintf("trial %d: both goroutines got into the co at once", i))
			proceed <- struct{}{}
			proceed <- struct{}{}
			r[0] = <-results
		}
		proceed <- struct{}{}
		r[1] = <-results
		switch {
		case !r[0].panicked && !r[1].panicked:
			notes = append(notes, fmt.Sprintf("trial %d: both Resume calls returned normally", i))
		case r[0].panicked && r[1].panicked:
			notes = append(notes, fmt.Sprintf("trial %d: both Resume calls panicked: %v / %v", i, r[0].v, r[1].v))
			<-proceed
		}
		for _, x := range r {
			if x.panicked {
				out = x
			}
		}
	}
	if !out.panicked && len(notes) == 0 {
		notes = append(notes, "no Resume ever panicked")
	}
	out.note = strings.Join(notes, "; ")
	co.Destroy()
	return out
}
