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
// coroutine (share-stack and standalone: the copy-stack engine when it is
// active; portable: standalone cos on the portable engine), and checks that each one panics with a
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
						row.name, e.engine(), mcTimeout)
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
	eng := e.engine()
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
		t.Name(), e.engine(), how, mcHead(out, 24))
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
