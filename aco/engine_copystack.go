//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// The copy-stack engine's boundary: init learns once every global the
// switch reads, runs the self-test and picks the engine; engine.go lists
// the hooks the rest of the package calls, which the copy-stack files
// provide (engine_portable_only.go stubs them, in the same order, for
// builds without the engine).

// init learns what the switch needs once, before any co runs: the copy
// loop's choice, coEntry's address, and (through the self-test's co, see
// learnSwitch) the switch's return addresses; then it picks the engine
// and reads the move policy (ACO_MOVE_THRESHOLD).
func init() {
	if runtime.GOARCH == "amd64" && cpu.X86.HasERMS {
		copyRepMin = repMovsbMin
	}
	entryPC = funcEntry(coEntry)
	selectEngine()
	readMoveEnv(os.Getenv("ACO_MOVE_THRESHOLD"))
}

// selectEngine picks the engine: the portable one if ACO_ENGINE says so or
// the self-test fails, else the copy-stack engine.
func selectEngine() {
	captureFPU()
	if os.Getenv("ACO_ENGINE") == string(Portable) {
		engineReason = "ACO_ENGINE=portable"
		return
	}
	runSelfTest(&rtLayout, 1)
}

// runSelfTest runs the self-test through the offsets o and turns the
// copy-stack engine on or off by its result, with EngineNote saying why.
func runSelfTest(o *rtOffsets, initLocks uint32) {
	if err := selfTestWith(o, initLocks); err != "" {
		copyStackOn = false
		engineReason = "self-test failed: " + err
		return
	}
	copyStackOn = true
}

// learnSwitchAddrs runs a co whose function is learnSwitch: the rows of the
// self-test run cos that yield, and a capture needs what it learns.
func learnSwitchAddrs() {
	main, ss := NewMain(), NewShareStack(0)
	co := Create(main, ss, 0, learnSwitch, nil)
	co.Resume()
	co.Destroy()
	ss.Destroy()
	main.Destroy()
}

// copyRepMin is the smallest image the switch copies with REP MOVSB instead
// of its SSE loop (see copyLoop in gen/switch_gen.go): on amd64 CPUs with
// enhanced REP MOVSB it beats the loop from about 2 KB here (4,072 bytes:
// 141 ns against 178 ns; below 1,000 bytes the loop is as fast or faster),
// and never without ERMS. 386 has only the loop.
var copyRepMin = ^uintptr(0)

// repMovsbMin is copyRepMin where the CPU has ERMS.
const repMovsbMin = 2048

// entryPC is the address the first resume jumps to: coEntry's ABIInternal
// entry, not its ABI0 wrapper's (on 386 the two are one), so that no
// wrapper's frame is in every image; swapin passes c as the ABIInternal
// argument.
var entryPC uintptr

// funcEntry returns the entry of f's body: a func value points to a word
// holding it (the ABIInternal entry, for a Go function).
func funcEntry(f func(*swctx)) uintptr { return **(**uintptr)(unsafe.Pointer(&f)) }

// resumeSkipPC is the return address of Resume's fast-path call of the
// trampoline, and resumeSkipFrame Resume's frame size there (its spdelta):
// with them swapout returns from Resume directly. tret is the return
// address into the trampoline from its call of swapin: the word below every
// co's bottom frame. learnSwitch sets all three once, at init, before any
// co yields; the assembly and the frame walks read them.
var resumeSkipPC, resumeSkipFrame, tret uintptr

// learnSwitch learns the switch's code addresses as the function of a co
// that Resume runs through its fast path (the self-test's first, see
// learnSwitchAddrs): the word above the trampoline's frame is Resume's call
// site of the trampoline, and the word below hi the trampoline's return
// address from swapin.
func learnSwitch(co *Co) {
	hi := gStackHi(getg()) - uintptr(co.hiOff)
	tret = load(hi - ptrSize)
	learnResumeSkip(load(hi + trampolineFrame + fpWord))
}

// learnResumeSkip sets resumeSkipPC and resumeSkipFrame from pc, Resume's
// call site of the trampoline, if Resume is as the skip assumes.
func learnResumeSkip(pc uintptr) {
	f := findfunc(pc)
	// The name check keeps the skip off if the code is not what it assumes.
	if !f.valid() || !strings.HasSuffix(funcName(pc), "/aco.(*Co).Resume") {
		return
	}
	// Skipping Resume's epilogue skips its deferred afterResume, which
	// has nothing to do after a yield, but only an open-coded defer leaves
	// no trace outside the frame: a defer record (as in builds with -N)
	// would stay on the goroutine's defer chain.
	if f.funcdata(funcdataOpenCodedDefer) == nil {
		return
	}
	d := f.spdelta(pc)
	if d <= 0 {
		return
	}
	resumeSkipFrame = uintptr(d)
	resumeSkipPC = pc
}

// copyStackOn is set at init when the copy-stack engine passed its self-test
// and was not turned off with ACO_ENGINE=portable.
var copyStackOn bool

// copyStackSupported: this build has the copy-stack engine.
const copyStackSupported = true

// engineReason says why the portable engine was chosen, if it was.
var engineReason string

// fpuDefaultEnv is the FPU environment new coroutines start with: the one
// captured at init or by the last ThreadInit, packed as cw<<32 | mxcsr.
var fpuDefaultEnv atomic.Uint64

// captureFPU makes the current FPU environment the one new coroutines
// start with.
func captureFPU() {
	cw, mx := fpuEnv()
	fpuDefaultEnv.Store(uint64(cw)<<32 | uint64(mx))
}

// fpuDefault is the FPU environment new coroutines start with.
func fpuDefault() (uint16, uint32) {
	v := fpuDefaultEnv.Load()
	return uint16(v >> 32), uint32(v)
}

// storeRelease stores v at p with a plain store, which x86 (the only
// architecture of this engine) does not reorder with the loads and stores
// before it: a release, without the locked instruction of an atomic store.
// This engine never runs under the race detector.
//
//go:nosplit
func storeRelease(p *uint32, v uint32) { *p = v }

// storeReleasePtr is storeRelease for a pointer (with its write barrier).
func storeReleasePtr(p *unsafe.Pointer, v unsafe.Pointer) { *p = v }
