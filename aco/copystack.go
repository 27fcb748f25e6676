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
// put in co.roots, found with the runtime's stack maps (see chain.go); at the
// next resume they are copied back, relocated if the trampoline's frame is
// now at another address.
//
// The switch routines are generated assembly (zswitch_*.s). The parts of
// the switch that run Go code, capture and prepareResume, are go:nosplit
// and call only nosplit code: nosplit functions have no safe points (see
// cmd/compile's liveness.IsUnsafe), so neither the garbage collector nor a
// stack move can observe the frames half copied, or the roots half written.

// Status codes of swapout and trampoline (0: switched).
const (
	stOK = iota
	stNotRunning
	stUnwinding
	stWrongG
	stPanicking
	stLocked
	stNoChain
	stBufSmall
	stRootsSmall
	stRangefunc
	stGrow
)

// stackMargin is the stack kept free below a restored image: more than the
// runtime's StackGuard, so the code that continues there may run nosplit
// chains and reach the next stack check.
const stackMargin = 4096

// cs is the copy-stack state of a share-stack coroutine, the head of its
// Co: the switch routines' context, then what the Go side keeps.
type cs struct {
	swctx

	chain *chain           // layout of the frames at the last yield
	bufp  unsafe.Pointer   // a save stack outgrowing inline (noscan), keeping c.buf alive
	roots []unsafe.Pointer // heap pointers the saved frames hold

	// inline is the save stack while the image fits: words the garbage
	// collector does not scan, in the Co's own allocation.
	inline [inlineSaveWords]uintptr
}

// inlineSaveWords is the size of the inline save stack, in words: enough for
// a small generator (104 bytes on amd64) and a Co of 352 bytes in all.
const inlineSaveWords = 16

// csExtra is what only some copy-stack coroutines need, in Co.x.
type csExtra struct {
	// defers are the co's _defer records while it is suspended, innermost
	// first: a heap record by pointer, a record in the image by its offset
	// below hi.
	defers []deferRef
	// objBits is scratch for capture: two bit sets over the chain's stack
	// objects.
	objBits []uint64
	// k is capture's root collector: here rather than on the stack, to
	// keep the nosplit switch path well inside the linker's limit.
	k rootCollector
}

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
	co.slow = 1
	co.yret = 0
	co.cwCo, co.mxcsrCo = fpuDefault()
	clear(co.roots)
	co.roots = co.roots[:0]
	if x := co.x; x != nil {
		clear(x.cs.defers)
		x.cs.defers = x.cs.defers[:0]
	}
}

// releaseCopyStack drops the save stack and roots of a destroyed co.
func (co *Co) releaseCopyStack() {
	co.bufp, co.roots, co.chain, co.x = nil, nil, nil, nil
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
	if co.n == 0 || co.chain == nil {
		return false
	}
	img := ptrAt(co.buf + co.n + ptrSize) // the word at hi
	for _, off := range co.chain.openDefers {
		if *(*uint8)(unsafe.Add(img, -int(off))) != 0 {
			return true
		}
	}
	return false
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

// afterResume runs, deferred, when the trampoline returns or a panic comes
// out of it. A co that is still running has ended.
func (co *Co) afterResume() {
	if *(*uint32)(unsafe.Pointer(&co.st)) != uint32(stRunning) {
		return // it yielded
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
	defer co.afterResume()
	for trampoline(&co.swctx) != stOK {
		// stGrow: make room for the image below the trampoline.
		growStack(int(co.n) + stackMargin + 1024)
	}
}

// growStack makes the goroutine stack at least n bytes deeper than the
// caller's frame: the runtime grows stacks by copying, in the prologue of a
// function that needs more.
//
//go:noinline
func growStack(n int) {
	var pad [1024]byte
	if n > len(pad) {
		growStack(n - len(pad))
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
	if hi-ptrSize-c.n < gStackLo(gp)+stackMargin {
		return stGrow
	}
	if c.n > 0 {
		if hi != c.hi {
			co.relocate(hi)
		}
		if x := co.x; x != nil && len(x.cs.defers) > 0 {
			co.attachDefers(gp, hi)
		}
		c.rbp = hi - (c.hi - c.rbp) // frame pointer, same distance below hi
		c.ctRestore++
	}
	c.slow = 0
	c.hi = hi
	c.hiOff = gStackHi(gp) - hi
	c.g = gp
	c.locks = gLocks(gp)
	return stOK
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
	ch := co.chain
	for _, off := range ch.adjust {
		r.adj(r.img - uintptr(off))
	}
	if co.x == nil {
		return
	}
	for _, d := range co.x.cs.defers {
		a := r.img - d.off // a record in the image
		if d.heap != nil {
			a = uintptr(d.heap)
		} else if !ch.adjusts(d.off - rtDeferFn) {
			// A record that is a stack object had its fn (a closure,
			// perhaps on the stack) adjusted with the objects above.
			r.adj(a + rtDeferFn)
		}
		store(a+rtDeferSp, load(a+rtDeferSp)+r.delta)
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

// attachDefers links the co's saved defer records back on top of the
// goroutine's defer chain, at their places below hi. Like the runtime's
// deferprocStack it writes the links and g._defer without write barriers:
// the garbage collector finds defer records by walking g._defer itself.
//
//go:nosplit
func (co *Co) attachDefers(gp, hi uintptr) {
	defers := co.x.cs.defers
	img := co.buf + co.n + ptrSize
	next := gDefer(gp)
	for i := len(defers) - 1; i >= 0; i-- {
		d := defers[i]
		if d.heap != nil {
			store(uintptr(d.heap)+rtDeferLink, next)
			next = uintptr(d.heap)
		} else {
			store(img-d.off+rtDeferLink, next)
			next = hi - d.off
		}
	}
	store(gp+rtGDefer, next)
	for i := range defers {
		defers[i] = deferRef{}
	}
	co.x.cs.defers = defers[:0]
}

// capture runs in swapout, with the co's frames still live on the stack
// between lo (the SP of Yield, whose call of swapout returns to pc) and the
// trampoline: it checks that the co may yield here, finds the layout of its
// frames, records every heap pointer they hold in roots, detaches its defer
// records and fills in the context. It returns stOK when swapout may copy
// the frames out and leave, or a status for Yield to act on.
//
//go:nosplit
func capture(c *swctx, lo, pc, bp, gp uintptr) uintptr {
	co := (*Co)(unsafe.Pointer(c))
	if co.st.Load() != uint32(stRunning) {
		return stNotRunning
	}
	if co.unwind != nil {
		return stUnwinding
	}
	if gp != c.g {
		return stWrongG
	}
	stackLo, stackHi := gStackLo(gp), gStackHi(gp)
	hi := stackHi - c.hiOff
	if lo+ptrSize > hi {
		c.aux = stackHi - lo
		c.pc = pc
		return stNoChain // learnChain explains
	}
	if p := gPanic(gp); p >= lo && p < hi {
		return stPanicking
	}
	if gLocks(gp) != c.locks {
		return stLocked
	}
	n := hi - ptrSize - lo
	ch := co.chain
	if ch == nil || !ch.match(pc, hi, n) {
		// A new co of the share stack usually yields like the last one.
		if ch = co.ss.lastChain; ch == nil || !ch.match(pc, hi, n) {
			ch = findChain(pc, hi, n)
		}
		if ch == nil {
			c.aux = stackHi - lo // for learnChain
			c.pc = pc
			return stNoChain
		}
		co.chain = ch
		co.ss.lastChain = ch
	}
	if n > uintptr(c.bufCap) || c.buf == 0 {
		c.aux = n
		return stBufSmall
	}
	// The co's defer records are the innermost ones: those whose frame is
	// in [lo, hi).
	nd := 0
	for d := gDefer(gp); d != 0 && load(d+rtDeferSp) >= lo && load(d+rtDeferSp) < hi; d = load(d + rtDeferLink) {
		if *(*bool)(ptrAt(d + rtDeferRangefunc)) {
			return stRangefunc
		}
		nd++
	}

	// Record the roots. Pointers the Co holds itself are not needed: to
	// resume the co one must hold the Co.
	var nr int
	if len(ch.objs) == 0 && nd == 0 {
		// The common case, inline: live slots only.
		self, fn, arg := uintptr(unsafe.Pointer(co)), *(*uintptr)(unsafe.Pointer(&co.fn)), (*[2]uintptr)(unsafe.Pointer(&co.arg))[1]
		roots := co.roots[:cap(co.roots)]
		for _, off := range ch.slots {
			if v := load(hi - uintptr(off)); v != 0 && (v < stackLo || v >= stackHi) && v != self && v != fn && v != arg {
				if nr == len(roots) {
					c.aux = uintptr(len(ch.slots))
					return stRootsSmall
				}
				if uintptr(roots[nr]) != v {
					roots[nr] = ptrAt(v)
				}
				nr++
			}
		}
	} else if nr = co.collect(ch, gp, lo, hi, nd); nr < 0 {
		c.aux = uintptr(ch.maxRoots + nd)
		return stRootsSmall
	}
	for i := nr; i < len(co.roots); i++ {
		co.roots[i] = nil
	}
	co.roots = co.roots[:nr]

	// From here on nothing fails: detach the defers, fill in the context
	// for swapout and mark the co suspended.
	if nd > 0 {
		co.detachDefers(gp, hi, nd)
		c.slow = 1
	}
	c.n = n
	c.hi = hi
	c.pc = pc
	c.rbp = bp
	c.yret = uint32(ch.rets[0])
	c.ctSave++
	if uint32(n) > c.maxcpsz {
		c.maxcpsz = uint32(n)
	}
	co.ss.owner = nil
	co.setStateFast(stSuspended)
	return stOK
}

// collect records the roots of frames with stack objects or defer records
// and returns their number, or -1 if a scratch slice is too small.
//
//go:nosplit
func (co *Co) collect(ch *chain, gp, lo, hi uintptr, nd int) int {
	x := co.x
	w := objWords(ch)
	if x == nil || len(x.cs.objBits) < 2*w || cap(co.roots) < ch.maxRoots+nd || cap(x.cs.defers) < nd {
		return -1
	}
	// Filled field by field: a struct copy would be a bulk write barrier,
	// which may call code that is not nosplit.
	k := &x.cs.k
	k.roots, k.n = co.roots[:cap(co.roots)], 0
	k.lo, k.hi, k.stackLo, k.stackHi = lo, hi, gStackLo(gp), gStackHi(gp)
	k.self, k.ch = uintptr(unsafe.Pointer(co)), ch
	k.reached, k.scanned = x.cs.objBits[:w], x.cs.objBits[w:2*w]
	for i := range x.cs.objBits[:2*w] {
		x.cs.objBits[i] = 0
	}
	for _, off := range ch.slots {
		k.keep(load(hi - uintptr(off)))
	}
	d := gDefer(gp)
	for i := 0; i < nd; i++ {
		if !*(*bool)(ptrAt(d + rtDeferHeap)) {
			k.mark(d) // the record is a stack object
			k.keep(load(d + rtDeferFn))
		}
		d = load(d + rtDeferLink)
	}
	k.scanObjects()
	k.roots, k.ch, k.reached, k.scanned = nil, nil, nil, nil
	return k.n
}

// detachDefers takes the co's nd defer records off the goroutine's chain
// into x.cs.defers.
//
//go:nosplit
func (co *Co) detachDefers(gp, hi uintptr, nd int) {
	defers := co.x.cs.defers[:nd]
	d := gDefer(gp)
	for i := 0; i < nd; i++ {
		next := load(d + rtDeferLink)
		if *(*bool)(ptrAt(d + rtDeferHeap)) {
			defers[i] = deferRef{heap: ptrAt(d)}
			// While suspended a heap record must not point into a stack:
			// the stack may be freed before the co resumes.
			store(d+rtDeferLink, 0)
		} else {
			defers[i] = deferRef{off: hi - d}
		}
		d = next
	}
	co.x.cs.defers = defers
	store(gp+rtGDefer, d)
}

// rootCollector gathers the heap pointers of frames being saved. Stack
// objects (address-taken locals) are scanned only once a live pointer
// reaches them, as the runtime does: an unreached one may hold stale words.
type rootCollector struct {
	roots            []unsafe.Pointer
	n                int
	lo, hi           uintptr // the image
	stackLo, stackHi uintptr // the goroutine's stack
	self             uintptr // the co, which needs no root
	ch               *chain
	reached, scanned []uint64 // bit sets of stack objects, by index
}

// objWords is the number of words of a bit set over ch's stack objects.
//
//go:nosplit
func objWords(ch *chain) int { return (len(ch.objs) + 63) / 64 }

// keep records v if it is a heap (or static) pointer. Pointers into any
// goroutine stack are not roots: the image's own are relocated instead and
// mark the stack object they point into; the garbage collector ignores
// others.
//
//go:nosplit
func (k *rootCollector) keep(v uintptr) {
	if v == 0 {
		return
	}
	if v >= k.stackLo && v < k.stackHi {
		k.mark(v)
		return
	}
	if v == k.self {
		return
	}
	k.roots[k.n] = ptrAt(v)
	k.n++
}

// mark notes the stack object that contains v, if any.
//
//go:nosplit
func (k *rootCollector) mark(v uintptr) {
	if v < k.lo || v >= k.hi {
		return
	}
	// Objects are sorted by address: find the last one starting at or
	// below v.
	objs := k.ch.objs
	lo, hi := 0, len(objs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if k.hi-uintptr(objs[m].off) <= v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if i := lo - 1; i >= 0 && v < k.hi-uintptr(objs[i].off)+uintptr(objs[i].size) {
		k.reached[i/64] |= 1 << (i % 64)
	}
}

// scanObjects scans reached stack objects until no new one is reached.
//
//go:nosplit
func (k *rootCollector) scanObjects() {
	for again := true; again; {
		again = false
		for i := range k.ch.objs {
			w, bit := i/64, uint64(1)<<(i%64)
			if k.reached[w]&bit == 0 || k.scanned[w]&bit != 0 {
				continue
			}
			k.scanned[w] |= bit
			again = true
			o := &k.ch.objs[i]
			a := k.hi - uintptr(o.off)
			for _, p := range o.ptrs {
				k.keep(load(a + uintptr(p)))
			}
		}
	}
}
