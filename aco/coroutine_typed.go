package aco

import (
	"iter"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Coroutine is a coroutine that passes values both ways, as Lua's
// coroutine.resume and coroutine.yield or a Python generator's send do:
// [Coroutine.Resume] sends an In to it and returns the Out it yields;
// [Coroutine.Yield], inside it, hands an Out to its resumer and returns the
// In of the next Resume. It is a [Co] of [Create] underneath, on a share
// stack or standalone, and belongs to a main co like any other.
//
// Like a Pull iterator, a Coroutine is for one goroutine at a time: a
// Resume or Destroy while another goroutine's Resume or Destroy runs
// panics before it touches the coroutine or the values, and the call that
// was running goes on. That costs one atomic instruction per Resume, in
// place of the one a [Co.Resume] spends on the co.
type Coroutine[In, Out any] struct {
	coroutine     // first: yieldValue is handed the Coroutine as a *coroutine
	in        In  // the value of the Resume running the co
	out       Out // the value of the co's last Yield, until its resumer reads it
}

// coroutine is the part of a Coroutine that does not depend on its types.
type coroutine struct {
	// busy is held (holdFast, holdDeferred) by a Resume or Destroy: from
	// before it writes in to after it has read out, so no second goroutine
	// can write in while the coroutine reads it, or resume the co between
	// the co's yield and its resumer's read of out.
	busy  uint32
	racer uint32 // what Resume and Destroy mark written for the race detector
	co    *Co
	// outType is the runtime's type of Out and out the address of the
	// Coroutine's out: yieldValue stores a yielded value with them.
	outType, out unsafe.Pointer
}

// NewCoroutine creates a suspended coroutine of main that runs fn on the
// share stack ss (nil: standalone, see [Create]).
// The first [Coroutine.Resume] starts fn with the value it sends as first;
// each [Coroutine.Yield] inside fn hands a value to the Resume that is
// running fn, and returns the value of the next Resume. When fn returns,
// the coroutine has ended.
func NewCoroutine[In, Out any](main *Co, ss *ShareStack, fn func(c *Coroutine[In, Out], first In)) *Coroutine[In, Out] {
	if fn == nil {
		panic("aco: NewCoroutine: nil function")
	}
	if main == nil {
		panic("aco: NewCoroutine: main co is nil (create one with NewMain)")
	}
	c := &Coroutine[In, Out]{}
	c.outType, c.coroutine.out = typeOf[Out](), unsafe.Pointer(&c.out)
	// The co's argument is c, so that a panic that ends the co gives the
	// coroutine back (see ended). The co's function calls fn itself: a
	// frame less in every saved image than a generic function between.
	c.co = Create(main, ss, 0, func(co *Co) {
		in := c.in
		var zero In
		c.in = zero // fn holds its own copy now
		fn(c, in)
	}, c)
	return c
}

// Resume starts or continues the coroutine with the value in: the first
// Resume passes it to the coroutine's function, each later one returns it
// from the Yield at which the coroutine is suspended. Resume returns the
// value the coroutine yields next and true, or the zero Out and false when
// the coroutine's function returns instead, and on every Resume after that
// (like a Pull iterator's next). A panic in the coroutine continues from
// Resume, with the coroutine ended.
//
// Resume panics if the coroutine was destroyed, if it is called from
// inside the coroutine, or while another goroutine resumes or destroys it.
func (c *Coroutine[In, Out]) Resume(in In) (Out, bool) {
	if c == nil || c.co == nil {
		panicNoCoroutine("Resume")
	}
	if !c.acquire() {
		c.refuse("Resume")
	}
	co := c.co
	if co.copyStack() {
		if co.mode == modeCopyStack && co.st.Load() == uint32(stSuspended) && co.ss.Owner() == nil {
			// The common resume, with no deferred call, on a co that
			// stays on its share stack: Co.Resume cannot panic before
			// the switch here (only if another goroutine broke the
			// share stack's or the main co's rules at this instant,
			// which leaves c held), and a panic that ends the co gives
			// c back (ended).
			c.in = in
			co.Resume()
			return c.take()
		}
	} else if p := co.resumeOnG(); p != nil {
		// A suspended co on a goroutine of its own (moved, or on the
		// portable engine): the switch is called from here, as Co.Resume calls it,
		// for each frame of aco in between would cost a mispredicted
		// return after it.
		c.in = in
		if _, ok := p.next(); !ok && p.panicked {
			c.release() // the co ended in a panic, which goes on from here
			p.rethrow()
		}
		co.handBack()
		return c.take()
	}
	return c.resumeSlow(in)
}

// resumeSlow is Resume for everything but a suspended copy-stack co that
// stays on its free share stack: a co on a goroutine (portable, moved,
// or moving at this resume), the first resume, the end, misuse. Its deferred call gives c back if Resume
// panics.
func (c *Coroutine[In, Out]) resumeSlow(in In) (Out, bool) {
	done := false
	defer func() {
		if !done {
			// Co.Resume refused (a panic that names the misuse), or
			// the co ended in a panic (ended gave c back already: no
			// call that takes it now touches in or out, see ended).
			c.release()
		}
	}()
	co := c.co
	var zero Out
	switch co.state() {
	case stEnded:
		done = true
		c.release()
		return zero, false
	case stDestroyed:
		panic("aco: Coroutine.Resume of a destroyed coroutine")
	}
	c.in = in
	co.Resume()
	done = true
	return c.take()
}

// take is the end of a Resume that ran the co: the value it yielded, or
// the end, and c given back after the last use of in and out.
func (c *Coroutine[In, Out]) take() (Out, bool) {
	var zero Out
	if c.co.st.Load() == uint32(stEnded) {
		var none In
		c.in = none
		c.release()
		return zero, false
	}
	out := c.out
	c.out = zero // the coroutine must not keep the value alive
	c.release()
	return out, true
}

// Yield suspends the coroutine, handing out to the Resume that is running
// it, and returns the value of the Resume that continues it. It must be
// called from inside the coroutine's function (at any call depth), on the
// goroutine that runs it. If the coroutine is being destroyed, Yield does
// not return: it unwinds the coroutine's stack (see [Co.Destroy]).
func (c *Coroutine[In, Out]) Yield(out Out) (in In) {
	// Small enough to be inlined, so that the switch returns straight
	// into the caller (see yieldValue), which takes the resumer's value
	// and leaves the zero In in its place.
	yieldValue(unsafe.Pointer(c), unsafe.Pointer(&out)) // c, not &c.coroutine: a nil c is yieldValue's to report
	in, c.in = c.in, in
	return
}

// IsEnd reports whether the coroutine has ended (its function returned or
// panicked, or it was destroyed).
func (c *Coroutine[In, Out]) IsEnd() bool { return c.live("IsEnd").IsEnd() }

// Destroy ends the coroutine as [Co.Destroy] does: a suspended one is
// unwound, so its deferred calls run, and its memory is released. It
// panics if called from inside the coroutine or while another goroutine
// resumes or destroys it.
func (c *Coroutine[In, Out]) Destroy() {
	c.live("Destroy")
	if !c.acquire() {
		c.refuse("Destroy")
	}
	defer c.release()
	c.co.Destroy()
	var in In
	var out Out
	c.in, c.out = in, out
}

// All returns an iterator over the values the coroutine yields, resuming it
// with the zero In each time, until it ends. Breaking out of the loop
// leaves the coroutine suspended where it yielded: a later All or Resume
// continues from there.
func (c *Coroutine[In, Out]) All() iter.Seq[Out] {
	return func(yield func(Out) bool) {
		var in In
		for {
			v, ok := c.Resume(in)
			if !ok || !yield(v) {
				return
			}
		}
	}
}

// String describes the coroutine, as [Co.String] does.
func (c *Coroutine[In, Out]) String() string {
	if c == nil || c.co == nil {
		return "aco.Coroutine(nil)"
	}
	return c.co.String()
}

// acquire takes the coroutine for a Resume or Destroy: the one atomic
// instruction of a typed round trip besides the share stack's.
func (c *Coroutine[In, Out]) acquire() bool {
	raceWrite(unsafe.Pointer(&c.racer))
	return atomic.CompareAndSwapUint32(&c.busy, 0, 1)
}

// release gives the coroutine back, after the call's last use of in and
// out.
func (c *Coroutine[In, Out]) release() { storeRelease(&c.busy, 0) }

// ended gives the coroutine back when its co ends in a panic or
// runtime.Goexit, which goes on past Resume's release; endPanic calls it.
// For an end by Exit, Resume then returns and releases it again, harmless:
// once the co has ended, a Resume reads neither in nor out.
func (c *Coroutine[In, Out]) ended() { c.release() }

// refuse panics for a call, what, that found the coroutine held: from
// inside the coroutine (it runs on this goroutine), or by another goroutine.
func (c *Coroutine[In, Out]) refuse(what string) {
	if c.co.runsHere() && rtAvailable {
		panic("aco: Coroutine." + what + " from inside the coroutine (it cannot be resumed or destroyed until it has yielded)")
	}
	panic("aco: Coroutine." + what + " while another goroutine resumes or destroys it (" + msgOneGoroutineCo + ")")
}

// msgOneGoroutineCo says why two goroutines cannot use a Coroutine at once.
const msgOneGoroutineCo = "a Coroutine is used by one goroutine at a time: the second call panics and the first goes on"

// runsHere reports whether co is running on this goroutine (where the
// runtime can be read: elsewhere, whether it is running).
func (co *Co) runsHere() bool {
	return co.st.Load() == uint32(stRunning) && (!rtAvailable || co.goroutine() == getg())
}

// Stack describes where the coroutine is, as [Co.Stack] does.
func (c *Coroutine[In, Out]) Stack() []byte { return c.live("Stack").Stack() }

// live returns c's co, or panics for what, a method called on a nil
// *Coroutine or a zero Coroutine value.
func (c *Coroutine[In, Out]) live(what string) *Co {
	if c == nil || c.co == nil {
		panicNoCoroutine(what)
	}
	return c.co
}

// panicNoCoroutine panics for what, a method called on a Coroutine that
// NewCoroutine did not make.
func panicNoCoroutine(what string) {
	panic("aco: Coroutine." + what + msgNoCoroutine)
}

// The panics of a method called on a Coroutine that NewCoroutine did not
// make, as constants for the methods that are inlined.
const (
	msgNoCoroutine = " of a nil *Coroutine or a zero Coroutine value (make them with NewCoroutine)"
)

// typeOf returns the runtime's type descriptor of T (what a reflect.Type
// of T points at), for typedmemmove.
func typeOf[T any]() unsafe.Pointer {
	t := reflect.TypeFor[T]()
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
}

// typedmemmove copies a value of type typ from src to dst with the write
// barriers the garbage collector needs: the runtime's own, which it keeps
// linknamed for packages outside the standard library (go.dev/issue/67401).
//
//go:linkname typedmemmove runtime.typedmemmove
//go:noescape
func typedmemmove(typ, dst, src unsafe.Pointer)
