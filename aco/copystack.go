//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"unsafe"
)

// The copy-stack engine runs a share-stack coroutine on the stack of the
// goroutine that resumes it, directly below the trampoline's frame, as
// ordinary frames: the runtime scans, grows and unwinds them like any other.
// At a yield the frames between swapout and the trampoline are copied into
// the co's save stack (plain bytes) and every live heap pointer in them is
// put in co.roots, found with the runtime's stack maps (see scan.go); at the
// next resume they are copied back, relocated if the trampoline's frame is
// now at another address.
//
// A resumed co on its resumer's goroutine stack (higher addresses up):
//
//	|  resumer's frames          |
//	|  Resume                    |  calls the trampoline; a yield returns
//	|                            |  from Resume for it (learnResumeSkip)
//	|  trampoline                |  hi: its SP; below it the co's image
//	+----------------------------+  <- hi (c.hiOff below the stack top)
//	|  coEntry (the bottom frame)|
//	|  the co's function ...     |  the image: copied out at a yield,
//	|  ... its callees           |  back in (relocated if hi moved) at
//	|  Yield (or yieldValue)     |  a resume
//	+----------------------------+  <- lo: Yield's SP
//	|  swapout, capture          |  run only during the switch
//
// The engine by phase, one file each:
//   - copystack.go: the co's copy-stack state, its life cycle, coEntry;
//   - engine_copystack.go: what init learns once for the switch, the
//     self-test's start and the choice of engine;
//   - copystack_yield.go: the yield side, capture (memo matching, roots,
//     the slow path in steps) and yieldFailed;
//   - copystack_resume.go: the resume side, prepareResume, relocation,
//     stack growth, afterResume;
//   - copystack_records.go: the co's defer and panic records, detached at
//     a yield and attached at a resume;
//   - frame.go, framecache.go, walker.go, scan.go, memo.go, roots.go:
//     frame layouts, their cache, the one frame walker, and
//     the walks that find roots.
//
// The switch routines are generated assembly (zswitch_*.s). The parts of
// the switch that run Go code, capture and prepareResume, are go:nosplit
// and call only nosplit code, so the stack cannot grow or be moved under
// them. They are not free of safe points: a signal can preempt a goroutine
// at the entry of any Go function, nosplit ones included, and the garbage
// collector may then scan its stack. So every such point leaves a state a
// scan can read: the frames are copied (by assembly, which is never
// preempted) only after capture has recorded the roots, and copied back
// before anything else runs; every frame under capture and prepareResume
// can be unwound (swapout and the trampoline never write SP; the leaves
// that do, swapin and swapleave, call nothing); and g._defer points at the
// co's records only once nothing but assembly runs before they are back on
// the stack (see prepareResume).

// Status codes of swapout and trampoline, after swOK (zswitch.go: the
// contract's 0, switched). Switch statuses are named sw…, apart from the
// life-cycle states (state), named st….
const (
	swNotRunning = swOK + 1 + iota
	swUnwinding
	swWrongG
	swLocked
	swNoFrame
	swBufSmall
	swRootsSmall
	swCollect
	swMemo
	swWalkRoom
	swGrow
	swCgo
	swMove
	// swEnd: the trampoline returned because the co's bottom frame did
	// (a yield leaves it with swOK).
	swEnd
	// swMiss: capture's fast path did not take the yield; swapout goes
	// on with captureMiss. Never a status of Yield's.
	swMiss
)

// cs is the copy-stack state of a share-stack coroutine, the head of its
// Co: the switch routines' context, then what the Go side keeps.
type cs struct {
	swctx

	roots rootSet // heap pointers the saved frames hold

	// memo is the layout of the co's frames at its last yields (memo.go),
	// shared with the other cos of its share stack that yield alike.
	memo *yieldMemo
	// shape is a hash of the frames of the last yield that memo did not
	// match: a memo is built when two yields in a row have the same shape.
	shape uint32
	// costly counts the last yields in a row that cost more than the
	// portable engine's switch (see MoveThreshold); walks counts the yields
	// whose frames had to be walked, up to walkBufsAfter.
	costly, walks uint16

	// inline is the save stack while the image fits: words the garbage
	// collector does not scan, in the Co's own allocation.
	inline [inlineSaveWords]uintptr
}

// inlineSaveWords is the size of the inline save stack, in words: enough for
// a small generator (a co whose function only yields saves 64 bytes on
// amd64: Yield's frame of two words (see yieldFrameBudget), its function's
// and coEntry's of two, and the return addresses into the two; coEntry's
// into the trampoline is outside the image), and a Co of 240 bytes, 17 to
// a 4 KiB slab (coSlab).
const inlineSaveWords = 8

// rootSet is a co's roots: a slice of pointers in two words, not three
// (a word less per co). Its length and capacity are at most the image's
// words, below 2³² as the save stack's size is.
type rootSet struct {
	p    unsafe.Pointer // the array: the garbage collector scans it through p
	n, c uint32         // length, capacity
}

// slice returns the roots as a slice.
func (r *rootSet) slice() []unsafe.Pointer {
	return unsafe.Slice((*unsafe.Pointer)(r.p), r.c)[:r.n]
}

// set makes s the roots.
func (r *rootSet) set(s []unsafe.Pointer) {
	r.p, r.n, r.c = unsafe.Pointer(unsafe.SliceData(s)), uint32(len(s)), uint32(cap(s))
}

// csExtra is what only some copy-stack coroutines need, in Co.x.
type csExtra struct {
	// defers are the co's _defer records while it is suspended, innermost
	// first: a heap record by pointer, a record in the image by its offset
	// below hi.
	defers []deferRef
	// panics is the offset below hi of the innermost of the npanic panic
	// records in the image, while the co is suspended in a deferred call
	// run by a panic (see detachPanics).
	panics uintptr
	npanic int
	// ticket names the frames collectRoots last filled roots for, and
	// collect is its memory (roots.go).
	ticket  rootsTicket
	collect collectScratch
	// memos are the last memos the co built, co.memo among them, for a
	// co that yields at a few places in turn (see pickMemo): a fixed
	// number per co, so what they hold is bounded by the co's code.
	memos [memoWays]*yieldMemo
	// walk are the co's walk buffers, once its yields keep changing
	// frames.
	walk *walkBufs
	// found is the root scratch of a recycled Pull co's last share stack,
	// which its next one gets (see puller.recycle).
	found []uintptr
}

// memoWays is how many memos a co keeps.
const memoWays = 4

type deferRef struct {
	heap unsafe.Pointer
	off  uintptr
}

// initCopyStack readies a new share-stack co for its first resume.
func (co *Co) initCopyStack(saveStackSize int) {
	if saveStackSize <= len(co.inline)*int(ptrSize) {
		co.buf = unsafe.Pointer(&co.inline)
		co.bufCap = uint32(len(co.inline)) * uint32(ptrSize)
	} else {
		co.bufCap = uint32(saveStackSize) // what the first save allocates
	}
	// What resetCopyStack sets that a new Co does not have zero already.
	co.pc = entryPC
	co.slow = 1
	co.cwCo, co.mxcsrCo = fpuDefault()
}

// resetCopyStack returns the context to its state before the first resume,
// keeping the save stack's memory, and drops the roots of the frames that
// have ended.
func (co *Co) resetCopyStack() {
	co.n = 0
	co.pc = entryPC
	co.g = 0 // no goroutine runs it (see commitYield)
	co.slow = 1
	co.yret = 0
	co.enter = 0
	co.cwCo, co.mxcsrCo = fpuDefault()
	co.memoImage = false
	clear(co.roots.slice())
	co.roots.n = 0
	if x := co.x; x != nil {
		clear(x.cs.defers)
		x.cs.defers = x.cs.defers[:0]
		x.cs.npanic = 0
		if x.cs.walk != nil {
			x.cs.walk.valid = false // its roots were dropped
		}
	}
}

// recycleCopyStack readies an ended Pull co for the next Pull (see
// puller.recycle): the context as before a first resume, the memory kept.
// The memo and walk buffers stay: a memo is checked against the frames
// before it is used, and the next generator is often the same code.
func (co *Co) recycleCopyStack() {
	co.resetCopyStack() // drops the roots
	co.copies, co.maxcpsz = 0, 0
	co.costly = 0
	co.mode = modeCopyStack
	x := co.extra()
	x.port = nil
	x.cs.ticket = rootsTicket{}
	x.cs.found = co.ss.found // the root scratch of its share stack, for the next one
}

// reuseCopyStack gives a recycled co's root scratch to its new share stack.
func (co *Co) reuseCopyStack(ss *ShareStack) {
	ss.found, co.x.cs.found = co.x.cs.found, nil
}

// releaseCopyStack drops the save stack and roots of a destroyed co.
func (co *Co) releaseCopyStack() {
	co.buf, co.roots, co.memo, co.x = nil, rootSet{}, nil, nil
}

// copyStackStats returns the save-stack statistics the switch keeps.
func (co *Co) copyStackStats() SaveStack {
	// A yield saves, the next resume restores: one counter of both (a
	// word less per co) tells them apart.
	return SaveStack{MaxCopySize: int(co.maxcpsz), CtSave: (co.copies + 1) / 2, CtRestore: co.copies / 2, ValidSize: int(co.bufCap)}
}

// hasPendingDefers reports whether the frames of a suspended co hold
// deferred calls that Destroy must run: defer records, or open-coded defers
// whose bits are set in the image.
func (co *Co) hasPendingDefers() bool {
	if x := co.x; x != nil && len(x.cs.defers) > 0 {
		return true
	}
	if co.n == 0 {
		return false
	}
	if m := co.imageMemo(); m != nil && !m.openDefers {
		return false // the image's frames have no open-coded defers
	}
	for w := imageFrames(&co.swctx); ; {
		if off := w.fi.openDefer; off >= 0 && *(*uint8)(ptrAt(w.at(uintptr(off)))) != 0 {
			return true
		}
		if !w.next() {
			return false
		}
	}
}

// imageMemo returns the co's memo if it describes the saved image (a yield
// that walked its frames may have left an older one), else nil: the memo
// the last yield used, or failing that one that matches the image.
//
//go:nosplit
func (co *Co) imageMemo() *yieldMemo {
	if co.memoImage {
		return co.memo
	}
	if m := co.memo; m != nil && m.matchImage(co.pc, uintptr(co.buf)+co.n+ptrSize, co.n) {
		return m
	}
	return nil
}

// fpWord is the frame pointer slot a framed function has above its frame
// (framePointers: amd64's BP; 386 has none).
const fpWord = ptrSize * (ptrSize / 8)

// coEntry is the bottom frame of every copy-stack coroutine. The trampoline
// "calls" it by jumping to it with the trampoline's return address on the
// stack; returning from it returns into the trampoline. It has no defer (a
// deferred closure would be a stack object in every saved image): how the
// co ended is found by afterResume, deferred in the resumer's frame, which a
// panic from the co reaches through the trampoline.
func coEntry(c *swctx) {
	co := (*Co)(unsafe.Pointer(c))
	co.fn(co)
	co.returned = true
}

// imagePCs returns the continuation PCs of the frames of a suspended co's
// saved image, innermost (Yield's) first, as runtime.Callers gives them.
// The caller holds the co (stReading), so no resume rewrites the image.
func (co *Co) imagePCs() []uintptr {
	if co.n == 0 {
		return nil
	}
	var pcs []uintptr
	for w := imageFrames(&co.swctx); ; {
		pcs = append(pcs, w.fi.pc&^sigpanicKey)
		if !w.next() {
			return pcs
		}
	}
}
