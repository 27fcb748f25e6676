package aco

import (
	"os"
	"sync/atomic"
	"unsafe"
)

// DefaultShareStackSize is the size a share stack gets when it is created
// with size 0, as in libaco (2 MiB).
const DefaultShareStackSize = 2 << 20

// minShareStackSize is libaco's lower bound for a share stack.
const minShareStackSize = 4096

// ShareStack is libaco's aco_share_stack_t: the execution stack that a group
// of coroutines takes turns on. As in libaco, where a share stack belongs to
// a thread, a share stack and its coroutines are used by one goroutine at a
// time: Create, Resume and Destroy on them from several goroutines need the
// caller's synchronisation.
//
// Go code can only run on stacks the Go runtime owns, so a ShareStack is not
// a block of memory that the CPU's stack pointer is moved to: share-stack
// coroutines execute on the stack of the goroutine that resumes them, which
// the runtime grows and moves as it needs to. What libaco's share stack gives
// its coroutines is kept: they run one at a time (resuming a coroutine while
// another one of the same share stack is running panics), the share stack
// knows which coroutine currently runs on it ([ShareStack.Owner]), and it
// cannot be destroyed while coroutines still use it.
//
// The size is libaco's, rounded by libaco's rules, and is reported by
// [ShareStack.Size]; a Go stack has no fixed size to apply it to. libaco's
// guard page maps to Go's own stack limit: deep recursion in a coroutine ends
// the program with the runtime's "stack overflow" fatal error whether or not
// a guard page was asked for (see [runtime/debug.SetMaxStack]); the guard
// option only changes the size rounding, as it does in libaco.
type ShareStack struct {
	size      int  // valid size: what libaco calls sz
	realSize  int  // size including the guard page
	guardPage bool // libaco's guard_page_enabled

	// owner is the coroutine running on the share stack, nil when none is.
	// On a share stack of the API (not private) it is the lock of all its
	// coroutines: a Resume takes it with a compare-and-swap (take), which
	// two goroutines resuming two of its coroutines, or one coroutine, at
	// once cannot both win, and only then marks the co running, with a
	// plain store (Co.claim; Destroy, Reset and Stack keep to it: Co.hold).
	// It is given back with a release store (see leave).
	owner *Co
	// private: the share stack of one Pull iterator, which the iterator's
	// own guard (puller.busy) already gives to one call at a time.
	private bool

	// live counts the coroutines created on this share stack and not yet
	// destroyed. Like a main co's count of its coroutines it is a plain
	// counter: a share stack belongs to one goroutine at a time.
	live int

	destroyed bool

	// lastMemo is the frame layout of the last co that yielded here with
	// a new one: on the copy-stack engine, a hint for the next. lastShape
	// is the shape (scanState.shape) of the last yield whose frames were
	// walked here: a co whose first yield has the frames another co's
	// last walked yield had builds a memo at once (cos created to run the
	// same code, each yielding once, would otherwise never have one).
	lastMemo  *yieldMemo
	lastShape uint32
	// walks counts the yields here whose frames were walked, walkedFrames
	// the frames those walks composed or scanned, keptFrames the frames
	// whose roots a walk record kept from the yield before (tests).
	walks        uint32
	walkedFrames uint64
	keptFrames   uint64
	// found is the copy-stack engine's scratch for the roots of a yield
	// (scanState.found): the co running here has it to itself.
	found []uintptr
}

// NewShareStack is libaco's aco_share_stack_new: NewShareStack2(size, true).
func NewShareStack(size int) *ShareStack { return NewShareStack2(size, true) }

// NewShareStack2 is libaco's aco_share_stack_new2. size is a hint in bytes; 0
// means [DefaultShareStackSize]. The resulting valid size is at least 4096
// bytes and at least size, and a multiple of the page size when guardPage is
// true (libaco then adds one guard page on top, reported by
// [ShareStack.RealSize]). A negative size panics.
func NewShareStack2(size int, guardPage bool) *ShareStack {
	if size < 0 {
		panic("aco: NewShareStack: negative size")
	}
	valid, real := shareStackSizes(size, guardPage, os.Getpagesize())
	return &ShareStack{size: valid, realSize: real, guardPage: guardPage}
}

// shareStackSizes applies libaco's rounding rules: it returns the valid size
// and the size including the guard page.
func shareStackSizes(sz int, guard bool, pgsz int) (valid, real int) {
	if sz == 0 {
		sz = DefaultShareStackSize
	}
	if sz < minShareStackSize {
		sz = minShareStackSize
	}
	if !guard {
		return sz, sz
	}
	if pgsz <= 0 || pgsz&(pgsz-1) != 0 {
		panic("aco: page size is not a power of two")
	}
	if sz <= pgsz {
		sz = 2 * pgsz
	} else if sz&(pgsz-1) != 0 {
		sz = sz&^(pgsz-1) + 2*pgsz
	} else {
		sz += pgsz
	}
	return sz - pgsz, sz
}

// Size returns the share stack's valid size in bytes (libaco's sz).
func (s *ShareStack) Size() int { return s.size }

// RealSize returns the size including the guard page (libaco's real_sz).
func (s *ShareStack) RealSize() int { return s.realSize }

// GuardPage reports whether the share stack was created with the guard page
// option.
func (s *ShareStack) GuardPage() bool { return s.guardPage }

// Owner returns the coroutine currently running on the share stack, or nil.
// It is only meaningful on the goroutine that resumed that coroutine.
func (s *ShareStack) Owner() *Co {
	return (*Co)(atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&s.owner))))
}

// claim makes co the share stack's owner unless another co owns it: a
// compare-and-swap (take), since the coroutines of a share stack may be
// resumed from several goroutines (and the scratch of their yields is the
// share stack's). A private share stack is its co's alone, whose own
// state is its lock: a store.
func (s *ShareStack) claim(co *Co) bool {
	if s.private {
		s.owner = co
		return true
	}
	return s.take(co)
}

// own makes co the owner of s if s is private (a standalone co's, or a Pull
// iterator's): claim takes a shared one.
func (s *ShareStack) own(co *Co) {
	if s.private {
		s.owner = co
	}
}

// take makes co the owner of s if s has none: a compare-and-swap, of the
// word, without the write barrier of atomic.CompareAndSwapPointer (a call
// and a check of its own, on every resume). The GC loses nothing by it:
// the old value is nil, and owner is never the only reference to its co
// (while it is the owner, the frames of the Resume, Destroy, Reset or
// Stack that took it hold the co too), so the GC finds the co there
// whatever it scanned first; leave, which clears it, has the barrier.
func (s *ShareStack) take(co *Co) bool {
	return atomic.CompareAndSwapUintptr((*uintptr)(unsafe.Pointer(&s.owner)), 0, uintptr(unsafe.Pointer(co)))
}

// locks reports whether s, a co's share stack, is the lock of the co's
// state (see owner): s is a share stack of the API, and the co is not a
// Pull iterator's, whose state its iterator's guard already gives to one
// call at a time.
func (s *ShareStack) locks(co *Co) bool { return s != nil && !s.private && !co.isPull() }

// leave gives the share stack back, after its owner's last use of it.
func (s *ShareStack) leave() { storeReleasePtr((*unsafe.Pointer)(unsafe.Pointer(&s.owner)), nil) }

// Live returns the number of coroutines created on the share stack and not
// yet destroyed.
func (s *ShareStack) Live() int { return s.live }

// Destroy is libaco's aco_share_stack_destroy. Every coroutine created on the
// share stack must have been destroyed first; otherwise Destroy panics and
// the share stack stays usable.
func (s *ShareStack) Destroy() {
	if s.live != 0 {
		panic("aco: Destroy of a share stack that still has live coroutines (destroy them first)")
	}
	if s.destroyed {
		panic("aco: Destroy of a destroyed share stack")
	}
	s.destroyed = true
}

func (s *ShareStack) addLive() {
	if s.size == 0 {
		panic("aco: Create: share stack was not made by NewShareStack (a zero ShareStack value)")
	}
	if s.destroyed {
		panic("aco: Create: share stack has been destroyed")
	}
	s.live++
}

func (s *ShareStack) releaseLive() { s.live-- }

// SaveStack is a coroutine's private save stack, libaco's aco_save_stack_t,
// as statistics. A share-stack coroutine's live frames are copied into it at
// every yield and back at every resume on the copy-stack engine; on the
// portable engine no copies are made and the counters stay zero.
type SaveStack struct {
	// MaxCopySize is the largest number of bytes saved at one yield
	// (libaco's max_cpsz).
	MaxCopySize int
	// CtSave counts the yields that saved the stack (libaco's ct_save).
	CtSave uint64
	// CtRestore counts the resumes that restored it (libaco's ct_restore).
	CtRestore uint64
	// ValidSize is the save stack's size in bytes (libaco's valid_sz): the
	// initial size asked for at Create, grown as needed. The memory is
	// allocated at the first save, so a coroutine on the portable engine
	// never holds it.
	ValidSize int
}
