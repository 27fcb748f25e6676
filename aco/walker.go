//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import "unsafe"

// Walking a co's frames. Every walk of the engine, on a goroutine's stack
// or over a saved image, in nosplit code or in Go (capture's scans, memo
// building, collectRoots, learnFrames, relocation, the defer checks, the
// self-test's), steps from a frame to its caller through one function,
// caller, as the runtime's walks all go through runtime.unwinder.
//
// A position is an offset below hi, the bottom frame's caller's SP (the
// trampoline's SP, copystack.go's diagram). A co's frames are the same
// bytes in the same order wherever they sit, so a position holds on the
// goroutine's stack, in the saved image, and after the runtime moved the
// stack under Go code:
//
//	+----------------------+  <- hi: offset 0
//	|  tret                |  offset ptrSize: the bottom frame's return
//	|  bottom frame ...    |  address, the top word of its frame
//	+----------------------+  <- a frame's SP: offset sp
//	|  ret into the frame  |  offset sp + ptrSize: the top word of the
//	|  its callee ...      |  callee's frame, which is the callee's
//	+----------------------+  <- fi.size long: its SP is sp + fi.size
//
// The return address below a frame's SP selects the caller's layout; the
// walk looks it up in the frame cache (framecache.go) with the key bits of
// the frame (frameInfo.callerKey).

// A coFrame is one frame of a co, as a walk hands it to its user.
type coFrame struct {
	sp uintptr    // its SP, as an offset below hi
	pc uintptr    // its continuation PC, with the key bits of its cache key
	fi *frameInfo // its layout; stored without a write barrier (see below)
}

// A frameInfo pointer is stored into a coFrame, which may be anywhere,
// without a write barrier (the nosplit chain has no room for one): that is
// safe because the frame cache keeps every frameInfo alive.

//go:nosplit
func (f *coFrame) setInfo(fi *frameInfo) {
	*(*uintptr)(unsafe.Pointer(&f.fi)) = uintptr(unsafe.Pointer(fi))
}

// set copies the frame g into f, as words: fi needs no write barrier.
//
//go:nosplit
func (f *coFrame) set(g *coFrame) {
	f.sp, f.pc = g.sp, g.pc
	f.setInfo(g.fi)
}

// A frameWalk walks a co's frames from the innermost, Yield's, to the
// bottom one, over frames that stay put during the walk: a saved image, or
// a goroutine's stack under nosplit code. Go code walks a live stack with
// a liveWalk.
type frameWalk struct {
	coFrame
	hi uintptr // the address of hi
}

// What step finds.
const (
	stepNext  = iota // the walk is at the caller's frame; fi is the callee's still
	stepEnd          // the frame was the bottom one: its caller's SP is hi (sp is 0)
	stepOver         // the frame reaches above hi: these are not the co's frames
	stepOther        // the caller is a co's trampoline below hi: another co's frames
)

// start puts the walk at the frame at sp that continues at pc, below hi.
// (A method, not a constructor returning a frameWalk: in builds without
// inlining a returned struct costs the nosplit chain a copy.)
//
//go:nosplit
func (w *frameWalk) start(hi, sp, pc uintptr) { w.hi, w.sp, w.pc = hi, sp, pc }

// imageFrames walks the image of a suspended co in its save stack, every
// frame of which capture put in the frame cache.
//
//go:nosplit
func imageFrames(c *swctx) (w frameWalk) {
	w.start(uintptr(c.buf)+c.n+ptrSize, c.n+ptrSize, c.pc)
	w.setInfo(lookupFrame(c.pc))
	return w
}

// at is the address of the word off bytes above the frame's SP.
//
//go:nosplit
func (w *frameWalk) at(off uintptr) uintptr { return w.hi - w.sp + off }

// atStart reports whether the word below hi is the trampoline's return
// address, as on a live stack under a co's bottom frame (a saved image
// does not hold that word).
//
//go:nosplit
func (w *frameWalk) atStart() bool { return *(*uintptr)(ptrAt(w.hi - ptrSize)) == tret }

// caller is the one caller step of every walk: it returns the SP and the
// continuation PC of the caller of the frame at sp (offsets below the
// address hi) whose layout is fi, and what it found; both are 0 unless
// it found stepNext. Nosplit walks call
// it on locals, which stay in registers; the others through step.
//
//go:nosplit
func caller(hi, sp uintptr, fi *frameInfo) (uintptr, uintptr, int) {
	size := uintptr(fi.size)
	if size >= sp {
		if size == sp {
			return 0, 0, stepEnd
		}
		return 0, 0, stepOver
	}
	sp -= size
	ret := *(*uintptr)(ptrAt(hi - sp - ptrSize)) // not load: the nosplit chain's room
	if ret == tret {
		return 0, 0, stepOther
	}
	return sp, ret | fi.callerKey, stepNext
}

// step moves to the caller of the current frame, whose layout is fi. At
// stepNext sp and pc are the caller's and fi is left to the user (a
// lookup, a decoding); else sp and pc are 0.
//
//go:nosplit
func (w *frameWalk) step() (st int) {
	w.sp, w.pc, st = caller(w.hi, w.sp, w.fi)
	return st
}

// next steps to the caller and looks its layout up; it returns false after
// the bottom frame. The frames must be in the frame cache (a saved image,
// or frames capture or learnFrames walked).
//
//go:nosplit
func (w *frameWalk) next() bool {
	var st int
	if w.sp, w.pc, st = caller(w.hi, w.sp, w.fi); st != stepNext { // not step: the nosplit chain's room
		return false
	}
	w.setInfo(lookupFrame(w.pc))
	return true
}

// A liveWalk is a frameWalk for Go code on the stack of the goroutine g,
// hi hiOff below its top: the runtime may move the stack at any call, so
// every method finds hi again first (sync), and a position is never held
// as an address across a call. The methods that read run nosplit after
// sync, so nothing moves the stack between the two.
type liveWalk struct {
	frameWalk
	g, hiOff uintptr
}

// liveFrames walks the frames of a co on the stack of gp, hi hiOff below
// its top, from the frame at sp that continues at pc.
func liveFrames(gp, hiOff, sp, pc uintptr) liveWalk {
	return liveWalk{frameWalk: frameWalk{coFrame: coFrame{sp: sp, pc: pc}}, g: gp, hiOff: hiOff}
}

//go:nosplit
func (w *liveWalk) sync() { w.hi = gStackHi(w.g) - w.hiOff }

func (w *liveWalk) step() int     { w.sync(); return w.frameWalk.step() }
func (w *liveWalk) atStart() bool { w.sync(); return w.frameWalk.atStart() }

// word reads the word off bytes above the frame's SP.
func (w *liveWalk) word(off uintptr) uintptr { w.sync(); return load(w.at(off)) }

// below reads the word off bytes below hi.
func (w *liveWalk) below(off uintptr) uintptr { w.sync(); return load(w.hi - off) }
