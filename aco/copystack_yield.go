//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"unsafe"
)

// The yield side of the copy-stack engine: capture, which swapout calls
// with the co's frames live below the trampoline, its fast path over a
// memo, and its slow path in steps (see copystack.go for the layout).

// captureMiss is capture for every yield its fast path does not take:
// swapout calls it when capture returns swMiss.
//
//go:nosplit
func captureMiss(c *swctx, lo, gp uintptr) uintptr {
	st := captureSlow(c, lo, gp)
	if st == swNotRunning || st == swWrongG {
		yieldOutside(c, st)
	}
	return st
}

// yieldOutside panics for a Yield by a goroutine that does not run the co
// (captureMiss's swNotRunning and swWrongG), before swapout writes c.status:
// nothing of the co may change. A suspended co's status is what the Yield
// it is resumed into reads (Destroy's unwinding), and a running co's is
// its own Yield's, on another goroutine.
//
//go:noinline
func yieldOutside(c *swctx, st uintptr) {
	if st == swNotRunning {
		(*Co)(unsafe.Pointer(c)).checkInside("Yield")
	}
	panic(msgYieldOutside)
}

// capture runs in swapout, with the co's frames still live on the stack
// between lo (the SP of Yield, just above its return address) and the
// trampoline. With captureMiss, which swapout calls when capture returns
// swMiss, it checks that the co may yield here, scans its frames
// (scan.go), recording every heap pointer they hold in roots, detaches its
// defer records and fills in the context. The two return swOK when
// swapout may copy the frames out and leave; captureMiss returns a status
// for Yield to act on (in yieldFailed) otherwise, and then c.pc and c.n
// tell Yield what it needs (the co is running, so they are free).
//
// capture itself is the fast path, for the common yield: a co yielding
// with the frames its memo describes, no defer records among them, no stack
// object reached. It does the whole yield and returns swOK; for anything
// else it returns swMiss, with nothing changed that matters (a call of
// the assembly's own then goes on, so that the slow path's frames do not
// stack on the fast path's).
//
// The budget of the common yield is this function and memoRoots: a few
// loads and compares for the checks, one compare per frame for the memo,
// one load and a few compares per live slot for the roots, a dozen stores
// (about 200 instructions for a Create'd co's three frames, counted with
// callgrind). Do not add to it: every check a yield needs only sometimes
// belongs to captureSlow.
//
// It is nosplit and calls only nosplit code: the stack cannot move under
// it, so it may hold stack addresses. The linker bounds the stack a nosplit
// chain uses, so everything that needs memory is done by yieldFailed.
//
//go:nosplit
func capture(c *swctx, lo, gp uintptr) uintptr {
	co := (*Co)(unsafe.Pointer(c))
	m := co.memo
	if m == nil {
		// A co's first yield: the last layout of its share stack, as
		// for a co of many created to run the same code.
		m = co.ss.lastMemo
	}
	if m == nil || co.st.Load() != uint32(stRunning) || co.unwinding != 0 || gp != c.g {
		return swMiss
	}
	stackLo, stackHi := gStackLo(gp), gStackHi(gp)
	hi := stackHi - uintptr(c.hiOff)
	pc := load(lo - ptrSize)
	n := hi - ptrSize - lo
	if lo+ptrSize > hi || n > uintptr(c.bufCap) || c.buf == nil || n > moveThreshold && !co.moved() {
		return swMiss
	}
	if !m.match(pc, hi, n) {
		// Off the common yield's budget: a co that yields at a few
		// places in turn finds its other memos here too.
		if !searchMemos(co) {
			c.status = statusSearched
			return swMiss
		}
		if m = otherMemo(co, pc, hi, n); m == nil {
			if m = indexedMemo(pc, hi, n); m == nil { // another co's
				missedMemos(co)
				c.status = statusSearched // captureSlow need not search again
				return swMiss
			}
		}
		if co.x != nil && co.x.cs.walk != nil {
			co.x.cs.walk.misses = 0
		}
		co.memo = m
	} else if co.memo != m {
		co.memo = m // the share stack's
	}
	if p := gPanic(gp); p >= lo && p < hi || gLocks(gp) != resumeLocks(hi) {
		return swMiss
	}
	if d := gDefer(gp); d != 0 && deferSp(d) >= lo && deferSp(d) < hi {
		return swMiss
	}
	if m.objs > 0 && pointsIntoImage(m, hi, lo) {
		return swMiss // a stack object may be reached
	}
	nr := memoRoots(co, m, hi, stackLo, stackHi)
	if nr < 0 {
		return swMiss
	}
	// A cheap yield (see costlyDecay), counted only now that it cannot
	// fail: a yield captureSlow finishes (a stack object reached, a defer
	// record) is counted there, once, and must not first be taken as a
	// cheap one.
	if co.costly != 0 {
		co.costly -= min(co.costly, costlyDecay)
	}
	roots := co.roots.p
	for i := nr; i < int(co.roots.n); i++ {
		*(*unsafe.Pointer)(unsafe.Add(roots, uintptr(i)*ptrSize)) = nil
	}
	co.roots.n = uint32(nr)
	c.n = n
	c.hi = hi
	c.pc = pc
	c.g = 0 // see commitYield
	c.yret = uint32(m.yret)
	c.enter = 0
	co.memoImage = true
	c.copies++
	if uint32(n) > c.maxcpsz {
		c.maxcpsz = uint32(n)
	}
	// The state stays running: swapleave marks the co suspended once its
	// image is saved (see Resume).
	co.ss.owner = nil
	return swOK
}

// memoRoots is capture's scan of the slots of a memo none of which
// points into the image, so that a pointer into the stack is never a root: it
// stores the heap pointers among them into co.roots (storing only where
// they differ from the last yield's, for the write barriers) and returns
// how many, or -1 if they do not fit. The Co, its function and its
// argument are never roots: to resume the co one must hold the Co. It is a
// function of its own so that its loop keeps every value in a register.
// The Co is the commonest slot value (every frame that calls Yield holds
// it), so it is compared first; the function and argument are read only
// for a slot that is none of the others, so that the loop's values fit in
// registers (no reload from the frame per slot).
//
//go:nosplit
func memoRoots(co *Co, m *yieldMemo, hi, stackLo, stackHi uintptr) int {
	self := uintptr(unsafe.Pointer(co))
	roots, cap := co.roots.p, int(co.roots.c)
	size := stackHi - stackLo
	nr := 0
	for _, off := range m.slots {
		v := load(hi - uintptr(off))
		if v == self || v-stackLo < size || v == 0 ||
			v == *(*uintptr)(unsafe.Pointer(&co.fn)) || v == (*[2]uintptr)(unsafe.Pointer(&co.arg))[1] {
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
	if st != swOK {
		return st
	}
	// A walk of frames the index cannot have (more than memoIndexFrames)
	// would otherwise search the co's memos and the index twice per yield.
	// (Read after checkYield: only the co's runner owns c.status. swapout
	// writes it after capture.)
	y.searched = c.status == statusSearched
	if takeTicket(c, &y) {
		// collectRoots scanned these frames in Go: far dearer than a
		// goroutine switch.
		y.collected = true
	} else {
		m := pickMemo(c, &y)
		if m == nil && !y.searched {
			m = pickOwnMemo(c, &y)
		}
		if m == nil && !y.searched {
			m = pickIndexedMemo(c, &y)
		}
		if m != nil {
			y.s.memo(m, y.hi)
			y.memo = true
		} else if x := (*Co)(unsafe.Pointer(c)).x; x != nil && x.cs.walk != nil {
			y.s.livePrefix(c)
			if st = y.s.findFrames(y.pc, y.hi, x.cs.walk); st == swOK {
				y.s.sameFrames(c)
				y.s.frameRoots(x.cs.walk)
			}
		} else {
			st = y.s.walk(y.pc, y.hi)
		}
		if st = scanned(c, &y, st); st != swOK {
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
	return swOK
}

// yieldState is what capture's steps find out about a yield.
type yieldState struct {
	lo, gp      uintptr
	hi, n, pc   uintptr // the image is the n bytes below the word at hi; Yield continues at pc
	nd          int     // the co's defer records
	np          int     // the co's panic records (a deferred call yields during a panic)
	stackDefers bool    // some of them are on the stack
	collected   bool    // collectRoots found the roots
	memo        bool    // co.memo describes the frames (a memo matched)
	searched    bool    // capture's fast path found no memo of the co's or the index's (statusSearched)
	s           scanState
}

// statusSearched is what capture's fast path leaves in c.status for captureSlow,
// within one capture, when it searched the co's memos and the index and
// none matched. swapout overwrites it after capture: with capture's status,
// or swOK when the co yielded (the status is swOK while the co runs).
const statusSearched = 0xff

// checkYield is capture's first step: may the co yield here at all, and
// does its image fit its save stack?
//
//go:nosplit
func checkYield(c *swctx, y *yieldState) uintptr {
	co := (*Co)(unsafe.Pointer(c))
	lo, gp := y.lo, y.gp
	if co.st.Load() != uint32(stRunning) {
		return swNotRunning
	}
	if gp != c.g {
		return swWrongG // before unwinding: the co's Unwind is not this goroutine's
	}
	if co.unwinding != 0 {
		return swUnwinding
	}
	hi := gStackHi(gp) - uintptr(c.hiOff)
	y.pc = load(lo - ptrSize) // the return address into Yield
	if lo+ptrSize > hi {
		c.pc, c.n = y.pc, gStackHi(gp)-lo
		return swNoFrame // learnFrames explains
	}
	// A panic unwinding through the co, whose deferred call yields: its
	// records (in gopanic's frames) are the innermost ones in the image.
	for p := gPanic(gp); p >= lo && p < hi; p = panicLink(p) {
		y.np++
	}
	if l, r := gLocks(gp), resumeLocks(hi); l != r {
		if uint32(l) != uint32(r) {
			return swLocked // m.lockedExt: runtime.LockOSThread
		}
		return swCgo // m.lockedInt: a cgo callback
	}
	n := hi - ptrSize - lo
	if n > uintptr(c.bufCap) || c.buf == nil {
		c.n = n
		return swBufSmall
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
	return swOK
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
	if t := &x.cs.ticket; t.hiOff != uintptr(c.hiOff) || t.n != y.n || t.pc != y.pc || t.nd != y.nd || t.np != y.np {
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

// pickIndexedMemo is pickMemo's search of the memo index (memo.go), apart
// for the nosplit chain's room as pickOwnMemo is. A memo found there counts
// as the co's own would (commitYield): no frame is walked.
//
//go:nosplit
func pickIndexedMemo(c *swctx, y *yieldState) *yieldMemo {
	for way := uintptr(0); way < 2*memoFamilyWays; way++ {
		if m := memoCandidate(way, y.pc, y.hi, y.n); m != nil && m.match(y.pc, y.hi, y.n) {
			(*Co)(unsafe.Pointer(c)).memo = m
			return m
		}
	}
	return nil
}

// searchMemos reports whether capture's fast path is to search the co's other memos
// and the memo index for a yield its memo did not match. A co whose frames
// keep changing (one with walk buffers: a deep recursion's, whose every
// yield has frames of its own) and whose last memoMissRun yields matched no
// memo searches at one yield in memoMissRun: the searches were about a
// seventh of such a yield's instructions (a depth-10 tree walk's, with
// moves off), and a memo built meanwhile is still found.
//
//go:nosplit
func searchMemos(co *Co) bool {
	if co.x == nil || co.x.cs.walk == nil {
		return true
	}
	w := co.x.cs.walk
	if w.misses < memoMissRun {
		return true
	}
	w.misses++
	return w.misses%memoMissRun == 0
}

// missedMemos counts a yield no memo matched (see searchMemos).
//
//go:nosplit
func missedMemos(co *Co) {
	if co.x != nil && co.x.cs.walk != nil && co.x.cs.walk.misses < memoMissRun {
		co.x.cs.walk.misses++
	}
}

// memoMissRun is how many yields in a row no memo matched before a co
// searches for one at one yield in so many (see searchMemos).
const memoMissRun = 8

// indexedMemo is capture's search of the memo index: the memo that
// matches the frames of a yield at pc with n bytes of image below hi, or
// nil.
//
//go:nosplit
//go:noinline
func indexedMemo(pc, hi, n uintptr) *yieldMemo {
	for way := uintptr(0); way < 2*memoFamilyWays; way++ {
		if m := memoCandidate(way, pc, hi, n); m != nil && m.match(pc, hi, n) {
			return m
		}
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
// status, or swOK after a memo): it decides what Go code must do first, or
// settles the roots and c.yret.
//
//go:nosplit
func scanned(c *swctx, y *yieldState, st uintptr) uintptr {
	co := (*Co)(unsafe.Pointer(c))
	s := &y.s
	if st == swOK && s.shape != 0 {
		// walk composed the layout: the same frames as at the co's last
		// yield are worth a memo, as are frames walked lately by any co
		// (walkedBefore) that are few enough for the memo index, where
		// the next cos to yield with them find it; other frames than last
		// time, after a few, walk buffers. (co.shape is set only when a
		// yield succeeds: a retry after a status below sees the same
		// frames again.)
		co.ss.walks++
		if s.recorded {
			// A co with walk buffers: its next yield scans only the
			// frames that changed, which a yield by a memo (whose roots
			// are not ordered by frame) undoes, so it builds memos only
			// for the index.
			if s.walked <= memoIndexFrames && walkedBefore(s.shape) {
				co.shape = s.shape
				st = swMemo
			}
		} else if s.shape == co.shape || co.shape == 0 && s.shape == co.ss.lastShape {
			st = swMemo
		} else if s.walked <= memoIndexFrames && walkedBefore(s.shape) {
			co.shape = s.shape // buildMemo's key into memoTable
			st = swMemo
		} else if co.shape != 0 && co.walks >= walkBufsAfter {
			st = swWalkRoom
		}
	}
	if st == swOK && (s.objs > 0 && (s.inStack > 0 || y.stackDefers) || y.nd > 0 || y.np > 0) {
		st = swCollect // objects, defer or panic records to scan
	}
	if st != swOK {
		c.pc, c.n = y.pc, s.stackHi-y.lo // for learnFrames, buildMemo or collectRoots
		return st
	}
	if s.nr > s.cap || int(s.base)+s.nr > int(co.roots.c) {
		c.n = uintptr(int(s.base) + s.nr)
		return swRootsSmall
	}
	// The roots, from the share stack's scratch, after those the
	// unchanged frames keep: a store only where they differ from the last
	// yield's (write barriers), then nil beyond them.
	roots := unsafe.Add(co.roots.p, uintptr(s.base)*ptrSize)
	for i := 0; i < s.nr; i++ {
		v := *(*uintptr)(unsafe.Add(ptrAt(s.found), uintptr(i)*ptrSize))
		if p := (*unsafe.Pointer)(unsafe.Add(roots, uintptr(i)*ptrSize)); uintptr(*p) != v {
			*p = ptrAt(v)
		}
	}
	for i := int(s.base) + s.nr; i < int(co.roots.n); i++ {
		*(*unsafe.Pointer)(unsafe.Add(co.roots.p, uintptr(i)*ptrSize)) = nil
	}
	co.roots.n = uint32(int(s.base) + s.nr)
	c.yret = uint32(s.yret)
	return swOK
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
	if cost > moveThreshold && !co.moved() {
		// A copy of this image (and for frames that keep changing, their
		// walk) costs more than a goroutine switch. Once that has held for
		// moveAfter yields in a row, which pays for the move itself, the
		// next resume moves the co onto a goroutine of its own.
		if co.costly++; uintptr(co.costly) >= moveAfter {
			co.mode = modeMoveNext
			c.slow = 1
		}
	} else {
		co.costly -= min(co.costly, costlyDecay)
	}
	if y.s.shape != 0 {
		co.shape = y.s.shape
		co.ss.lastShape = y.s.shape
		scannedFrames := y.s.walked
		if y.s.recorded {
			scannedFrames -= co.x.cs.walk.same
			co.ss.keptFrames += uint64(co.x.cs.walk.same)
		}
		co.ss.walkedFrames += uint64(scannedFrames)
		if co.walks < walkBufsAfter {
			co.walks++
		}
	}
	if y.s.recorded {
		// The record's roots are co.roots, its frames the image that
		// swapleave saves now (see walkBufs).
		w := co.x.cs.walk
		w.valid, w.stamp, w.img, w.imgN = true, c.copies+1, uintptr(c.buf), y.n
		w.roots, w.nroots = uintptr(co.roots.p), co.roots.n
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
	co.memoImage = y.memo
	c.copies++
	if uint32(y.n) > c.maxcpsz {
		c.maxcpsz = uint32(y.n)
	}
	co.ss.owner = nil // swapleave marks the co suspended (see capture)
}

// match reports whether the frames ending at hi, n bytes of them, whose
// innermost returns to pc, have exactly m's layout. The return PCs decide
// everything else.
//
//go:nosplit
func (m *yieldMemo) match(pc, hi, n uintptr) bool {
	if m.n != n || m.pc0 != pc {
		return false
	}
	for _, l := range m.links {
		if load(hi-l.off) != l.want {
			return false
		}
	}
	return true
}

// resumeLocks returns the thread's LockOSThread counts at the resume of the
// co running above hi (its trampoline's SP): the trampoline keeps them in
// its frame while the co runs, as they belong to the resume, not the co.
// A co yields with the counts it was resumed with.
//
//go:nosplit
func resumeLocks(hi uintptr) uint64 {
	return *(*uint64)(ptrAt(hi + trampLocks))
}

// yieldFailed acts on a status from swapout: it makes room, learns the
// frame layout, collects roots, or panics for a yield that cannot be done.
func (co *Co) yieldFailed() {
	switch st := uintptr(co.status); st {
	case swUnwinding:
		co.panicUnwind()
	case swLocked:
		panic(msgYieldLocked)
	case swCgo:
		panic(msgYieldCgo)
	case swNoFrame:
		if msg := learnFrames(&co.swctx); msg != "" {
			panic(msg)
		}
	case swCollect:
		co.collectRoots()
	case swMemo:
		co.buildMemo()
	case swWalkRoom:
		x := co.extra()
		n := 16
		if w := x.cs.walk; w != nil {
			n = 2 * w.room
		}
		// A new walk starts without a last one to compare with.
		x.cs.walk = newWalkBufs(n)
	case swBufSmall:
		n := max(int(co.n), int(co.bufCap))
		if co.buf != nil && co.buf != unsafe.Pointer(&co.inline) {
			n = max(n, 2*int(co.bufCap))
		}
		b := make([]byte, n)
		co.buf = unsafe.Pointer(&b[0])
		co.bufCap = uint32(n)
	case swRootsSmall:
		n := max(int(co.n), 2*int(co.roots.c), 8)
		if int(co.roots.c) < int(co.n) {
			roots := make([]unsafe.Pointer, co.roots.n, n)
			copy(roots, co.roots.slice())
			co.roots.set(roots)
		}
		if ss := co.ss; len(ss.found) < int(co.n) {
			ss.found = make([]uintptr, n)
		}
	default:
		panic("aco: internal error: unknown switch status")
	}
}
