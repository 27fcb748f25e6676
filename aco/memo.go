//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"sync/atomic"
)

// Memos: the whole layout of a yield's frames, kept once built, so that a
// co yielding with the same frames again (a generator's loop, an actor's
// step) is scanned with a comparison per frame (scan.go says when a memo
// is built; capture matches one with yieldMemo.match, copystack_yield.go).

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

// buildMemo composes the memo of the frames capture handed over with
// swMemo (Yield's continuing at c.pc, at c.n below the stack top), all in
// the frame cache, and makes it the co's and its share stack's.
func (co *Co) buildMemo() {
	hiOff, pc := uintptr(co.hiOff), co.pc
	n := co.n - hiOff - ptrSize
	w := liveFrames(getg(), hiOff, n+ptrSize, pc)
	// Another co may have yielded with these frames before: many actors
	// run the same code, and one memo serves them all (fewer objects, and
	// the ones a round trip reads stay in the cache).
	e := &memoTable[co.shape%uint32(len(memoTable))]
	if m := e.Load(); m != nil && m.matchLive(&w, n) {
		co.useMemo(m)
		return
	}
	m := &yieldMemo{n: n, pc0: pc}
	for {
		fi := lookupFrame(w.pc)
		w.fi = fi
		sp := w.sp
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
		st := w.step()
		l := memoLink{off: w.sp + ptrSize} // the return address into the caller
		if st == stepEnd {
			l.want = tret
			m.links = append(m.links, l)
			break
		}
		if st != stepNext {
			panic("aco: internal error: a memo's frames do not end at the co's start")
		}
		l.want = w.pc &^ fi.callerKey
		m.links = append(m.links, l)
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

// matchLive is match for Go code, whose walk w (at the innermost frame)
// reads the frames through the goroutine (the stack may move under it):
// n bytes of frames.
func (m *yieldMemo) matchLive(w *liveWalk, n uintptr) bool {
	if m.n != n || m.pc0 != w.pc {
		return false
	}
	for _, l := range m.links {
		if w.below(l.off) != l.want {
			return false
		}
	}
	return true
}
