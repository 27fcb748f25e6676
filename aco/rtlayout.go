//go:build linux && (amd64 || 386 || arm64) && go1.26 && !go1.28

package aco

import "unsafe"

// This file is aco's whole view of the Go runtime's internals: the
// copy-stack engine's, and the portable engine's misuse checks (which read
// the goroutine's panic and thread-lock state, also under the race detector). The
// offsets (rt* constants) come from zrtlayout_<release>_<arch>.go, which
// gen/rtlayout reads from the runtime's DWARF; TestRuntimeLayoutDWARF checks
// them against the test binary, and selfTest checks them at init. Every
// read here mirrors code in runtime/symtab.go, runtime/stkframe.go and
// runtime/mgcmark.go; the comments name the function mirrored.

const (
	// rtAvailable: getg and the runtime layout tables exist here.
	rtAvailable = true
	ptrSize     = unsafe.Sizeof(uintptr(0))

	// From internal/abi.
	pcdataStackMapIndex      = 1
	funcdataArgsPointerMaps  = 0
	funcdataLocalsPointerMap = 1
	funcdataStackObjects     = 2
	funcdataOpenCodedDefer   = 4
	funcIDNormal             = 0
	funcIDCgocallback        = 4  // abi.FuncID_cgocallback
	funcIDGopanic            = 10 // abi.FuncID_gopanic
	funcIDSigpanic           = 20 // abi.FuncID_sigpanic
	funcIDWrapper            = 23 // abi.FuncIDWrapper
	funcFlagSPWrite          = 1 << 1
	argsSizeUnknown          = -0x80000000

	// Goroutine stack bounds, for the assembly.
	rtGStackLo = rtGStack + rtStackLo
	rtGStackHi = rtGStack + rtStackHi
)

// findfunc is runtime.findfunc, which the runtime keeps linknamable
// (go.dev/issue/67401). It is nosplit.
//
//go:linkname findfunc runtime.findfunc
func findfunc(pc uintptr) funcInfo

// funcInfo mirrors runtime.funcInfo: the _func record and its module.
type funcInfo struct {
	fn    unsafe.Pointer // *runtime._func
	datap unsafe.Pointer // *runtime.moduledata
}

func (f funcInfo) valid() bool { return f.fn != nil }

// ptrAt turns an address held as a uintptr into a pointer. The engine only
// uses it for stack and static addresses and for values the runtime's own
// stack maps say are pointers.
//
//go:nosplit
func ptrAt(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

//go:nosplit
func load(a uintptr) uintptr { return *(*uintptr)(ptrAt(a)) }

//go:nosplit
func store(a, v uintptr) { *(*uintptr)(ptrAt(a)) = v }

//go:nosplit
func load32(a uintptr) uint32 { return *(*uint32)(ptrAt(a)) }

func (f funcInfo) u32(off uintptr) uint32 { return *(*uint32)(unsafe.Add(f.fn, off)) }
func (f funcInfo) u8(off uintptr) uint8   { return *(*uint8)(unsafe.Add(f.fn, off)) }
func (f funcInfo) args() int32            { return int32(f.u32(rtFuncArgs)) }
func (f funcInfo) funcID() uint8          { return f.u8(rtFuncFuncID) }
func (f funcInfo) deferreturn() uint32    { return f.u32(rtFuncDeferreturn) }
func (f funcInfo) flag() uint8            { return f.u8(rtFuncFlag) }

// entry mirrors funcInfo.entry for single-text-section modules.
func (f funcInfo) entry() uintptr {
	return *(*uintptr)(unsafe.Add(f.datap, rtModuledataText)) + uintptr(f.u32(rtFuncEntryOff))
}

// pcvalue mirrors runtime.pcvalue (without its cache): the value of the
// table at off for targetpc, or -1.
func (f funcInfo) pcvalue(off uint32, targetpc uintptr) int32 {
	if off == 0 {
		return -1
	}
	pctab := *(*[]byte)(unsafe.Add(f.datap, rtModuledataPctab))
	p := pctab[off:]
	pc := f.entry()
	val := int32(-1)
	first := true
	for {
		// runtime.step
		uvdelta := uint32(p[0])
		if uvdelta == 0 && !first {
			return -1
		}
		n := uint32(1)
		if uvdelta&0x80 != 0 {
			n, uvdelta = readvarint(p)
		}
		val += int32(-(uvdelta & 1) ^ (uvdelta >> 1))
		p = p[n:]
		pcdelta := uint32(p[0])
		n = 1
		if pcdelta&0x80 != 0 {
			n, pcdelta = readvarint(p)
		}
		p = p[n:]
		pc += uintptr(pcdelta) // PCQuantum is 1 on x86
		first = false
		if targetpc < pc {
			return val
		}
	}
}

func readvarint(p []byte) (read uint32, val uint32) {
	var v, shift, n uint32
	for {
		b := p[n]
		n++
		v |= uint32(b&0x7F) << (shift & 31)
		if b&0x80 == 0 {
			break
		}
		shift += 7
	}
	return n, v
}

// pcdatavalue mirrors runtime.pcdatavalue.
func (f funcInfo) pcdatavalue(table uint32, targetpc uintptr) int32 {
	if table >= f.u32(rtFuncNpcdata) {
		return -1
	}
	return f.pcvalue(f.u32(rtFuncSize+uintptr(table)*4), targetpc)
}

// spdelta mirrors runtime.funcspdelta.
func (f funcInfo) spdelta(pc uintptr) int32 { return f.pcvalue(f.u32(rtFuncPcsp), pc) }

// funcdata mirrors runtime.funcdata.
func (f funcInfo) funcdata(i uint8) unsafe.Pointer {
	if i >= f.u8(rtFuncNfuncdata) {
		return nil
	}
	off := f.u32(rtFuncSize + uintptr(f.u32(rtFuncNpcdata))*4 + uintptr(i)*4)
	if off == ^uint32(0) {
		return nil
	}
	return unsafe.Add(ptrAt(*(*uintptr)(unsafe.Add(f.datap, rtModuledataGofunc))), off)
}

// rodata is the module's read-only data, base of stack object GC masks.
func (f funcInfo) rodata() uintptr { return *(*uintptr)(unsafe.Add(f.datap, rtModuledataRodata)) }

// stackmap mirrors runtime.stackmap.
type stackmap struct {
	n        int32
	nbit     int32
	bytedata [1]byte
}

// bits mirrors runtime.stackmapdata: the liveness bitmap with index i.
func (m *stackmap) bits(i int32) []byte {
	nbytes := uintptr(m.nbit+7) >> 3
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&m.bytedata[0]), uintptr(i)*nbytes)), nbytes)
}

// stackObjectRecord mirrors runtime.stackObjectRecord.
type stackObjectRecord struct {
	off       int32
	size      int32
	ptrBytes  int32
	gcdataoff uint32
}

// getg returns the current goroutine's runtime g (zgetg_*.s).
func getg() uintptr

// gM returns the goroutine's m.
//
//go:nosplit
func gM(gp uintptr) uintptr { return load(gp + rtGM) }

// Goroutine fields.

//go:nosplit
func gStackLo(gp uintptr) uintptr { return load(gp + rtGStack + rtStackLo) }

//go:nosplit
func gStackHi(gp uintptr) uintptr { return load(gp + rtGStack + rtStackHi) }

//go:nosplit
func gPanic(gp uintptr) uintptr { return load(gp + rtGPanic) }

//go:nosplit
func gDefer(gp uintptr) uintptr { return load(gp + rtGDefer) }

// gLocks returns the goroutine's thread's LockOSThread counts: m.lockedExt
// and m.lockedInt, adjacent uint32s read as one uint64 (as the assembly
// does; the layout test checks they are adjacent).
//
//go:nosplit
func gLocks(gp uintptr) uint64 {
	return *(*uint64)(ptrAt(load(gp+rtGM) + rtMLockedExt))
}

// The two lock counts must be adjacent for gLocks.
const _ = uint(rtMLockedInt - rtMLockedExt - 4)
const _ = uint(rtMLockedExt + 4 - rtMLockedInt)

// Defer and panic records (runtime._defer, runtime._panic): the fields the
// copy-stack engine reads and links while it detaches a co's records from
// the goroutine and attaches them again (see rtassume.go's rows g._defer
// and g._panic).

//go:nosplit
func setGDefer(gp, d uintptr) { store(gp+rtGDefer, d) }

//go:nosplit
func setGPanic(gp, p uintptr) { store(gp+rtGPanic, p) }

//go:nosplit
func deferSp(d uintptr) uintptr { return load(d + rtDeferSp) }

//go:nosplit
func addDeferSp(d, delta uintptr) { store(d+rtDeferSp, load(d+rtDeferSp)+delta) }

//go:nosplit
func deferLink(d uintptr) uintptr { return load(d + rtDeferLink) }

//go:nosplit
func setDeferLink(d, next uintptr) { store(d+rtDeferLink, next) }

//go:nosplit
func deferHeap(d uintptr) bool { return *(*bool)(ptrAt(d + rtDeferHeap)) }

// deferFnAt is the address of the record's fn, a func value.
//
//go:nosplit
func deferFnAt(d uintptr) uintptr { return d + rtDeferFn }

//go:nosplit
func panicLink(p uintptr) uintptr { return load(p + rtPanicLink) }

//go:nosplit
func setPanicLink(p, next uintptr) { store(p+rtPanicLink, next) }

// reflectMethodValue (reflect.methodValue, the context of a method value's
// stub) and the bitvector of its stack arguments, as
// runtime.argMapInternal reads them.

//go:nosplit
func methodValueFn(mv uintptr) uintptr { return load(mv + rtReflectMethodValueFn) }

//go:nosplit
func methodValueStack(mv uintptr) uintptr { return load(mv + rtReflectMethodValueStack) }

//go:nosplit
func methodValueArgLen(mv uintptr) uintptr { return load(mv + rtReflectMethodValueArgLen) }

//go:nosplit
func bitvectorN(bv uintptr) int32 { return *(*int32)(ptrAt(bv + rtBitvectorN)) }

//go:nosplit
func bitvectorBytes(bv uintptr) uintptr { return load(bv + rtBitvectorBytedata) }

// gGoid returns the goroutine's id, as runtime.Stack prints it.
func gGoid(gp uintptr) uint64 {
	if ptrSize == 8 {
		return uint64(load(gp + rtGGoid))
	}
	return uint64(load(gp+rtGGoid)) | uint64(load(gp+rtGGoid+4))<<32
}
