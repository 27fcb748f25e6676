package main

// The register contract of aco's context switch, written once: both the
// amd64 (avo) and the 386 emitters, and the Go declarations in
// aco/zswitch.go, are generated from the tables in this file.

import (
	"fmt"
	"go/types"
	"reflect"
	"slices"
	"strings"
)

// Reg is a machine register, by its Go assembler name.
type Reg string

// The registers the switch routines use.
const (
	AX  Reg = "AX"
	BX  Reg = "BX"
	CX  Reg = "CX"
	DX  Reg = "DX"
	SI  Reg = "SI"
	DI  Reg = "DI"
	BP  Reg = "BP"
	SP  Reg = "SP"
	R8  Reg = "R8"
	R9  Reg = "R9"
	R10 Reg = "R10"
	R14 Reg = "R14"
	X0  Reg = "X0"
	X1  Reg = "X1"
	X15 Reg = "X15"
)

// Hold says how a register keeps its value across a switch although the
// code that runs in between (the other context) clobbers it.
type Hold int

const (
	// InContext: the leaving side saves it (in the swctx, in the image or
	// in the frames above it) and the entering side loads it back.
	InContext Hold = iota
	// FromTLS: it holds g, reloaded from thread-local storage.
	FromTLS
	// Zero: it holds zero.
	Zero
)

// Kept is a value a switch must hand over intact: what it is, the register
// holding it at the switch ("" for the return PC, a word on the stack) and
// how the switch keeps it.
type Kept struct {
	What string
	Reg  Reg
	Hold Hold
}

// Roles are the registers of the switch routines, by what they hold. Every
// one is scratch under ABI0.
type Roles struct {
	Ctx  Reg // the *swctx; the trampoline passes it to swapin in this register
	G    Reg // trampoline: the goroutine's g
	Hi   Reg // trampoline: its own SP, the top of the image
	N    Reg // the image size in bytes
	Src  Reg // copy loops: source
	Dst  Reg // copy loops: destination
	Idx  Reg // copy loops: byte index
	Word Reg // copy loops: the word moved
	Vec  Reg // copy loops: 16 bytes moved (an SSE register)
	Vec2 Reg // copy loops: the next 16 bytes
	Acc  Reg // results, addresses of frames, return addresses read
	PC   Reg // the address a switch jumps to
	Slot Reg // the return address slot of the frame a switch returns from
	Hi32 Reg // 386: the high word of a 64-bit field ("" on amd64)
	// Keep holds Ctx while a string move (REP MOVSB: destination DI,
	// source SI, count CX) uses Ctx's register; "" where the copy loop
	// has no string-move form.
	Keep Reg
}

// Arch is the contract of one GOARCH.
type Arch struct {
	GOARCH string
	Word   int64       // pointer size in bytes
	Sizes  types.Sizes // the gc compiler's sizes
	// FramePointer: every frame saves the caller's BP just above itself
	// (runtime.framepointer_enabled).
	FramePointer bool
	// ABI0 is what an ABI0 function keeps for its caller; everything else
	// a call clobbers. A switch leaves one ABI0 call and returns from
	// another, so these are exactly what it carries from context to
	// context.
	ABI0 []Kept
	// Internal are the fixed registers of ABIInternal code. Go code that
	// calls an ABI0 function (directly or through an ABI wrapper)
	// re-establishes them after the call; a switch that jumps straight
	// into Go code in place of such a return must set them itself.
	Internal []Kept
	// Scratch are the registers the switch routines may clobber.
	Scratch []Reg
	Roles   Roles
	// Shares are the roles that may hold the same register, and why they
	// never need it at once; validate rejects any other sharing.
	Shares []Share
}

// Share is a set of roles that use one register.
type Share struct {
	Roles []string // field names of Roles
	Why   string
}

var amd64 = &Arch{
	GOARCH:       "amd64",
	Word:         8,
	Sizes:        types.SizesFor("gc", "amd64"),
	FramePointer: true,
	ABI0: []Kept{
		{"stack pointer", SP, InContext},
		{"frame pointer", BP, InContext},
		{"return PC", "", InContext},
		{"g", "", FromTLS},
	},
	Internal: []Kept{
		{"g", R14, FromTLS},
		{"zero", X15, Zero},
	},
	Scratch: []Reg{AX, BX, CX, DX, SI, DI, R8, R9, R10, R14, X0, X1, X15},
	Roles: Roles{
		Ctx: DI, G: R8, Hi: R9, N: CX,
		Src: SI, Dst: R8, Idx: R9, Word: R10, Vec: X0, Vec2: X1,
		Acc: AX, PC: CX, Slot: BX, Keep: DX,
	},
	Shares: []Share{
		{[]string{"G", "Dst"}, "g is the trampoline's, the destination the copy loops', which run in swapin and swapleave"},
		{[]string{"Hi", "Idx"}, "the trampoline hands hi to swapin, whose copy loop's index is computed from it"},
		{[]string{"N", "PC"}, "the image size is used up by the copy before the switch loads the PC it jumps to"},
	},
}

var i386 = &Arch{
	GOARCH:       "386",
	Word:         4,
	Sizes:        types.SizesFor("gc", "386"),
	FramePointer: false,
	ABI0: []Kept{
		{"stack pointer", SP, InContext},
		{"return PC", "", InContext},
		{"g", "", FromTLS},
	},
	Scratch: []Reg{AX, BX, CX, DX, SI, DI, BP, X0, X1},
	Roles: Roles{
		Ctx: DI, G: DX, Hi: BX, N: CX,
		Src: SI, Dst: BX, Idx: DX, Word: AX, Vec: X0, Vec2: X1,
		Acc: AX, PC: CX, Slot: DX, Hi32: SI,
	},
	Shares: []Share{
		{[]string{"G", "Idx", "Slot"}, "386 has six registers: g is the trampoline's, the index the copy loops', the slot the switch's after the copy"},
		{[]string{"Hi", "Dst"}, "as amd64's Hi and Idx: the copy's destination is computed from hi"},
		{[]string{"N", "PC"}, "the image size is used up by the copy before the switch loads the PC it jumps to"},
		{[]string{"Word", "Acc"}, "the copy loops' word and the results and addresses read outside them"},
		{[]string{"Src", "Hi32"}, "the copy's source and the high word of a 64-bit field, read outside the copy"},
	},
}

var arches = []*Arch{amd64, i386}

// arm64Word is arm64 as far as getg needs it: its word size, for the ABI0
// layout of getg's result. It has no switch contract yet.
var arm64Word = &Arch{GOARCH: "arm64", Word: 8, Sizes: types.SizesFor("gc", "arm64")}

// scratch reports whether r is scratch on a.
func (a *Arch) scratch(r Reg) bool {
	for _, s := range a.Scratch {
		if s == r {
			return true
		}
	}
	return false
}

// kept returns the registers a switch may load when it enters another
// context: the ABI0 ones it carries and the ABIInternal ones it sets.
func (a *Arch) kept() []Reg {
	var rs []Reg
	for _, k := range append(append([]Kept{}, a.ABI0...), a.Internal...) {
		if k.Reg != "" {
			rs = append(rs, k.Reg)
		}
	}
	return rs
}

// validate checks the contract's internal consistency.
func (a *Arch) validate() error {
	r := a.Roles
	v := reflect.ValueOf(r)
	for i := range v.NumField() {
		if x := v.Field(i).Interface().(Reg); x != "" && !a.scratch(x) {
			return fmt.Errorf("%s: role %s's register %s is not scratch", a.GOARCH, v.Type().Field(i).Name, x)
		}
	}
	if a.Sizes.Sizeof(types.Typ[types.Uintptr]) != a.Word {
		return fmt.Errorf("%s: word size %d disagrees with go/types", a.GOARCH, a.Word)
	}
	if (r.Hi32 != "") != (a.Word == 4) {
		return fmt.Errorf("%s: Hi32 is for 32-bit words only", a.GOARCH)
	}
	return a.checkShares()
}

// checkShares checks that roles hold the same register only as a Share
// says, and that every Share is one.
func (a *Arch) checkShares() error {
	byReg := map[Reg][]string{}
	v := reflect.ValueOf(a.Roles)
	for i := range v.NumField() {
		if x := v.Field(i).Interface().(Reg); x != "" {
			byReg[x] = append(byReg[x], v.Type().Field(i).Name)
		}
	}
	declared := map[string]bool{}
	for _, sh := range a.Shares {
		roles := slices.Sorted(slices.Values(sh.Roles))
		declared[strings.Join(roles, ",")] = true
	}
	seen := map[string]bool{}
	for x, roles := range byReg {
		if len(roles) < 2 {
			continue
		}
		slices.Sort(roles)
		key := strings.Join(roles, ",")
		if !declared[key] {
			return fmt.Errorf("%s: roles %s share %s, which the contract does not allow (Arch.Shares)", a.GOARCH, key, x)
		}
		seen[key] = true
	}
	for key := range declared {
		if !seen[key] {
			return fmt.Errorf("%s: Arch.Shares lists %s, which do not share a register", a.GOARCH, key)
		}
	}
	return nil
}

// Field is a field of swctx, the context the switch routines read and
// write. The assembly names it through go_asm.h (swctx_<name>), so its
// offset is the compiler's; its type fixes the width of every access.
type Field struct {
	Name string
	Type types.Type
	Doc  string // the line comment; "" continues the previous line
}

func (f *Field) asmName() string { return "swctx_" + f.Name }

var (
	uintptrT = types.Typ[types.Uintptr]
	uint16T  = types.Typ[types.Uint16]
	uint32T  = types.Typ[types.Uint32]
	uint64T  = types.Typ[types.Uint64]
)

var (
	fHi    = &Field{"hi", uintptrT, "the trampoline's SP: the image ends one word below it"}
	fN     = &Field{"n", uintptrT, "image size in bytes, a multiple of PtrSize; while the co runs, what a failed capture tells Yield"}
	fBuf   = &Field{"buf", uintptrT, "the save stack"}
	fPC    = &Field{"pc", uintptrT, "where the co continues; before the first run, coEntry"}
	fG     = &Field{"g", uintptrT, "the goroutine the co runs on"}
	fHiOff = &Field{"hiOff", uintptrT, "g.stack.hi - hi: survives the runtime moving the stack"}

	fSlow    = &Field{"slow", uint32T, "non-zero: the next resume needs prepareResume"}
	fYret    = &Field{"yret", uint32T, "offset below hi of Yield's return address"}
	fBufCap  = &Field{"bufCap", uint32T, "save stack size (before the first save: the size asked for)"}
	fMaxcpsz = &Field{"maxcpsz", uint32T, "libaco's max_cpsz"}

	fLocks     = &Field{"locks", uint64T, "the thread's LockOSThread counts (m.lockedExt, m.lockedInt) at resume"}
	fCtSave    = &Field{"ctSave", uint64T, "libaco's ct_save and ct_restore"}
	fCtRestore = &Field{"ctRestore", uint64T, ""}

	fMxcsrCo   = &Field{"mxcsrCo", uint32T, "SSE control/status of the co, of its resumer"}
	fMxcsrMain = &Field{"mxcsrMain", uint32T, ""}
	fCwCo      = &Field{"cwCo", uint16T, "x87 control words"}
	fCwMain    = &Field{"cwMain", uint16T, ""}
	fEnter     = &Field{"enter", uint16T, "non-zero: swapin enters Yield itself instead of returning from it for it"}
	fFPUShared = &Field{"fpuShared", uint16T, "non-zero: the co shares its resumer's FPU environment (a Pull iterator's, as iter.Pull's goroutines do): the switch leaves it alone"}
)

// swctxLayout is swctx, field by field in order, in groups.
var swctxLayout = [][]*Field{
	{fHi, fN, fBuf, fPC, fG, fHiOff},
	{fSlow, fYret, fBufCap, fMaxcpsz},
	{fLocks, fCtSave, fCtRestore},
	{fMxcsrCo, fMxcsrMain, fCwCo, fCwMain},
	{fEnter, fFPUShared},
}

// swctxType is swctx as a go/types type, for the signatures.
var swctxType = func() *types.Named {
	var vars []*types.Var
	for _, g := range swctxLayout {
		for _, f := range g {
			vars = append(vars, types.NewField(0, acoPkg, f.Name, f.Type, false))
		}
	}
	name := types.NewTypeName(0, acoPkg, "swctx", nil)
	return types.NewNamed(name, types.NewStruct(vars, nil), nil)
}()

// acoPkg is package aco, for naming types in signatures.
var acoPkg = types.NewPackage("github.com/arkenstone-go/arkenstone/aco", "aco")

// CtlWord is an FPU control register that each coroutine keeps as its own
// (unless built with the shared-environment tag): its size, the
// instructions that store it to and load it from memory, its copies in
// swctx and the result of fpuEnv that reports it.
type CtlWord struct {
	Name       string
	Bytes      int64
	Save, Load string
	Co, Main   *Field // the co's value, its resumer's
	Result     string
}

var fpuWords = []CtlWord{
	{"MXCSR", 4, "STMXCSR", "LDMXCSR", fMxcsrCo, fMxcsrMain, "mxcsr"},
	{"x87 control word", 2, "FSTCW", "FLDCW", fCwCo, fCwMain, "cw"},
}

// sharedFPUTag is the build tag of the variant in which all coroutines
// share one FPU environment (libaco's ACO_CONFIG_SHARE_FPU_MXCSR_ENV).
const sharedFPUTag = "aco_share_fpu_env"

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
		Sig:  sig(params(Param{"c", ctxPtr}), params(Param{"", uintptrT})),
		Doc: `swapout saves the frames between its caller and the trampoline (calling
capture, then swapleave) and so leaves into the trampoline's caller. It
returns 0 when the co is resumed, or the status capture gave if the co
could not yield. It never writes SP itself: capture runs Go code, and a
goroutine preempted at the entry of a Go function there has swapout as an
ordinary frame under it, which the garbage collector's unwinder must be
able to walk through.`,
		NoSplit: true,
		Calls:   []Callee{capture},
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
	dCoEntryPC = &Decl{
		Name:    "coEntryPC",
		Sig:     sig(nil, params(Param{"", uintptrT})),
		Doc:     `coEntryPC returns the ABI0 address of coEntry.`,
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
var decls = []*Decl{dCoEntryPC, dFpuEnv, dFpuSetEnv, dFpuToCo, dFpuToMain, dTrampoline, dSwapin, dSwapout, dSwapleave}

// getg lives in files of its own (zgetg_*.s), built wherever the runtime
// layout tables are, the race detector included: the portable engine's
// misuse checks read the goroutine too. Its Go declaration is in
// aco/rtlayout.go.
var getgConstraint = []string{"linux", "go1.26", "!go1.28"}

// ABI0 layout of a signature: arguments from offset 0, results from the
// next word boundary, as cmd/compile lays them out.
type abi0 struct {
	offs  map[string]int64 // by name; results without a name are "ret", "ret1", ...
	size  int64
	order []string
}

func (a *Arch) abi0(s *types.Signature) abi0 {
	l := abi0{offs: map[string]int64{}}
	var off int64
	add := func(t *types.Tuple, dflt string) {
		for i := 0; i < t.Len(); i++ {
			v := t.At(i)
			off = align(off, a.Sizes.Alignof(v.Type()))
			name := v.Name()
			if name == "" {
				name = dflt
				if i > 0 {
					name += fmt.Sprint(i)
				}
			}
			l.offs[name] = off
			l.order = append(l.order, name)
			off += a.Sizes.Sizeof(v.Type())
		}
	}
	add(s.Params(), "arg")
	off = align(off, a.Word)
	add(s.Results(), "ret")
	l.size = align(off, a.Word)
	return l
}

func (l abi0) off(name string) int64 {
	o, ok := l.offs[name]
	if !ok {
		panic("no argument " + name)
	}
	return o
}

func align(x, n int64) int64 { return (x + n - 1) / n * n }

// frameSize is the size of d's frame: room for the arguments of the
// functions it calls.
func (a *Arch) frameSize(d *Decl) int64 {
	var n int64
	for _, c := range d.Calls {
		n = max(n, a.abi0(c.Sig).size)
	}
	return n
}

// TrampFrame is the trampoline's frame, as offsets from its SP (hi), which
// swapout uses to return through it.
type TrampFrame struct {
	Size   int64 // its locals: the outgoing arguments
	BP     int64 // the saved frame pointer (amd64): where the trampoline's BP points
	RetPC  int64 // its return address
	Args   int64 // its arguments: its caller's SP after the return
	Result int64 // its result
}

func (a *Arch) trampFrame() TrampFrame {
	f := TrampFrame{Size: a.frameSize(dTrampoline)}
	f.BP = f.Size
	f.RetPC = f.Size
	if a.FramePointer {
		f.RetPC += a.Word
	} else {
		f.BP = 0 // no frame pointer: the trampoline's "frame pointer" is its SP
	}
	f.Args = f.RetPC + a.Word
	f.Result = f.Args + a.abi0(dTrampoline.Sig).off("ret")
	return f
}

// spDelta is how far a framed function's SP is below its entry SP in its
// body: its frame and, with frame pointers, the saved BP (what the
// runtime's pcsp table records).
func (a *Arch) spDelta(d *Decl) int64 {
	n := a.frameSize(d)
	if a.FramePointer && n > 0 {
		n += a.Word
	}
	return n
}

func declByName(name string) *Decl {
	for _, d := range append(decls, dGetg) {
		if d.Name == name {
			return d
		}
	}
	panic("no declaration of " + name)
}

// checkFunc checks an emitted function against the contract: it writes
// only scratch registers, or, if it is a switch, the registers a switch
// loads; and its branches reach labels it defines.
func checkFunc(a *Arch, d *Decl, written []Reg, used, defined []string) error {
	kept := map[Reg]bool{}
	for _, r := range a.kept() {
		kept[r] = true
	}
	for _, r := range written {
		if !a.scratch(r) && !(d.Switch && kept[r]) {
			return fmt.Errorf("%s/%s writes %s, which it must preserve", a.GOARCH, d.Name, r)
		}
	}
	def := map[string]bool{}
	for _, l := range defined {
		if def[l] {
			return fmt.Errorf("%s/%s: label %s defined twice", a.GOARCH, d.Name, l)
		}
		def[l] = true
	}
	use := map[string]bool{}
	for _, l := range used {
		if !def[l] {
			return fmt.Errorf("%s/%s: branch to undefined label %s", a.GOARCH, d.Name, l)
		}
		use[l] = true
	}
	for _, l := range defined {
		if !use[l] {
			return fmt.Errorf("%s/%s: label %s is never used", a.GOARCH, d.Name, l)
		}
	}
	return nil
}
