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
	if err := selfTest(); err != "" {
		engineReason = "self-test failed: " + err
		return
	}
	copyStackOn = true
}

// yieldFailed acts on a status from swapout: it makes room, learns the
// frame layout, or panics for a yield that cannot be done.
func (co *Co) yieldFailed(st uintptr) {
	s := co.cs
	switch st {
	case stNotRunning:
		co.checkInside("Yield")
		panic("aco: Yield called outside the co")
	case stUnwinding:
		panic(co.unwind)
	case stWrongG:
		panic("aco: Yield called from a goroutine other than the one running the co")
	case stPanicking:
		panic("aco: Yield while a panic is unwinding through the co (Yield from a deferred call during a panic)")
	case stLocked:
		panic("aco: Yield while the co holds an OS thread lock (runtime.LockOSThread without UnlockOSThread)")
	case stRangefunc:
		panic("aco: Yield with a pending defer inside a range-over-func loop body is not supported")
	case stNoChain:
		ch, msg := learnChain(s)
		if msg != "" {
			panic(msg)
		}
		s.chain = ch
	case stBufSmall:
		n := max(int(s.need), co.save.hint, 2*cap(s.buf))
		s.buf = make([]byte, n)
		co.save.ValidSize = n
	case stRootsSmall:
		n := max(int(s.need), 2*cap(s.roots), 2)
		roots := make([]unsafe.Pointer, n)
		copy(roots, s.roots[:s.nroot])
		s.roots = roots
		if cap(s.defers) < int(s.need) {
			s.defers = make([]deferRef, 0, n)
		}
		if w := 2 * objWords(s.chain); len(s.objBits) < w {
			s.objBits = make([]uint64, w)
		}
	default:
		panic("aco: internal error: unknown switch status")
	}
}
