//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"unsafe"
)

// The resume side of the copy-stack engine: the trampoline's slow path
// (prepareResume), relocation of an image resumed at another address,
// stack growth, and what Resume does when the trampoline returns (see
// copystack.go for the layout).

// afterResume runs, deferred, when Resume (or resumeCopyStack) is done with
// the trampoline, however it came back: *mine is false once the co was
// handed on (it yielded, or it runs on a goroutine of its own), and then
// nothing here may touch it: another goroutine may already have resumed
// it. Otherwise the co is still this goroutine's: it returned (co.returned)
// or a panic or runtime.Goexit is unwinding it.
func (co *Co) afterResume(mine *bool) {
	if !*mine {
		return
	}
	if !sharedFPUEnv && co.fpuShared == 0 {
		// It left without swapout, which hands the resumer its FPU
		// environment back: do it here.
		fpuSetEnv(co.cwMain, co.mxcsrMain)
	}
	if co.returned {
		co.returned = false
		co.finish()
		return
	}
	co.endPanic(recover())
}

// resumeCopyStack runs co, already marked running, until it yields or ends:
// Resume's slow path.
func (co *Co) resumeCopyStack() {
	mine := true
	defer co.afterResume(&mine)
	for {
		switch trampoline(&co.swctx) {
		case swOK:
			mine = false // it yielded
			return
		case swEnd:
			return
		case swMove:
			mine = false // its goroutine ends it
			co.move()
			return
		}
		// swGrow: make room for the image below the trampoline.
		growStack(int(co.n) + stackMargin + 1024)
	}
}

// growStack makes the goroutine stack at least n bytes deeper than the
// caller's frame: the runtime grows stacks by copying, in the prologue of a
// function that needs more. It calls one function whose frame is that
// large, so that the stack grows, and is copied, once: the runtime sizes the
// new stack for the frame that overflowed, where a chain of small frames
// would copy it once per doubling. (A co moved onto a new goroutine, whose
// stack starts at 2 KB, grows here at its first resume: with a chain, the
// growth was a third of a short generator's time.)
func growStack(n int) {
	switch {
	case n <= 4<<10:
		growFrame4K()
	case n <= 8<<10:
		growFrame8K()
	case n <= 16<<10:
		growFrame16K()
	default:
		growChain(n)
	}
}

//go:noinline
func growFrame4K() {
	var pad [4 << 10]byte
	sink(pad[:])
}

//go:noinline
func growFrame8K() {
	var pad [8 << 10]byte
	sink(pad[:])
}

//go:noinline
func growFrame16K() {
	var pad [16 << 10]byte
	sink(pad[:])
}

//go:noinline
func growChain(n int) {
	var pad [16 << 10]byte
	if n > len(pad) {
		growChain(n - len(pad))
	}
	sink(pad[:])
}

//go:noinline
func sink([]byte) {}

// prepareResume is the trampoline's slow path, taken when swapin cannot
// simply copy the image back where it was (see the trampoline): it checks
// there is room for the image below hi (the trampoline's SP), relocates the
// image if hi moved since the yield, and re-attaches the co's defer records.
//
//go:nosplit
func prepareResume(c *swctx, hi, gp uintptr) uintptr {
	co := (*Co)(unsafe.Pointer(c))
	if co.mode == modeMoveNext && c.enter == 0 {
		return swMove // the trampoline is to run on a goroutine of the co's own
	}
	if hi-ptrSize-c.n < gStackLo(gp)+stackMargin {
		return swGrow
	}
	c.slow = 0
	c.hiOff = uint32(gStackHi(gp) - hi)
	c.g = gp // the trampoline stores the thread's lock counts (resumeLocks)
	if c.n > 0 {
		c.copies++
		if hi != c.hi {
			co.relocate(hi)
			co.countRelocation()
		}
		c.hi = hi
		if x := co.x; x != nil && (len(x.cs.defers) > 0 || x.cs.npanic > 0) {
			// Last, with no call after it: from here until swapin has
			// copied the image in, g._defer and g._panic point at
			// records that are not on the stack yet, and a goroutine
			// preempted at the entry of a Go function (nosplit ones
			// included) could be scanned.
			co.attachRecords(gp, hi)
		}
		return swOK
	}
	c.hi = hi
	return swOK
}

// countRelocation counts a resume that relocated the image (the co was
// resumed at another depth) as a costly yield toward its move: the image
// is adjusted and then copied, which a co resumed at a new depth again and
// again (a lexer pulled by a recursive-descent parser) does cheaper on a
// goroutine of its own, where it stays put. The count gets costlyDecay
// more, which the yield after takes off if it is cheap: the common yield
// (capture's fast path) counts nothing of its own.
//
//go:nosplit
func (co *Co) countRelocation() {
	if co.moved() || co.costly >= 1<<15 || movesOff() {
		return
	}
	co.costly += 1 + costlyDecay
	if uintptr(co.costly) >= moveAfter+costlyDecay {
		co.mode = modeMoveNext
		co.slow = 1
	}
}

// relocate moves the saved image from the address it was copied out at to
// one ending at hi: every word the runtime's copystack would adjust (live
// pointer slots, saved frame pointers, pointer words of stack objects, defer
// records) that points into the old image or the trampoline's frame above
// it is shifted by the distance moved.
//
//go:nosplit
func (co *Co) relocate(hi uintptr) {
	r := relocator{
		img:   uintptr(co.buf) + co.n + ptrSize,
		oldLo: co.hi - ptrSize - co.n,
		oldHi: co.hi + tbpOffset + ptrSize,
		delta: hi - co.hi,
	}
	if m := co.imageMemo(); m != nil {
		for _, off := range m.adjust {
			r.adj(r.img - uintptr(off))
		}
	} else {
		co.relocateFrames(&r)
	}
	if co.x != nil {
		co.relocateDefers(&r)
	}
}

// relocateFrames is relocate's walk of the image's frames, for an image
// no memo describes.
//
//go:nosplit
func (co *Co) relocateFrames(r *relocator) {
	end := uintptr(co.buf) + co.n // the bottom frame's arguments are not in the image
	for w := imageFrames(&co.swctx); ; {
		sp := w.at(0)
		for _, off := range w.fi.adjust {
			a := sp + uintptr(off)
			if a >= end {
				break
			}
			r.adj(a)
		}
		if !w.next() {
			break
		}
	}
}

// relocateDefers moves the co's detached defer records with the image.
//
//go:nosplit
func (co *Co) relocateDefers(r *relocator) {
	for _, d := range co.x.cs.defers {
		a := r.img - d.off // a record in the image
		if d.heap != nil {
			a = uintptr(d.heap)
		} else if !co.imageAdjusts(deferFnAt(a)) {
			// A record that is a stack object had its fn (a closure,
			// perhaps on the stack) adjusted with the objects above.
			r.adj(deferFnAt(a))
		}
		addDeferSp(a, r.delta)
	}
}

// imageAdjusts reports whether relocation adjusts the image word at a (an
// address in the save stack) with its frame's words.
//
//go:nosplit
func (co *Co) imageAdjusts(a uintptr) bool {
	for w := imageFrames(&co.swctx); ; {
		if sp := w.at(0); a < sp+uintptr(w.fi.size) {
			return a >= sp && w.fi.adjusts(a-sp)
		}
		if !w.next() {
			return false
		}
	}
}

// relocator shifts words of a saved image that point into [oldLo, oldHi).
type relocator struct {
	img                 uintptr // address in the save stack of the word at hi
	oldLo, oldHi, delta uintptr
}

//go:nosplit
func (r *relocator) adj(a uintptr) {
	if v := load(a); v >= r.oldLo && v < r.oldHi {
		store(a, v+r.delta)
	}
}
