//go:build linux && go1.26 && !go1.28 && !race

#include "go_asm.h"
#include "textflag.h"
#include "funcdata.h"

// func getg() uintptr
TEXT ·getg(SB), NOSPLIT, $0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET

// func coEntryPC() uintptr
TEXT ·coEntryPC(SB), NOSPLIT, $0-8
	MOVQ $·coEntry(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// func fpuEnv() (cw uint16, mxcsr uint32)
TEXT ·fpuEnv(SB), NOSPLIT, $0-8
	FSTCW cw+0(FP)
	STMXCSR mxcsr+4(FP)
	RET

// func trampoline(c *swctx) uintptr
TEXT ·trampoline(SB), $32-16
	NO_LOCAL_POINTERS
	MOVQ c+0(FP), DI
	MOVQ (TLS), R8          // g
	MOVQ SP, R9             // hi
	CMPQ ·resumeSkipPC(SB), $0
	JNE known
	LEAQ c+0(FP), AX
	MOVQ -8(AX), AX         // our return address, for learnResumeSkip
	MOVQ AX, ·tcaller(SB)
known:
	// The fast path: the image goes back where it was and has no defers.
	CMPL swctx_slow(DI), $0
	JNE slow
	CMPQ R9, swctx_hi(DI)
	JNE slow
	MOVQ swctx_n(DI), CX
	MOVQ R9, AX
	SUBQ CX, AX
	SUBQ $(8+const_stackMargin), AX
	CMPQ AX, const_rtGStackLo(R8)
	JCS slow                // no room: prepareResume says stGrow
	MOVQ R8, swctx_g(DI)
	MOVQ const_rtGStackHi(R8), AX
	SUBQ R9, AX
	MOVQ AX, swctx_hiOff(DI)
	MOVQ const_rtGM(R8), AX
	MOVQ const_rtMLockedExt(AX), AX
	MOVQ AX, swctx_locks(DI)
	INCQ swctx_ctRestore(DI)
	JMP in
slow:
	MOVQ DI, 0(SP)
	MOVQ R9, 8(SP)
	MOVQ R8, 16(SP)
	CALL ·prepareResume(SB)
	MOVQ 24(SP), AX
	TESTQ AX, AX
	JNZ done
	MOVQ c+0(FP), DI
in:
	MOVQ DI, 0(SP)          // coEntry's argument
	CALL ·swapin(SB)
	XORL AX, AX
done:
	MOVQ AX, ret+8(FP)
	RET

// func swapin()
TEXT ·swapin(SB), NOSPLIT|NOFRAME, $0-0
	CMPQ ·tret(SB), $0
	JNE tretknown
	MOVQ 0(SP), AX
	MOVQ AX, ·tret(SB)
tretknown:
	MOVQ swctx_n(DI), CX
	MOVQ swctx_hi(DI), R8
	SUBQ $8, R8
	SUBQ CX, R8             // where the image goes
	MOVQ swctx_buf(DI), SI
	XORQ R9, R9
copyin:
	CMPQ R9, CX
	JAE copied
	MOVQ (SI)(R9*1), R10
	MOVQ R10, (R8)(R9*1)
	ADDQ $8, R9
	JMP copyin
copied:
	STMXCSR swctx_mxcsrMain(DI)
	FSTCW swctx_cwMain(DI)
	LDMXCSR swctx_mxcsrCo(DI)
	FLDCW swctx_cwCo(DI)
	TESTQ CX, CX
	JZ first
	// Return from Yield for it, straight into its caller: a return whose
	// target the CPU's return predictor cannot know costs more than this.
	// Yield has no defers and nothing to do after swapout unless Destroy
	// is unwinding the co, which clears yret.
	MOVL swctx_yret(DI), AX
	TESTL AX, AX
	JZ intoyield
	MOVQ swctx_hi(DI), BX
	SUBQ AX, BX             // Yield's return address slot
	MOVQ -8(BX), BP         // and its saved frame pointer
	MOVQ 0(BX), CX
	LEAQ 8(BX), SP
	MOVQ (TLS), R14         // the ABIInternal registers its caller expects
	XORPS X15, X15
	JMP CX
intoyield:
	MOVQ swctx_rbp(DI), BP
first:
	MOVQ swctx_pc(DI), AX
	MOVQ R8, SP
	JMP AX

// func swapout(c *swctx) uintptr
TEXT ·swapout(SB), NOSPLIT, $48-16
	NO_LOCAL_POINTERS
	MOVQ c+0(FP), DI
	MOVQ $0, ret+8(FP)      // what the caller finds when the co is resumed
	LEAQ c+0(FP), SI        // the caller's SP: the image's lowest address
	MOVQ DI, 0(SP)
	MOVQ SI, 8(SP)
	MOVQ -8(SI), AX         // the return address into the caller
	MOVQ AX, 16(SP)
	MOVQ 0(BP), AX          // the caller's frame pointer, saved by our prologue
	MOVQ AX, 24(SP)
	MOVQ (TLS), AX
	MOVQ AX, 32(SP)
	CALL ·capture(SB)
	MOVQ 40(SP), AX
	TESTQ AX, AX
	JZ switch
	MOVQ AX, ret+8(FP)
	RET
switch:
	MOVQ c+0(FP), DI
	LEAQ c+0(FP), SI
	MOVQ swctx_buf(DI), R8
	MOVQ swctx_n(DI), CX
	XORQ R9, R9
copyout:
	CMPQ R9, CX
	JAE saved
	MOVQ (SI)(R9*1), R10
	MOVQ R10, (R8)(R9*1)
	ADDQ $8, R9
	JMP copyout
saved:
	STMXCSR swctx_mxcsrCo(DI)
	FSTCW swctx_cwCo(DI)
	LDMXCSR swctx_mxcsrMain(DI)
	FLDCW swctx_cwMain(DI)
	// Return from Resume for the trampoline if it was called from Resume's
	// fast path (whose frame size resumeSkipFrame holds): the co yielded,
	// so Resume has nothing left to do.
	MOVQ swctx_hi(DI), AX
	MOVQ 40(AX), CX
	CMPQ CX, ·resumeSkipPC(SB)
	JNE leavetramp
	MOVQ ·resumeSkipFrame(SB), BX
	LEAQ 48(AX)(BX*1), BX   // Resume's return address slot
	MOVQ -8(BX), BP
	MOVQ 0(BX), CX
	LEAQ 8(BX), SP
	MOVQ (TLS), R14
	XORPS X15, X15
	JMP CX
leavetramp:
	// Leave through the trampoline's epilogue, done here: its result is
	// 0, its saved BP and return address sit above its 32-byte frame.
	MOVQ $0, 56(AX)
	MOVQ 32(AX), BP
	LEAQ 48(AX), SP
	JMP CX
