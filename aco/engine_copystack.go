//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"os"
	"sync/atomic"
	"unsafe"
)

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

func captureFPU() {
	cw, mx := fpuEnv()
	fpuDefaultEnv.Store(uint64(cw)<<32 | uint64(mx))
}

func fpuDefault() (uint16, uint32) {
	v := fpuDefaultEnv.Load()
	return uint16(v >> 32), uint32(v)
}

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

// storeRelease stores v at p with a plain store, which x86 (the only
// architecture of this engine) does not reorder with the loads and stores
// before it: a release, without the locked instruction of an atomic store.
// This engine never runs under the race detector.
//
//go:nosplit
func storeRelease(p *uint32, v uint32) { *p = v }

// storeReleasePtr is storeRelease for a pointer (with its write barrier).
func storeReleasePtr(p *unsafe.Pointer, v unsafe.Pointer) { *p = v }

// yieldFailed acts on a status from swapout: it makes room, learns the
// frame layout, collects roots, or panics for a yield that cannot be done.
func (co *Co) yieldFailed(st uintptr) {
	switch st {
	case swNotRunning:
		co.checkInside("Yield")
		panic(msgYieldOutside)
	case swUnwinding:
		panic(co.unwind)
	case swWrongG:
		panic(msgYieldOutside)
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
		if co.bufp != nil {
			n = max(n, 2*int(co.bufCap))
		}
		b := make([]byte, n)
		co.bufp = unsafe.Pointer(&b[0])
		co.buf = uintptr(co.bufp)
		co.bufCap = uint32(n)
	case swRootsSmall:
		n := max(int(co.n), 2*cap(co.roots), 8)
		if cap(co.roots) < int(co.n) {
			roots := make([]unsafe.Pointer, len(co.roots), n)
			copy(roots, co.roots)
			co.roots = roots
		}
		if ss := co.ss; len(ss.found) < int(co.n) {
			ss.found = make([]uintptr, n)
		}
	default:
		panic("aco: internal error: unknown switch status")
	}
}

// imagePCs returns the continuation PCs of the frames of a suspended co's
// saved image, innermost (Yield's) first, as runtime.Callers gives them.
// The caller holds the co (stReading), so no resume rewrites the image.
func (co *Co) imagePCs() []uintptr {
	if co.n == 0 {
		return nil
	}
	var pcs []uintptr
	for w := imageFrames(&co.swctx); ; {
		pcs = append(pcs, w.fi.pc&^sigpanicKey)
		if !w.next() {
			return pcs
		}
	}
}
