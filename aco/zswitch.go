//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

// swctx is the saved context of a copy-stack coroutine: the words the switch
// routines read and write. The register contract: across a switch only SP,
// BP (amd64) and the return PC are live (Go's ABI0 treats every other
// register as clobbered by a call, and the caller reloads g from TLS), plus
// the FPU control words when each co keeps its own environment.
type swctx struct {
	hi    uintptr // the trampoline's SP: the image ends one word below it
	n     uintptr // image size in bytes, a multiple of PtrSize
	buf   uintptr // the save stack
	pc    uintptr // where the co continues; before the first run, coEntry
	rbp   uintptr // the frame pointer to continue with (amd64)
	g     uintptr // the goroutine the co runs on
	hiOff uintptr // g.stack.hi - hi: survives the runtime moving the stack
	aux   uintptr // capture's failures: g.stack.hi - lo, or the size needed

	slow    uint32 // non-zero: the next resume needs prepareResume
	yret    uint32 // offset below hi of Yield's return address
	bufCap  uint32 // save stack size (before the first save: the size asked for)
	maxcpsz uint32 // libaco's max_cpsz

	locks             uint64 // the thread's LockOSThread counts (m.lockedExt, m.lockedInt) at resume
	ctSave, ctRestore uint64 // libaco's ct_save and ct_restore

	mxcsrCo, mxcsrMain uint32 // SSE control/status of the co, of its resumer
	cwCo, cwMain       uint16 // x87 control words
}

// tbpOffset is where the trampoline's frame pointer points, above its SP
// (amd64: the BP slot above its 32-byte frame; 386 has none, its "frame
// pointer" is its SP). Saved frame pointers of the co's bottom frame point
// there.
const tbpOffset = 32 * (ptrSize / 8)

// trampoline resumes the co of c: it calls prepareResume if it must and
// then swapin, and returns when the co yields or returns. It never writes
// SP itself, so it is an ordinary frame under the co's frames.
func trampoline(c *swctx) uintptr

// swapin copies the image onto the stack below the trampoline's frame and
// jumps into it. Called only by trampoline.
func swapin()

// swapout saves the frames between its caller and the trampoline and jumps
// back into the trampoline. It returns 0 when the co is resumed, or the
// status capture gave if the co could not yield.
func swapout(c *swctx) uintptr

// getg returns the current goroutine's runtime g.
func getg() uintptr

// coEntryPC returns the ABI0 address of coEntry.
func coEntryPC() uintptr

// fpuEnv returns the current x87 control word and MXCSR.
func fpuEnv() (cw uint16, mxcsr uint32)
