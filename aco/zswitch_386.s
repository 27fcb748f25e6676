//go:build linux && go1.26 && !go1.28 && !race

#include "go_asm.h"
#include "textflag.h"
#include "funcdata.h"

// func getg() uintptr
TEXT ·getg(SB), NOSPLIT, $0-4
	MOVL (TLS), AX
	MOVL AX, ret+0(FP)
	RET

// func coEntryPC() uintptr
TEXT ·coEntryPC(SB), NOSPLIT, $0-4
	MOVL $·coEntry(SB), AX
	MOVL AX, ret+0(FP)
	RET

// func fpuEnv() (cw uint16, mxcsr uint32)
TEXT ·fpuEnv(SB), NOSPLIT, $0-8
	FSTCW cw+0(FP)
	STMXCSR mxcsr+4(FP)
	RET

// func trampoline(c *swctx) uintptr
TEXT ·trampoline(SB), $16-8
	NO_LOCAL_POINTERS
	MOVL c+0(FP), DI
	MOVL (TLS), DX          // g
	MOVL SP, BX             // hi
	CMPL ·resumeSkipPC(SB), $0
	JNE known
	LEAL c+0(FP), AX
	MOVL -4(AX), AX         // our return address, for learnResumeSkip
	MOVL AX, ·tcaller(SB)
known:
	// The fast path: the image goes back where it was and has no defers.
	CMPL swctx_slow(DI), $0
	JNE slow
	CMPL BX, swctx_hi(DI)
	JNE slow
	MOVL swctx_n(DI), CX
	MOVL BX, AX
	SUBL CX, AX
	SUBL $(4+const_stackMargin), AX
	CMPL AX, const_rtGStackLo(DX)
	JCS slow                // no room: prepareResume says stGrow
	MOVL DX, swctx_g(DI)
	MOVL const_rtGStackHi(DX), AX
	SUBL BX, AX
	MOVL AX, swctx_hiOff(DI)
	MOVL const_rtGM(DX), AX
	MOVL const_rtMLockedExt(AX), SI
	MOVL SI, swctx_locks(DI)
	MOVL (const_rtMLockedExt+4)(AX), SI
	MOVL SI, (swctx_locks+4)(DI)
	ADDL $1, swctx_ctRestore(DI)
	ADCL $0, (swctx_ctRestore+4)(DI)
	JMP in
slow:
	MOVL DI, 0(SP)
	MOVL BX, 4(SP)
	MOVL DX, 8(SP)
	CALL ·prepareResume(SB)
	MOVL 12(SP), AX
	TESTL AX, AX
	JNZ done
	MOVL c+0(FP), DI
in:
	MOVL DI, 0(SP)          // coEntry's argument
	CALL ·swapin(SB)
	XORL AX, AX
done:
	MOVL AX, ret+4(FP)
	RET

// func swapin()
TEXT ·swapin(SB), NOSPLIT|NOFRAME, $0-0
	CMPL ·tret(SB), $0
	JNE tretknown
	MOVL 0(SP), AX
	MOVL AX, ·tret(SB)
tretknown:
	MOVL swctx_n(DI), CX
	MOVL swctx_hi(DI), BX
	SUBL $4, BX
	SUBL CX, BX             // where the image goes
	MOVL swctx_buf(DI), SI
	XORL DX, DX
copyin:
	CMPL DX, CX
	JAE copied
	MOVL (SI)(DX*1), AX
	MOVL AX, (BX)(DX*1)
	ADDL $4, DX
	JMP copyin
copied:
	STMXCSR swctx_mxcsrMain(DI)
	FSTCW swctx_cwMain(DI)
	LDMXCSR swctx_mxcsrCo(DI)
	FLDCW swctx_cwCo(DI)
	TESTL CX, CX
	JZ first
	// Return from Yield for it, straight into its caller (see amd64).
	MOVL swctx_yret(DI), AX
	TESTL AX, AX
	JZ first
	MOVL swctx_hi(DI), DX
	SUBL AX, DX             // Yield's return address slot
	MOVL 0(DX), CX
	LEAL 4(DX), SP
	JMP CX
first:
	MOVL swctx_pc(DI), AX
	MOVL BX, SP
	JMP AX

// func swapout(c *swctx) uintptr
TEXT ·swapout(SB), NOSPLIT, $24-8
	NO_LOCAL_POINTERS
	MOVL c+0(FP), DI
	MOVL $0, ret+4(FP)      // what the caller finds when the co is resumed
	LEAL c+0(FP), SI        // the caller's SP: the image's lowest address
	MOVL DI, 0(SP)
	MOVL SI, 4(SP)
	MOVL -4(SI), AX         // the return address into the caller
	MOVL AX, 8(SP)
	MOVL $0, 12(SP)         // no frame pointer
	MOVL (TLS), AX
	MOVL AX, 16(SP)
	CALL ·capture(SB)
	MOVL 20(SP), AX
	TESTL AX, AX
	JZ switch
	MOVL AX, ret+4(FP)
	RET
switch:
	MOVL c+0(FP), DI
	LEAL c+0(FP), SI
	MOVL swctx_buf(DI), BX
	MOVL swctx_n(DI), CX
	XORL DX, DX
copyout:
	CMPL DX, CX
	JAE saved
	MOVL (SI)(DX*1), AX
	MOVL AX, (BX)(DX*1)
	ADDL $4, DX
	JMP copyout
saved:
	STMXCSR swctx_mxcsrCo(DI)
	FSTCW swctx_cwCo(DI)
	LDMXCSR swctx_mxcsrMain(DI)
	FLDCW swctx_cwMain(DI)
	// Return from Resume for the trampoline if it was called from Resume's
	// fast path (see amd64).
	MOVL swctx_hi(DI), AX
	MOVL 16(AX), CX
	CMPL CX, ·resumeSkipPC(SB)
	JNE leavetramp
	MOVL ·resumeSkipFrame(SB), BX
	LEAL 20(AX)(BX*1), BX   // Resume's return address slot
	MOVL 0(BX), CX
	LEAL 4(BX), SP
	JMP CX
leavetramp:
	// Leave through the trampoline's epilogue, done here: its result is
	// 0, its return address sits above its 16-byte frame.
	MOVL $0, 24(AX)
	LEAL 20(AX), SP
	JMP CX
