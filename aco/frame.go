//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"unsafe"
)

// A frameInfo is the layout of one frame of a co at a yield, decoded from
// the runtime's tables the way runtime.(*stkframe).getStackMap and
// scanframeworker read them. It depends only on the frame's continuation
// PC (the return address into its function), so it is decoded once per PC
// and shared by every co: the frame cache (framecache.go) is bounded by the
// code, not by how many call paths a program takes. A yield's layout is the
// sequence of its frames' infos, composed while walking them (scan.go).
//
// Every offset is measured up from the frame's SP, so it holds wherever the
// frame sits: on a goroutine stack or in a save stack.
type frameInfo struct {
	// The fields a yield reads come first, in one cache line.

	pc uintptr // the continuation PC this frame info describes

	// slots are the live pointer words at pc, ascending: locals, then
	// arguments, which live in the caller's frame (offsets of size and
	// more; for a co's bottom frame they are in the trampoline's frame,
	// outside the image).
	slots []uint32
	// objs are the frame's stack objects (address-taken locals and
	// arguments), ascending by offset.
	objs []frameObj

	// size is the distance from the frame's SP to its caller's SP: the
	// frame (pcsp's spdelta) and the return address above it (at size -
	// ptrSize).
	size uint32

	// openDefer is the offset of the frame's deferBits byte, or -1 when
	// the function has no open-coded defers.
	openDefer int32

	// callerKey is ORed into the return address above this frame to look
	// up its caller's layout: sigpanicKey for runtime.sigpanic, whose
	// "return address" is the faulting PC (see decodeFrame), else 0.
	callerKey uintptr

	// bad marks a frame no co may yield across; why says why, in an aco:
	// message.
	bad bool
	why string

	// adjust lists, once each and ascending, the words relocation adjusts:
	// slots, the saved frame pointer and the objects' pointer words. A word
	// can be in more than one of those (the compiler may give an
	// address-taken variable and a pointer slot the same stack word at
	// different times); the runtime's copystack adjusts such a word twice
	// harmlessly, because its old and new stacks never overlap, but a
	// relocation by a few bytes would move it twice.
	adjust []uint32
}

// frameObj is a stack object of a frame.
type frameObj struct {
	off  uint32   // offset of its first byte from the frame's SP
	size uint32   // bytes
	ptrs []uint32 // byte offsets of its pointer words, from its first byte
}

// sigpanicKey marks, in a frame cache key, the frame of a function that
// faulted: the signal handler made it "call" runtime.sigpanic at the
// faulting instruction, which is no call site (and could be one's return
// address). No code address has the top bit set.
const sigpanicKey = uintptr(1) << (8*ptrSize - 1)

// reflectKey marks, in a frame cache key, the frame that called a function
// made by reflect.MakeFunc or a reflect method value: the arguments of the
// stub (reflect.makeFuncStub, methodValueCall) have no map of their own,
// and are the caller's pointer words its call site passes
// (runtime.argMapInternal), which the caller's layout includes.
const reflectKey = uintptr(1) << (8*ptrSize - 2)

// decodeFrame decodes the frame that continues at pc (with sigpanicKey: the
// frame of a function that faulted at pc; with reflectKey: a frame that
// called a reflect stub, whose argument words at offsets stubArgs it
// holds). A frame no co can yield across comes back bad, with the reason.
func decodeFrame(pc uintptr, stubArgs []uint32) *frameInfo {
	fi := &frameInfo{pc: pc, openDefer: -1}
	if msg := fi.decode(pc&^(sigpanicKey|reflectKey), pc&sigpanicKey != 0); msg != "" {
		*fi = frameInfo{pc: pc, openDefer: -1, bad: true, why: msg}
		return fi
	}
	if pc&reflectKey != 0 {
		fi.slots = append(stubArgs, fi.slots...) // below the locals: the outgoing arguments
		fi.adjust = append(slices.Clone(stubArgs), fi.adjust...)
		slices.Sort(fi.adjust)
		fi.adjust = slices.Compact(fi.adjust)
	}
	return fi
}

func (fi *frameInfo) decode(pc uintptr, faulted bool) string {
	f := findfunc(pc)
	if !f.valid() {
		return "aco: Yield across a function without Go metadata (foreign code between the co's start and Yield)"
	}
	name := funcName(pc)
	switch id := f.funcID(); {
	case id == funcIDCgocallback:
		return msgYieldCgo
	case id == funcIDSigpanic:
		fi.callerKey = sigpanicKey
	case id != funcIDNormal && id != funcIDWrapper && id != funcIDGopanic:
		// gopanic's frame is an ordinary one while it runs a deferred
		// call: a yield there saves it, its panic record (a stack object)
		// with it (see detachPanics); sigpanic's likewise.
		return "aco: Yield across runtime frame " + name + " is not supported"
	}
	if f.flag()&funcFlagSPWrite != 0 {
		return "aco: Yield across " + name + ", which switches stacks, is not supported"
	}
	stub := false
	if f.args() == argsSizeUnknown {
		if name != "reflect.makeFuncStub" && name != "reflect.methodValueCall" {
			return "aco: Yield across reflect call frame " + name + " is not supported"
		}
		stub = true // no arguments map: see reflectKey
		fi.callerKey = reflectKey
	}
	d := f.spdelta(pc)
	if d < 0 {
		return "aco: Yield: no frame size for " + name
	}
	// runtime.(*unwinder).resolveInternal, for architectures without a
	// link register: fp, the caller's SP, is one word above the return
	// address, which is at SP+spdelta.
	sp := uintptr(0)
	fp := uintptr(d) + ptrSize
	fi.size = uint32(fp)
	varp := fp - ptrSize
	var bp []uint32
	if framePointers && varp > sp {
		varp -= ptrSize
		bp = []uint32{uint32(varp)}
	}
	argp := fp // no minimum frame on x86

	pcdata := int32(-1)
	if faulted {
		// runtime.(*unwinder).next: a frame that faulted continues, if
		// at all, at its deferreturn call, when a deferred call
		// recovers; without one it is dead: nothing in it is scanned or
		// adjusted (its saved frame pointer neither), as getStackMap and
		// adjustframe do.
		if f.deferreturn() == 0 {
			return ""
		}
		pcdata = f.pcdatavalue(pcdataStackMapIndex, f.entry()+uintptr(f.deferreturn()))
	} else if targetpc := pc; targetpc != f.entry() {
		targetpc--
		pcdata = f.pcdatavalue(pcdataStackMapIndex, targetpc)
	}
	if pcdata == -1 {
		pcdata = 0
	}
	// Locals.
	if varp > sp {
		m := (*stackmap)(f.funcdata(funcdataLocalsPointerMap))
		if m == nil || m.n <= 0 {
			return "aco: Yield across " + name + ", which has no stack map, is not supported"
		}
		if m.nbit > 0 {
			if pcdata < 0 || pcdata >= m.n {
				return "aco: Yield: bad stack map index in " + name
			}
			bits := m.bits(pcdata)
			base := varp - uintptr(m.nbit)*ptrSize
			for i := uintptr(0); i < uintptr(m.nbit); i++ {
				if bits[i/8]>>(i%8)&1 != 0 {
					fi.slots = append(fi.slots, uint32(base+i*ptrSize))
				}
			}
		}
	}
	// Arguments.
	if nargs := f.args(); nargs > 0 {
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
					fi.slots = append(fi.slots, uint32(argp+i*ptrSize))
				}
			}
		}
	}
	// Open-coded defers: their deferBits byte (runtime.(*_panic).nextFrame).
	if p := f.funcdata(funcdataOpenCodedDefer); p != nil {
		off, _ := readuvarint(p)
		fi.openDefer = int32(varp - uintptr(off))
	}
	// Stack objects.
	if p := f.funcdata(funcdataStackObjects); p != nil {
		n := *(*uintptr)(p)
		recs := unsafe.Slice((*stackObjectRecord)(unsafe.Add(p, ptrSize)), n)
		for i := range recs {
			r := &recs[i]
			base := varp
			if r.off >= 0 {
				base = argp
			}
			addr := int64(base) + int64(r.off)
			if addr < int64(sp) {
				continue // not allocated in the frame yet
			}
			o := frameObj{off: uint32(addr), size: uint32(r.size)}
			mask := ptrAt(f.rodata() + uintptr(r.gcdataoff))
			for w := uintptr(0); w < uintptr(r.ptrBytes)/ptrSize; w++ {
				if *(*byte)(unsafe.Add(mask, w/8))>>(w%8)&1 != 0 {
					o.ptrs = append(o.ptrs, uint32(w*ptrSize))
				}
			}
			fi.objs = append(fi.objs, o)
		}
		slices.SortFunc(fi.objs, func(a, b frameObj) int { return cmp.Compare(a.off, b.off) })
	}
	if stub && rtRegArgsSize > 0 {
		// The stub's spilled argument registers, an abi.RegArgs at a
		// place the runtime knows (getStackMap's methodValueCallFrameObjs):
		// its Ptrs words are pointers.
		o := frameObj{off: uint32(varp - (rtRegArgsSize+7)&^7), size: rtRegArgsSize}
		for w := uint32(rtRegArgsPtrs); w < rtRegArgsReturnIsPtr; w += uint32(ptrSize) {
			o.ptrs = append(o.ptrs, w)
		}
		fi.objs = append(fi.objs, o)
		slices.SortFunc(fi.objs, func(a, b frameObj) int { return cmp.Compare(a.off, b.off) })
	}
	fi.adjust = append(slices.Clone(fi.slots), bp...)
	for _, o := range fi.objs {
		for _, p := range o.ptrs {
			fi.adjust = append(fi.adjust, o.off+p)
		}
	}
	slices.Sort(fi.adjust)
	fi.adjust = slices.Compact(fi.adjust)
	return ""
}

// learnFrames walks the frames capture could not scan, from Yield's
// (continuing at c.pc, its SP at c.n below the stack top: capture leaves
// them there) to the co's bottom frame (whose caller's SP is c.hiOff below
// the stack top), and puts every frame's layout in the frame cache. It
// returns an aco: message for frames a co cannot yield across. It runs as
// ordinary Go code, which may move the stack: a liveWalk.
func learnFrames(c *swctx) string {
	if c.n <= uintptr(c.hiOff)+ptrSize {
		return "aco: Yield called outside the co (no frames between Yield and the co's start)"
	}
	w := liveFrames(getg(), uintptr(c.hiOff), c.n-uintptr(c.hiOff), c.pc)
	var stubArgs []uint32 // the pointer arguments of a reflect stub below
	for depth := 0; ; depth++ {
		fi := lookupFrame(w.pc)
		if fi == nil {
			fi = addFrame(decodeFrame(w.pc, stubArgs))
		}
		if fi.bad {
			return fi.why
		}
		if depth == 0 {
			// Only Yield calls swapout, and it is never inlined: swapin
			// returns from Yield for the co, which needs Yield's frame.
			if f := findfunc(w.pc); !isYield(f) {
				panic("aco: internal error: swapout called from " + funcName(w.pc))
			}
			if len(fi.objs) > 0 || fi.openDefer >= 0 {
				panic("aco: internal error: Yield's frame has stack objects or defers")
			}
		}
		if depth > 1<<20 {
			return "aco: Yield: frame walk does not end"
		}
		w.fi = fi
		stubArgs = nil
		if fi.callerKey == reflectKey {
			var msg string
			if stubArgs, msg = reflectStubArgs(&w); msg != "" {
				return msg
			}
		}
		switch w.step() {
		case stepEnd:
			if !w.atStart() {
				return "aco: Yield called outside the co (its frames do not end at the co's start)"
			}
			return ""
		case stepOver:
			return "aco: Yield called outside the co (its frames do not end at the co's start)"
		case stepOther:
			return msgYieldOutside // the frames end at another co's start
		}
	}
}

// reflectStubArgs returns the offsets, from its caller's SP, of the pointer
// words among the arguments of the reflect stub whose frame is w's, as
// runtime.argMapInternal reads them: the stub's first word is its context,
// whose leading fields are a runtime.reflectMethodValue; the fourth a bool
// telling whether the results are written yet.
func reflectStubArgs(w *liveWalk) ([]uint32, string) {
	mv := w.word(0)
	retValid := uint8(w.word(4 * ptrSize))
	if mv == 0 || methodValueFn(mv) != findfunc(w.pc&^(sigpanicKey|reflectKey)).entry() {
		return nil, "aco: Yield: a reflect stub's frame is not as the runtime describes it"
	}
	if retValid != 0 {
		// The stub has its results: it calls nothing more that yields.
		return nil, "aco: Yield: a reflect stub's frame is not as the runtime describes it"
	}
	bv := methodValueStack(mv)
	n := uintptr(bitvectorN(bv))
	n = min(n, methodValueArgLen(mv)/ptrSize) // the results are not valid yet
	bytes := bitvectorBytes(bv)
	var args []uint32
	for i := uintptr(0); i < n; i++ {
		if *(*uint8)(ptrAt(bytes + i/8))>>(i%8)&1 != 0 {
			args = append(args, uint32(i*ptrSize))
		}
	}
	return args, ""
}

// objectAt returns the index of the frame's stack object holding the byte
// at offset off from its SP, or -1. On capture's nosplit path: no calls
// that can grow the stack (closures are not nosplit) and no bounds checks.
//
//go:nosplit
func (fi *frameInfo) objectAt(off uintptr) int {
	// The last object starting at or below off.
	lo, hi := 0, len(fi.objs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uintptr(fi.obj(m).off) <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if i := lo - 1; i >= 0 && off < uintptr(fi.obj(i).off)+uintptr(fi.obj(i).size) {
		return i
	}
	return -1
}

// obj is &fi.objs[i] without a bounds check.
//
//go:nosplit
func (fi *frameInfo) obj(i int) *frameObj {
	return (*frameObj)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(fi.objs)), uintptr(i)*unsafe.Sizeof(frameObj{})))
}

// adjusts reports whether relocation adjusts the frame's word at offset
// off anyway.
//
//go:nosplit
func (fi *frameInfo) adjusts(off uintptr) bool {
	lo, hi := 0, len(fi.adjust)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uintptr(u32at(fi.adjust, m)) < off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < len(fi.adjust) && uintptr(u32at(fi.adjust, lo)) == off
}

// u32at is s[i] without a bounds check.
//
//go:nosplit
func u32at(s []uint32, i int) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), uintptr(i)*4))
}

// isYield reports whether f is one of the two functions that call swapout,
// (*Co).Yield and yieldValue, themselves, not functions they were inlined
// into.
func isYield(f funcInfo) bool {
	name := funcName(f.entry())
	return strings.HasSuffix(name, "/aco.(*Co).Yield") || strings.HasSuffix(name, "/aco.yieldValue")
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
