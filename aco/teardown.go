package aco

import (
	"errors"
	"fmt"
)

// Ending coroutines from outside: Destroy and Reset of one co, and a main
// co's list of its coroutines, which DestroyAll ends in turn.

// kidList is a main co's coroutines in creation order. Each co knows its
// place (Co.kid), so destroying one clears its slot without reading any
// other co: at 2 million coroutines every co read is a cache miss. Empty
// slots at either end are dropped at once, so destroying in creation order
// or in reverse moves nothing; empty slots in between stay until the list
// is twice as long as the live ones, and the list is then compacted (each
// co moved writes its new place). Its array holds at most four words per
// live coroutine (and 32 more): compacting reads only the list.
type kidList struct {
	cos []*Co
	// base is the place number of cos[0]: co is cos[co.kid-base]. Place
	// numbers wrap around at 2³² (the arithmetic is modular, and the list
	// is far shorter).
	base uint32
	n    int // live coroutines
	// dead is how many slots were dropped from the front of cos's array
	// since it was allocated: memory the list holds for no one.
	dead int
}

func (l *kidList) add(co *Co) {
	if len(l.cos) == cap(l.cos) {
		l.dead = 0 // append moves the list to a new array
	}
	co.kid = l.base + uint32(len(l.cos))
	l.cos = append(l.cos, co)
	l.n++
}

// drop notes that co, one of the list, was destroyed.
func (l *kidList) drop(co *Co) {
	i := uintptr(co.kid - l.base)
	if i >= uintptr(len(l.cos)) || l.cos[i] != co {
		panic("aco: internal error: a destroyed co is not in its main co's list")
	}
	l.cos[i] = nil
	l.n--
	for len(l.cos) > 0 && l.cos[len(l.cos)-1] == nil {
		l.cos = l.cos[:len(l.cos)-1]
	}
	for len(l.cos) > 0 && l.cos[0] == nil {
		l.cos = l.cos[1:]
		l.base++
		l.dead++
	}
	if len(l.cos) > 2*l.n+16 || l.dead+cap(l.cos) > 4*l.n+32 {
		l.compact()
	}
}

// compact moves the live coroutines to a new array of their own, each at
// its new place.
func (l *kidList) compact() {
	cos := make([]*Co, 0, l.n+l.n/4)
	for i, co := range l.cos {
		if co != nil {
			if len(cos) != i {
				co.kid = l.base + uint32(len(cos)) // after an empty slot: moved
			}
			cos = append(cos, co)
		}
	}
	l.cos, l.dead = cos, 0
}

// last returns the most recently created live coroutine, or nil.
func (l *kidList) last() *Co {
	if len(l.cos) == 0 {
		return nil
	}
	return l.cos[len(l.cos)-1] // drop leaves no empty slot at the end
}

// DestroyAll ends everything the main co m owns, then m itself: each of its
// live coroutines is destroyed as [Co.Destroy] would (a suspended one is
// unwound first, so its pending deferred calls run), the most recently
// created first, and m last. Coroutines that the deferred calls create are
// destroyed too.
//
// Unlike Destroy, which is strict, DestroyAll does not stop at the first
// problem, so that it can end a scheduler or a failed test's coroutines
// without hiding what went wrong: a panic raised by a coroutine's deferred
// calls is collected, the remaining coroutines are destroyed all the same,
// and the returned error joins one [*PanicError] per such coroutine (nil
// if there was none). Share stacks are not destroyed; once their
// coroutines are gone, [ShareStack.Destroy] can.
//
// A running coroutine cannot be destroyed: DestroyAll panics, before
// destroying anything, if one of m's coroutines is running (it must be
// called from m's side, not from inside one of its coroutines), and if m
// is not a live main co.
func (m *Co) DestroyAll() error {
	if m.state() != stMain {
		if m.state() == stDestroyed {
			panic("aco: DestroyAll of a destroyed co")
		}
		panic("aco: DestroyAll of a co that is not a main co (DestroyAll ends a main co and its coroutines)")
	}
	for _, co := range m.x.kids.cos {
		if co != nil && co.state() == stRunning {
			panic("aco: DestroyAll while one of the main co's coroutines runs (" + co.String() + "): call it from the main co's side, with none of them running")
		}
	}
	var errs []error
	for co := m.x.kids.last(); co != nil; co = m.x.kids.last() {
		if err := destroyCollect(co); err != nil {
			errs = append(errs, err)
		}
	}
	m.markDestroyed()
	return errors.Join(errs...)
}

// destroyCollect destroys co and returns a panic its deferred calls raised.
func destroyCollect(co *Co) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Co: co, Value: r}
			if co.state() != stDestroyed {
				// A misuse inside the unwinding left co running or
				// suspended: it can only be given up.
				panic(r)
			}
		}
	}()
	co.Destroy()
	return nil
}

// PanicError is a panic that a coroutine's deferred calls raised while
// [Co.DestroyAll] destroyed it.
type PanicError struct {
	Co    *Co // the destroyed coroutine
	Value any // what its deferred call panicked with
}

// Error names the coroutine and the panic value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("aco: DestroyAll: a deferred call of %v panicked: %v", e.Co, e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Destroy is libaco's aco_destroy.
//
// For a non-main coroutine: a suspended one is first unwound, so its deferred
// calls run (a panic raised by one of them continues from Destroy, and the
// coroutine is destroyed anyway); then its save stack is released. The
// unwinding does not need the share stack to itself: a supervisor may destroy
// a suspended sibling of its own share stack. Destroying a running coroutine
// panics.
//
// For a main coroutine: all its coroutines must have been destroyed first.
//
// A destroyed coroutine must not be used again; doing so panics.
func (co *Co) Destroy() {
	if co == nil {
		panic("aco: Destroy of a nil *Co")
	}
	switch co.state() {
	case stMain:
		if co.x.kids.n != 0 {
			panic("aco: Destroy of a main co that still has live coroutines (destroy them first)")
		}
	case stRunning, stYielding:
		panic(co.runningMsg("Destroy"))
	case stBusy:
		panic(msgBusy("Destroy"))
	case stReading:
		co.waitReading()
		co.Destroy()
		return
	case stDestroyed:
		panic("aco: Destroy of a destroyed co")
	case stSuspended:
		if !co.hold(stSuspended, stBusy) {
			co.Destroy() // another goroutine came first: say what it did
			return
		}
		// The co is this goroutine's: only now is its image read.
		if co.copyStack() && !co.hasPendingDefers() {
			// Nothing would observe an unwinding: just drop the frames
			// (which does not need the share stack either). The co is
			// ours (busy): a release store, no atomic instruction.
			co.setStateFast(stDestroyed)
			co.release()
			return
		}
		co.destroySuspended()
		return
	}
	co.markDestroyed()
}

// destroySuspended unwinds a suspended coroutine so its deferred calls run,
// then marks it destroyed. Its share stack may be busy with another co (a
// supervisor destroying a sibling, perhaps from a co nested in it, or from
// another goroutine): nothing the unwinding runs needs the share stack to
// itself (it cannot yield, and on either engine its frames have a stack
// of their own: the destroying goroutine's or its goroutine's), so it
// runs without owning it, and the share stack stays with its owner.
func (co *Co) destroySuspended() {
	co.st.Store(uint32(stRunning)) // from stBusy: Destroy holds the co
	if ss := co.ss; ss != nil {
		ss.claim(co) // if it has an owner, the owner keeps it: stopRunning leaves it alone
	}
	// A panic from a deferred call of the coroutine continues from
	// Destroy; the coroutine is destroyed all the same.
	defer co.markDestroyed()
	co.unwinding = unwindDestroy
	if co.copyStack() {
		co.enter = 1         // resume into Yield itself, which unwinds
		co.resumeCopyStack() // its Yield panics with an *Unwind (panicUnwind)
		return
	}
	co.unwindPortable()
}

// markDestroyed moves an ended, init or main coroutine to "destroyed" and
// releases what it holds.
func (co *Co) markDestroyed() {
	s := co.state()
	if s != stEnded && s != stInit && s != stMain || !co.hold(s, stDestroyed) {
		panic("aco: Destroy of a co that another goroutine resumed or destroyed at the same time")
	}
	// The co is this goroutine's: only now are its fields read.
	if s == stInit && co.fn == nil && co.main == nil {
		co.st.Store(uint32(s))
		panic(msgZeroCo) // Create and Reset never leave fn nil
	}
	co.release()
}

// release drops what a destroyed co holds and its counts.
func (co *Co) release() {
	if co.main == nil {
		return
	}
	co.fn, co.arg = nil, nil
	co.main.x.kids.drop(co)
	if co.ss != nil {
		co.ss.releaseLive()
	}
	if co.mode != modeOwn {
		co.releaseCopyStack()
	} else {
		co.x.port = nil
	}
}

// Reset reuses an ended coroutine object (libaco's planned aco_reset): it
// gets a new function and argument and goes back to the "init" state, keeping
// its main coroutine, share stack and save stack (statistics start over).
func (co *Co) Reset(fn Func, arg any) {
	if co == nil {
		panic("aco: Reset of a nil *Co")
	}
	if fn == nil {
		panic("aco: Reset: nil function")
	}
	for {
		s := co.state()
		switch s {
		case stEnded, stInit:
		case stMain:
			panic("aco: Reset of a main co")
		case stDestroyed:
			panic("aco: Reset of a destroyed co")
		case stBusy:
			panic(msgBusy("Reset"))
		case stReading:
			co.waitReading()
			continue
		default:
			panic("aco: Reset of a co that has not ended (it is " + s.String() + ")")
		}
		// The co is this goroutine's while it is busy: a Resume, Destroy
		// or Reset from another goroutine meanwhile panics.
		if co.hold(s, stBusy) {
			if s == stInit && co.fn == nil {
				co.st.Store(uint32(s))
				panic(msgZeroCo) // Create and Reset never leave fn nil
			}
			break
		}
	}
	co.fn, co.arg = fn, arg
	switch co.mode {
	case modeMoved, modeLeaving:
		// A moved co starts on its share stack again.
		co.mode = modeCopyStack
		co.x.port = nil
	case modeMoveNext:
		co.mode = modeCopyStack
	}
	if co.copyStack() {
		co.resetCopyStack()
		co.copies, co.maxcpsz = 0, 0
	} else {
		co.x.port = nil
	}
	co.st.Store(uint32(stInit))
}
