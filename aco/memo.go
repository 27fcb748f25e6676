//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"sync/atomic"
	"unsafe"
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
		if len(m.links) <= memoIndexFrames {
			indexMemo(m)
		}
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
	if len(m.links) <= memoIndexFrames {
		indexMemo(m)
	}
	co.useMemo(m)
}

// The memo index: memos by their frames' return addresses, for a co's
// yield with frames it has not yielded with before but another co has.
// The iterators of one generator yield with the same layouts (each walk of
// a tree, each a new Pull, yields with one per node), and each new one
// finds them here instead of walking its frames. A memo found here is
// checked as a co's own are (match).
//
// Two tables, each a fixed number of words, so what they hold is bounded
// whatever the program does. memoFamilies holds, per yield PC and image
// size, a few memos of different link offsets: where the return addresses
// are for frames of those sizes (a recursion through one function has the
// same offsets whichever way it went; other code yielding with as many
// bytes has others). memoIndex holds memos by a hash of the PC, the size
// and their return addresses; a yield hashes the words at each family's
// offsets, which for its own layout's family are its return addresses.
//
// The switch path reads both with plain loads (in nosplit code, where an
// atomic method's call would not fit in builds without inlining): each
// slot is an aligned word, and a memo is complete before the atomic store
// that publishes it. A memo read there stays live until the co holds it:
// nosplit code has no safe points (the compiler makes none in it), so no
// collection ends before the co's memo field holds it, and a store that
// replaces it in a table shades it (the write barrier) for the collection
// under way. At most memoIndexSlots+memoFamilySlots*memoFamilyWays memos
// of at most memoIndexFrames frames each: a few hundred kilobytes at most.
var (
	memoFamilies [memoFamilySlots * memoFamilyWays]atomic.Pointer[yieldMemo]
	memoIndex    [memoIndexSlots]atomic.Pointer[yieldMemo]
)

const (
	memoFamilySlots = 1 << 8
	memoFamilyWays  = 4
	memoIndexBits   = 10
	memoIndexSlots  = 1 << memoIndexBits
	// memoIndexFrames is the most frames a memo in the index has: the
	// short generators it is for are shallow, and a deep recursion's
	// memos, one per way through it, would fill it with large ones.
	memoIndexFrames = 12
)

// memoFamily returns the first of the memoFamilyWays families of a yield
// at pc with an image of n bytes.
//
//go:nosplit
func memoFamily(pc, n uintptr) *atomic.Pointer[yieldMemo] {
	slot := uintptr((uint32(pc)*0x9e3779b1^uint32(n)*0x85ebca6b)>>(32-8)) % memoFamilySlots
	return (*atomic.Pointer[yieldMemo])(unsafe.Add(unsafe.Pointer(&memoFamilies), slot*memoFamilyWays*ptrSize))
}

// memoKey mixes a return address into a memoIndex hash.
//
//go:nosplit
func memoKey(h uint32, ret uintptr) uint32 { return (h ^ uint32(ret)) * 0x9e3779b1 }

// memoIndexSlot is the first of the two slots of memoIndex for hash h: a
// memo goes in either (two choices keep a few colliding layouts from
// evicting each other at every yield).
//
//go:nosplit
func memoIndexSlot(h uint32) uintptr {
	return uintptr(h>>(32-memoIndexBits)) % memoIndexSlots &^ 1
}

// memoCandidate is the memo of memoIndex in the slot that family way/2 of
// a yield at pc with n bytes of image below hi says (the first of its two
// slots for an even way, the second for an odd one), for the caller to
// check (match), or nil: a function of its own, whose frame is not below
// match's on the nosplit chain.
//
//go:nosplit
func memoCandidate(way, pc, hi, n uintptr) *yieldMemo {
	f := *(**yieldMemo)(unsafe.Add(unsafe.Pointer(memoFamily(pc, n)), way/2*ptrSize))
	if f == nil || f.n != n || f.pc0 != pc {
		return nil
	}
	h := uint32(pc) ^ uint32(n)
	for _, l := range f.links {
		h = memoKey(h, load(hi-l.off))
	}
	return *(**yieldMemo)(unsafe.Add(unsafe.Pointer(&memoIndex), (memoIndexSlot(h)|way&1)*ptrSize))
}

// indexMemo puts m in the memo index, and among its families if none there
// has its link offsets.
func indexMemo(m *yieldMemo) {
	fam := unsafe.Slice(memoFamily(m.pc0, m.n), memoFamilyWays)
	h := uint32(m.pc0) ^ uint32(m.n)
	for _, l := range m.links {
		h = memoKey(h, l.want) // the word at l.off of every stack m matches
	}
	way := int(h % memoFamilyWays) // the way replaced if none has room
	for i := range fam {
		f := fam[i].Load()
		if f == nil {
			way = i
			break
		}
		if f.n == m.n && f.pc0 == m.pc0 && sameOffsets(f, m) {
			way = -1
			break
		}
	}
	if way >= 0 {
		fam[way].Store(m)
	}
	pair := memoIndex[memoIndexSlot(h):][:2]
	slot := int(h>>(32-memoIndexBits-1)) & 1 // the one replaced if both are taken
	for i := range pair {
		if o := pair[i].Load(); o == nil || o == m {
			slot = i
			break
		}
	}
	pair[slot].Store(m)
}

// sameOffsets reports whether memos a and b have their links at the same
// offsets.
func sameOffsets(a, b *yieldMemo) bool {
	if len(a.links) != len(b.links) {
		return false
	}
	for i, l := range a.links {
		if b.links[i].off != l.off {
			return false
		}
	}
	return true
}

// walkedShapes holds the shapes (scan.go) of recent walks by their hash:
// a layout walked a second time, by this co or any other, gets a memo (see
// scanned). Plain loads and stores from the switch path, as the memo
// index's: a lost or stale entry only delays a memo, or builds one.
var walkedShapes [walkedShapeSlots]uint32

const walkedShapeSlots = 1 << 11

// walkedBefore reports whether a walk recently had this shape, and records
// that one has: in a bucket of four slots, so that shapes of one
// generator that hash alike do not keep evicting each other.
//
//go:nosplit
func walkedBefore(shape uint32) bool {
	b := unsafe.Add(unsafe.Pointer(&walkedShapes), uintptr(shape%walkedShapeSlots&^3)*4)
	for i := uintptr(0); i < 4; i++ {
		if *(*uint32)(unsafe.Add(b, i*4)) == shape {
			return true
		}
	}
	*(*uint32)(unsafe.Add(b, uintptr(shape>>29&3)*4)) = shape
	return false
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
