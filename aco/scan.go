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
	walked  int // frames a walk (not a memo) composed

	yret     uintptr // offset below hi of Yield's return address
	shape    uint32  // hash of the frames' return PCs and the image size (walk)
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

// walkBufs are the frames of a co's last walk and room for the next one's,
// for cos whose yields keep changing frames (a recursive generator): a walk
// that reaches a frame the last one found at the same place with the same
// PC takes the rest from it, after checking the return addresses above it,
// independent compares instead of a chain of lookups. Go code allocates
// them (swWalkRoom); capture writes only their elements and lengths.
type walkBufs struct {
	mem [2][]coFrame // of equal lengths: the memory of buf, for the garbage collector
	// The nosplit path reads these, not mem: no bounds checks (builds
	// without inlining keep them all, and the nosplit chain has no room).
	buf   [2]unsafe.Pointer // &mem[i][0]
	room  int               // len(mem[i])
	n     [2]int
	cur   int // buf[cur], n[cur] frames, is the last walk
	other int // 1 - cur
}

func newWalkBufs(n int) *walkBufs {
	w := &walkBufs{mem: [2][]coFrame{make([]coFrame, n), make([]coFrame, n)}, room: n, other: 1}
	w.buf[0], w.buf[1] = unsafe.Pointer(&w.mem[0][0]), unsafe.Pointer(&w.mem[1][0])
	return w
}

//go:nosplit
func walkAt(b unsafe.Pointer, i int) *coFrame {
	return (*coFrame)(unsafe.Add(b, uintptr(i)*unsafe.Sizeof(coFrame{})))
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
	for sp := hi - s.lo; ; { // the frame's SP, as an offset below hi
		for j < k && walkAt(last, j).sp > sp {
			j++
		}
		if j < k && walkAt(last, j).sp == sp && walkAt(last, j).pc == pc {
			// The frames last[j+1:] are still where the last walk found
			// them if their return addresses, and the trampoline's below
			// the bottom frame, are unchanged.
			same := load(hi-ptrSize) == tret
			for i := j + 1; same && i < k; i++ {
				same = load(hi-walkAt(last, i).sp-ptrSize) == walkAt(last, i).pc
			}
			if same {
				if nq+k-j > w.room {
					return swWalkRoom
				}
				for ; j < k; j++ {
					walkAt(next, nq).set(walkAt(last, j))
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
		sp, fi := hi-f.sp, f.fi
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
