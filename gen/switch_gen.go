package main

// The switch: trampoline, swapin (copy-in), swapout (copy-out), and the
// small helper getg, each described once over the lower
// interface (lower.go) and lowered to amd64 with avo and to 386 with the
// typed emitter; registers, field widths, frame sizes and frame offsets
// all come from the contract (contract.go).

import (
	"strings"

	"github.com/mmcloughlin/avo/printer"
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
		"of prepareResume and of coEntry and, beside coEntry's while the co runs,",
		"the thread's LockOSThread counts at the resume, which a yield compares:",
		"they belong to the resume, not to the co, so no co keeps them.",
	}
	whyLocks = []string{"The thread's lock counts at this resume, for the yield to compare."}
	whyRegs  = []string{"c, g, and hi: our SP, one word above the image's end."}
	whyFast  = []string{
		"The fast path: the image goes back where it was and has no defers,",
		"and there is room below it (else prepareResume says swGrow).",
	}
	whyCallSwapin = []string{
		"c is also coEntry's argument. The call pushes the return address below",
		"which the image goes: the co's bottom frame (coEntry) returns here, into",
		"the trampoline, when the co ends.",
	}
	whyEnd = []string{
		"The co's bottom frame returned here: it ended, and is still ours. A yield",
		"leaves with 0 instead, after which the co may be another goroutine's.",
	}
	whyImage = []string{"The image ends just below our return address."}
	whyFirst = []string{"Continue at the saved PC, with the image's lowest address as SP."}
	whyEntry = []string{
		"Before the first run the saved PC is coEntry's ABIInternal entry (no ABI",
		"wrapper: its frame would be in every image), which takes c in a",
		"register; in Yield, where the saved PC is otherwise, both are harmless.",
	}
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
	whyRelease = []string{
		"The image is saved and hi read: nothing below touches c. Only now may",
		"another goroutine resume the co (its Resume compares and swaps this",
		"state): marking it suspended any earlier would let that goroutine copy a",
		"half-saved image in, or change hi under us. A plain store is a release",
		"on x86 (stores are not reordered with older stores).",
	}
	whyCaptureMiss = []string{
		"capture is the common yield's fast path and nothing else: for any other",
		"yield it returns swMiss, and captureMiss does the rest. A call of its",
		"own, not one inside capture: the frames of the slow path's nosplit",
		"chain then start here, not below capture's (larger) frame.",
	}
	whySwapoutRet = []string{
		"capture failed: the status tells Yield what to do first. A status in",
		"c, not a result, keeps Yield's frame, in every image, a word smaller.",
		"Only the co's runner gets here: capture panics for any other caller",
		"(yieldOutside), which must write nothing to c.",
	}
	whySwapoutOK = []string{
		"status is 0 when the co is resumed: what Yield finds then.",
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

// copyLoop copies n bytes (a multiple of the word size) from (src) to
// (dst): 32 bytes per step through two SSE registers (SSE2 is part of the
// baseline on both architectures), then the rest in at most two 16-byte
// moves (see copyWords); name names its labels. A switch costs the bytes it copies, so this loop is where
// large images spend their time.
//
// Where the contract has a Keep register (amd64), an image of copyRepMin
// bytes or more is copied by REP MOVSB instead, which CPUs with enhanced
// REP MOVSB (ERMS) run faster than the loop for large images (copyRepMin
// is set at init from the CPU's features; without ERMS it is never
// reached). REP MOVSB takes Ctx's register, so Keep holds Ctx meanwhile,
// and it counts N down, so N is loaded again after it.
func copyLoop(e lower, name, done string) {
	a, R := e.arch(), e.arch().Roles
	rep := R.Keep != ""
	if rep {
		if R.Src != SI || R.N != CX {
			panic("copyLoop: REP MOVSB needs Src in SI and N in CX")
		}
		e.Cmp(R.N, a.glob(gCopyRepMin))
		e.Jump(ifAboveEq, name+"rep")
	}
	copyWords(e, name, done)
	if rep {
		e.Label(name + "rep")
		e.Comment("A string move: destination DI, source SI, count CX; c waits in " + string(R.Keep) + ".")
		e.Mov(R.Ctx, R.Keep)
		e.Mov(R.Dst, DI)
		e.RepMovsb()
		e.Mov(R.Keep, R.Ctx)
		e.Mov(a.word(fN, R.Ctx), R.N)
	}
	e.Label(done)
}

// copyWords is the copy loop proper: Word holds the end of the whole
// 32-byte blocks, then the next index and the word moved. The rest after
// the blocks (under 32 bytes) takes at most two 16-byte moves, the second
// ending at the image's end: it may copy again bytes already copied, which
// is harmless as source and destination are apart, and costs fewer steps
// than moving the last word alone. Only an image under 16 bytes goes a
// word at a time.
func copyWords(e lower, name, done string) {
	a, R := e.arch(), e.arch().Roles
	src := func(d int64) mem { return at(d, R.Src).idx(R.Idx, 1) }
	dst := func(d int64) mem { return at(d, R.Dst).idx(R.Idx, 1) }
	end := func(base Reg) mem { return at(-16, base).idx(R.N, 1) }
	e.XorWord(R.Idx)
	e.Mov(R.N, R.Word)
	e.AndImm(-32, R.Word)
	e.Jump(ifZero, name+"short")
	e.Label(name)
	e.Movou(src(0), R.Vec)
	e.Movou(src(16), R.Vec2)
	e.Movou(R.Vec, dst(0))
	e.Movou(R.Vec2, dst(16))
	e.Add(imm(32), R.Idx)
	e.Cmp(R.Idx, R.Word)
	e.Jump(ifBelow, name)
	e.Label(name + "tail")
	e.Cmp(R.Idx, R.N)
	e.Jump(ifAboveEq, done)
	e.Lea(at(16, R.Idx), R.Word)
	e.Cmp(R.Word, R.N)
	e.Jump(ifAboveEq, name+"last")
	e.Movou(src(0), R.Vec)
	e.Movou(R.Vec, dst(0))
	e.Label(name + "last")
	e.Movou(end(R.Src), R.Vec)
	e.Movou(R.Vec, end(R.Dst))
	e.Jmp(done)
	e.Label(name + "short")
	e.Cmp(R.N, imm(16))
	e.Jump(ifAboveEq, name+"tail")
	e.Label(name + "words")
	e.Cmp(R.Idx, R.N)
	e.Jump(ifAboveEq, done)
	e.Mov(src(0), R.Word)
	e.Mov(R.Word, dst(0))
	e.Add(imm(a.Word), R.Idx)
	e.Jmp(name + "words")
}

// getg returns the goroutine's g.
func getg(e lower) {
	e.LoadG(AX)
	e.Mov(AX, e.arg("ret"))
	e.Ret()
}

// trampoline

func trampoline(e lower) {
	a, R := e.arch(), e.arch().Roles
	e.Comment(rewrap(whyTrampoline)...)
	e.NoLocalPointers()
	e.Comment(rewrap(whyRegs)...)
	e.Mov(e.arg("c"), R.Ctx)
	e.LoadG(R.G)
	e.Mov(SP, R.Hi)
	e.Comment(rewrap(whyFast)...)
	e.Cmp8(a.fld(fSlow, R.Ctx, 1), imm(0))
	e.Jump(ifNotEqual, "slow")
	e.Cmp(R.Hi, a.word(fHi, R.Ctx))
	e.Jump(ifNotEqual, "slow")
	e.Mov(a.word(fN, R.Ctx), R.N)
	e.Mov(R.Hi, R.Acc)
	e.Sub(R.N, R.Acc)
	e.Sub(symImm{a.Word, []string{goAsmConstPfx + cStackMargin}}, R.Acc)
	e.Cmp(R.Acc, rt(cGStackLo, R.G))
	e.Jump(ifCarry, "slow")
	e.Mov(R.G, a.word(fG, R.Ctx))
	e.Mov(rt(cGStackHi, R.G), R.Acc)
	e.Sub(R.Hi, R.Acc)
	e.Mov32(R.Acc, a.fld(fHiOff, R.Ctx, 4))
	e.Inc64(a.fld(fCopies, R.Ctx, 8))
	e.Jmp("in")

	e.Label("slow")
	e.Mov(R.Ctx, e.out(prepareResume, "c"))
	e.Mov(R.Hi, e.out(prepareResume, "hi"))
	e.Mov(R.G, e.out(prepareResume, "gp"))
	e.Call(prepareResume)
	e.Mov(e.out(prepareResume, "ret"), R.Acc)
	e.Test(R.Acc)
	e.Jump(ifNonZero, "done")
	e.Mov(e.arg("c"), R.Ctx)
	e.LoadG(R.G)

	e.Label("in")
	e.Comment(rewrap(whyLocks)...)
	e.Mov(rt(cGM, R.G), R.Acc)
	e.Move64(rt(cMLockedExt, R.Acc), at(a.trampFrame().Locks, SP))
	e.Comment(rewrap(whyCallSwapin)...)
	e.Mov(R.Ctx, e.out(coEntry, "c"))
	e.Call(Callee{Name: dSwapin.Name})
	e.Comment(rewrap(whyEnd)...)
	e.Mov(constOf(cSwEnd), R.Acc)

	e.Label("done")
	e.Mov(R.Acc, e.arg("ret"))
	e.Ret()
}

// swapin

func swapin(e lower, shared bool) {
	a, R := e.arch(), e.arch().Roles
	e.Comment(rewrap(whySwapin(a))...)
	e.Mov(a.word(fN, R.Ctx), R.N)
	e.Comment(rewrap(whyImage)...)
	e.Mov(a.word(fHi, R.Ctx), R.Dst)
	e.Sub(imm(a.Word), R.Dst)
	e.Sub(R.N, R.Dst)
	e.Mov(a.word(fBuf, R.Ctx), R.Src)
	copyLoop(e, "copyin", "copied")
	fpuEnter(e, shared)
	e.Test(R.N)
	e.Jump(ifZero, "first")
	e.Comment(rewrap(whyYieldRet(a))...)
	e.Mov32(a.fld(fYret, R.Ctx, 4), R.Acc)
	e.Mov(a.word(fHi, R.Ctx), R.Slot)
	e.Sub(R.Acc, R.Slot)
	e.Cmp8(a.fld(fEnter, R.Ctx, 1), imm(0))
	e.Jump(ifNotEqual, intoYield(a))
	returnVia(e, R.Slot)

	if a.FramePointer {
		e.Label(intoYield(a))
		e.Comment(rewrap(whyYieldBP)...)
		e.Lea(at(-a.Word, R.Slot), BP)
	}

	e.Label("first")
	e.Comment(rewrap(whyFirst)...)
	e.Mov(a.word(fPC, R.Ctx), R.PC)
	e.Mov(R.Dst, SP)
	if a.Arg0 != "" {
		e.Comment(rewrap(whyEntry)...)
		e.Mov(R.Ctx, a.Arg0)
	}
	e.Reestablish()
	e.JmpReg(R.PC)
}

// returnVia returns for the frame whose return address is at (slot): it
// restores that frame's caller's BP (saved just below the return address)
// and SP (just above it) and jumps to the return address.
func returnVia(e lower, slot Reg) {
	a, R := e.arch(), e.arch().Roles
	if a.FramePointer {
		e.Mov(at(-a.Word, slot), BP)
	}
	e.Mov(at(0, slot), R.PC)
	e.Lea(at(a.Word, slot), SP)
	e.Reestablish()
	e.JmpReg(R.PC)
}

// swapout

func swapout(e lower) {
	a, R := e.arch(), e.arch().Roles
	e.NoLocalPointers()
	e.Mov(e.arg("c"), R.Ctx)
	e.Comment(rewrap(whyCapture(a))...)
	callCapture(e, capture)
	e.Jump(ifZero, "switch")
	e.Comment(rewrap(whyCaptureMiss)...)
	e.Cmp(R.Acc, constOf(cSwMiss))
	e.Jump(ifNotEqual, "failed")
	e.Mov(e.arg("c"), R.Ctx)
	callCapture(e, captureMiss)
	e.Jump(ifZero, "switch")

	e.Label("failed")
	e.Comment(rewrap(whySwapoutRet)...)
	e.Mov(e.arg("c"), R.Ctx)
	e.Mov8(R.Acc, a.fld(fStatus, R.Ctx, 1))
	e.Ret()

	e.Label("switch")
	e.Mov(e.arg("c"), R.Ctx)
	e.Comment(whySwapoutOK...)
	e.Mov8(imm(0), a.fld(fStatus, R.Ctx, 1))
	e.Comment(rewrap(whySwapleave)...)
	e.Lea(e.arg("c"), R.Src)
	e.Call(Callee{Name: dSwapleave.Name})
	e.Ret() // not reached
}

// callCapture calls c (capture or captureMiss) with the context in Ctx,
// Yield's SP and g, and leaves its result in Acc, with the flags of it.
func callCapture(e lower, c Callee) {
	R := e.arch().Roles
	e.Lea(e.arg("c"), R.Src)
	e.Mov(R.Ctx, e.out(c, "c"))
	e.Mov(R.Src, e.out(c, "lo"))
	e.LoadG(R.Acc)
	e.Mov(R.Acc, e.out(c, "gp"))
	e.Call(c)
	e.Mov(e.out(c, "ret"), R.Acc)
	e.Test(R.Acc)
}

func swapleave(e lower, shared bool) {
	a, R := e.arch(), e.arch().Roles
	tf := a.trampFrame()
	e.Mov(a.word(fBuf, R.Ctx), R.Dst)
	e.Mov(a.word(fN, R.Ctx), R.N)
	copyLoop(e, "copyout", "saved")
	fpuLeave(e, shared)
	e.Mov(a.word(fHi, R.Ctx), R.Acc)
	e.Comment(rewrap(whyRelease)...)
	e.Mov32(constOf(cStSuspended), symAt("Co_st", R.Ctx))
	e.Comment(rewrap(whySkipRs)...)
	e.Mov(at(tf.RetPC, R.Acc), R.PC)
	e.Cmp(R.PC, a.glob(gResumeSkipPC))
	e.Jump(ifNotEqual, "leavetramp")
	e.Mov(a.glob(gResumeSkipFrame), R.Slot)
	e.Lea(at(tf.Args, R.Acc).idx(R.Slot, 1), R.Slot)
	returnVia(e, R.Slot)

	e.Label("leavetramp")
	e.Comment(rewrap(whyLeaveTramp(a))...)
	e.Mov(imm(0), at(tf.Result, R.Acc))
	if a.FramePointer {
		e.Mov(at(tf.BP, R.Acc), BP)
	}
	e.Lea(at(tf.Args, R.Acc), SP)
	e.JmpReg(R.PC)
}

// routine describes the function d of the switch file, for either FPU
// variant.
func routine(e lower, d *Decl, shared bool) {
	switch d {
	case dFpuEnv:
		fpuEnv(e)
	case dFpuSetEnv:
		fpuSetEnv(e)
	case dFpuToCo:
		fpuToCo(e, shared)
	case dFpuToMain:
		fpuToMain(e, shared)
	case dTrampoline:
		trampoline(e)
	case dSwapin:
		swapin(e, shared)
	case dSwapout:
		swapout(e)
	case dSwapleave:
		swapleave(e, shared)
	default:
		panic("no routine for " + d.Name)
	}
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
		routine(b, d, shared)
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
		routine(f, d, shared)
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
	getg(b)
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
	getg(f)
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
