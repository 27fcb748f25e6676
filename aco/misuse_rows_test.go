package aco

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// The rows of the misuse catalogue (misuse_table_test.go).

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
	{"resume a running co from another goroutine", "aco: Resume of a running co while another goroutine runs it (a co runs on one goroutine at a time; a co it resumed may run on a goroutine of its own)", false, func(t *testing.T, e *env) mcOut {
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
		// The misuse leaves the co as it was: a Resume goes on after its
		// Yield, and Destroy unwinds it from there (its deferred call
		// sees the *Unwind, and the co runs no further).
		var seen any
		resumed := 0
		co := e.create(func(co *Co) {
			defer func() {
				if seen = recover(); seen != nil {
					panic(seen)
				}
			}()
			co.Yield()
			resumed++
			co.Yield()
			resumed++
		}, nil)
		co.Resume()
		out := mc(co.Yield)
		co.Resume()
		var notes []string
		if again := mc(co.Yield); !again.panicked {
			notes = append(notes, "a second Yield from the resumer returned")
		}
		if d := mc(co.Destroy); d.panicked {
			notes = append(notes, fmt.Sprintf("Destroy panicked: %v", d.v))
		}
		if _, ok := seen.(*Unwind); !ok || resumed != 1 {
			notes = append(notes, fmt.Sprintf("Destroy unwound the co with %v after %d resumes past a Yield, want an *Unwind after 1", seen, resumed))
		}
		out.note = strings.Join(notes, "; ")
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
