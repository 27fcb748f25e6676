package aco

import "sync/atomic"

// How a coroutine ends: Exit and the Unwind panic it and Destroy unwind
// with, the end by return or panic on either engine, the last-word hook a
// panic goes through, and the panic messages of misuse the engines share.

// LastWordFunc is the hook set by [ThreadInit]. It is called when a
// coroutine's function panics, with the coroutine (already ended) and the
// panic value, before the panic continues in the resumer.
type LastWordFunc func(co *Co, panicValue any)

var lastWord atomic.Pointer[LastWordFunc]

// ThreadInit is libaco's aco_thread_init. Go has no thread-local state that a
// library can use, so the hook is process-wide; ThreadInit may be called any
// number of times, from any goroutine, and the last call wins. A nil hook
// removes it.
//
// libaco aborts the process when a coroutine's function returns instead of
// calling aco_exit, after running the "last word" hook. In Go returning is a
// normal way to end, so the hook runs instead when a coroutine's function
// panics; the panic then continues in the resumer. Calling ThreadInit is
// optional.
func ThreadInit(lastWordFn LastWordFunc) {
	captureFPU()
	if lastWordFn == nil {
		lastWord.Store(nil)
		return
	}
	lastWord.Store(&lastWordFn)
}

// Exit is libaco's aco_exit: it ends co from anywhere inside its function.
// Deferred calls run first, as with [runtime.Goexit]; then control returns to
// the resumer with co ended. Returning from the function has the same
// effect.
func (co *Co) Exit() {
	co.checkInside("Exit")
	if rtAvailable && getg() != co.goroutine() {
		panic(msgExitOutside)
	}
	if co.unwinding == 0 {
		co.unwinding = unwindExit
	}
	co.panicUnwind()
}

// msgBusy is the panic message of what, a Resume, Destroy or Reset of a
// co that another goroutine's Reset or Destroy holds.
func msgBusy(what string) string {
	return "aco: " + what + " of a co that another goroutine is resetting or destroying at the same time"
}

// Messages of misuse the engines share.
const (
	msgZeroCo = "aco: use of a Co that Create did not make (a zero Co value: make coroutines with Create, main coroutines with NewMain)"
	// Where the runtime cannot be read (runningMsg tells the causes
	// apart where it can).
	msgResumeRunning  = "aco: Resume of a running co (from inside itself or a co it resumed, or while another goroutine runs it)"
	msgShareStackBusy = "aco: Resume: share stack is busy running another co (a share stack runs one co at a time)"
	msgYieldOutside   = "aco: Yield called outside the co (from another goroutine, or from inside another co it resumed)"
	msgExitOutside    = "aco: Exit called outside the co (from another goroutine)"
	msgYieldLocked    = "aco: Yield while the co holds an OS thread lock (runtime.LockOSThread without UnlockOSThread)"
	msgYieldCgo       = "aco: Yield inside a cgo callback is not supported"
)

// unwindReason says what unwinds a coroutine's stack: Exit or Destroy (0:
// nothing).
type unwindReason uint8

const (
	unwindExit unwindReason = 1 + iota
	unwindDestroy
)

// panicUnwind panics with a new *Unwind for co (endPanic knows it by its
// co). Not inlined: Yield calls it, and its frame is in every image (see
// yieldFrameBudget).
//
//go:noinline
func (co *Co) panicUnwind() { panic(co.unwindValue()) }

// unwindValue returns a new *Unwind for co.
func (co *Co) unwindValue() *Unwind {
	reason := "Exit"
	if co.unwinding == unwindDestroy {
		reason = "Destroy"
	}
	return &Unwind{co: co, reason: reason}
}

// Unwind is the panic value with which Exit and Destroy unwind a coroutine's
// stack so that its deferred calls run. aco recovers it itself at the bottom
// of the coroutine; a deferred function in the coroutine that recovers it
// should panic with it again.
type Unwind struct {
	co     *Co
	reason string
}

// Error implements error.
func (u *Unwind) Error() string { return "aco: coroutine unwound by " + u.reason }

// Co returns the coroutine being unwound.
func (u *Unwind) Co() *Co { return u.co }

// endPanic ends a co whose function did not return: r is the recovered
// panic value (nil for runtime.Goexit). The co's own Unwind (Exit, Destroy)
// is an ordinary end; any other panic goes on after the last-word hook.
func (co *Co) endPanic(r any) {
	// A Pull iterator's or a Coroutine's co on its share stack, which
	// their common paths resume without a deferred call (elsewhere their
	// deferred calls do this after the switch): it gives the iterator or
	// Coroutine back once ended. So does a moved Pull co ended by
	// runtime.Goexit: next's fast path never returns from iter.Pull's
	// next, which calls runtime.Goexit (a panic comes back to next as a
	// failed switch, and next gives the iterator back). Read before
	// finish: from then on another goroutine may reset the co.
	e, _ := co.arg.(ender)
	if !co.copyStack() && (r != nil || !co.isPull()) {
		e = nil
	}
	co.finish()
	if e != nil {
		e.ended() // nothing below uses the iterator or Coroutine
	}
	if u, ok := r.(*Unwind); ok && u.co == co {
		return
	}
	if r == nil {
		return // runtime.Goexit: let it continue
	}
	// The hook is for coroutines made with Create: a Pull iterator's panic
	// reaches its caller as iter.Pull's does, without it.
	if lw := lastWord.Load(); lw != nil && !co.isPull() {
		(*lw)(co, r)
	}
	panic(r)
}

// finish marks co ended and releases its share stack.
func (co *Co) finish() {
	if co.mode != modeOwn {
		co.resetCopyStack()
	}
	co.unwinding = 0
	co.stopRunning(stEnded)
}
