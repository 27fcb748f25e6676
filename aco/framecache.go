//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// The frame cache maps a continuation PC to its decoded frameInfo, as the
// runtime's own pcvalue cache and stack maps are per PC. It only ever holds
// PCs at which some co was suspended, so its size is bounded by the
// program's code, however many call paths (a recursion with two call sites
// has 2^depth of them) lead to a yield.
//
// Readers are capture and prepareResume, on the nosplit switch path of any
// number of goroutines at once: they probe an open-addressing table without
// locks or calls. Writers (learnFrames, in ordinary Go code) add entries
// under frameMu: an entry's info is stored before its PC, so a reader that
// sees the PC sees the info. When the table is half full it is replaced by
// one twice its size (a copy per doubling, not per insert); readers still
// probing the old one find what it held, and nothing is ever removed.
//
// The atomic accesses use sync/atomic's functions, not its types' methods:
// the functions are compiler intrinsics even in builds without inlining,
// where a method would be a call on the nosplit path.
var (
	frameTab   unsafe.Pointer // *frameTable
	frameMu    sync.Mutex
	frameCount int // entries, under frameMu
)

type frameTable struct {
	shift uint // 8*ptrSize - log2(len(ents)), for the hash
	mask  uintptr
	ents  []frameEnt
}

type frameEnt struct {
	pc uintptr
	fi unsafe.Pointer // *frameInfo
}

// hashMul is Fibonacci hashing's multiplier for the word size.
const hashMul = uintptr(0x9E3779B97F4A7C15 >> (64 - 8*ptrSize))

const frameTabMin = 256

// lookupFrame returns the frame info of pc, or nil if it was never decoded.
//
//go:nosplit
func lookupFrame(pc uintptr) *frameInfo {
	t := (*frameTable)(atomic.LoadPointer(&frameTab))
	if t == nil {
		return nil
	}
	ents := unsafe.Pointer(unsafe.SliceData(t.ents))
	for h := (pc * hashMul) >> t.shift; ; h = (h + 1) & t.mask {
		e := (*frameEnt)(unsafe.Add(ents, h*unsafe.Sizeof(frameEnt{})))
		switch atomic.LoadUintptr(&e.pc) {
		case pc:
			return (*frameInfo)(atomic.LoadPointer(&e.fi))
		case 0:
			return nil
		}
	}
}

// addFrame puts fi in the cache (another goroutine may have added one for
// the same PC first; that one is kept) and returns the cached info.
func addFrame(fi *frameInfo) *frameInfo {
	frameMu.Lock()
	defer frameMu.Unlock()
	if old := lookupFrame(fi.pc); old != nil {
		return old
	}
	t := (*frameTable)(atomic.LoadPointer(&frameTab))
	if t == nil || 2*(frameCount+1) > len(t.ents) {
		size := frameTabMin
		if t != nil {
			size = 2 * len(t.ents)
		}
		nt := newFrameTable(size)
		if t != nil {
			for i := range t.ents {
				if e := &t.ents[i]; e.pc != 0 {
					nt.insert((*frameInfo)(e.fi))
				}
			}
		}
		atomic.StorePointer(&frameTab, unsafe.Pointer(nt))
		t = nt
	}
	t.insert(fi)
	frameCount++
	return fi
}

func newFrameTable(size int) *frameTable {
	bits := uint(0)
	for 1<<bits < size {
		bits++
	}
	return &frameTable{shift: 8*uint(ptrSize) - bits, mask: uintptr(size - 1), ents: make([]frameEnt, size)}
}

func (t *frameTable) insert(fi *frameInfo) {
	for h := (fi.pc * hashMul) >> t.shift; ; h = (h + 1) & t.mask {
		if e := &t.ents[h]; e.pc == 0 {
			atomic.StorePointer(&e.fi, unsafe.Pointer(fi))
			atomic.StoreUintptr(&e.pc, fi.pc) // published last: see frameTab
			return
		}
	}
}

// frameCacheLen returns the number of frame infos cached (for tests).
func frameCacheLen() int {
	frameMu.Lock()
	defer frameMu.Unlock()
	return frameCount
}
