package main

// The switch: trampoline, swapin (copy-in), swapout (copy-out), and the
// small helpers getg and coEntryPC, for amd64 with avo and for 386 with
// the typed emitter. The two versions of each routine are kept parallel,
// instruction for instruction; registers, field widths, frame sizes and
// frame offsets all come from the contract (contract.go).

import (
	"strings"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/printer"
	"github.com/mmcloughlin/avo/reg"
)

// includes are the headers of the assembly files: go_asm.h for the swctx
// field offsets (swctx_<field>) and the Go constants (const_<name>).
var includes = []string{"go_asm.h", "textflag.h", "funcdata.h"}

// Comments, the same for both architectures where they can be: the reasons
// the code is as it is.
var (
	whyTrampoline = []string{
		"The trampoline stays on the stack beneath the co's frames while the co",
		"runs, an ordinary frame to the runtime: it must never write SP (the",
		"unwinder throws when it meets an SPWRITE function as an interior frame).",
		"Every SP write is in swapin and swapout, which are left by jumping into",
		"the other context, never returned through. The frame holds the arguments",
		"of prepareResume and of coEntry.",
	}
	whyRegs    = []string{"c, g, and hi: our SP, one word above the image's end."}
	whyTcaller = []string{"Until learnResumeSkip knows Resume's call site, record ours."}
	whyFast    = []string{
		"The fast path: the image goes back where it was and has no defers,",
		"and there is room below it (else prepareResume says stGrow).",
	}
	whyCallSwapin = []string{
		"c is also coEntry's argument. The call pushes the return address below",
		"which the image goes: the co's bottom frame (coEntry) returns here, into",
		"the trampoline, when the co ends.",
	}
	whyTret   = []string{"Our return address: the word below every co's bottom frame."}
	whyImage  = []string{"The image ends just below our return address."}
	whyFirst  = []string{"Continue at the saved PC, with the image's lowest address as SP."}
	whySkipRs = []string{
		"Return from Resume for the trampoline if it was called from Resume's",
		"fast path (whose frame size resumeSkipFrame holds): the co yielded, so",
		"Resume has nothing left to do.",
	}
	whyABIInternal = []string{
		"We enter ABIInternal code in place of a return from an ABI0 call: set",
		"the registers the call site would re-establish.",
	}
	whyYieldBP = []string{
		"Entering Yield: its frame pointer is the address of its saved BP, just",
		"below its return address.",
	}
	whySwapleave = []string{
		"The co may yield: swapleave, a leaf that writes SP, copies the image out",
		"and leaves. Writing SP here instead would make this frame an SPWRITE one,",
		"which the unwinder cannot walk through while capture runs.",
	}
	whySwapoutRet = []string{
		"ret is 0 in the saved image: what the caller finds when the co is resumed.",
	}
)

func whySwapin(a *Arch) []string {
	return []string{
		"Called by the trampoline with c in " + string(a.Roles.Ctx) + ". It leaves by JMP to the",
		"saved PC, never by RET: with RET the CPU's return predictor mispredicts",
		"every transfer, which costs more than the copy of a small image.",
	}
}

func whyYieldRet(a *Arch) []string {
	epilogue := "pop its return address"
	if a.FramePointer {
		epilogue = "restore the frame pointer saved below its return address, pop this"
	}
	return []string{
		"Return from Yield for it, straight into its caller: Yield has no defers",
		"and nothing to do after swapout unless Destroy is unwinding the co,",
		"which sets enter (as does a frame layout whose innermost frame is not",
		"Yield's). A return whose target the return predictor cannot know costs",
		"more than this. yret locates Yield's return address slot: " + epilogue,
		"and jump.",
	}
}

func whyCapture(a *Arch) []string {
	return []string{
		"capture(c, lo, gp): lo is the caller's SP, the image's lowest address,",
		"just above the return address into the caller.",
	}
}

func whyLeaveTramp(a *Arch) []string {
	above := "its return address sits above its frame"
	if a.FramePointer {
		above = "its saved frame pointer and return address sit above its frame"
	}
	return []string{
		"Leave through the trampoline's epilogue, done here: its result is 0,",
		above + ".",
	}
}

// rewrap fills comment lines anew, 72 columns wide.
func rewrap(lines []string) []string { return wrap(strings.Join(lines, " "), 72) }

// intoYield is where swapin goes for a co that yielded but must not skip
// Yield's epilogue: with frame pointers, it first restores the co's BP.
func intoYield(a *Arch) string {
	if a.FramePointer {
		return "intoyield"
	}
	return "first"
}

func lbl(l string) operand.LabelRef { return operand.LabelRef(l) }

// r32 is the 32-bit form of x.
func (b *asmAMD64) r32(x Reg) reg.Register { return b.r(x).(reg.GP).As32() }

// copyLoop copies n bytes (a multiple of the word size) from (src) to
// (dst): 32 bytes per step through two SSE registers (SSE2 is part of the
// baseline on both architectures), then at most 16, then a word at a time;
// name names its labels. A switch costs the bytes it copies, so this loop is where
// large images spend their time.
//
// On amd64 an image of copyRepMin bytes or more is copied by REP MOVSB
// instead, which CPUs with enhanced REP MOVSB (ERMS) run faster than the
// loop for large images (copyRepMin is set at init from the CPU's
// features; without ERMS it is never reached). REP MOVSB takes Ctx's
// register, so Keep holds Ctx meanwhile, and it counts N down, so N is
// loaded again after it.
func (b *asmAMD64) copyLoop(name, done string) {
	R := b.a.Roles
	if R.Src != SI || R.N != CX || R.Keep == "" {
		panic("copyLoop: REP MOVSB needs Src in SI, N in CX and a Keep register")
	}
	b.CMPQ(b.r(R.N), b.glob(gCopyRepMin))
	b.JAE(lbl(name + "rep"))
	b.copyWords(name, done)
	b.Label(name + "rep")
	b.Comment("A string move: destination DI, source SI, count CX; c waits in " + string(R.Keep) + ".")
	b.MOVQ(b.r(R.Ctx), b.r(R.Keep))
	b.MOVQ(b.r(R.Dst), b.r(DI))
	b.raw("REP; MOVSB", nil, DI, SI, CX)
	b.MOVQ(b.r(R.Keep), b.r(R.Ctx))
	b.MOVQ(b.fld(fN, R.Ctx, 8), b.r(R.N))
	b.Label(done)
}

// copyWords is the copy loop proper: Word holds the end of the whole
// 32-byte blocks, then the next index and the word moved.
func (b *asmAMD64) copyWords(name, done string) {
	R := b.a.Roles
	src := func(d int) operand.Mem {
		return operand.Mem{Disp: d, Base: b.r(R.Src), Index: b.r(R.Idx), Scale: 1}
	}
	dst := func(d int) operand.Mem {
		return operand.Mem{Disp: d, Base: b.r(R.Dst), Index: b.r(R.Idx), Scale: 1}
	}
	b.XORQ(b.r(R.Idx), b.r(R.Idx))
	b.MOVQ(b.r(R.N), b.r(R.Word))
	b.ANDQ(operand.I32(-32), b.r(R.Word))
	b.JZ(lbl(name + "16"))
	b.Label(name)
	b.MOVOU(src(0), b.r(R.Vec))
	b.MOVOU(src(16), b.r(R.Vec2))
	b.MOVOU(b.r(R.Vec), dst(0))
	b.MOVOU(b.r(R.Vec2), dst(16))
	b.ADDQ(operand.Imm(32), b.r(R.Idx))
	b.CMPQ(b.r(R.Idx), b.r(R.Word))
	b.JB(lbl(name))
	b.Label(name + "16")
	b.LEAQ(b.at(16, R.Idx), b.r(R.Word))
	b.CMPQ(b.r(R.Word), b.r(R.N))
	b.JA(lbl(name + "words"))
	b.MOVOU(src(0), b.r(R.Vec))
	b.MOVOU(b.r(R.Vec), dst(0))
	b.MOVQ(b.r(R.Word), b.r(R.Idx))
	b.Label(name + "words")
	b.CMPQ(b.r(R.Idx), b.r(R.N))
	b.JAE(lbl(done))
	b.MOVQ(src(0), b.r(R.Word))
	b.MOVQ(b.r(R.Word), dst(0))
	b.ADDQ(operand.Imm(uint64(b.a.Word)), b.r(R.Idx))
	b.JMP(lbl(name + "words"))
}

func (f *func386) copyLoop(name, done string) {
	R := f.a.Roles
	src := func(d int64) mem { return at(d, R.Src).idx(R.Idx, 1) }
	dst := func(d int64) mem { return at(d, R.Dst).idx(R.Idx, 1) }
	f.XORL(R.Idx, R.Idx)
	f.MOVL(R.N, R.Word)
	f.ANDL(imm(^uint32(31)), R.Word)
	f.JZ(name + "16")
	f.Label(name)
	f.MOVOU(src(0), R.Vec)
	f.MOVOU(src(16), R.Vec2)
	f.MOVOU(R.Vec, dst(0))
	f.MOVOU(R.Vec2, dst(16))
	f.ADDL(imm(32), R.Idx)
	f.CMPL(R.Idx, R.Word)
	f.JB(name)
	f.Label(name + "16")
	f.LEAL(at(16, R.Idx), R.Word)
	f.CMPL(R.Word, R.N)
	f.JA(name + "words")
	f.MOVOU(src(0), R.Vec)
	f.MOVOU(R.Vec, dst(0))
	f.MOVL(R.Word, R.Idx)
	f.Label(name + "words")
	f.CMPL(R.Idx, R.N)
	f.JAE(done)
	f.MOVL(src(0), R.Word)
	f.MOVL(R.Word, dst(0))
	f.ADDL(imm(f.a.Word), R.Idx)
	f.JMP(label(name + "words"))
	f.Label(done)
}

// getg

func getgAMD64(b *asmAMD64) {
	b.loadG(AX)
	b.MOVQ(b.r(AX), b.arg("ret"))
	b.RET()
}

func getg386(f *func386) {
	f.loadG(AX)
	f.MOVL(AX, f.arg("ret"))
	f.RET()
}

// coEntryPC, nextJumpPC: the ABI0 address of a function.

func pcOfAMD64(b *asmAMD64, name string) {
	b.addrOf(name, AX)
	b.MOVQ(b.r(AX), b.arg("ret"))
	b.RET()
}

func pcOf386(f *func386, name string) {
	f.MOVL(addrOf(name), AX)
	f.MOVL(AX, f.arg("ret"))
	f.RET()
}

// nextJump: a Pull iterator's next, in front of iter.Pull's.

var whyNextJump = []string{
	"A tail call: no frame of aco stays between the caller and the runtime's",
	"coroutine switch, whose return the CPU mispredicts once per frame it",
	"passes (BenchmarkWrappedIterPull). The fast way needs iter.Pull's next",
	"(pullFast.next, nil until the co has moved and after it ends), the co",
	"suspended, and no OS thread lock (which the runtime's switch would",
	"throw on); it marks the co running, as claim does for a Pull co. Every",
	"other case is aco's next, whose checks name the mistake. next has no",
	"arguments, so only the closure register must reach either target.",
}

func nextJumpAMD64(b *asmAMD64) {
	R := b.a.Roles
	b.Comment(rewrap(whyNextJump)...)
	b.MOVQ(b.sym("nextCell_fast", R.Closure), b.r(R.Acc))
	b.MOVQ(b.sym("pullFast_next", R.Acc), b.r(R.PC))
	b.TESTQ(b.r(R.PC), b.r(R.PC))
	b.JZ(lbl("slow"))
	b.MOVQ(b.sym("pullFast_co", R.Acc), b.r(R.Hi))
	b.raw("CMPL", []operand.Op{b.sym("Co_st", R.Hi), rawOp("$" + goAsmConstPfx + cStSuspended)})
	b.JNE(lbl("slow"))
	b.loadG(R.Acc)
	b.MOVQ(b.rt(cGM, R.Acc), b.r(R.Acc))
	b.CMPQ(b.rt(cMLockedExt, R.Acc), operand.Imm(0)) // lockedExt and lockedInt
	b.JNE(lbl("slow"))
	b.raw("MOVL", []operand.Op{rawOp("$" + goAsmConstPfx + cStRunning), b.sym("Co_st", R.Hi)})
	b.MOVQ(b.r(R.PC), b.r(R.Closure))
	b.MOVQ(b.at(0, R.PC), b.r(R.PC))
	b.JMP(b.r(R.PC))
	b.Label("slow")
	b.MOVQ(b.sym("nextCell_slow", R.Closure), b.r(R.Closure))
	b.MOVQ(b.at(0, R.Closure), b.r(R.PC))
	b.JMP(b.r(R.PC))
}

func nextJump386(f *func386) {
	R := f.a.Roles
	f.Comment(rewrap(whyNextJump)...)
	f.MOVL(mem{sym: "nextCell_fast", base: R.Closure}, R.Acc)
	f.MOVL(mem{sym: "pullFast_next", base: R.Acc}, R.PC)
	f.TESTL(R.PC, R.PC)
	f.JZ("slow")
	f.MOVL(mem{sym: "pullFast_co", base: R.Acc}, R.Hi)
	f.CMPL(mem{sym: "Co_st", base: R.Hi}, symImm{0, []string{goAsmConstPfx + cStSuspended}})
	f.JNE("slow")
	f.loadG(R.Acc)
	f.MOVL(f.rt(cGM, R.Acc), R.Acc)
	f.CMPL(f.rt(cMLockedExt, R.Acc), imm(0)) // lockedExt
	f.JNE("slow")
	f.CMPL(mem{sym: goAsmConstPfx + cMLockedExt, disp: 4, base: R.Acc}, imm(0)) // lockedInt
	f.JNE("slow")
	f.MOVL(symImm{0, []string{goAsmConstPfx + cStRunning}}, mem{sym: "Co_st", base: R.Hi})
	f.MOVL(R.PC, R.Closure)
	f.MOVL(at(0, R.PC), R.PC)
	f.JMP(R.PC)
	f.Label("slow")
	f.MOVL(mem{sym: "nextCell_slow", base: R.Closure}, R.Closure)
	f.MOVL(at(0, R.Closure), R.PC)
	f.JMP(R.PC)
}

// trampoline

func trampolineAMD64(b *asmAMD64) {
	a, R := b.a, b.a.Roles
	b.Comment(rewrap(whyTrampoline)...)
	b.NO_LOCAL_POINTERS()
	b.Comment(rewrap(whyRegs)...)
	b.MOVQ(b.arg("c"), b.r(R.Ctx))
	b.loadG(R.G)
	b.MOVQ(b.r(SP), b.r(R.Hi))
	b.Comment(rewrap(whyTcaller)...)
	b.CMPQ(b.glob(gResumeSkipPC), operand.U8(0))
	b.JNE(lbl("known"))
	b.LEAQ(b.arg("c"), b.r(R.Acc))
	b.MOVQ(b.at(-a.Word, R.Acc), b.r(R.Acc))
	b.MOVQ(b.r(R.Acc), b.glob(gTcaller))

	b.Label("known")
	b.Comment(rewrap(whyFast)...)
	b.CMPL(b.fld(fSlow, R.Ctx, 4), operand.U8(0))
	b.JNE(lbl("slow"))
	b.CMPQ(b.r(R.Hi), b.fld(fHi, R.Ctx, 8))
	b.JNE(lbl("slow"))
	b.MOVQ(b.fld(fN, R.Ctx, 8), b.r(R.N))
	b.MOVQ(b.r(R.Hi), b.r(R.Acc))
	b.SUBQ(b.r(R.N), b.r(R.Acc))
	b.subSym(R.Acc, symImm{a.Word, []string{goAsmConstPfx + cStackMargin}})
	b.CMPQ(b.r(R.Acc), b.rt(cGStackLo, R.G))
	b.JCS(lbl("slow"))
	b.MOVQ(b.r(R.G), b.fld(fG, R.Ctx, 8))
	b.MOVQ(b.rt(cGStackHi, R.G), b.r(R.Acc))
	b.SUBQ(b.r(R.Hi), b.r(R.Acc))
	b.MOVQ(b.r(R.Acc), b.fld(fHiOff, R.Ctx, 8))
	b.MOVQ(b.rt(cGM, R.G), b.r(R.Acc))
	b.MOVQ(b.rt(cMLockedExt, R.Acc), b.r(R.Acc))
	b.MOVQ(b.r(R.Acc), b.fld(fLocks, R.Ctx, 8))
	b.INCQ(b.fld(fCtRestore, R.Ctx, 8))
	b.JMP(lbl("in"))

	b.Label("slow")
	b.MOVQ(b.r(R.Ctx), b.out(prepareResume, "c"))
	b.MOVQ(b.r(R.Hi), b.out(prepareResume, "hi"))
	b.MOVQ(b.r(R.G), b.out(prepareResume, "gp"))
	b.call(prepareResume)
	b.MOVQ(b.out(prepareResume, "ret"), b.r(R.Acc))
	b.TESTQ(b.r(R.Acc), b.r(R.Acc))
	b.JNZ(lbl("done"))
	b.MOVQ(b.arg("c"), b.r(R.Ctx))

	b.Label("in")
	b.Comment(rewrap(whyCallSwapin)...)
	b.MOVQ(b.r(R.Ctx), b.out(coEntry, "c"))
	b.call(Callee{Name: dSwapin.Name})
	b.XORL(b.r32(R.Acc), b.r32(R.Acc))

	b.Label("done")
	b.MOVQ(b.r(R.Acc), b.arg("ret"))
	b.RET()
}

func trampoline386(f *func386) {
	a, R := f.a, f.a.Roles
	f.Comment(rewrap(whyTrampoline)...)
	f.NO_LOCAL_POINTERS()
	f.Comment(rewrap(whyRegs)...)
	f.MOVL(f.arg("c"), R.Ctx)
	f.loadG(R.G)
	f.MOVL(SP, R.Hi)
	f.Comment(rewrap(whyTcaller)...)
	f.CMPL(f.glob(gResumeSkipPC), imm(0))
	f.JNE("known")
	f.LEAL(f.arg("c"), R.Acc)
	f.MOVL(at(-a.Word, R.Acc), R.Acc)
	f.MOVL(R.Acc, f.glob(gTcaller))

	f.Label("known")
	f.Comment(rewrap(whyFast)...)
	f.CMPL(f.fld(fSlow, R.Ctx, 4), imm(0))
	f.JNE("slow")
	f.CMPL(R.Hi, f.fld(fHi, R.Ctx, 4))
	f.JNE("slow")
	f.MOVL(f.fld(fN, R.Ctx, 4), R.N)
	f.MOVL(R.Hi, R.Acc)
	f.SUBL(R.N, R.Acc)
	f.SUBL(symImm{a.Word, []string{goAsmConstPfx + cStackMargin}}, R.Acc)
	f.CMPL(R.Acc, f.rt(cGStackLo, R.G))
	f.JCS("slow")
	f.MOVL(R.G, f.fld(fG, R.Ctx, 4))
	f.MOVL(f.rt(cGStackHi, R.G), R.Acc)
	f.SUBL(R.Hi, R.Acc)
	f.MOVL(R.Acc, f.fld(fHiOff, R.Ctx, 4))
	f.MOVL(f.rt(cGM, R.G), R.Acc)
	lockedExt := f.rt(cMLockedExt, R.Acc)
	f.MOVL(lockedExt, R.Hi32)
	f.MOVL(R.Hi32, f.half(fLocks, R.Ctx, 0))
	lockedExt.disp += a.Word
	f.MOVL(lockedExt, R.Hi32)
	f.MOVL(R.Hi32, f.half(fLocks, R.Ctx, 1))
	f.ADDL(imm(1), f.half(fCtRestore, R.Ctx, 0))
	f.ADCL(imm(0), f.half(fCtRestore, R.Ctx, 1))
	f.JMP(label("in"))

	f.Label("slow")
	f.MOVL(R.Ctx, f.out(prepareResume, "c"))
	f.MOVL(R.Hi, f.out(prepareResume, "hi"))
	f.MOVL(R.G, f.out(prepareResume, "gp"))
	f.CALL(prepareResume)
	f.MOVL(f.out(prepareResume, "ret"), R.Acc)
	f.TESTL(R.Acc, R.Acc)
	f.JNZ("done")
	f.MOVL(f.arg("c"), R.Ctx)

	f.Label("in")
	f.Comment(rewrap(whyCallSwapin)...)
	f.MOVL(R.Ctx, f.out(coEntry, "c"))
	f.CALL(Callee{Name: dSwapin.Name})
	f.XORL(R.Acc, R.Acc)

	f.Label("done")
	f.MOVL(R.Acc, f.arg("ret"))
	f.RET()
}

// swapin

func swapinAMD64(b *asmAMD64, shared bool) {
	a, R := b.a, b.a.Roles
	b.Comment(rewrap(whySwapin(a))...)
	b.CMPQ(b.glob(gTret), operand.U8(0))
	b.JNE(lbl("tretknown"))
	b.Comment(rewrap(whyTret)...)
	b.MOVQ(b.at(0, SP), b.r(R.Acc))
	b.MOVQ(b.r(R.Acc), b.glob(gTret))

	b.Label("tretknown")
	b.MOVQ(b.fld(fN, R.Ctx, 8), b.r(R.N))
	b.Comment(rewrap(whyImage)...)
	b.MOVQ(b.fld(fHi, R.Ctx, 8), b.r(R.Dst))
	b.SUBQ(operand.Imm(uint64(a.Word)), b.r(R.Dst))
	b.SUBQ(b.r(R.N), b.r(R.Dst))
	b.MOVQ(b.fld(fBuf, R.Ctx, 8), b.r(R.Src))
	b.copyLoop("copyin", "copied")
	fpuEnter(b, shared)
	b.TESTQ(b.r(R.N), b.r(R.N))
	b.JZ(lbl("first"))
	b.Comment(rewrap(whyYieldRet(a))...)
	b.MOVL(b.fld(fYret, R.Ctx, 4), b.r32(R.Acc))
	b.MOVQ(b.fld(fHi, R.Ctx, 8), b.r(R.Slot))
	b.SUBQ(b.r(R.Acc), b.r(R.Slot))
	b.CMPW(b.fld(fEnter, R.Ctx, 2), operand.U16(0))
	b.JNE(lbl(intoYield(a)))
	if a.FramePointer {
		b.MOVQ(b.at(-a.Word, R.Slot), b.r(BP))
	}
	b.MOVQ(b.at(0, R.Slot), b.r(R.PC))
	b.LEAQ(b.at(a.Word, R.Slot), b.r(SP))
	b.reestablish()
	b.JMP(b.r(R.PC))

	if a.FramePointer {
		b.Label(intoYield(a))
		b.Comment(rewrap(whyYieldBP)...)
		b.LEAQ(b.at(-a.Word, R.Slot), b.r(BP))
	}

	b.Label("first")
	b.Comment(rewrap(whyFirst)...)
	b.MOVQ(b.fld(fPC, R.Ctx, 8), b.r(R.Acc))
	b.MOVQ(b.r(R.Dst), b.r(SP))
	b.JMP(b.r(R.Acc))
}

func swapin386(f *func386, shared bool) {
	a, R := f.a, f.a.Roles
	f.Comment(rewrap(whySwapin(a))...)
	f.CMPL(f.glob(gTret), imm(0))
	f.JNE("tretknown")
	f.Comment(rewrap(whyTret)...)
	f.MOVL(at(0, SP), R.Acc)
	f.MOVL(R.Acc, f.glob(gTret))

	f.Label("tretknown")
	f.MOVL(f.fld(fN, R.Ctx, 4), R.N)
	f.Comment(rewrap(whyImage)...)
	f.MOVL(f.fld(fHi, R.Ctx, 4), R.Dst)
	f.SUBL(imm(a.Word), R.Dst)
	f.SUBL(R.N, R.Dst)
	f.MOVL(f.fld(fBuf, R.Ctx, 4), R.Src)
	f.copyLoop("copyin", "copied")
	fpuEnter(f, shared)
	f.TESTL(R.N, R.N)
	f.JZ("first")
	f.Comment(rewrap(whyYieldRet(a))...)
	f.MOVL(f.fld(fYret, R.Ctx, 4), R.Acc)
	f.MOVL(f.fld(fHi, R.Ctx, 4), R.Slot)
	f.SUBL(R.Acc, R.Slot)
	f.CMPW(f.fld(fEnter, R.Ctx, 2), imm(0))
	f.JNE(intoYield(a))
	if a.FramePointer {
		f.MOVL(at(-a.Word, R.Slot), BP)
	}
	f.MOVL(at(0, R.Slot), R.PC)
	f.LEAL(at(a.Word, R.Slot), SP)
	f.reestablish()
	f.JMP(R.PC)

	if a.FramePointer {
		f.Label(intoYield(a))
		f.Comment(rewrap(whyYieldBP)...)
		f.LEAL(at(-a.Word, R.Slot), BP)
	}

	f.Label("first")
	f.Comment(rewrap(whyFirst)...)
	f.MOVL(f.fld(fPC, R.Ctx, 4), R.Acc)
	f.MOVL(R.Dst, SP)
	f.JMP(R.Acc)
}

// swapout

func swapoutAMD64(b *asmAMD64) {
	a, R := b.a, b.a.Roles
	b.NO_LOCAL_POINTERS()
	b.MOVQ(b.arg("c"), b.r(R.Ctx))
	b.Comment(rewrap(whySwapoutRet)...)
	b.MOVQ(operand.U32(0), b.arg("ret"))
	b.Comment(rewrap(whyCapture(a))...)
	b.LEAQ(b.arg("c"), b.r(R.Src))
	b.MOVQ(b.r(R.Ctx), b.out(capture, "c"))
	b.MOVQ(b.r(R.Src), b.out(capture, "lo"))
	b.loadG(R.Acc)
	b.MOVQ(b.r(R.Acc), b.out(capture, "gp"))
	b.call(capture)
	b.MOVQ(b.out(capture, "ret"), b.r(R.Acc))
	b.TESTQ(b.r(R.Acc), b.r(R.Acc))
	b.JZ(lbl("switch"))
	b.MOVQ(b.r(R.Acc), b.arg("ret"))
	b.RET()

	b.Label("switch")
	b.Comment(rewrap(whySwapleave)...)
	b.MOVQ(b.arg("c"), b.r(R.Ctx))
	b.LEAQ(b.arg("c"), b.r(R.Src))
	b.call(Callee{Name: dSwapleave.Name})
	b.RET() // not reached
}

func swapleaveAMD64(b *asmAMD64, shared bool) {
	a, R := b.a, b.a.Roles
	tf := a.trampFrame()
	b.MOVQ(b.fld(fBuf, R.Ctx, 8), b.r(R.Dst))
	b.MOVQ(b.fld(fN, R.Ctx, 8), b.r(R.N))
	b.copyLoop("copyout", "saved")
	fpuLeave(b, shared)
	b.Comment(rewrap(whySkipRs)...)
	b.MOVQ(b.fld(fHi, R.Ctx, 8), b.r(R.Acc))
	b.MOVQ(b.at(tf.RetPC, R.Acc), b.r(R.PC))
	b.CMPQ(b.r(R.PC), b.glob(gResumeSkipPC))
	b.JNE(lbl("leavetramp"))
	b.MOVQ(b.glob(gResumeSkipFrame), b.r(R.Slot))
	b.LEAQ(operand.Mem{Disp: int(tf.Args), Base: b.r(R.Acc), Index: b.r(R.Slot), Scale: 1}, b.r(R.Slot))
	if a.FramePointer {
		b.MOVQ(b.at(-a.Word, R.Slot), b.r(BP))
	}
	b.MOVQ(b.at(0, R.Slot), b.r(R.PC))
	b.LEAQ(b.at(a.Word, R.Slot), b.r(SP))
	b.reestablish()
	b.JMP(b.r(R.PC))

	b.Label("leavetramp")
	b.Comment(rewrap(whyLeaveTramp(a))...)
	b.MOVQ(operand.U32(0), b.at(tf.Result, R.Acc))
	if a.FramePointer {
		b.MOVQ(b.at(tf.BP, R.Acc), b.r(BP))
	}
	b.LEAQ(b.at(tf.Args, R.Acc), b.r(SP))
	b.JMP(b.r(R.PC))
}

func swapout386(f *func386) {
	a, R := f.a, f.a.Roles
	f.NO_LOCAL_POINTERS()
	f.MOVL(f.arg("c"), R.Ctx)
	f.Comment(rewrap(whySwapoutRet)...)
	f.MOVL(imm(0), f.arg("ret"))
	f.Comment(rewrap(whyCapture(a))...)
	f.LEAL(f.arg("c"), R.Src)
	f.MOVL(R.Ctx, f.out(capture, "c"))
	f.MOVL(R.Src, f.out(capture, "lo"))
	f.loadG(R.Acc)
	f.MOVL(R.Acc, f.out(capture, "gp"))
	f.CALL(capture)
	f.MOVL(f.out(capture, "ret"), R.Acc)
	f.TESTL(R.Acc, R.Acc)
	f.JZ("switch")
	f.MOVL(R.Acc, f.arg("ret"))
	f.RET()

	f.Label("switch")
	f.Comment(rewrap(whySwapleave)...)
	f.MOVL(f.arg("c"), R.Ctx)
	f.LEAL(f.arg("c"), R.Src)
	f.CALL(Callee{Name: dSwapleave.Name})
	f.RET() // not reached
}

func swapleave386(f *func386, shared bool) {
	a, R := f.a, f.a.Roles
	tf := a.trampFrame()
	f.MOVL(f.fld(fBuf, R.Ctx, 4), R.Dst)
	f.MOVL(f.fld(fN, R.Ctx, 4), R.N)
	f.copyLoop("copyout", "saved")
	fpuLeave(f, shared)
	f.Comment(rewrap(whySkipRs)...)
	f.MOVL(f.fld(fHi, R.Ctx, 4), R.Acc)
	f.MOVL(at(tf.RetPC, R.Acc), R.PC)
	f.CMPL(R.PC, f.glob(gResumeSkipPC))
	f.JNE("leavetramp")
	f.MOVL(f.glob(gResumeSkipFrame), R.Slot)
	f.LEAL(at(tf.Args, R.Acc).idx(R.Slot, 1), R.Slot)
	if a.FramePointer {
		f.MOVL(at(-a.Word, R.Slot), BP)
	}
	f.MOVL(at(0, R.Slot), R.PC)
	f.LEAL(at(a.Word, R.Slot), SP)
	f.reestablish()
	f.JMP(R.PC)

	f.Label("leavetramp")
	f.Comment(rewrap(whyLeaveTramp(a))...)
	f.MOVL(imm(0), at(tf.Result, R.Acc))
	if a.FramePointer {
		f.MOVL(at(tf.BP, R.Acc), BP)
	}
	f.LEAL(at(tf.Args, R.Acc), SP)
	f.JMP(R.PC)
}

// Files.

// constraint is the build constraint of an assembly file of the variant.
func constraint(shared bool) []string {
	tag := sharedFPUTag
	if !shared {
		tag = "!" + tag
	}
	return append(append([]string{}, baseConstraint...), tag)
}

// asmAMD64File generates the amd64 switch of the variant with avo.
func asmAMD64File(shared bool) ([]byte, error) {
	b := newAMD64()
	for _, d := range decls {
		b.text(d)
		switch d {
		case dCoEntryPC:
			pcOfAMD64(b, coEntry.Name)
		case dFpuEnv:
			fpuEnvAMD64(b)
		case dFpuSetEnv:
			fpuSetEnvAMD64(b)
		case dFpuToCo:
			fpuToCoAMD64(b, shared)
		case dFpuToMain:
			fpuToMainAMD64(b, shared)
		case dTrampoline:
			trampolineAMD64(b)
		case dSwapin:
			swapinAMD64(b, shared)
		case dSwapout:
			swapoutAMD64(b)
		case dSwapleave:
			swapleaveAMD64(b, shared)
		case dNextJump:
			nextJumpAMD64(b)
		case dNextJumpPC:
			pcOfAMD64(b, dNextJump.Name)
		}
	}
	f, err := b.file(constraint(shared))
	if err != nil {
		return nil, err
	}
	return printer.NewGoAsm(printer.Config{Name: generatedBy + " (avo)"}).Print(f)
}

// asm386File generates the 386 switch of the variant with the 386 emitter.
func asm386File(shared bool) ([]byte, error) {
	file := &file386{
		generatedBy: generatedBy,
		constraint:  joinConstraint(constraint(shared)),
		includes:    includes,
	}
	for _, d := range decls {
		f := &func386{a: i386, d: d, frame: i386.frameSize(d), args: i386.abi0(d.Sig)}
		switch d {
		case dCoEntryPC:
			pcOf386(f, coEntry.Name)
		case dFpuEnv:
			fpuEnv386(f)
		case dFpuSetEnv:
			fpuSetEnv386(f)
		case dFpuToCo:
			fpuToCo386(f, shared)
		case dFpuToMain:
			fpuToMain386(f, shared)
		case dTrampoline:
			trampoline386(f)
		case dSwapin:
			swapin386(f, shared)
		case dSwapout:
			swapout386(f)
		case dSwapleave:
			swapleave386(f, shared)
		case dNextJump:
			nextJump386(f)
		case dNextJumpPC:
			pcOf386(f, dNextJump.Name)
		}
		used, defined := f.labels()
		if err := checkFunc(i386, d, f.written(), used, defined); err != nil {
			return nil, err
		}
		file.funcs = append(file.funcs, f)
	}
	return file.print(), nil
}

// getgAMD64File and getg386File generate zgetg_*.s.
func getgAMD64File() ([]byte, error) {
	b := newAMD64()
	b.text(dGetg)
	getgAMD64(b)
	f, err := b.file(getgConstraint)
	if err != nil {
		return nil, err
	}
	return printer.NewGoAsm(printer.Config{Name: generatedBy + " (avo)"}).Print(f)
}

func getg386File() ([]byte, error) {
	file := &file386{
		generatedBy: generatedBy,
		constraint:  joinConstraint(getgConstraint),
		includes:    []string{"textflag.h"},
	}
	f := &func386{a: i386, d: dGetg, frame: 0, args: i386.abi0(dGetg.Sig)}
	getg386(f)
	used, defined := f.labels()
	if err := checkFunc(i386, dGetg, f.written(), used, defined); err != nil {
		return nil, err
	}
	file.funcs = append(file.funcs, f)
	return file.print(), nil
}

// getgARM64File generates zgetg_arm64.s: on arm64 the Go assembler names
// the register that holds g (R28) "g". Only getg exists there so far, for
// the portable engine's misuse checks, which read the goroutine's state
// through the runtime tables (zrtlayout_*_arm64.go); the switch and its
// contract come with the copy-stack engine on arm64. The 386 emitter's
// printer lays the file out, with operands written as the arm64 assembler
// spells them.
func getgARM64File() ([]byte, error) {
	file := &file386{
		generatedBy: generatedBy,
		constraint:  joinConstraint(getgConstraint),
		includes:    []string{"textflag.h"},
	}
	f := &func386{a: arm64Word, d: dGetg, frame: 0, args: arm64Word.abi0(dGetg.Sig)}
	f.add("MOVD", false, asmText("g"), f.arg("ret"))
	f.RET()
	file.funcs = append(file.funcs, f)
	return file.print(), nil
}
