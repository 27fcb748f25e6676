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

// startOnG starts the goroutine that runs body for co (its function, or a
// moved co's trampoline) through iter.Pull: a Pull co's through iter.Pull
// of its iterator's own value type (startPull), any other's of struct{}.
// The goroutine first makes its stack at least grow bytes deep, if grow is
// not 0.
func (co *Co) startOnG(p *portable, body func(), grow int) {
	if co.startPull(p, body, grow) {
		return
	}
	p.next, p.stop = iter.Pull(func(yield func(struct{}) bool) {
		if grow > 0 {
			growStack(grow)
		}
		p.yield = yield
		p.started()
		p.runOnG(body)
	})
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
	co.startOnG(p, co.run, 0)
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
	if co.unwinding != 0 {
		co.panicUnwind() // Destroy is unwinding the co: keep unwinding
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

// handBack is the resumer's side of a portable yield, back from the
// runtime's switch: a co that yielded (stYielding) is suspended from now
// on, and another goroutine may resume it. Only the resumer stores here,
// so a plain load and store do.
func (co *Co) handBack() {
	if co.st.Load() == uint32(stYielding) {
		co.setStateFast(stSuspended)
	}
}

// enterPortable is Yield on the portable engine after a switch that
// returned ok, for a co that moved or was stopped: it hands a moved co its
// FPU environment, and ends a stopped one (see stoppedOnG).
func (co *Co) enterPortable(ok bool) {
	if ok {
		co.fpuEnter()
		return
	}
	co.enterStopped()
}

// enterStopped is enterPortable after a switch that returned false.
func (co *Co) enterStopped() {
	co.fpuEnter()
	if co.stoppedOnG() {
		// The co moved onto a goroutine of its own and was abandoned (see
		// abandon): it leaves without running any more.
		co.abandonYield()
	}
}

// abandonYield is the end of an abandoned co: it leaves through its
// trampoline by a copy-stack yield (from Yield, called again), saving an
// image nobody resumes, so that none of its code runs and its goroutine
// ends.
func (co *Co) abandonYield() {
	co.mode = modeLeaving
	co.Yield()
	panic("aco: internal error: an abandoned co was resumed")
}

// abandon ends a moved co, suspended on its goroutine, whose iterator the
// garbage collector found unreachable: it runs on the runtime's cleanup
// goroutine. The co's goroutine leaves the co's frames by a copy-stack
// yield that nobody resumes (see Yield), and ends; none of the co's code
// runs. A co moved while its resumer held an OS thread lock is left alone:
// the runtime's coroutine switch could not reach it from another thread.
func (co *Co) abandon() {
	p := co.x.port
	if p == nil || p.locks != 0 {
		return
	}
	co.x.abandoned = true
	// The copy-stack yield hands its share stack back: give it one of its
	// own, not the iterator's, which another goroutine may be using.
	co.ss = &ShareStack{private: true}
	co.setStateFast(stRunning)
	p.stop()
}

// resumeOnG starts resuming a co that runs on a goroutine of its own, was
// resumed before and may be resumed now, and returns its portable-engine
// state for the caller to switch with: it marks the co running and owner
// of its share stack. For anything else, misuse included, it changes
// nothing and returns nil: Resume's slow path does the resume, or panics
// with the message that names the mistake.
//
// It is the whole of a portable resume before the switch, in one call:
// a few loads and compares, claim (the co and its share stack).
func (co *Co) resumeOnG() *portable {
	if co.st.Load() != uint32(stSuspended) || co.copyStack() || !co.claim(uint32(stSuspended)) {
		return nil
	}
	// The co is this goroutine's now: only from here on are its fields
	// read, which the goroutine that handed it back wrote.
	var p *portable
	if x := co.x; x != nil && !co.copyStack() {
		p = x.port
	}
	if p == nil || rtAvailable && !p.sameLocks(getg()) {
		co.unclaim(stSuspended) // Resume's slow path says why
		return nil
	}
	if ss := co.ss; ss != nil {
		ss.own(co)
	}
	return p
}

// leaveOnG is leavePortable for a co on a goroutine of its own, or nil on
// the copy-stack engine.
func (co *Co) leaveOnG() *portable {
	if co.copyStack() {
		return nil
	}
	co.leavePortable()
	return co.x.port
}

// leavePortable is Yield on the portable engine up to the switch: it checks
// that the co may yield and marks it suspended. The caller switches through
// co.x.port. No result: where results are passed on the stack (386), one
// would be a word of Yield's frame, which is in every copy-stack image.
func (co *Co) leavePortable() {
	if co.st.Load() != uint32(stRunning) || co.unwinding != 0 {
		co.yieldRefused() // the checks again, to name what is wrong
	}
	p := co.x.port
	if rtAvailable && !p.onItsG(getg()) {
		co.yieldRefused()
	}
	if ss := co.ss; ss != nil {
		ss.leave()
	}
	// Not suspended yet: the resumer marks it so once it is back from
	// the switch (handBack), so that no other goroutine resumes the co
	// while the resumer is still inside iter.Pull's next. A plain store
	// where the copy-stack engine runs (x86): one atomic per round trip
	// is the budget (each costs about 10 ns here).
	co.setStateFast(stYielding)
	co.fpuLeave()
}

// stoppedOnG is Yield on the portable engine after a switch that returned
// false: Destroy or abandon stopped the iterator. It reports an abandoned
// co, and panics to unwind a destroyed one.
func (co *Co) stoppedOnG() bool {
	if co.x.abandoned {
		return true
	}
	panic(co.unwindValue())
}

// run is the bottom frame of every coroutine on the portable engine.
func (co *Co) run() {
	defer co.runEnded()
	co.fn(co)
	co.returned = true
}

// runEnded runs, deferred, when run's function is done.
func (co *Co) runEnded() {
	if co.returned {
		co.returned = false
		co.finish()
		return
	}
	co.endPanic(recover())
}
