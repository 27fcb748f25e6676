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

// cs is the copy-stack state of a share-stack coroutine. It is allocated at
// the first resume, so coroutines on the portable engine do not carry it.
type cs struct {
	swctx

	loOff  uintptr // g.stack.hi - lo at the last swapout, for learnChain
	tbpOff uintptr // trampoline frame pointer - hi
	need   uintptr // size asked for by stBufSmall / stRootsSmall
	locks  uint64  // LockOSThread counts at resume
	chain  *chain  // layout of the frames at the last yield

	buf   []byte           // save stack: plain bytes, never scanned
	roots []unsafe.Pointer // heap pointers the saved frames hold
	nroot int
	// objBits is scratch for capture: two bit sets over the chain's stack
	// objects.
	objBits []uint64
	k       rootCollector

	// defers are the co's _defer records while it is suspended, innermost
	// first: a heap record by pointer, a record in the image by its offset
	// below hi.
	defers []deferRef
}

type deferRef struct {
	heap unsafe.Pointer
	off  uintptr
}

// useCopyStack reports whether co runs on the copy-stack engine.
func (co *Co) useCopyStack() bool { return co.ss != nil && copyStackOn }

// resumeSkipPC is the return address of Resume's fast-path call of the
// trampoline, and resumeSkipFrame Resume's frame size there (its spdelta):
// with them swapout returns from Resume directly. Set once, by
// learnResumeSkip; the assembly reads them.
var resumeSkipPC, resumeSkipFrame uintptr

func learnResumeSkip(pc uintptr) {
	// The name check keeps the skip off if the code is not what it assumes.
	f := findfunc(pc)
	if !f.valid() || funcName(pc) != "github.com/arkenstone-go/arkenstone/aco.(*Co).Resume" {
		return
	}
	d := f.spdelta(pc)
	if d <= 0 {
		return
	}
	resumeSkipFrame = uintptr(d)
	resumeSkipPC = pc // published second: swapout tests it first
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
	co := c.co
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

// resumeCopyStack runs co until it yields or ends.
func (co *Co) resumeCopyStack() {
	s := co.cs
	if s == nil {
		s = &cs{}
		s.co = co
		s.pc = entryPC
		s.slow = 1
		s.cwCo, s.mxcsrCo = fpuDefault()
		co.cs = s
	}
	s.resume()
}

// resume runs the trampoline until the image fits below it.
func (s *cs) resume() {
	defer s.co.afterResume()
	for trampoline(&s.swctx) != stOK {
		// stGrow: make room for the image below the trampoline.
		growStack(int(s.n) + stackMargin + 1024)
	}
}

// copyStats fills in the counters the switch routines keep.
func (co *Co) copyStats(st *SaveStack) {
	if s := co.cs; s != nil {
		st.CtSave, st.CtRestore = s.ctSave, s.ctRestore
	}
}

// reset returns s to its state before the first resume, keeping the save
// stack's memory, and drops the roots of the frames that have ended.
func (s *cs) reset() {
	s.n = 0
	s.yret = 0
	s.slow = 1
	s.pc = entryPC
	s.cwCo, s.mxcsrCo = fpuDefault()
	clear(s.roots)
	s.nroot = 0
	clear(s.defers)
	s.defers = s.defers[:0]
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
	s := c.co.cs
	if hi-ptrSize-c.n < gStackLo(gp)+stackMargin {
		return stGrow
	}
	if c.n > 0 {
		if hi != c.hi {
			s.relocate(hi)
		}
		if len(s.defers) > 0 {
			s.attachDefers(gp, hi)
		}
		c.rbp = hi - (c.hi - c.rbp) // frame pointer, same distance below hi
		c.ctRestore++
	}
	c.slow = 0
	c.dst = hi - ptrSize - c.n
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
func (s *cs) relocate(hi uintptr) {
	r := relocator{
		img:   uintptr(unsafe.Pointer(unsafe.SliceData(s.buf))) + s.n + ptrSize,
		oldLo: s.hi - ptrSize - s.n,
		oldHi: s.hi + s.tbpOff + ptrSize,
		delta: hi - s.hi,
	}
	ch := s.chain
	for _, off := range ch.slots {
		r.adj(r.img - uintptr(off))
	}
	for _, off := range ch.bps {
		r.adj(r.img - uintptr(off))
	}
	for i := range ch.objs {
		o := &ch.objs[i]
		for _, p := range o.ptrs {
			r.adj(r.img - uintptr(o.off) + uintptr(p))
		}
	}
	for _, d := range s.defers {
		a := r.img - d.off // a record in the image
		if d.heap != nil {
			a = uintptr(d.heap)
		} else {
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
func (s *cs) attachDefers(gp, hi uintptr) {
	img := uintptr(unsafe.Pointer(unsafe.SliceData(s.buf))) + s.n + ptrSize
	next := gDefer(gp)
	for i := len(s.defers) - 1; i >= 0; i-- {
		d := s.defers[i]
		if d.heap != nil {
			store(uintptr(d.heap)+rtDeferLink, next)
			next = uintptr(d.heap)
		} else {
			store(img-d.off+rtDeferLink, next)
			next = hi - d.off
		}
	}
	store(gp+rtGDefer, next)
	for i := range s.defers {
		s.defers[i] = deferRef{}
	}
	s.defers = s.defers[:0]
}

// capture runs in swapout, with the co's frames still live on the stack:
// it checks that the co may yield here, finds the layout of its frames,
// records every heap pointer they hold in roots, detaches its defer records
// and marks the co suspended. It returns stOK when swapout may copy the
// frames out and leave, or a status for Yield to act on.
//
//go:nosplit
func capture(c *swctx) uintptr {
	co := c.co
	s := co.cs
	if co.st.Load() != uint32(stRunning) {
		return stNotRunning
	}
	if co.unwind != nil {
		return stUnwinding
	}
	gp := c.yg
	if gp != c.g {
		return stWrongG
	}
	stackLo, stackHi := gStackLo(gp), gStackHi(gp)
	hi := stackHi - c.hiOff
	lo := c.lo
	s.loOff = stackHi - lo
	if lo+ptrSize > hi {
		return stNoChain // learnChain explains
	}
	if p := gPanic(gp); p >= lo && p < hi {
		return stPanicking
	}
	if gLocks(gp) != c.locks {
		return stLocked
	}
	n := hi - ptrSize - lo
	ch := s.chain
	if ch == nil || !ch.match(c.pc, hi, n, c.tret) {
		ch = findChain(c.pc, hi, n, c.tret)
		if ch == nil {
			return stNoChain
		}
		s.chain = ch
	}
	if uintptr(cap(s.buf)) < n {
		s.need = n
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
	if cap(s.defers) < nd {
		s.need = uintptr(nd)
		return stRootsSmall
	}

	// Record the roots. The co itself is not one: whoever can resume it
	// holds it.
	nr := 0
	if len(ch.objs) == 0 && nd == 0 {
		// The common case, inline: live slots only.
		self := uintptr(unsafe.Pointer(co))
		roots := s.roots[:cap(s.roots)]
		for _, off := range ch.slots {
			if v := load(hi - uintptr(off)); v != 0 && (v < stackLo || v >= stackHi) && v != self {
				if nr == len(roots) {
					s.need = uintptr(len(ch.slots))
					return stRootsSmall
				}
				roots[nr] = ptrAt(v)
				nr++
			}
		}
	} else {
		nr = s.collect(co, ch, gp, lo, hi, nd)
		if nr < 0 {
			s.need = uintptr(ch.maxRoots + nd)
			return stRootsSmall
		}
	}
	for i := nr; i < s.nroot; i++ {
		s.roots[i] = nil
	}
	s.nroot = nr

	// From here on nothing fails: detach the defers, fill in the context
	// for swapout and mark the co suspended.
	if nd > 0 {
		s.detachDefers(gp, hi, nd)
	}
	s.tbpOff = c.tbp - c.hi // both from the last resume
	c.n = n
	c.hi = hi
	c.tbp = hi + s.tbpOff
	c.rbp = c.ybp
	c.buf = uintptr(unsafe.Pointer(unsafe.SliceData(s.buf)))
	c.ctSave++
	c.yret = ch.rets[0]
	if nd > 0 {
		c.slow = 1
	}
	if int(n) > co.save.MaxCopySize {
		co.save.MaxCopySize = int(n)
	}
	co.ss.owner = nil
	co.setStateFast(stSuspended)
	return stOK
}

// collect records the roots of frames with stack objects or defer records
// and returns their number, or -1 if roots is too small. The collector's
// state lives in s, not on the stack, to keep within the nosplit limit.
//
//go:nosplit
func (s *cs) collect(co *Co, ch *chain, gp, lo, hi uintptr, nd int) int {
	w := objWords(ch)
	if len(s.objBits) < 2*w || cap(s.roots) < ch.maxRoots+nd {
		return -1
	}
	// Field by field: a struct copy would be a bulk write barrier, which
	// may call into code that is not nosplit.
	k := &s.k
	k.roots, k.n = s.roots[:cap(s.roots)], 0
	k.lo, k.hi, k.stackLo, k.stackHi = lo, hi, gStackLo(gp), gStackHi(gp)
	k.self, k.ch = uintptr(unsafe.Pointer(co)), ch
	k.reached, k.scanned = s.objBits[:w], s.objBits[w:2*w]
	for i := range s.objBits[:2*w] {
		s.objBits[i] = 0
	}
	for _, off := range k.ch.slots {
		k.keep(load(k.hi - uintptr(off)))
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
// into s.defers.
//
//go:nosplit
func (s *cs) detachDefers(gp, hi uintptr, nd int) {
	s.defers = s.defers[:nd]
	d := gDefer(gp)
	for i := 0; i < nd; i++ {
		next := load(d + rtDeferLink)
		if *(*bool)(ptrAt(d + rtDeferHeap)) {
			s.defers[i] = deferRef{heap: ptrAt(d)}
			// While suspended a heap record must not point into a stack:
			// the stack may be freed before the co resumes.
			store(d+rtDeferLink, 0)
		} else {
			s.defers[i] = deferRef{off: hi - d}
		}
		d = next
	}
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
