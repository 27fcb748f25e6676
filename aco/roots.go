//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"sort"
	"unsafe"
)

// collectRoots: the roots of frames capture could not scan on its nosplit
// path (stack objects reached through pointers, defer and panic records),
// found in ordinary Go code (scan.go's overview says when).

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
	hiOff, pc := uintptr(co.hiOff), co.pc
	n := co.n - hiOff - ptrSize
	x := co.extra()
	sc := &x.cs.collect
	self, fn, arg := uintptr(unsafe.Pointer(co)), *(*uintptr)(unsafe.Pointer(&co.fn)), (*[2]uintptr)(unsafe.Pointer(&co.arg))[1]
	roots := co.roots.slice()[:0]
	keep := func(v uintptr) {
		if v != self && v != fn && v != arg {
			roots = append(roots, ptrAt(v))
		}
	}

	// The frames, outermost last, each with its SP as an offset below hi.
	frames := sc.frames[:0]
	nobj := 0
	w := liveFrames(gp, hiOff, n+ptrSize, pc)
	for {
		w.fi = lookupFrame(w.pc)
		frames = append(frames, collectFrame{sp: w.sp, fi: w.fi, obj0: nobj})
		nobj += len(w.fi.objs)
		if st := w.step(); st == stepEnd {
			break
		} else if st != stepNext {
			panic("aco: internal error: collectRoots' frames do not end at the co's start")
		}
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
	if old := co.roots.slice(); len(old) > len(roots) && unsafe.SliceData(old) == unsafe.SliceData(roots) {
		clear(old[len(roots):]) // the roots of the last yield beyond the new ones
	}
	co.roots.set(roots)
	if x.cs.walk != nil {
		// The roots are no longer ordered as the walk buffers' record
		// says (scan.go): its next yield scans every frame.
		x.cs.walk.valid = false
	}
	if cap(x.cs.defers) < nd {
		x.cs.defers = make([]deferRef, 0, nd)
	}
	x.cs.ticket = rootsTicket{hiOff: hiOff, n: n, pc: co.pc, nd: nd, np: np, ok: true}
}
