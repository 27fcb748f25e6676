package main

// The declarations the generator writes: the Go side of every assembly
// function (aco/zswitch.go), the Go functions and globals the assembly
// uses, and the constants both sides share. The register contract they
// obey is contract.go.

import "go/types"

// baseConstraint is where the copy-stack engine exists: the releases whose
// runtime layouts aco knows, never under the race detector.
var baseConstraint = []string{"linux", "go1.26", "!go1.28", "!race"}

// Param is a named parameter or result.
type Param struct {
	Name string
	Type types.Type
}

func sig(params, results []Param) *types.Signature {
	tuple := func(ps []Param) *types.Tuple {
		var vs []*types.Var
		for _, p := range ps {
			vs = append(vs, types.NewParam(0, acoPkg, p.Name, p.Type))
		}
		return types.NewTuple(vs...)
	}
	return types.NewSignatureType(nil, nil, nil, tuple(params), tuple(results), false)
}

func params(ps ...Param) []Param { return ps }

var ctxPtr = types.NewPointer(swctxType)

// Callee is a Go function the assembly calls, with the signature it
// assumes. Under ABI0 its arguments and results live at the bottom of the
// caller's frame; zswitch.go asserts the signature at compile time.
type Callee struct {
	Name string
	Sig  *types.Signature
}

var (
	prepareResume = Callee{"prepareResume", sig(params(Param{"c", ctxPtr}, Param{"hi", uintptrT}, Param{"gp", uintptrT}), params(Param{"", uintptrT}))}
	capture       = Callee{"capture", sig(params(Param{"c", ctxPtr}, Param{"lo", uintptrT}, Param{"gp", uintptrT}), params(Param{"", uintptrT}))}
	captureMiss   = Callee{"captureMiss", capture.Sig}
	// coEntry is not called but jumped to, from swapin, as if the
	// trampoline had called it: its argument sits where the trampoline's
	// outgoing arguments do.
	coEntry = Callee{"coEntry", sig(params(Param{"c", ctxPtr}), nil)}
)

// Global is a package variable the assembly reads or writes.
type Global struct {
	Name string
	Type types.Type
}

var (
	gResumeSkipPC    = Global{"resumeSkipPC", uintptrT}
	gResumeSkipFrame = Global{"resumeSkipFrame", uintptrT}
	gCopyRepMin      = Global{"copyRepMin", uintptrT}
)

var globals = []Global{gResumeSkipPC, gResumeSkipFrame, gCopyRepMin}

// Constants the contract owns, which zswitch.go declares for the Go side.
const (
	// stackMargin is the stack kept free below a restored image: more than
	// the runtime's StackGuard (928 bytes on these architectures) plus the
	// linker's nosplit limit (800), so the code that continues there may
	// run nosplit chains and reach the next stack check.
	stackMargin = 4096
	// statusOK is what prepareResume and capture return when the switch may
	// go on: the assembly tests their result against zero.
	statusOK = 0
)

// Go constants the assembly uses through go_asm.h (const_<name>): the
// runtime's layout, per release, and the stack margin.
const (
	cStackMargin  = "stackMargin"
	cGStackLo     = "rtGStackLo"
	cGStackHi     = "rtGStackHi"
	cGM           = "rtGM"
	cMLockedExt   = "rtMLockedExt"
	cStSuspended  = "stSuspended"
	cSwEnd        = "swEnd"
	cSwMiss       = "swMiss"
	goAsmConstPfx = "const_"
)

// Decl is an assembly function: its Go declaration, its doc comment, its
// TEXT flags and the Go functions whose ABI0 arguments its frame holds.
type Decl struct {
	Name    string
	Sig     *types.Signature
	Doc     string
	NoSplit bool
	NoFrame bool
	Calls   []Callee
	// Switch: it leaves by jumping into another context, so it may load
	// the registers the contract keeps (SP, BP, the ABIInternal ones).
	// Nothing else may write them: above all not the trampoline, which
	// stays on the stack as an ordinary frame.
	Switch bool
}

var (
	dTrampoline = &Decl{
		Name: "trampoline",
		Sig:  sig(params(Param{"c", ctxPtr}), params(Param{"", uintptrT})),
		Doc: `trampoline resumes the co of c: it calls prepareResume if it must and
then swapin, and returns when the co yields or returns. It never writes
SP itself, so it is an ordinary frame under the co's frames.`,
		Calls: []Callee{prepareResume, coEntry},
	}
	dSwapin = &Decl{
		Name: "swapin",
		Sig:  sig(nil, nil),
		Doc: `swapin copies the image onto the stack below the trampoline's frame and
jumps into it. Called only by trampoline, which passes c in a register.`,
		NoSplit: true,
		NoFrame: true,
		Switch:  true,
	}
	dSwapout = &Decl{
		Name: "swapout",
		Sig:  sig(params(Param{"c", ctxPtr}), nil),
		Doc: `swapout saves the frames between its caller and the trampoline (calling
capture, then swapleave) and so leaves into the trampoline's caller. It
returns with c.status 0 when the co is resumed, or the status capture (or,
after its fast path, captureMiss) gave if the co could not yield (for a
caller that does not run the co, captureMiss panics instead and c is left as
it was). It never writes SP itself: capture runs Go code, and a
goroutine preempted at the entry of a Go function there has swapout as an
ordinary frame under it, which the garbage collector's unwinder must be
able to walk through.`,
		NoSplit: true,
		Calls:   []Callee{capture, captureMiss},
	}
	dSwapleave = &Decl{
		Name: "swapleave",
		Sig:  sig(nil, nil),
		Doc: `swapleave copies the image out to the save stack and jumps into the
trampoline's caller. Called only by swapout, which passes c and the
image's lowest address in registers; it never returns.`,
		NoSplit: true,
		NoFrame: true,
		Switch:  true,
	}
	dGetg = &Decl{
		Name:    "getg",
		Sig:     sig(nil, params(Param{"", uintptrT})),
		Doc:     `getg returns the current goroutine's runtime g.`,
		NoSplit: true,
	}
	dFpuEnv = &Decl{
		Name:    "fpuEnv",
		Sig:     sig(nil, params(Param{"cw", uint16T}, Param{"mxcsr", uint32T})),
		Doc:     `fpuEnv returns the current x87 control word and MXCSR.`,
		NoSplit: true,
	}
	dFpuToCo = &Decl{
		Name: "fpuToCo",
		Sig:  sig(params(Param{"c", ctxPtr}), nil),
		Doc: `fpuToCo saves the resumer's FPU environment in c and loads the co's:
swapin's FPU switch, for a co on a goroutine of its own (move.go).`,
		NoSplit: true,
	}
	dFpuToMain = &Decl{
		Name: "fpuToMain",
		Sig:  sig(params(Param{"c", ctxPtr}), nil),
		Doc: `fpuToMain saves the co's FPU environment in c and loads the resumer's:
swapleave's FPU switch, for a co on a goroutine of its own (move.go).`,
		NoSplit: true,
	}
	dFpuSetEnv = &Decl{
		Name:    "fpuSetEnv",
		Sig:     sig(params(Param{"cw", uint16T}, Param{"mxcsr", uint32T}), nil),
		Doc:     `fpuSetEnv loads the x87 control word and MXCSR (for tests).`,
		NoSplit: true,
	}
)

// decls is the order of the declarations in zswitch.go and of the
// functions in the switch's assembly files.
var decls = []*Decl{dFpuEnv, dFpuSetEnv, dFpuToCo, dFpuToMain, dTrampoline, dSwapin, dSwapout, dSwapleave}

// getg lives in files of its own (zgetg_*.s), built wherever the runtime
// layout tables are, the race detector included: the portable engine's
// misuse checks read the goroutine too. Its Go declaration is in
// aco/rtlayout.go.
var getgConstraint = []string{"linux", "go1.26", "!go1.28"}

func declByName(name string) *Decl {
	for _, d := range append(decls, dGetg) {
		if d.Name == name {
			return d
		}
	}
	panic("no declaration of " + name)
}
