package aco

import (
	"iter"
	"sync/atomic"
)

// The portable engine runs each coroutine on a goroutine of its own and
// passes control with the runtime's coroutine switch, reached through
// iter.Pull (runtime.coroswitch itself cannot be linknamed). The resumer
// blocks in next() while the coroutine runs; the coroutine blocks in yield()
// while it is suspended. Panics in the coroutine come out of next() or stop()
// in the resumer, which is where aco wants them.

// portable is the portable-engine state of one coroutine.
type portable struct {
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool

	// Where the runtime can be read (rtAvailable): the co's goroutine, and
	// the thread lock state of its first resume, which the runtime's
	// coroutine switch requires at every later switch (it throws, killing
	// the process, otherwise): the lock counts and, if locked, the thread.
	// g is read by other goroutines too (the misuse checks' "is the
	// caller the co's goroutine"), so it is atomic.
	g     atomic.Uintptr
	m     uintptr
	locks uint64

	// panicVal is the panic that ended the co on its goroutine, which
	// runOnG kept for the resumer to raise (rethrow); panicked says
	// there is one.
	panicVal any
	panicked bool
}

// runOnG runs body, the co's code on its goroutine, and keeps a panic that
// ends the co for its resumer, which raises it from aco's own call
// (rethrow): raised on the co's goroutine, iter.Pull would raise it again
// inside its next, and a crash would show iter.Pull's frames where the
// program called Resume. runtime.Goexit goes on as iter.Pull handles it.
func (p *portable) runOnG(body func()) {
	defer func() {
		if r := recover(); r != nil {
			p.panicVal, p.panicked = r, true
		}
	}()
	body()
}

// rethrow raises, on the resumer's side, the panic that ended the co on its
// goroutine (see runOnG); a switch that returned not ok calls it.
func (p *portable) rethrow() {
	if p.panicked {
		r := p.panicVal
		p.panicVal, p.panicked = nil, false
		panic(r)
	}
}

// portableReady returns the portable-engine state of co, already running,
// if it has been resumed before and may be resumed from this thread now;
// nil for a first resume.
func (co *Co) portableReady() *portable {
	p := co.x.port
	if p != nil && rtAvailable && !p.sameLocks(getg()) {
		co.stopRunning(stSuspended)
		panic("aco: Resume of a standalone co from an OS thread whose LockOSThread state differs from that of its first resume")
	}
	return p
}

// sameLocks reports whether the thread lock state of gp, the calling
// goroutine, is that of the co's first resume. It is small enough to be
// inlined (getg, a call, is the caller's): a call here would be a tenth of
// a resume's checks.
func (p *portable) sameLocks(gp uintptr) bool {
	return gLocks(gp) == p.locks && (p.m == 0 || gM(gp) == p.m)
}

// onItsG reports whether gp, the calling goroutine, is the co's own one,
// with the thread lock state of the co's first resume (which the runtime's
// coroutine switch requires); inlined, as sameLocks.
func (p *portable) onItsG(gp uintptr) bool {
	return gp == p.g.Load() && gLocks(gp) == p.locks
}

// resumePortable is the first resume of co on the portable engine: it
// starts the co's goroutine and runs co until it yields or ends. co is
// already marked running.
func (co *Co) resumePortable() {
	p := co.x.newPortable()
	if rtAvailable {
		gp := getg()
		if p.locks = gLocks(gp); p.locks != 0 {
			p.m = gM(gp)
		}
	}
	if t, ok := co.arg.(typedPull); ok {
		t.startTyped(p, co.run)
	} else {
		p.next, p.stop = iter.Pull(func(yield func(struct{}) bool) {
			p.yield = yield
			p.started()
			p.runOnG(co.run)
		})
	}
	if _, ok := p.next(); !ok {
		p.rethrow()
	}
}

// started records the co's goroutine; it runs first on that goroutine.
func (p *portable) started() {
	if rtAvailable {
		p.g.Store(getg())
	}
}

// yieldRefused panics with the reason a portable Yield may not switch:
// leavePortable's checks, one by one.
func (co *Co) yieldRefused() {
	co.checkInside("Yield")
	if u := co.unwind; u != nil {
		panic(u) // Destroy is unwinding the co: keep unwinding
	}
	co.checkYieldPortable()
	panic("aco: internal error: Yield refused for no reason")
}

// checkYieldPortable panics if the co may not yield now: from another
// goroutine than its own, or with a thread lock taken inside
// it, which the runtime's coroutine switch could not handle.
func (co *Co) checkYieldPortable() {
	if !rtAvailable {
		return
	}
	p, gp := co.x.port, getg()
	switch l := gLocks(gp); {
	case gp != p.g.Load():
		panic(msgYieldOutside)
	case uint32(l) != uint32(p.locks):
		panic(msgYieldLocked)
	case l != p.locks:
		panic(msgYieldCgo)
	}
}

// unwindPortable unwinds a suspended coroutine for Destroy: stop makes its
// pending yield return false. A panic from a deferred call comes out of stop.
func (co *Co) unwindPortable() {
	p := co.x.port
	p.stop()
	p.rethrow()
}
