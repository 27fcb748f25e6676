//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"runtime"
	"strconv"
	"unsafe"
)

// The runtime assumptions, one row each: what aco reads of the runtime's
// memory (through rtlayout.go), why that is safe, the runtime code the read
// mirrors, and a check that the init self-test runs on known shapes. The
// first row that fails names itself in EngineNote, and the copy-stack
// engine stays off. The checks read through rtOffsets, a copy of the
// offsets the engine uses, so that a test can break one row on purpose
// (TestRuntimeAssumptionsFailByName); before following a pointer they
// read, they check it points where it must (into the goroutine's stack,
// above the first page), so a wrong offset fails a check instead of
// faulting.
type rtRow struct {
	name    string
	reads   string
	safe    string
	mirrors string
	check   func(o *rtOffsets, initLocks uint32) string
}

// rtOffsets are the offsets the checks read through.
type rtOffsets struct {
	gStack, stackLo, stackHi, gM, gPanic, gDefer uintptr
	mLockedExt, mLockedInt                       uintptr
	panicLink                                    uintptr
	deferHeap, deferRangefunc, deferSp           uintptr
	deferPc, deferFn, deferLink, deferHead       uintptr
	funcFuncID                                   uintptr
	// openDeferSkew is added to the deferBits offset frame.go decodes
	// from the open-coded defer funcdata (0: the table's own reading).
	openDeferSkew int32
}

// rtLayout is the table of the running release (zrtlayout_*.go).
var rtLayout = rtOffsets{
	gStack: rtGStack, stackLo: rtStackLo, stackHi: rtStackHi, gM: rtGM, gPanic: rtGPanic, gDefer: rtGDefer,
	mLockedExt: rtMLockedExt, mLockedInt: rtMLockedInt,
	panicLink: rtPanicLink,
	deferHeap: rtDeferHeap, deferRangefunc: rtDeferRangefunc, deferSp: rtDeferSp,
	deferPc: rtDeferPc, deferFn: rtDeferFn, deferLink: rtDeferLink, deferHead: rtDeferHead,
	funcFuncID: rtFuncFuncID,
}

var rtRows = []rtRow{
	{
		name:    "g.stack",
		reads:   "g.stack.lo and g.stack.hi of the running goroutine",
		safe:    "the goroutine reads its own g, which cannot move or end meanwhile; the bounds change only when the runtime moves the stack, at a call, and the switch path calls nothing that may",
		mirrors: "runtime.newstack, runtime.copystack",
		check:   checkStack,
	},
	{
		name:    "m.lockedExt",
		reads:   "g.m.lockedExt, runtime.LockOSThread's count",
		safe:    "the goroutine's own m, read while the goroutine runs on it",
		mirrors: "runtime.LockOSThread, runtime.coroswitch_m's check",
		check:   checkLockedExt,
	},
	{
		name:    "m.lockedInt",
		reads:   "g.m.lockedInt, the runtime's internal thread locks (cgo callbacks, package initialization)",
		safe:    "as m.lockedExt",
		mirrors: "runtime.lockOSThread, runtime.coroswitch_m's check",
		check:   checkLockedInt,
	},
	{
		name:    "g._panic",
		reads:   "g._panic and _panic.link: the panics in progress, innermost first",
		safe:    "the records are in gopanic's frames on the goroutine's own stack, read while a deferred call runs on it",
		mirrors: "runtime.gopanic, runtime.(*_panic).start",
		check:   checkPanics,
	},
	{
		name:    "g._defer",
		reads:   "g._defer and _defer.heap, sp, pc, fn, link: the defer records, innermost first",
		safe:    "the goroutine's own records, read on the goroutine; the runtime changes them only in calls the switch path does not make",
		mirrors: "runtime.deferproc, runtime.deferreturn, runtime.(*_panic).nextDefer",
		check:   checkDefers,
	},
	{
		name:    "_defer.rangefunc",
		reads:   "_defer.rangefunc and _defer.head: the record a range-over-func loop's defers hang from",
		safe:    "as g._defer; head is the list deferprocat appends to atomically",
		mirrors: "runtime.deferrangefunc, runtime.deferprocat, runtime.deferconvert",
		check:   checkRangefuncDefer,
	},
	{
		name:    "_func",
		reads:   "findfunc's _func and its fields (entry, funcID): the function table",
		safe:    "the table is read-only and lives as long as the program; findfunc is linknamable by contract (go.dev/issue/67401)",
		mirrors: "runtime.findfunc, runtime.funcInfo.entry",
		check:   checkFuncTable,
	},
	{
		name:    "open-coded defers",
		reads:   "the deferBits byte of a frame with open-coded defers, at the offset its FUNCDATA_OpenCodedDefer gives",
		safe:    "read in the image of a suspended co, which nothing else writes; a wrong offset would make Destroy skip or run deferred calls wrongly",
		mirrors: "runtime.(*_panic).nextFrame, runtime.(*_panic).nextDefer",
		check:   checkOpenDefers,
	},
	{
		name:    "copy-stack co",
		reads:   "everything together: stack maps, stack objects, defer records, relocation, through a real co",
		safe:    "it runs the engine on frames whose contents it knows",
		mirrors: "runtime.scanframeworker, runtime.adjustframe",
		check:   func(*rtOffsets, uint32) string { return selfTestCo() },
	},
}

// runAssumptions runs the rows' checks in order: it returns the first
// failing row and what was wrong, or "". initLocks is m.lockedInt as the
// caller expects it (1 during package initialization, which runs with the
// main thread locked).
func runAssumptions(o *rtOffsets, initLocks uint32) (row, failed string) {
	for _, r := range rtRows {
		if f := r.check(o, initLocks); f != "" {
			return r.name, f
		}
	}
	return "", ""
}

// inStack reports whether a lies in the running goroutine's stack as the
// row g.stack found it (a pointer a check may follow).
func inStack(o *rtOffsets, gp, a uintptr) bool {
	lo, hi := load(gp+o.gStack+o.stackLo), load(gp+o.gStack+o.stackHi)
	return a >= lo && a+ptrSize <= hi && a%ptrSize == 0
}

// plausible reports whether a may be followed: aligned, and above the first
// 64 KB, where nothing of Go's is mapped.
func plausible(a uintptr) bool { return a >= 64<<10 && a%ptrSize == 0 }

func checkStack(o *rtOffsets, _ uint32) string {
	var local int
	gp := getg()
	lo, hi := load(gp+o.gStack+o.stackLo), load(gp+o.gStack+o.stackHi)
	a := uintptr(unsafe.Pointer(&local))
	if a < lo || a >= hi {
		return "a local is outside [stack.lo, stack.hi)"
	}
	if n := hi - lo; n < 2048 || n&(n-1) != 0 {
		return "the stack's size " + strconv.FormatUint(uint64(hi-lo), 10) + " is not a power of two of at least 2 KB"
	}
	return ""
}

// lockWord reads the uint32 at off in the goroutine's m.
func lockWord(o *rtOffsets, off uintptr) (uint32, bool) {
	m := load(getg() + o.gM)
	if !plausible(m) {
		return 0, false
	}
	return load32(m + off), true
}

func checkLockedExt(o *rtOffsets, _ uint32) string {
	before, ok := lockWord(o, o.mLockedExt)
	if !ok {
		return "g.m is not a pointer"
	}
	runtime.LockOSThread()
	during, _ := lockWord(o, o.mLockedExt)
	runtime.UnlockOSThread()
	after, _ := lockWord(o, o.mLockedExt)
	if during != before+1 || after != before {
		return "LockOSThread did not count in m.lockedExt"
	}
	return ""
}

func checkLockedInt(o *rtOffsets, initLocks uint32) string {
	n, ok := lockWord(o, o.mLockedInt)
	if !ok {
		return "g.m is not a pointer"
	}
	runtime.LockOSThread()
	during, _ := lockWord(o, o.mLockedInt)
	runtime.UnlockOSThread()
	if n != initLocks || during != n {
		return "m.lockedInt is " + strconv.Itoa(int(n)) + ", want " + strconv.Itoa(int(initLocks)) + " and unchanged by LockOSThread"
	}
	return ""
}

// checkPanics looks at g._panic from a deferred call of a panic raised in
// a deferred call of another panic: two records on the stack, linked.
func checkPanics(o *rtOffsets, _ uint32) (failed string) {
	gp := getg()
	if load(gp+o.gPanic) != 0 {
		return "g._panic is set outside a panic"
	}
	defer func() { recover() }()
	defer func() {
		defer func() {
			defer func() { recover() }()
			p := load(gp + o.gPanic)
			if !inStack(o, gp, p) {
				failed = "g._panic does not point into the stack during a panic"
				return
			}
			outer := load(p + o.panicLink)
			switch {
			case !inStack(o, gp, outer) || outer <= p:
				failed = "_panic.link does not lead to the outer panic"
			case load(outer+o.panicLink) != 0:
				failed = "the outer panic's _panic.link is not nil"
			}
		}()
		panic("aco: self-test: inner panic")
	}()
	panic("aco: self-test: outer panic")
}

// checkDefers looks at two defer records a loop made (heap records) in a
// frame of its own.
func checkDefers(o *rtOffsets, _ uint32) string {
	return checkDefersFrame(o, getg())
}

var deferProbe = func() {}

//go:noinline
func checkDefersFrame(o *rtOffsets, gp uintptr) (failed string) {
	var local uintptr
	for i := 0; i < 2; i++ {
		defer deferProbe()
	}
	d := load(gp + o.gDefer)
	if !plausible(d) {
		return "g._defer is not a pointer with defers pending"
	}
	d2 := load(d + o.deferLink)
	sp := load(d + o.deferSp)
	self := runtime.FuncForPC(funcPC(checkDefersFrame)).Entry()
	switch {
	case !*(*bool)(ptrAt(d + o.deferHeap)):
		return "_defer.heap is false for a defer in a loop"
	case !inStack(o, gp, sp) || sp > uintptr(unsafe.Pointer(&local)) || uintptr(unsafe.Pointer(&local))-sp > 1024:
		return "_defer.sp is not the deferring frame's SP" // the frame's locals are just above it
	case !plausible(d2) || load(d2+o.deferSp) != sp:
		return "_defer.link does not lead to the frame's other record"
	case !findfunc(load(d+o.deferPc)).valid() || findfunc(load(d+o.deferPc)).entry() != self:
		return "_defer.pc is not in the deferring function"
	}
	fn := load(d + o.deferFn)
	if !plausible(fn) || !findfunc(load(fn)).valid() {
		return "_defer.fn is not a func value"
	}
	return ""
}

// checkRangefuncDefer defers from the body of a range-over-func loop: the
// runtime hangs the call from a record marked rangefunc.
func checkRangefuncDefer(o *rtOffsets, _ uint32) (failed string) {
	gp := getg()
	for range func(yield func() bool) { yield() } {
		defer deferProbe()
		d := load(gp + o.gDefer)
		switch {
		case !plausible(d):
			failed = "g._defer is not a pointer in a range-over-func body that deferred"
		case !*(*bool)(ptrAt(d + o.deferRangefunc)):
			failed = "_defer.rangefunc is false for a range-over-func loop's record"
		case !plausible(load(d+o.deferHead)) || !plausible(load(load(d+o.deferHead))):
			failed = "_defer.head does not hold the body's deferred call"
		}
	}
	return failed
}

// checkFuncTable finds a Go function through findfunc and, from a deferred
// call of a panic, gopanic by its funcID.
func checkFuncTable(o *rtOffsets, _ uint32) (failed string) {
	pc := entryPC
	if f := findfunc(pc); !f.valid() || f.entry() != runtime.FuncForPC(pc).Entry() {
		return "findfunc's entry is not the function's"
	}
	failed = "no gopanic frame under a deferred call of a panic"
	defer func() {
		recover()
	}()
	defer func() {
		var pcs [16]uintptr
		n := runtime.Callers(1, pcs[:])
		for _, pc := range pcs[:n] {
			if fn := runtime.FuncForPC(pc - 1); fn != nil && fn.Name() == "runtime.gopanic" {
				if f := findfunc(pc - 1); f.valid() && f.u8(o.funcFuncID) == funcIDGopanic {
					failed = ""
				} else {
					failed = "gopanic's funcID is not abi.FuncID_gopanic"
				}
			}
		}
	}()
	panic("aco: self-test: a panic for its frames")
}

// checkOpenDefers suspends a co in a frame with two open-coded defers,
// each taken or not, and reads the frame's deferBits in the image through
// the decoded offset (plus o's skew): exactly the bits of the defers taken
// (1 for the first, 2 for the second), as Destroy's hasPendingDefers must
// see them. Four patterns, so that a wrong offset cannot pass by reading
// a neighbouring byte that happens to follow one flag (a spilled bool).
func checkOpenDefers(o *rtOffsets, _ uint32) string {
	// Without optimizations (-N) the compiler makes defer records instead,
	// which the row g._defer covers; Destroy must still run the calls.
	openCoded := openDeferFrameOpenCoded()
	for bits := range uint8(4) {
		first, second := bits&1 != 0, bits&2 != 0
		main, ss := NewMain(), NewShareStack(0)
		var ran uint8
		co := Create(main, ss, 0, func(co *Co) { openDeferFrame(co, first, second, &ran) }, nil)
		co.Resume()
		got, found := openDeferBits(co, o.openDeferSkew)
		pending := co.hasPendingDefers()
		co.Destroy()
		ss.Destroy()
		main.Destroy()
		switch {
		case !openCoded:
		case !found:
			return "no frame of openDeferFrame with open-coded defers in the image"
		case got != bits:
			return "deferBits is " + strconv.Itoa(int(got)) + " with the defers taken " + strconv.Itoa(int(bits))
		}
		switch {
		case pending != (bits != 0):
			return "hasPendingDefers is " + strconv.FormatBool(pending) + " with the defers taken " + strconv.Itoa(int(bits))
		case ran != bits:
			return "Destroy ran the deferred calls " + strconv.Itoa(int(ran)) + " with the defers taken " + strconv.Itoa(int(bits))
		}
	}
	return ""
}

//go:noinline
func openDeferFrame(co *Co, first, second bool, ran *uint8) {
	// Open-coded: no loop, two defers; each sets its bit of deferBits.
	if first {
		defer func() { *ran |= 1 }()
	}
	if second {
		defer func() { *ran |= 2 }()
	}
	co.Yield()
}

// openDeferBits walks the image of the suspended co with layouts decoded
// afresh (not from the frame cache) and returns openDeferFrame's deferBits.
func openDeferBits(co *Co, skew int32) (uint8, bool) {
	entry := runtime.FuncForPC(openDeferFramePC()).Entry()
	for w := imageFrames(&co.swctx); ; {
		fi := decodeFrame(w.pc, nil)
		if fi.bad || fi.size == 0 {
			return 0, false
		}
		if f := findfunc(w.pc); f.valid() && f.entry() == entry && fi.openDefer >= 0 {
			return *(*uint8)(ptrAt(w.at(uintptr(fi.openDefer + skew)))), true
		}
		w.fi = fi
		if w.step() != stepNext {
			return 0, false
		}
	}
}

// openDeferFrameOpenCoded reports whether the compiler open-coded
// openDeferFrame's defer (it does unless optimizations are off).
func openDeferFrameOpenCoded() bool {
	return findfunc(openDeferFramePC()).funcdata(funcdataOpenCodedDefer) != nil
}

func openDeferFramePC() uintptr {
	f := openDeferFrame
	return **(**uintptr)(unsafe.Pointer(&f))
}
