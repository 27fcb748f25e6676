package aco

import (
	"errors"
	"fmt"
)

// kidList is a main co's coroutines in creation order. A destroyed one
// stays in the list until the list is twice as long as the live ones:
// adding and dropping cost O(1) amortized, and the list holds one word per
// coroutine, at most two per live one (a destroyed Co has released its
// save stack and roots).
type kidList struct {
	cos []*Co
	n   int // live coroutines
}

func (l *kidList) add(co *Co) {
	l.cos = append(l.cos, co)
	l.n++
}

// drop notes that co, one of the list, was destroyed.
func (l *kidList) drop(co *Co) {
	if l.n--; l.n == 0 {
		clear(l.cos)
		l.cos = l.cos[:0]
	} else if len(l.cos) > 2*l.n+16 {
		j := 0
		for _, k := range l.cos {
			if !k.released() {
				l.cos[j] = k
				j++
			}
		}
		clear(l.cos[j:])
		l.cos = l.cos[:j]
	}
}

// released reports whether co, one of a main co's coroutines, was
// destroyed: release cleared its function. The list reads fn, not the
// state: a sibling may be running on another goroutine, which stores its
// state without atomics, while its fn is written only where the main co's
// owner destroys or resets it.
func (co *Co) released() bool { return co.fn == nil }

// last returns the most recently created live coroutine, or nil, dropping
// the destroyed ones after it.
func (l *kidList) last() *Co {
	for i := len(l.cos) - 1; i >= 0; i-- {
		if co := l.cos[i]; !co.released() {
			return co
		}
		l.cos[i] = nil
		l.cos = l.cos[:i]
	}
	return nil
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
		if co.state() == stRunning {
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
