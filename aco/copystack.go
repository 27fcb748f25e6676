//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/cpu"
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

// Status codes of swapout and trampoline, after stOK (zswitch.go: the
// contract's 0, switched).
const (
	stNotRunning = stOK + 1 + iota
	stUnwinding
	stWrongG
	stLocked
	stNoFrame
	stBufSmall
	stRootsSmall
	stCollect
	stMemo
	stWalkRoom
	stGrow
	stCgo
	stMove
	// stEnd: the trampoline returned because the co's bottom frame did
	// (a yield leaves it with stOK).
	stEnd
)

// cs is the copy-stack state of a share-stack coroutine, the head of its
// Co: the switch routines' context, then what the Go side keeps.
type cs struct {
	swctx

	bufp  unsafe.Pointer   // a save stack outgrowing inline (noscan), keeping c.buf alive
	roots []unsafe.Pointer // heap pointers the saved frames hold

	// memo is the layout of the co's frames at its last yields (scan.go),
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
// a small generator (104 bytes on amd64) and a Co of 320 bytes in all.
const inlineSaveWords = 13

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
	// collect is its memory (scan.go).
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
		co.buf = uintptr(unsafe.Pointer(&co.inline))
		co.bufCap = uint32(len(co.inline)) * uint32(ptrSize)
	} else {
		co.bufCap = uint32(saveStackSize) // what the first save allocates
	}
	co.resetCopyStack()
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
	clear(co.roots)
	co.roots = co.roots[:0]
	if x := co.x; x != nil {
		clear(x.cs.defers)
		x.cs.defers = x.cs.defers[:0]
		x.cs.npanic = 0
	}
}

// recycleCopyStack readies an ended Pull co for the next Pull (see
// puller.recycle): the context as before a first resume, the memory kept.
// The memo and walk buffers stay: a memo is checked against the frames
// before it is used, and the next generator is often the same code.
func (co *Co) recycleCopyStack() {
	co.resetCopyStack() // drops the roots
	co.ctSave, co.ctRestore, co.maxcpsz = 0, 0, 0
	co.costly, co.moveNext = 0, false
	co.copyStack, co.moved = true, false
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
	co.bufp, co.roots, co.memo, co.x = nil, nil, nil, nil
}

// copyStackStats returns the save-stack statistics the switch keeps.
func (co *Co) copyStackStats() SaveStack {
	return SaveStack{MaxCopySize: int(co.maxcpsz), CtSave: co.ctSave, CtRestore: co.ctRestore, ValidSize: int(co.bufCap)}
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
	for it := imageFrames(&co.swctx); ; {
		if off := it.fi.openDefer; off >= 0 && *(*uint8)(ptrAt(it.sp + uintptr(off))) != 0 {
			return true
		}
		if !it.next() {
			return false
		}
	}
}

// imageMemo returns the co's memo if it describes the saved image (a yield
// that walked its frames may have left an older one), else nil.
//
//go:nosplit
func (co *Co) imageMemo() *yieldMemo {
	if m := co.memo; m != nil && m.matchImage(co.pc, co.buf+co.n+ptrSize, co.n) {
		return m
	}
	return nil
}

// resumeSkipPC is the return address of Resume's fast-path call of the
// trampoline, and resumeSkipFrame Resume's frame size there (its spdelta):
// with them swapout returns from Resume directly. Set once, by
// learnResumeSkip; the assembly reads them. tcaller is the trampoline's
// return address, which the trampoline records until then.
var resumeSkipPC, resumeSkipFrame, tcaller uintptr

// tret is the return address into the trampoline from its call of swapin:
// the word below every co's bottom frame.
var tret uintptr

func learnResumeSkip() {
	pc := tcaller
	f := findfunc(pc)
	// The name check keeps the skip off if the code is not what it assumes.
	if !f.valid() || !hasSuffix(funcName(pc), "/aco.(*Co).Resume") {
		return
	}
	// Skipping Resume's epilogue skips its deferred afterResume, which
	// has nothing to do after a yield, but only an open-coded defer leaves
	// no trace outside the frame: a defer record (as in builds with -N)
	// would stay on the goroutine's defer chain.
	if f.funcdata(funcdataOpenCodedDefer) == nil {
		return
	}
	d := f.spdelta(pc)
	if d <= 0 {
		return
	}
	resumeSkipFrame = uintptr(d)
	resumeSkipPC = pc // published second: swapout tests it first
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// copyRepMin is the smallest image the switch copies with REP MOVSB instead
// of its SSE loop (see copyLoop in gen/switch_gen.go): on amd64 CPUs with
// enhanced REP MOVSB it beats the loop from about 2 KB here (4,072 bytes:
// 141 ns against 178 ns; below 1,000 bytes the loop is as fast or faster),
// and never without ERMS. 386 has only the loop.
var copyRepMin = ^uintptr(0)

func init() {
	if runtime.GOARCH == "amd64" && cpu.X86.HasERMS {
		copyRepMin = repMovsbMin
	}
}

// repMovsbMin is copyRepMin where the CPU has ERMS.
const repMovsbMin = 2048

// entryPC is the address the first resume jumps to: coEntry's ABI0 entry.
var entryPC uintptr

func init() {
	entryPC = coEntryPC()
	selectEngine()
}

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
		case stOK:
			mine = false // it yielded
			return
		case stEnd:
			return
		case stMove:
			mine = false // its goroutine ends it
			co.move()
			return
		}
		// stGrow: make room for the image below the trampoline.
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
	if co.moveNext && !co.moved && c.enter == 0 {
		return stMove // the trampoline is to run on a goroutine of the co's own
	}
	if hi-ptrSize-c.n < gStackLo(gp)+stackMargin {
		return stGrow
	}
	c.slow = 0
	c.hiOff = gStackHi(gp) - hi
	c.g = gp
	c.locks = gLocks(gp)
	if c.n > 0 {
		c.ctRestore++
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
		return stOK
	}
	c.hi = hi
	return stOK
}

// countRelocation counts a resume that relocated the image (the co was
// resumed at another depth) as a costly yield toward its move: the image
// is adjusted and then copied, which a co resumed at a new depth again and
// again (a lexer pulled by a recursive-descent parser) does cheaper on a
// goroutine of its own, where it stays put. The count gets costlyDecay
// more, which the yield after takes off if it is cheap: the common yield
// (captureFast) counts nothing of its own.
//
//go:nosplit
func (co *Co) countRelocation() {
	if co.moved || co.costly >= 1<<15 {
		return
	}
	co.costly += 1 + costlyDecay
	if uintptr(co.costly) >= moveAfter+costlyDecay {
		co.moveNext = true
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
		img:   co.buf + co.n + ptrSize,
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
	end := co.buf + co.n // the bottom frame's arguments are not in the image
	for it := imageFrames(&co.swctx); ; {
		for _, off := range it.fi.adjust {
			a := it.sp + uintptr(off)
			if a >= end {
				break
			}
			r.adj(a)
		}
		if !it.next() {
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
	for it := imageFrames(&co.swctx); ; {
		if a < it.sp+uintptr(it.fi.size) {
			return a >= it.sp && it.fi.adjusts(a-it.sp)
		}
		if !it.next() {
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

// attachRecords re-attaches the co's defer and panic records.
//
//go:nosplit
func (co *Co) attachRecords(gp, hi uintptr) {
	if co.x.cs.npanic > 0 {
		co.attachPanics(gp, hi)
	}
	if len(co.x.cs.defers) > 0 {
		co.attachDefers(gp, hi)
	}
}

// attachDefers links the co's saved defer records back on top of the
// goroutine's defer chain, at their places below hi. Like the runtime's
// deferprocStack it writes the links and g._defer without write barriers:
// the garbage collector finds defer records by walking g._defer itself.
//
//go:nosplit
func (co *Co) attachDefers(gp, hi uintptr) {
	x := co.x.cs
	img := co.buf + co.n + ptrSize
	next := gDefer(gp)
	for i := len(x.defers) - 1; i >= 0; i-- {
		d := x.defers[i]
		if d.heap != nil {
			setDeferLink(uintptr(d.heap), next)
			next = uintptr(d.heap)
		} else {
			setDeferLink(img-d.off, next)
			next = hi - d.off
		}
	}
	// The records stay in x.defers (dropping them would need write
	// barriers, calls): the next capture or reset overwrites them.
	x.defers = x.defers[:0]
	setGDefer(gp, next) // the last thing: see prepareResume
}

// capture runs in swapout, with the co's frames still live on the stack
// between lo (the SP of Yield, just above its return address) and the
// trampoline: it checks that the co may yield here, scans its frames
// (scan.go), recording every heap pointer they hold in roots, detaches its
// defer records and fills in the context. It returns stOK when swapout may
// copy the frames out and leave, or a status for Yield to act on (in
// yieldFailed); then c.pc and c.n tell Yield what it needs (the co is
// running, so they are free).
//
// It is nosplit and calls only nosplit code: the stack cannot move under
// it, so it may hold stack addresses. The linker bounds the stack a nosplit
// chain uses, so everything that needs memory is done by yieldFailed.
//
//go:nosplit
func capture(c *swctx, lo, gp uintptr) uintptr {
	if captureFast(c, lo, gp) {
		return stOK
	}
	return captureSlow(c, lo, gp)
}

// captureFast is capture for the common yield: a co yielding with the frames
// its memo describes, no defer records among them, no stack object
// reached. It does the whole yield in one function and returns false, with
// nothing changed that matters, for anything else.
//
// The budget of the common yield is this function and memoRoots: a few
// loads and compares for the checks, one compare per frame for the memo,
// one load and a few compares per live slot for the roots, a dozen stores
// (about 235 instructions for a Create'd co's three frames, counted with
// callgrind). Do not add to it: every check a yield needs only sometimes
// belongs to captureSlow.
//
//go:nosplit
func captureFast(c *swctx, lo, gp uintptr) bool {
	co := (*Co)(unsafe.Pointer(c))
	m := co.memo
	if m == nil {
		// A co's first yield: the last layout of its share stack, as
		// for a co of many created to run the same code.
		m = co.ss.lastMemo
	}
	if m == nil || co.st.Load() != uint32(stRunning) || co.unwind != nil || gp != c.g {
		return false
	}
	stackLo, stackHi := gStackLo(gp), gStackHi(gp)
	hi := stackHi - c.hiOff
	pc := load(lo - ptrSize)
	n := hi - ptrSize - lo
	if lo+ptrSize > hi || n > uintptr(c.bufCap) || c.buf == 0 || n > moveThreshold && !co.moved {
		return false
	}
	if !m.match(pc, hi, n) {
		// Off the common yield's budget: a co that yields at a few
		// places in turn finds its other memos here too.
		if m = otherMemo(co, pc, hi, n); m == nil {
			return false
		}
		co.memo = m
	} else if co.memo != m {
		co.memo = m // the share stack's
	}
	if co.costly != 0 {
		co.costly -= min(co.costly, costlyDecay) // a cheap yield (see costlyDecay)
	}
	if p := gPanic(gp); p >= lo && p < hi || gLocks(gp) != c.locks {
		return false
	}
	if d := gDefer(gp); d != 0 && deferSp(d) >= lo && deferSp(d) < hi {
		return false
	}
	if m.objs > 0 && pointsIntoImage(m, hi, lo) {
		return false // a stack object may be reached
	}
	nr := memoRoots(co, m, hi, stackLo, stackHi)
	if nr < 0 {
		return false
	}
	roots := unsafe.Pointer(unsafe.SliceData(co.roots))
	for i := nr; i < len(co.roots); i++ {
		*(*unsafe.Pointer)(unsafe.Add(roots, uintptr(i)*ptrSize)) = nil
	}
	co.roots = co.roots[:nr]
	c.n = n
	c.hi = hi
	c.pc = pc
	c.g = 0 // see commitYield
	c.yret = uint32(m.yret)
	c.enter = 0
	c.ctSave++
	if uint32(n) > c.maxcpsz {
		c.maxcpsz = uint32(n)
	}
	// The state stays running: swapleave marks the co suspended once its
	// image is saved (see Resume).
	co.ss.owner = nil
	return true
}

// memoRoots is captureFast's scan of the slots of a memo none of which
// points into the image, so that a pointer into the stack is never a root: it
// stores the heap pointers among them into co.roots (storing only where
// they differ from the last yield's, for the write barriers) and returns
// how many, or -1 if they do not fit. The Co, its function and its
// argument are never roots: to resume the co one must hold the Co. It is a
// function of its own so that its loop keeps every value in a register.
//
//go:nosplit
func memoRoots(co *Co, m *yieldMemo, hi, stackLo, stackHi uintptr) int {
	self, fn, arg := uintptr(unsafe.Pointer(co)), *(*uintptr)(unsafe.Pointer(&co.fn)), (*[2]uintptr)(unsafe.Pointer(&co.arg))[1]
	roots, cap := unsafe.Pointer(unsafe.SliceData(co.roots)), cap(co.roots)
	size := stackHi - stackLo
	nr := 0
	for _, off := range m.slots {
		v := load(hi - uintptr(off))
		if v == 0 || v-stackLo < size || v == self || v == fn || v == arg {
			continue
		}
		if nr == cap {
			return -1
		}
		if p := (*unsafe.Pointer)(unsafe.Add(roots, uintptr(nr)*ptrSize)); uintptr(*p) != v {
			*p = ptrAt(v)
		}
		nr++
	}
	return nr
}

// pointsIntoImage reports whether a slot m lists points into the image
// [lo, hi), where it may reach a stack object (the slow path then finds
// what it reaches).
//
//go:nosplit
func pointsIntoImage(m *yieldMemo, hi, lo uintptr) bool {
	for _, off := range m.slots {
		if v := load(hi - uintptr(off)); v >= lo && v < hi-ptrSize {
			return true
		}
	}
	return false
}

// captureSlow is capture for every other yield, in steps, each returning
// before the next: in builds without inlining every local and temporary
// has a stack slot, and the nosplit chain, write barriers included, must
// stay within the linker's bound. The scans that record roots are called
// from here directly.
//
//go:nosplit
func captureSlow(c *swctx, lo, gp uintptr) uintptr {
	var y yieldState
	y.lo, y.gp = lo, gp
	st := checkYield(c, &y)
	if st != stOK {
		return st
	}
	if takeTicket(c, &y) {
		// collectRoots scanned these frames in Go: far dearer than a
		// goroutine switch.
		y.collected = true
	} else {
		m := pickMemo(c, &y)
		if m == nil {
			m = pickOwnMemo(c, &y)
		}
		if m != nil {
			y.s.memo(m, y.hi)
		} else if x := (*Co)(unsafe.Pointer(c)).x; x != nil && x.cs.walk != nil {
			if st = y.s.findFrames(y.pc, y.hi, x.cs.walk); st == stOK {
				y.s.frameRoots(y.hi, x.cs.walk)
			}
		} else {
			st = y.s.walk(y.pc, y.hi)
		}
		if st = scanned(c, &y, st); st != stOK {
			return st
		}
	}
	// From here on nothing fails. The defers are detached from here, not
	// from commitYield: their write barriers need the room.
	if y.nd > 0 {
		(*Co)(unsafe.Pointer(c)).detachDefers(y.gp, y.hi, y.nd)
		c.slow = 1
	}
	if y.np > 0 {
		(*Co)(unsafe.Pointer(c)).detachPanics(y.gp, y.hi, y.np)
		c.slow = 1
	}
	commitYield(c, &y)
	return stOK
}

// yieldState is what capture's steps find out about a yield.
type yieldState struct {
	lo, gp      uintptr
	hi, n, pc   uintptr // the image is the n bytes below the word at hi; Yield continues at pc
	nd          int     // the co's defer records
	np          int     // the co's panic records (a deferred call yields during a panic)
	stackDefers bool    // some of them are on the stack
	collected   bool    // collectRoots found the roots
	s           scanState
}

// checkYield is capture's first step: may the co yield here at all, and
// does its image fit its save stack?
//
//go:nosplit
func checkYield(c *swctx, y *yieldState) uintptr {
	co := (*Co)(unsafe.Pointer(c))
	lo, gp := y.lo, y.gp
	if co.st.Load() != uint32(stRunning) {
		return stNotRunning
	}
	if co.unwind != nil {
		return stUnwinding
	}
	if gp != c.g {
		return stWrongG
	}
	hi := gStackHi(gp) - c.hiOff
	y.pc = load(lo - ptrSize) // the return address into Yield
	if lo+ptrSize > hi {
		c.pc, c.n = y.pc, gStackHi(gp)-lo
		return stNoFrame // learnFrames explains
	}
	// A panic unwinding through the co, whose deferred call yields: its
	// records (in gopanic's frames) are the innermost ones in the image.
	for p := gPanic(gp); p >= lo && p < hi; p = panicLink(p) {
		y.np++
	}
	if l := gLocks(gp); l != c.locks {
		if uint32(l) != uint32(c.locks) {
			return stLocked // m.lockedExt: runtime.LockOSThread
		}
		return stCgo // m.lockedInt: a cgo callback
	}
	n := hi - ptrSize - lo
	if n > uintptr(c.bufCap) || c.buf == 0 {
		c.n = n
		return stBufSmall
	}
	y.hi, y.n = hi, n
	s := &y.s
	s.lo, s.lim, s.stackLo, s.stackHi = lo, hi-ptrSize, gStackLo(gp), gStackHi(gp)
	s.self, s.fn, s.arg = uintptr(unsafe.Pointer(co)), *(*uintptr)(unsafe.Pointer(&co.fn)), (*[2]uintptr)(unsafe.Pointer(&co.arg))[1]
	s.found, s.cap = uintptr(unsafe.Pointer(unsafe.SliceData(co.ss.found))), len(co.ss.found)
	// The co's defer records are the innermost ones: those whose frame is
	// in [lo, hi).
	for d := gDefer(gp); d != 0 && deferSp(d) >= lo && deferSp(d) < hi; d = deferLink(d) {
		y.stackDefers = y.stackDefers || !deferHeap(d)
		y.nd++
	}
	return stOK
}

// takeTicket reports whether collectRoots filled co.roots for exactly
// these frames; then it sets c.yret.
//
//go:nosplit
func takeTicket(c *swctx, y *yieldState) bool {
	x := (*Co)(unsafe.Pointer(c)).x
	if x == nil || !x.cs.ticket.ok {
		return false
	}
	x.cs.ticket.ok = false
	if t := &x.cs.ticket; t.hiOff != c.hiOff || t.n != y.n || t.pc != y.pc || t.nd != y.nd || t.np != y.np {
		return false
	}
	c.yret = uint32(y.hi - (y.lo + uintptr(lookupFrame(y.pc).size) - ptrSize))
	return true
}

// pickMemo returns the co's memo if it matches the frames, or else its share
// stack's last one if that does (a co of the share stack usually yields
// like the last one did), or nil.
//
//go:nosplit
func pickMemo(c *swctx, y *yieldState) *yieldMemo {
	co := (*Co)(unsafe.Pointer(c))
	if m := co.memo; m != nil && m.match(y.pc, y.hi, y.n) {
		return m
	}
	if m := co.ss.lastMemo; m != nil && m.match(y.pc, y.hi, y.n) {
		co.memo = m
		return m
	}
	return nil
}

// otherMemo returns the one of co's memos that matches the frames, if any
// does; see pickOwnMemo.
//
//go:nosplit
func otherMemo(co *Co, pc, hi, n uintptr) *yieldMemo {
	if co.x == nil {
		return nil
	}
	for i := uintptr(0); i < memoWays; i++ {
		m := *(**yieldMemo)(unsafe.Add(unsafe.Pointer(&co.x.cs.memos), i*ptrSize))
		if m != nil && m.match(pc, hi, n) {
			return m
		}
	}
	return nil
}

// pickOwnMemo is pickMemo's search of the co's other memos: a co that
// yields at a few places in turn (a lexer's yield per kind of token) has
// a memo of each. It reads them without bounds checks (builds without
// inlining keep those, and the nosplit chain has no room for their
// panics), and is called apart from pickMemo, whose frame would not fit.
//
//go:nosplit
func pickOwnMemo(c *swctx, y *yieldState) *yieldMemo {
	co := (*Co)(unsafe.Pointer(c))
	m := otherMemo(co, y.pc, y.hi, y.n)
	if m != nil {
		co.memo = m
	}
	return m
}

// scanned finishes the scan capture made of the frames (st is walk's
// status, or stOK after a memo): it decides what Go code must do first, or
// settles the roots and c.yret.
//
//go:nosplit
func scanned(c *swctx, y *yieldState, st uintptr) uintptr {
	co := (*Co)(unsafe.Pointer(c))
	s := &y.s
	if st == stOK && s.shape != 0 {
		// walk composed the layout: the same frames as at the co's last
		// yield are worth a memo; other frames than last time, after a
		// few, walk buffers. (co.shape is set only when a yield succeeds:
		// a retry after a status below sees the same frames again.)
		if s.shape == co.shape || co.shape == 0 && s.shape == co.ss.lastShape {
			st = stMemo
		} else if !s.recorded && co.shape != 0 && co.walks >= walkBufsAfter {
			st = stWalkRoom
		}
	}
	if st == stOK && (s.objs > 0 && (s.inStack > 0 || y.stackDefers) || y.nd > 0 || y.np > 0) {
		st = stCollect // objects, defer or panic records to scan
	}
	if st != stOK {
		c.pc, c.n = y.pc, s.stackHi-y.lo // for learnFrames, buildMemo or collectRoots
		return st
	}
	if s.nr > s.cap || s.nr > cap(co.roots) {
		c.n = uintptr(s.nr)
		return stRootsSmall
	}
	// The roots, from the share stack's scratch: a store only where they
	// differ from the last yield's (write barriers), then nil beyond them.
	roots := unsafe.Pointer(unsafe.SliceData(co.roots))
	for i := 0; i < s.nr; i++ {
		v := *(*uintptr)(unsafe.Add(ptrAt(s.found), uintptr(i)*ptrSize))
		if p := (*unsafe.Pointer)(unsafe.Add(roots, uintptr(i)*ptrSize)); uintptr(*p) != v {
			*p = ptrAt(v)
		}
	}
	for i := s.nr; i < len(co.roots); i++ {
		*(*unsafe.Pointer)(unsafe.Add(roots, uintptr(i)*ptrSize)) = nil
	}
	co.roots = co.roots[:s.nr]
	c.yret = uint32(s.yret)
	return stOK
}

// commitYield is capture's last step, which cannot fail: it fills in the
// context for swapout and hands the share stack back.
//
//go:nosplit
func commitYield(c *swctx, y *yieldState) {
	co := (*Co)(unsafe.Pointer(c))
	cost := y.n + uintptr(y.s.walked)*walkFrameBytes
	if y.collected {
		cost += collectYieldBytes
	}
	if cost > moveThreshold && !co.moved {
		// A copy of this image (and for frames that keep changing, their
		// walk) costs more than a goroutine switch. Once that has held for
		// moveAfter yields in a row, which pays for the move itself, the
		// next resume moves the co onto a goroutine of its own.
		if co.costly++; uintptr(co.costly) >= moveAfter {
			co.moveNext = true
			c.slow = 1
		}
	} else {
		co.costly -= min(co.costly, costlyDecay)
	}
	if y.s.shape != 0 {
		co.shape = y.s.shape
		co.ss.lastShape = y.s.shape
		if co.walks < walkBufsAfter {
			co.walks++
		}
	}
	c.n = y.n
	c.hi = y.hi
	c.pc = y.pc
	// No goroutine runs the co until the next resume sets its own:
	// a goroutine that ran it before must not pass for its runner
	// (capture's check of the yielding goroutine, runningMsg) while
	// another one is resuming it.
	c.g = 0
	c.enter = 0
	c.ctSave++
	if uint32(y.n) > c.maxcpsz {
		c.maxcpsz = uint32(y.n)
	}
	co.ss.owner = nil // swapleave marks the co suspended (see captureFast)
}

// detachDefers takes the co's nd defer records off the goroutine's chain
// into x.cs.defers, which has room for them. On capture's nosplit path: no
// bounds checks (-N builds keep them, and the panic path is deep).
//
//go:nosplit
func (co *Co) detachDefers(gp, hi uintptr, nd int) {
	x := co.x.cs
	x.defers = x.defers[:nd:nd]
	r := unsafe.Pointer(unsafe.SliceData(x.defers))
	d := gDefer(gp)
	for i := 0; i < nd; i++ {
		next := deferLink(d)
		ref := (*deferRef)(unsafe.Add(r, uintptr(i)*unsafe.Sizeof(deferRef{})))
		if deferHeap(d) {
			ref.heap, ref.off = ptrAt(d), 0
			// While suspended a heap record must not point into a stack:
			// the stack may be freed before the co resumes.
			setDeferLink(d, 0)
		} else {
			ref.heap, ref.off = nil, hi-d
		}
		d = next
	}
	setGDefer(gp, d)
}

// detachPanics takes the co's np panic records (stack objects in the
// image: a deferred call yields while a panic unwinds through the co) off
// the goroutine's panic chain, which goes on with the resumer's panics, as
// the runtime's own chain would if the co ran on a goroutine of its own.
// The records keep their links into the image (relocate adjusts them, as
// copystack does); attachPanics links the outermost one to the resumer's
// chain again. Plain stores, as the runtime's: the chain holds only stack
// addresses, which write barriers ignore.
//
//go:nosplit
func (co *Co) detachPanics(gp, hi uintptr, np int) {
	p := gPanic(gp)
	co.x.cs.panics = hi - p
	co.x.cs.npanic = np
	for i := 0; i < np; i++ {
		p = panicLink(p)
	}
	setGPanic(gp, p)
}

// attachPanics puts the co's saved panic records, at their places below hi,
// back on top of the goroutine's panic chain; like attachDefers it writes
// the image still in the save stack, before swapin copies it in.
//
//go:nosplit
func (co *Co) attachPanics(gp, hi uintptr) {
	x := co.x.cs
	img := co.buf + co.n + ptrSize
	p := img - x.panics // the innermost record, in the save stack
	for i := 1; i < x.npanic; i++ {
		p = img - (hi - panicLink(p))
	}
	setPanicLink(p, gPanic(gp))
	x.npanic = 0
	setGPanic(gp, hi-x.panics)
}
