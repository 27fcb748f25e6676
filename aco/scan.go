//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"sort"
	"sync/atomic"
	"unsafe"
)

// Scanning a yield's frames. At every yield the engine walks the co's
// frames from Yield's up to its bottom frame, composing their layouts from
// the frame cache, and records every heap pointer they hold in co.roots, as
// the runtime's scanstack would find them: live pointer slots per the stack
// maps, then the stack objects (address-taken locals) that a live pointer
// or a defer record reaches, transitively (an unreached stack object may
// hold stale words, which must not become roots).
//
// The common case, frames whose stack objects nothing reaches and that
// hold no defer records, is scanned by capture itself, on the nosplit
// switch path where nothing can move the stack. A co that yields with the
// same frames again and again (a generator's loop, an actor's step) has
// their whole layout as a yieldMemo: checking it costs a comparison per
// frame, all independent of each other. Otherwise walk composes the layout
// frame by frame from the frame cache, which is bounded by the code, never
// by how many call paths lead to a yield; a memo is only built (by
// buildMemo, in Go) when two yields in a row have the same frames, so a
// recursion yielding along ever new paths does not allocate. The rest is done by
// collectRoots in ordinary Go code, which the runtime may move the stack
// under at any call: it holds stack positions only as offsets below hi, and
// reads every word through readWord, a nosplit leaf that classifies it
// (heap pointer, position in the image, nothing) at the moment it is read.
// It hands capture the roots with a ticket naming the frames they are of.

// frameIter walks a co's frames from the innermost, Yield's, to the bottom
// one, whose caller's SP is end: like runtime.unwinder over a goroutine
// stack, but over frames whose layouts are cached.
type frameIter struct {
	sp  uintptr    // the current frame's SP
	end uintptr    // the bottom frame's caller's SP
	fi  *frameInfo // the current frame's layout
}

// A frameInfo pointer is stored into a frameIter, which may be anywhere,
// without a write barrier (the nosplit chain has no room for one): that is
// safe because the frame cache keeps every frameInfo alive.

// next moves to the caller's frame; it returns false after the bottom
// frame. The frames must have been walked by capture before (every info is
// in the cache): this is for images capture saved.
//
//go:nosplit
func (it *frameIter) next() bool {
	sp := it.sp + uintptr(it.fi.size)
	if sp >= it.end {
		return false
	}
	it.sp = sp
	*(*uintptr)(unsafe.Pointer(&it.fi)) = uintptr(unsafe.Pointer(lookupFrame(load(sp-ptrSize) | it.fi.callerKey)))
	return true
}

// imageFrames starts a walk over the image of a suspended co in its save
// stack.
//
//go:nosplit
func imageFrames(c *swctx) frameIter {
	return frameIter{sp: c.buf, end: c.buf + c.n + ptrSize, fi: lookupFrame(c.pc)}
}

// scanState is capture's scan of one yield.
type scanState struct {
	lo, lim          uintptr // the image: [lo, lim), lim = hi - ptrSize
	stackLo, stackHi uintptr // the goroutine's stack
	self, fn, arg    uintptr // what the Co holds anyway: never roots

	// found is the share stack's scratch (ShareStack.found), room for cap
	// words: the slow path's scans put the roots there, without write
	// barriers, and scanned copies them into co.roots from a shallow frame
	// (the nosplit chain has no room for a barrier's calls under a scan's
	// frame in builds without inlining). The values are still in the
	// frames meanwhile, where the garbage collector sees them.
	// It is a uintptr, so that setting it (through a pointer to the
	// scanState) needs no write barrier; the share stack keeps the memory.
	found uintptr
	nr    int // roots found (may exceed cap: then capture asks for more)
	cap   int

	inStack int // slots pointing into the image
	objs    int // stack objects in the image's frames
	walked  int // frames a walk (not a memo) composed

	yret     uintptr // offset below hi of Yield's return address
	shape    uint32  // hash of the frames' return PCs and the image size (walk)
	recorded bool    // walk recorded the frames in the co's walk buffers
}

// A yieldMemo is the layout of all the frames of a yield, composed from
// their frame infos, with every offset below hi. It is immutable once
// built, and shared by the cos of a share stack that yield alike.
type yieldMemo struct {
	n, pc0 uintptr
	// links are the return addresses match checks: at offset off below
	// hi, want (tret for the bottom frame's).
	links []memoLink
	slots []uint32 // live pointer slots, offsets below hi
	// adjust are the words relocation adjusts (frameInfo.adjust), offsets
	// below hi: a co resumed at a new place from a memo'd yield
	// relocates without walking its frames.
	adjust []uint32
	objs   int // stack objects of the frames
	yret   uintptr
	// openDefers: a frame has open-coded defers (frameInfo.openDefer),
	// whose bits Destroy must look at.
	openDefers bool
}

type memoLink struct{ off, want uintptr }

// matchImage is match for a saved image, whose word at hi is at img in the
// save stack: the bottom frame's link, the trampoline's return address
// below hi, is not in the image (capture checked it).
//
//go:nosplit
func (m *yieldMemo) matchImage(pc, img, n uintptr) bool {
	if m.n != n || m.pc0 != pc {
		return false
	}
	for _, l := range m.links {
		if l.off > ptrSize && load(img-l.off) != l.want {
			return false
		}
	}
	return true
}

// memo records the heap pointers of the slots m lists, as walk does.
//
//go:nosplit
func (s *scanState) memo(m *yieldMemo, hi uintptr) {
	for _, off := range m.slots {
		s.slot(load(hi - uintptr(off)))
	}
	s.objs, s.yret = m.objs, m.yret
}

// buildMemo composes the memo of the frames capture handed over with
// swMemo (Yield's continuing at c.pc, at c.n below the stack top), all in
// the frame cache, and makes it the co's and its share stack's.
func (co *Co) buildMemo() {
	b := frameBuf{getg()}
	hiOff, pc := co.hiOff, co.pc
	n := co.n - hiOff - ptrSize
	// Another co may have yielded with these frames before: many actors
	// run the same code, and one memo serves them all (fewer objects, and
	// the ones a round trip reads stay in the cache).
	e := &memoTable[co.shape%uint32(len(memoTable))]
	if m := e.Load(); m != nil && m.matchLive(b, hiOff, pc, n) {
		co.useMemo(m)
		return
	}
	m := &yieldMemo{n: n, pc0: pc}
	for sp := n + ptrSize; ; { // the frame's SP, as an offset below hi
		fi := lookupFrame(pc)
		if sp == n+ptrSize {
			m.yret = sp - uintptr(fi.size) + ptrSize
		}
		for _, s := range fi.slots {
			if uintptr(s)+ptrSize >= sp {
				break // the bottom frame's arguments
			}
			m.slots = append(m.slots, uint32(sp-uintptr(s)))
		}
		for _, a := range fi.adjust {
			if uintptr(a)+ptrSize >= sp {
				break
			}
			m.adjust = append(m.adjust, uint32(sp-uintptr(a)))
		}
		m.objs += len(fi.objs)
		m.openDefers = m.openDefers || fi.openDefer >= 0
		sp -= uintptr(fi.size)
		l := memoLink{off: sp + ptrSize}
		if sp == 0 {
			l.want = tret
			m.links = append(m.links, l)
			break
		}
		pc = b.word(hiOff + sp + ptrSize)
		l.want = pc
		m.links = append(m.links, l)
		pc |= fi.callerKey
	}
	if len(m.links) <= memoTableFrames {
		e.Store(m)
	}
	co.useMemo(m)
}

// memoTable holds the memos built last, by the hash of their frames (the
// walk's shape), for buildMemo to share: a fixed number, so what it holds
// is bounded whatever the program does; a memo replaced here lives on in
// the cos that use it.
var memoTable [1024]atomic.Pointer[yieldMemo]

// memoTableFrames is the most frames a memo in memoTable has: a memo grows
// with the depth of its recursion, which the table must not hold on to.
const memoTableFrames = 32

// useMemo makes m the co's memo, among its memos, and its share stack's. A
// co's first memo needs no list (an actor has one): the list, in co.x,
// starts with the second.
func (co *Co) useMemo(m *yieldMemo) {
	if old := co.memo; old != nil && old != m || co.x != nil {
		x := co.extra().cs
		if old != nil {
			x.keepMemo(old)
		}
		x.keepMemo(m)
	}
	co.memo = m
	co.ss.lastMemo = m
}

// keepMemo puts m in the co's memos, in the place of the oldest, unless it
// is there.
func (x *csExtra) keepMemo(m *yieldMemo) {
	for _, k := range x.memos {
		if k == m {
			return
		}
	}
	copy(x.memos[1:], x.memos[:])
	x.memos[0] = m
}

// matchLive is match for Go code, which reads the frames through b (the
// stack may move under it): the frames whose innermost returns to pc, n
// bytes of them, end hiOff below the stack top.
func (m *yieldMemo) matchLive(b frameBuf, hiOff, pc, n uintptr) bool {
	if m.n != n || m.pc0 != pc {
		return false
	}
	for _, l := range m.links {
		if b.word(hiOff+l.off) != l.want {
			return false
		}
	}
	return true
}

// walk checks the frames between lo and hi against the frame cache, records
// the heap pointers of their live slots and counts the stack objects and
// the slots pointing into the image. It returns swNoFrame if a frame is not
// in the cache or cannot be yielded across, or if the frames do not end at
// the co's trampoline (learnFrames, in Go, decodes or explains); else it
// sets yret. The roots go into the share stack's scratch (see found).
//
//go:nosplit
func (s *scanState) walk(pc, hi uintptr) uintptr {
	sp := s.lo
	shape := uint32(hi-sp) | 1 // never 0: scanned tells a walk from a memo by it
	for {
		shape = shape*31 + uint32(pc)
		fi := lookupFrame(pc)
		if fi == nil || fi.bad {
			return swNoFrame
		}
		if sp == s.lo {
			s.yret = hi - (sp + uintptr(fi.size) - ptrSize)
		}
		for _, off := range fi.slots {
			a := sp + uintptr(off)
			if a >= s.lim {
				break // the bottom frame's arguments, in the trampoline's frame
			}
			s.slot(load(a))
		}
		s.objs += len(fi.objs)
		s.walked++
		sp += uintptr(fi.size)
		if sp >= hi {
			if sp != hi || load(hi-ptrSize) != tret {
				return swNoFrame // overshot the co's start
			}
			s.shape = shape
			return swOK
		}
		if pc = load(sp - ptrSize); pc == tret {
			return swNoFrame // another co's bottom frame: Yield outside the co
		}
		pc |= fi.callerKey
	}
}

// walkFrame is a frame found by a walk: its SP as an offset below hi, its
// continuation PC and its layout.
type walkFrame struct {
	off, pc uintptr
	fi      *frameInfo // stored without a write barrier: see frameIter
}

// walkBufs are the frames of a co's last walk and room for the next one's,
// for cos whose yields keep changing frames (a recursive generator): a walk
// that reaches a frame the last one found at the same place with the same
// PC takes the rest from it, after checking the return addresses above it,
// independent compares instead of a chain of lookups. Go code allocates
// them (swWalkRoom); capture writes only their elements and lengths.
type walkBufs struct {
	mem [2][]walkFrame // of equal lengths: the memory of buf, for the garbage collector
	// The nosplit path reads these, not mem: no bounds checks (builds
	// without inlining keep them all, and the nosplit chain has no room).
	buf   [2]unsafe.Pointer // &mem[i][0]
	room  int               // len(mem[i])
	n     [2]int
	cur   int // buf[cur], n[cur] frames, is the last walk
	other int // 1 - cur
}

func newWalkBufs(n int) *walkBufs {
	w := &walkBufs{mem: [2][]walkFrame{make([]walkFrame, n), make([]walkFrame, n)}, room: n, other: 1}
	w.buf[0], w.buf[1] = unsafe.Pointer(&w.mem[0][0]), unsafe.Pointer(&w.mem[1][0])
	return w
}

//go:nosplit
func walkAt(b unsafe.Pointer, i int) *walkFrame {
	return (*walkFrame)(unsafe.Add(b, uintptr(i)*unsafe.Sizeof(walkFrame{})))
}

// findFrames is walk for a co with walk buffers, in two passes: it finds
// the frames into the buffer that is not the last walk's (frameRoots then
// scans them). It returns swWalkRoom if they do not fit.
//
//go:nosplit
func (s *scanState) findFrames(pc, hi uintptr, w *walkBufs) uintptr {
	cur, other := w.cur, w.other
	last, k := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(&w.buf), cur*int(ptrSize))), *(*int)(unsafe.Add(unsafe.Pointer(&w.n), cur*int(ptrSize)))
	next := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(&w.buf), other*int(ptrSize)))
	nq, j := 0, 0
	for sp := s.lo; ; {
		off := hi - sp
		for j < k && walkAt(last, j).off > off {
			j++
		}
		if j < k && walkAt(last, j).off == off && walkAt(last, j).pc == pc {
			// The frames last[j+1:] are still where the last walk found
			// them if their return addresses, and the trampoline's below
			// the bottom frame, are unchanged.
			same := load(hi-ptrSize) == tret
			for i := j + 1; same && i < k; i++ {
				f := walkAt(last, i)
				a := hi - f.off - ptrSize
				same = *(*uintptr)(*(*unsafe.Pointer)(unsafe.Pointer(&a))) == f.pc
			}
			if same {
				if nq+k-j > w.room {
					return swWalkRoom
				}
				for ; j < k; j++ {
					// Copied as words: fi needs no write barrier (see walkFrame).
					from, to := walkAt(last, j), walkAt(next, nq)
					to.off, to.pc = from.off, from.pc
					*(*uintptr)(unsafe.Pointer(&to.fi)) = uintptr(unsafe.Pointer(from.fi))
					nq++
				}
				break
			}
		}
		fi := lookupFrame(pc)
		if fi == nil || fi.bad {
			return swNoFrame
		}
		if nq == w.room {
			return swWalkRoom
		}
		f := walkAt(next, nq)
		f.off, f.pc = off, pc
		*(*uintptr)(unsafe.Pointer(&f.fi)) = uintptr(unsafe.Pointer(fi))
		nq++
		sp += uintptr(fi.size)
		if sp >= hi {
			if sp != hi || load(hi-ptrSize) != tret {
				return swNoFrame // overshot the co's start
			}
			break
		}
		if pc = load(sp - ptrSize); pc == tret {
			return swNoFrame // another co's bottom frame: Yield outside the co
		}
		pc |= fi.callerKey
	}
	*(*int)(unsafe.Add(unsafe.Pointer(&w.n), other*int(ptrSize))) = nq
	w.cur, w.other = other, cur
	return swOK
}

// frameRoots is walk's scan of the frames findFrames found.
//
//go:nosplit
func (s *scanState) frameRoots(hi uintptr, w *walkBufs) {
	b := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(&w.buf), w.cur*int(ptrSize)))
	nf := *(*int)(unsafe.Add(unsafe.Pointer(&w.n), w.cur*int(ptrSize)))
	shape := uint32(hi-s.lo) | 1
	for i := 0; i < nf; i++ {
		f := walkAt(b, i)
		sp, fi := hi-f.off, f.fi
		shape = shape*31 + uint32(f.pc)
		if i == 0 {
			s.yret = hi - (sp + uintptr(fi.size) - ptrSize)
		}
		for _, off := range fi.slots {
			a := sp + uintptr(off)
			if a >= s.lim {
				break // the bottom frame's arguments, in the trampoline's frame
			}
			s.slot(load(a))
		}
		s.objs += len(fi.objs)
	}
	s.walked = nf
	s.shape = shape
	s.recorded = true
}

// slot takes the word v read from a live pointer slot of the image: a heap
// pointer goes into the scratch, a pointer into the image is counted (it
// may reach a stack object), anything else is dropped. The Co, its
// function and its argument are never roots: to resume the co one must
// hold the Co.
//
//go:nosplit
func (s *scanState) slot(v uintptr) {
	switch {
	case v == 0:
	case v >= s.stackLo && v < s.stackHi:
		if v >= s.lo && v < s.lim {
			s.inStack++
		}
	case v == s.self || v == s.fn || v == s.arg:
	default:
		if s.nr < s.cap {
			*(*uintptr)(unsafe.Add(ptrAt(s.found), uintptr(s.nr)*ptrSize)) = v
		}
		s.nr++
	}
}

// rootsTicket names the frames collectRoots filled co.roots for: capture
// takes the roots only for exactly these frames (nothing but Yield runs in
// between, so frames named alike are the same frames, even if the runtime
// moved the stack: hiOff and the sizes are distances from its top).
type rootsTicket struct {
	hiOff, n, pc uintptr
	nd, np       int
	ok           bool
}

// collectScratch is collectRoots' memory, kept by the co between yields.
type collectScratch struct {
	frames []collectFrame
	seen   []bool
	work   []int
	defers []deferSnap
}

type collectFrame struct {
	sp   uintptr // offset below hi of the frame's SP
	fi   *frameInfo
	obj0 int // index in seen of its first object
}

// Kinds of words readWord returns.
const (
	wordNone  = iota // zero, or a stack address outside the image
	wordHeap         // anything else: a pointer the garbage collector may follow
	wordImage        // an address in the image, returned as its offset below hi
)

// readWord reads the word off bytes below hi on gp's stack (hi is hiOff
// below the stack's top, the image the n bytes below hi's word) and
// classifies it at once, so that no stack address outlives the read.
//
//go:nosplit
func readWord(gp, hiOff, n, off uintptr) (uintptr, int) {
	top := gStackHi(gp)
	hi := top - hiOff
	v := load(hi - off)
	switch {
	case v == 0:
		return 0, wordNone
	case v >= gStackLo(gp) && v < top:
		if v < hi-ptrSize && v >= hi-ptrSize-n {
			return hi - v, wordImage
		}
		return 0, wordNone
	}
	return v, wordHeap
}

// deferSnap is a defer record of the co on the stack, as snapDefers reads
// it: its offset below hi and its fn word, classified.
type deferSnap struct {
	off    uintptr
	fn     uintptr
	fnKind int
}

// snapDefers reads the co's defer records (those whose frame is in the
// image) into dst and returns how many there are; heap records are left
// out (the garbage collector scans them; detachDefers keeps them). dst may
// be too short: then only the count is complete.
//
//go:nosplit
func snapDefers(gp, hiOff, n uintptr, dst []deferSnap) (nd, nstack int) {
	hi := gStackHi(gp) - hiOff
	lo := hi - ptrSize - n
	base := unsafe.Pointer(unsafe.SliceData(dst))
	for d := gDefer(gp); d != 0 && deferSp(d) >= lo && deferSp(d) < hi; d = deferLink(d) {
		nd++
		if deferHeap(d) {
			continue
		}
		if nstack < len(dst) {
			p := (*deferSnap)(unsafe.Add(base, uintptr(nstack)*unsafe.Sizeof(deferSnap{})))
			p.off = hi - d
			p.fn, p.fnKind = readWord(gp, hiOff, n, hi-deferFnAt(d))
		}
		nstack++
	}
	return nd, nstack
}

// firstPanic returns the offset below hi of the goroutine's innermost panic
// record if it is in the image, or 0; nextPanic the record its link names,
// if that is in the image too.
//
//go:nosplit
func firstPanic(gp, hiOff, n uintptr) uintptr {
	return panicOff(gp, hiOff, n, gPanic(gp))
}

//go:nosplit
func nextPanic(gp, hiOff, n, off uintptr) uintptr {
	hi := gStackHi(gp) - hiOff
	return panicOff(gp, hiOff, n, panicLink(hi-off))
}

//go:nosplit
func panicOff(gp, hiOff, n, p uintptr) uintptr {
	hi := gStackHi(gp) - hiOff
	if p < hi-ptrSize-n || p >= hi-ptrSize {
		return 0
	}
	return hi - p
}

// collectRoots fills co.roots for the frames capture handed over with
// swCollect (Yield's continuing at c.pc, at c.n below the stack top) and
// leaves the ticket for them.
func (co *Co) collectRoots() {
	gp := getg()
	hiOff, pc := co.hiOff, co.pc
	n := co.n - hiOff - ptrSize
	x := co.extra()
	sc := &x.cs.collect
	self, fn, arg := uintptr(unsafe.Pointer(co)), *(*uintptr)(unsafe.Pointer(&co.fn)), (*[2]uintptr)(unsafe.Pointer(&co.arg))[1]
	roots := co.roots[:0]
	keep := func(v uintptr) {
		if v != self && v != fn && v != arg {
			roots = append(roots, ptrAt(v))
		}
	}

	// The frames, outermost last, each with its SP as an offset below hi.
	frames := sc.frames[:0]
	nobj := 0
	for sp := n + ptrSize; ; {
		fi := lookupFrame(pc)
		frames = append(frames, collectFrame{sp: sp, fi: fi, obj0: nobj})
		nobj += len(fi.objs)
		sp -= uintptr(fi.size)
		if sp == 0 {
			break
		}
		pc = frameBuf{gp}.word(hiOff+sp+ptrSize) | fi.callerKey
	}
	sc.frames = frames
	seen := append(sc.seen[:0], make([]bool, nobj)...)
	work := sc.work[:0]
	// mark queues the stack object holding the image byte off below hi.
	mark := func(off uintptr) {
		// The frame holding it: the last (innermost first) whose SP is at or
		// below it. An address-taken argument is a stack object of the
		// callee, in the argument area at the bottom of this frame, as
		// scanframeworker counts it: then the frame below has it.
		i := sort.Search(len(frames), func(i int) bool { return frames[i].sp < off }) - 1
		if i < 0 {
			return
		}
		f := &frames[i]
		j := f.fi.objectAt(f.sp - off)
		if j < 0 && i > 0 {
			f = &frames[i-1]
			j = f.fi.objectAt(f.sp - off)
		}
		if j < 0 {
			return
		}
		if o := &f.fi.objs[j]; uintptr(o.off)+uintptr(o.size) > f.sp-ptrSize {
			return // reaches into the trampoline's frame: the bottom frame's arguments
		}
		if g := f.obj0 + j; !seen[g] {
			seen[g] = true
			work = append(work, g)
		}
	}
	word := func(off uintptr) {
		switch v, kind := readWord(gp, hiOff, n, off); kind {
		case wordHeap:
			keep(v)
		case wordImage:
			mark(v)
		}
	}
	for i := range frames {
		f := &frames[i]
		for _, s := range f.fi.slots {
			if uintptr(s)+ptrSize >= f.sp {
				break // the bottom frame's arguments
			}
			word(f.sp - uintptr(s))
		}
	}
	nd, nstack := snapDefers(gp, hiOff, n, sc.defers[:cap(sc.defers)])
	if nstack > cap(sc.defers) {
		sc.defers = make([]deferSnap, nstack)
		nd, nstack = snapDefers(gp, hiOff, n, sc.defers)
	}
	for _, d := range sc.defers[:nstack] {
		// A record on the stack is a stack object; its fn may be a closure
		// on the stack too (scanstack scans d.fn).
		mark(d.off)
		switch d.fnKind {
		case wordHeap:
			keep(d.fn)
		case wordImage:
			mark(d.fn)
		}
	}
	// The co's panic records are stack objects nothing else may point to
	// (scanstack marks g._panic itself).
	np := 0
	for off := firstPanic(gp, hiOff, n); off != 0; off = nextPanic(gp, hiOff, n, off) {
		mark(off)
		np++
	}
	for len(work) > 0 {
		g := work[len(work)-1]
		work = work[:len(work)-1]
		f := &frames[sort.Search(len(frames), func(i int) bool { return frames[i].obj0 > g })-1]
		o := &f.fi.objs[g-f.obj0]
		for _, p := range o.ptrs {
			word(f.sp - uintptr(o.off) - uintptr(p))
		}
	}
	sc.seen, sc.work = seen, work
	if old := co.roots; len(old) > len(roots) && unsafe.SliceData(old) == unsafe.SliceData(roots) {
		clear(old[len(roots):]) // the roots of the last yield beyond the new ones
	}
	co.roots = roots
	if cap(x.cs.defers) < nd {
		x.cs.defers = make([]deferRef, 0, nd)
	}
	x.cs.ticket = rootsTicket{hiOff: hiOff, n: n, pc: co.pc, nd: nd, np: np, ok: true}
}
