//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// A chain is the layout of the frames a share-stack coroutine has live at a
// yield: from the frame that called swapout up to the co's bottom frame,
// whose return address points into the trampoline. Frame sizes and stack
// maps depend only on the return PCs, so the chain is a pure function of
// its PC sequence; it is decoded once from the runtime's tables and shared
// by every coroutine that yields with the same PCs.
//
// All offsets are distances below hi, the trampoline's SP, so they hold
// wherever the frames sit on whatever goroutine stack.
type chain struct {
	n    uintptr   // image bytes: hi - ptrSize - lo
	pc0  uintptr   // pcs[0]
	pcs  []uintptr // return PC of each frame, innermost first
	rets []uintptr // offset of the word holding pcs[i+1] (the last one holds the trampoline's)
	// links are the return addresses match checks: at offset off below hi,
	// want (0 for the trampoline's, tret, not known when chains are
	// learned before the first resume).
	links []chainLink
	slots []uint32 // live pointer slots (locals and args), per the stack maps
	bps   []uint32 // saved frame pointers (amd64)
	objs  []chainObj
	// adjust lists, once each, the words relocation adjusts: slots, bps and
	// the pointer words of objs. A word can be in more than one of those
	// (the compiler may give an address-taken variable and a pointer slot
	// the same stack slot at different times); the runtime's copystack
	// adjusts such a word twice harmlessly, because its old and new stacks
	// never overlap, but a relocation by a few bytes would move it twice.
	adjust []uint32
	// openDefers are the offsets below hi of the deferBits bytes of frames
	// with open-coded defers.
	openDefers []uint32
	// maxRoots is how many roots slots and objects can yield at most.
	maxRoots int
	// frame0 is the number of slots of the innermost frame, Yield's: they
	// come first in slots; yieldSlots is slots[:frame0].
	frame0     int
	yieldSlots []uint32
}

type chainLink struct{ off, want uintptr }

// chainObj is a stack object (an address-taken local) of one of the frames.
type chainObj struct {
	off  uint32   // offset below hi of its first byte
	size uint32   // bytes
	ptrs []uint32 // byte offsets of its pointer words, from its first byte
}

// match reports whether the frames ending at hi, n bytes of them, whose
// innermost returns to pc, have exactly ch's layout. It compares the return
// PCs, which decide everything else. Being on capture's nosplit path, it
// makes no calls and has no bounds checks (-N builds keep all of them).
//
//go:nosplit
func (ch *chain) match(pc, hi, n uintptr) bool {
	if ch.n != n || ch.pc0 != pc {
		return false
	}
	for _, l := range ch.links {
		w := l.want
		if w == 0 {
			w = tret
		}
		if *(*uintptr)(ptrAt(hi - l.off)) != w {
			return false
		}
	}
	return true
}

// adjusts reports whether relocation adjusts the word at offset off below
// hi anyway.
//
//go:nosplit
func (ch *chain) adjusts(off uintptr) bool {
	a := ch.adjust
	lo, hi := 0, len(a)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uintptr(a[m]) < off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(a) && uintptr(a[lo]) == off
}

// objectAt returns the index of the stack object holding the byte at
// offset off below hi, or -1.
func (ch *chain) objectAt(off uintptr) int {
	// Objects are sorted by address (decreasing off): find the last one
	// starting at or below the byte.
	objs := ch.objs
	lo, hi := 0, len(objs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uintptr(objs[m].off) >= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if i := lo - 1; i >= 0 && off > uintptr(objs[i].off)-uintptr(objs[i].size) {
		return i
	}
	return -1
}

// isYield reports whether f is (*Co).Yield itself, not a function it was
// inlined into.
func isYield(f funcInfo) bool {
	return hasSuffix(funcName(f.entry()), "/aco.(*Co).Yield")
}

// chains holds every chain learned so far (copy on write, so capture can
// read it without locks); chainsMu serialises additions.
var (
	chains   atomic.Pointer[[]*chain]
	chainsMu sync.Mutex
)

// findChain looks for a learned chain that matches the frames.
//
//go:nosplit
func findChain(pc, hi, n uintptr) *chain {
	all := chains.Load()
	if all == nil {
		return nil
	}
	for _, ch := range *all {
		if ch.match(pc, hi, n) {
			return ch
		}
	}
	return nil
}

func addChain(ch *chain) *chain {
	chainsMu.Lock()
	defer chainsMu.Unlock()
	var old []*chain
	if p := chains.Load(); p != nil {
		old = *p
	}
	for _, c := range old {
		if equalPCs(c, ch) {
			return c
		}
	}
	all := append(old[:len(old):len(old)], ch)
	chains.Store(&all)
	return ch
}

func equalPCs(a, b *chain) bool {
	if a.n != b.n || len(a.pcs) != len(b.pcs) {
		return false
	}
	for i := range a.pcs {
		if a.pcs[i] != b.pcs[i] {
			return false
		}
	}
	return true
}

// frameBuf reads the stack of the current goroutine at offsets from its top
// (g.stack.hi), so a walk stays right even if the stack is moved under it.
type frameBuf struct{ g uintptr }

func (b frameBuf) addr(off uintptr) uintptr { return gStackHi(b.g) - off }
func (b frameBuf) word(off uintptr) uintptr { return load(b.addr(off)) }

// learnChain decodes the layout of the frames between the last swapout call
// (returning to c.pc, at offset c.n below the stack top: capture's failure
// leaves them there) and the trampoline (at c.hiOff), using the runtime's
// metadata the way the runtime's unwinder and garbage collector do. It
// returns an aco: error message for frames a coroutine cannot yield across.
func learnChain(c *swctx) (*chain, string) {
	b := frameBuf{g: getg()}
	ch := &chain{}
	hiOff := c.hiOff
	pc, spOff := c.pc, c.n
	if spOff <= hiOff+ptrSize {
		return nil, "aco: Yield called outside the co (no frames between Yield and the co's start)"
	}
	ch.n = spOff - hiOff - ptrSize
	for depth := 0; ; depth++ {
		f := findfunc(pc)
		if !f.valid() {
			return nil, "aco: Yield: a frame between Yield and the co's start has no runtime metadata"
		}
		name := funcName(pc)
		switch id := f.funcID(); {
		case id == funcIDCgocallback:
			return nil, "aco: Yield inside a cgo callback is not supported"
		case id != funcIDNormal && id != funcIDWrapper:
			return nil, "aco: Yield across runtime frame " + name + " is not supported"
		}
		if f.flag()&funcFlagSPWrite != 0 {
			return nil, "aco: Yield across " + name + ", which switches stacks, is not supported"
		}
		if f.args() == argsSizeUnknown {
			return nil, "aco: Yield across reflect call frame " + name + " is not supported"
		}
		d := f.spdelta(pc)
		if d < 0 {
			return nil, "aco: Yield: no frame size for " + name
		}
		// runtime.(*unwinder).resolveInternal, for architectures without a
		// link register: fp is the caller's SP, the return address sits
		// just below it.
		fpOff := spOff - uintptr(d) - ptrSize
		if fpOff < hiOff || fpOff > spOff {
			return nil, "aco: Yield called outside the co (its frames do not end at the co's start)"
		}
		ret := b.word(fpOff + ptrSize)
		if depth == 0 && !isYield(f) {
			// Only Yield calls swapout, and it is never inlined: swapin
			// returns from Yield for the co, which needs Yield's frame.
			panic("aco: internal error: swapout called from " + name)
		}
		ch.pcs = append(ch.pcs, pc)
		ch.rets = append(ch.rets, fpOff+ptrSize-hiOff)
		if msg := ch.addFrame(f, pc, spOff, fpOff, hiOff, name); msg != "" {
			return nil, msg
		}
		if depth == 0 {
			ch.frame0 = len(ch.slots)
			if len(ch.objs) > 0 || len(ch.openDefers) > 0 {
				panic("aco: internal error: Yield's frame has stack objects or defers")
			}
		}
		if ret == tret {
			if fpOff != hiOff {
				return nil, msgYieldOutside
			}
			break
		}
		if fpOff == hiOff {
			return nil, "aco: Yield called outside the co (its frames do not end at the co's start)"
		}
		if depth > 1<<20 {
			return nil, "aco: Yield: frame walk does not end"
		}
		pc, spOff = ret, fpOff
	}
	ch.pc0 = ch.pcs[0]
	for i, off := range ch.rets {
		l := chainLink{off: off}
		if i+1 < len(ch.pcs) {
			l.want = ch.pcs[i+1]
		}
		ch.links = append(ch.links, l)
	}
	ch.yieldSlots = ch.slots[:ch.frame0:ch.frame0]
	// Sorted by address, for objectAt's binary search.
	slices.SortFunc(ch.objs, func(a, b chainObj) int { return cmp.Compare(b.off, a.off) })
	ch.adjust = append(append([]uint32{}, ch.slots...), ch.bps...)
	for _, o := range ch.objs {
		for _, p := range o.ptrs {
			ch.adjust = append(ch.adjust, o.off-p)
		}
	}
	slices.Sort(ch.adjust)
	ch.adjust = slices.Compact(ch.adjust)
	ch.maxRoots = len(ch.slots)
	for _, o := range ch.objs {
		ch.maxRoots += len(o.ptrs)
	}
	return addChain(ch), ""
}

// addFrame records the pointer slots, saved frame pointer and stack objects
// of one frame (runtime.(*stkframe).getStackMap and scanframeworker).
// Offsets are below the stack top; they are stored below hi.
func (ch *chain) addFrame(f funcInfo, pc, spOff, fpOff, hiOff uintptr, name string) string {
	below := func(off uintptr) uint32 { return uint32(off - hiOff) }
	varpOff := fpOff + ptrSize // varp = fp - ptrSize
	if framePointers && varpOff < spOff {
		varpOff += ptrSize
		ch.bps = append(ch.bps, below(varpOff))
	}
	argpOff := fpOff // argp = fp (no minimum frame on x86)

	pcdata := int32(-1)
	if targetpc := pc; targetpc != f.entry() {
		targetpc--
		pcdata = f.pcdatavalue(pcdataStackMapIndex, targetpc)
	}
	if pcdata == -1 {
		pcdata = 0
	}
	// Locals.
	if size := spOff - varpOff; size > 0 {
		m := (*stackmap)(f.funcdata(funcdataLocalsPointerMap))
		if m == nil || m.n <= 0 {
			return "aco: Yield across " + name + ", which has no stack map, is not supported"
		}
		if m.nbit > 0 {
			if pcdata < 0 || pcdata >= m.n {
				return "aco: Yield: bad stack map index in " + name
			}
			bits := m.bits(pcdata)
			base := varpOff + uintptr(m.nbit)*ptrSize
			for i := uintptr(0); i < uintptr(m.nbit); i++ {
				if bits[i/8]>>(i%8)&1 != 0 {
					ch.slots = append(ch.slots, below(base-i*ptrSize))
				}
			}
		}
	}
	// Arguments: they live in the caller's frame, which for the co's bottom
	// frame is the trampoline's; those are rewritten at every resume.
	if nargs := f.args(); nargs > 0 && argpOff > hiOff {
		m := (*stackmap)(f.funcdata(funcdataArgsPointerMaps))
		if m == nil || m.n <= 0 {
			return "aco: Yield across " + name + ", whose arguments have no stack map, is not supported"
		}
		if pcdata < 0 || pcdata >= m.n {
			return "aco: Yield: bad argument map index in " + name
		}
		if m.nbit > 0 {
			bits := m.bits(pcdata)
			for i := uintptr(0); i < uintptr(m.nbit); i++ {
				if bits[i/8]>>(i%8)&1 != 0 {
					ch.slots = append(ch.slots, below(argpOff-i*ptrSize))
				}
			}
		}
	}
	// Open-coded defers: their deferBits byte (runtime.(*_panic).nextFrame).
	if p := f.funcdata(funcdataOpenCodedDefer); p != nil {
		off, _ := readuvarint(p)
		ch.openDefers = append(ch.openDefers, below(varpOff+uintptr(off)))
	}
	// Stack objects.
	if p := f.funcdata(funcdataStackObjects); p != nil {
		n := *(*uintptr)(p)
		recs := unsafe.Slice((*stackObjectRecord)(unsafe.Add(p, ptrSize)), n)
		for i := range recs {
			r := &recs[i]
			baseOff := varpOff
			if r.off >= 0 {
				baseOff = argpOff
			}
			objOff := baseOff - uintptr(int64(r.off)) // address = base + off
			if objOff > spOff {
				continue // not allocated in the frame yet
			}
			if objOff-uintptr(r.size) < hiOff {
				continue // in the trampoline's frame
			}
			o := chainObj{off: below(objOff), size: uint32(r.size)}
			mask := ptrAt(f.rodata() + uintptr(r.gcdataoff))
			for w := uintptr(0); w < uintptr(r.ptrBytes)/ptrSize; w++ {
				if *(*byte)(unsafe.Add(mask, w/8))>>(w%8)&1 != 0 {
					o.ptrs = append(o.ptrs, uint32(w*ptrSize))
				}
			}
			ch.objs = append(ch.objs, o)
		}
	}
	return ""
}

// readuvarint mirrors runtime.readvarintUnsafe.
func readuvarint(p unsafe.Pointer) (uint32, unsafe.Pointer) {
	var r uint32
	var shift int
	for {
		b := *(*uint8)(p)
		p = unsafe.Add(p, 1)
		if b < 128 {
			return r + uint32(b)<<shift, p
		}
		r += uint32(b&0x7F) << (shift & 31)
		shift += 7
	}
}

func funcName(pc uintptr) string {
	if f := runtime.FuncForPC(pc); f != nil {
		return f.Name()
	}
	return "?"
}
