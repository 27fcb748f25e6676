//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import "unsafe"

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
//
// Memos are in memo.go, collectRoots in roots.go; every walk steps through
// walker.go.

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
	walked  int // frames a walk (not a memo) composed, or all frames of the record (frameRoots)

	yret     uintptr // offset below hi of Yield's return address
	shape    uint32  // hash of the frames' return PCs and the image size (walk)
	base     uint16  // roots of unchanged frames kept at the start of co.roots (frameRoots)
	recorded bool    // walk recorded the frames in the co's walk buffers
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

// walk checks the frames between lo and hi against the frame cache, records
// the heap pointers of their live slots and counts the stack objects and
// the slots pointing into the image. It returns swNoFrame if a frame is not
// in the cache or cannot be yielded across, or if the frames do not end at
// the co's trampoline (learnFrames, in Go, decodes or explains); else it
// sets yret. The roots go into the share stack's scratch (see found).
//
//go:nosplit
func (s *scanState) walk(pc, hi uintptr) uintptr {
	sp := hi - s.lo         // the frame's SP, as an offset below hi
	shape := uint32(sp) | 1 // never 0: scanned tells a walk from a memo by it
	for {
		shape = shape*31 + uint32(pc)
		fi := lookupFrame(pc)
		if fi == nil || fi.bad {
			return swNoFrame
		}
		if sp == hi-s.lo {
			s.yret = sp - uintptr(fi.size) + ptrSize
		}
		a0 := hi - sp
		for _, off := range fi.slots {
			a := a0 + uintptr(off)
			if a >= s.lim {
				break // the bottom frame's arguments, in the trampoline's frame
			}
			s.slot(load(a))
		}
		s.objs += len(fi.objs)
		s.walked++
		var st int
		switch sp, pc, st = caller(hi, sp, fi); st {
		case stepNext:
		case stepEnd:
			if load(hi-ptrSize) != tret {
				return swNoFrame // overshot the co's start
			}
			s.shape = shape
			return swOK
		default:
			return swNoFrame // overshot the co's start, or Yield outside the co
		}
	}
}

// walkBufs record the frames of a co's last walk, for cos whose yields
// keep changing frames (a recursive generator): consecutive yields of a
// tree walk differ by a few frames at the top, and the frames below them
// are the ones the last walk found. A walk then finds (findFrames), from
// the bottom up, the frames whose continuation PCs are still the recorded
// ones (their layouts and places follow from the PCs), and looks up only
// the frames above them. Of those bottom frames, the ones whose live
// pointer slots still hold what the last capture saved (the saved image is
// still in the save stack: a resume only copies it in) still hold the same
// roots, which the last capture put first in co.roots, bottom frame first:
// frameRoots keeps them where they are and scans only the frames above.
// Go code allocates the buffers (swWalkRoom); capture writes only their
// elements and fields.
type walkBufs struct {
	mem []walkFrame // 2*room: [0, room) the record, bottom frame first; [room, 2*room) the new frames of a walk, innermost first
	// The nosplit path reads buf, not mem: no bounds checks (builds
	// without inlining keep them all, and the nosplit chain has no room).
	buf  unsafe.Pointer // &mem[0]
	room int
	n    int // frames in the record

	// What the record's roots are, valid only after a capture by the
	// record (commitYield), while its image is the save stack's and its
	// roots the co's: the record's capture left c.copies at stamp, the
	// image of imgN bytes at img, and nroots roots in the array at roots.
	// (Addresses as uintptrs: compared, never followed; the co keeps
	// them alive.)
	valid  bool
	stamp  uint64
	img    uintptr
	imgN   uintptr
	roots  uintptr
	nroots uint32

	// prefix and same are what livePrefix and sameFrames found: the
	// record's frames 0..prefix-1 are live below the new ones, and the
	// first same of them hold what the last capture saved.
	prefix, same int

	// misses counts the co's last yields in a row that no memo matched
	// (see searchMemos).
	misses uint32
}

// A walkFrame is a frame of the record: where it is and its layout, and,
// of the frames from the bottom one up to it, how many roots and stack
// objects they hold and the hash of their continuation PCs
// (scanState.shape, computed from the bottom: shapeB is the sum of
// pc_i * 31^i over them, shapeP 31^i of the frame above).
type walkFrame struct {
	coFrame
	roots, objs    uint32
	shapeB, shapeP uint32
}

func newWalkBufs(n int) *walkBufs {
	w := &walkBufs{mem: make([]walkFrame, 2*n), room: n}
	w.buf = unsafe.Pointer(&w.mem[0])
	return w
}

// memequal is the runtime's comparison of memory (assembly, no frame):
// linknamable, as its declaration says.
//
//go:linkname memequal runtime.memequal
//go:noescape
func memequal(a, b unsafe.Pointer, size uintptr) bool

//go:nosplit
func walkAt(b unsafe.Pointer, i int) *walkFrame {
	return (*walkFrame)(unsafe.Add(b, uintptr(i)*unsafe.Sizeof(walkFrame{})))
}

// findFrames is walk for a co with walk buffers, in three steps: it finds
// the frames, looking up only those above the record's that are still live
// and recording them; sameFrames finds which of the record's did not
// change; frameRoots scans the others. It returns swWalkRoom if they do
// not fit.
//
//go:nosplit
func (s *scanState) findFrames(pc, hi uintptr, w *walkBufs) uintptr {
	rec, top := w.buf, hi-s.lo
	// The record's bottom frames whose continuation PCs are still on the
	// stack, below the live top: their places and layouts are the same.
	p := w.prefix // livePrefix's
	// The frames above them, innermost first, into the walk half.
	nq := 0
	for sp := top; ; {
		if p > 0 && sp <= walkAt(rec, p-1).sp {
			if sp == walkAt(rec, p-1).sp && pc == walkAt(rec, p-1).pc {
				break
			}
			p = 0 // not where the record says (the PCs decide the places, so never): walk on
		}
		fi := lookupFrame(pc)
		if fi == nil || fi.bad {
			return swNoFrame
		}
		if p+nq == w.room {
			return swWalkRoom
		}
		f := walkAt(rec, w.room+nq)
		f.sp, f.pc = sp, pc
		f.setInfo(fi)
		nq++
		var st int
		if sp, pc, st = caller(hi, sp, fi); st == stepEnd {
			if load(hi-ptrSize) != tret {
				return swNoFrame // overshot the co's start
			}
			break
		} else if st != stepNext {
			return swNoFrame // overshot the co's start, or Yield outside the co
		}
	}
	// The new frames into the record, bottom first, with their hashes.
	b, pw := uint32(0), uint32(1)
	if p > 0 {
		b, pw = walkAt(rec, p-1).shapeB, walkAt(rec, p-1).shapeP
	}
	for i := p; i < p+nq; i++ {
		f := walkAt(rec, i)
		f.set(&walkAt(rec, w.room+p+nq-1-i).coFrame)
		b, pw = b+uint32(f.pc)*pw, pw*31
		f.shapeB, f.shapeP = b, pw
	}
	w.prefix, w.same, w.n = p, 0, p+nq
	return swOK
}

// livePrefix finds how many of the record's frames, from the bottom one,
// are still live on the stack below the trampoline, up to the innermost
// frame: the same continuation PCs, which give the same places and
// layouts: one load and compare per frame. It sets w.prefix for
// findFrames, which runs next; capture calls it apart, for the nosplit
// chain's room.
//
//go:nosplit
func (s *scanState) livePrefix(c *swctx) {
	w := (*Co)(unsafe.Pointer(c)).x.cs.walk
	hi := s.lim + ptrSize
	top := hi - s.lo
	f, end := w.buf, unsafe.Add(w.buf, uintptr(w.n)*unsafe.Sizeof(walkFrame{}))
	if load(hi-ptrSize) != tret {
		end = f
	}
	for ; f != end; f = unsafe.Add(f, unsafe.Sizeof(walkFrame{})) {
		sp := (*walkFrame)(f).sp
		if sp > top {
			break
		}
		if load(hi-sp-ptrSize) != (*walkFrame)(f).pc {
			break
		}
	}
	w.prefix = int((uintptr(f) - uintptr(w.buf)) / unsafe.Sizeof(walkFrame{}))
}

// sameFrames finds, of the frames below the new ones, those whose live
// slots hold what the image saved by the record's capture holds there
// (their roots are the ones it put first in co.roots), counting the slots
// among them that point into the image. A function of its own for the
// nosplit chain's room.
//
//go:nosplit
func (s *scanState) sameFrames(c *swctx) {
	co := (*Co)(unsafe.Pointer(c))
	w, hi := co.x.cs.walk, s.lim+ptrSize
	ok := w.valid && w.stamp+1 == c.copies && w.img == uintptr(c.buf) && w.roots == uintptr(co.roots.p) && w.nroots == co.roots.n
	w.valid = false // frameRoots rewrites the record
	if !ok {
		return
	}
	img := w.img + w.imgN + ptrSize // the saved image's hi
	// Commonly nothing below the new frames ran, or only the innermost
	// of them did: their bytes are the saved image's (return addresses
	// and saved frame pointers included), which one comparison shows.
	// Then only frames without stack objects: the slots that point into
	// the image (inStack) matter only with objects, and objects of the
	// new frames are out of reach of older frames.
	for k := w.prefix; k > 0 && k >= w.prefix-1; k-- {
		f := walkAt(w.buf, k-1)
		if f.objs != 0 {
			break
		}
		if lo := hi - f.sp; memequal(ptrAt(lo), ptrAt(img-(hi-lo)), hi-ptrSize-lo) {
			w.same = k
			return
		}
	}
	in := 0
	for i := 0; i < w.prefix; i++ {
		f := walkAt(w.buf, i)
		a0 := hi - f.sp
		for _, off := range f.fi.slots {
			a := a0 + uintptr(off)
			if a >= s.lim {
				break // the bottom frame's arguments, in the trampoline's frame
			}
			v := load(a)
			if v != load(img-(hi-a)) {
				return
			}
			if v >= s.lo && v < s.lim {
				in++
			}
		}
		s.inStack += in
		in = 0
		w.same = i + 1
	}
}

// frameRoots is walk's scan of the frames findFrames found: the frames
// that did not change keep their roots, at the start of co.roots (s.base);
// the others are scanned from the bottom up.
//
//go:nosplit
func (s *scanState) frameRoots(w *walkBufs) {
	rec, same, hi := w.buf, w.same, s.lim+ptrSize
	var base, objs uint32
	if same > 0 {
		base, objs = walkAt(rec, same-1).roots, walkAt(rec, same-1).objs
		if base > 1<<16-1 {
			same, base, objs = 0, 0, 0 // more than s.base holds: scan them all
			w.same = 0
		}
	}
	s.base = uint16(base)
	for i := same; i < w.n; i++ {
		f := walkAt(rec, i)
		sp := hi - f.sp
		for _, off := range f.fi.slots {
			a := sp + uintptr(off)
			if a >= s.lim {
				break // the bottom frame's arguments, in the trampoline's frame
			}
			s.slot(load(a))
		}
		objs += uint32(len(f.fi.objs))
		f.roots, f.objs = base+uint32(s.nr), objs
	}
	t := walkAt(rec, w.n-1) // Yield's frame
	s.yret = t.sp - uintptr(t.fi.size) + ptrSize
	s.objs += int(objs)
	s.shape = (uint32(hi-s.lo)|1)*t.shapeP + t.shapeB
	// A move is still worth it (commitYield's cost): the frames below
	// were checked, and the image is copied whole both ways.
	s.walked = w.n
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
