package main

// The register contract of aco's context switch, written once: the
// registers, what each architecture keeps and shares, the switch context's
// fields and the FPU control words, and the check every routine's
// registers must pass. The amd64 (avo) and 386 emitters lower the switch
// routines under it; the declarations they implement are decls.go, their
// frames abi0.go.

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
	// Arg0 is the register of an ABIInternal function's first integer
	// argument: the first resume enters coEntry's ABIInternal body with c
	// there, not its ABI0 wrapper, whose frame would be in every image
	// ("" where ABIInternal is ABI0, passing arguments on the stack).
	Arg0 Reg
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
	Arg0:    AX,
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
	uint8T   = types.Typ[types.Uint8]
	uint16T  = types.Typ[types.Uint16]
	uint32T  = types.Typ[types.Uint32]
	uint64T  = types.Typ[types.Uint64]
	// A pointer field keeps what it points to alive; only Go code writes
	// one (with the write barrier), the switch only reads it.
	pointerT = types.Typ[types.UnsafePointer]
)

var (
	fHi    = &Field{"hi", uintptrT, "the trampoline's SP: the image ends one word below it"}
	fN     = &Field{"n", uintptrT, "image size in bytes, a multiple of PtrSize; while the co runs, what a failed capture tells Yield"}
	fBuf   = &Field{"buf", pointerT, "the save stack: the inline one, or a noscan allocation it keeps alive"}
	fPC    = &Field{"pc", uintptrT, "where the co continues; before the first run, coEntry"}
	fG     = &Field{"g", uintptrT, "the goroutine the co runs on"}
	fHiOff = &Field{"hiOff", uint32T, "g.stack.hi - hi: survives the runtime moving the stack (a stack is at most 1 GB)"}

	fSlow    = &Field{"slow", uint8T, "non-zero: the next resume needs prepareResume"}
	fYret    = &Field{"yret", uint32T, "offset below hi of Yield's return address"}
	fBufCap  = &Field{"bufCap", uint32T, "save stack size (before the first save: the size asked for)"}
	fMaxcpsz = &Field{"maxcpsz", uint32T, "libaco's max_cpsz"}

	fCopies = &Field{"copies", uint64T, "saves and restores of the image (libaco's ct_save + ct_restore): they alternate"}

	fMxcsrCo   = &Field{"mxcsrCo", uint32T, "SSE control/status of the co, of its resumer"}
	fMxcsrMain = &Field{"mxcsrMain", uint32T, ""}
	fCwCo      = &Field{"cwCo", uint16T, "x87 control words"}
	fCwMain    = &Field{"cwMain", uint16T, ""}
	fEnter     = &Field{"enter", uint8T, "non-zero: swapin enters Yield itself instead of returning from it for it"}
	fStatus    = &Field{"status", uint8T, "while the co runs: what a failed capture tells Yield (swOK once the co is resumed)"}
	fFPUShared = &Field{"fpuShared", uint8T, "non-zero: the co shares its resumer's FPU environment (a Pull iterator's, as iter.Pull's goroutines do): the switch leaves it alone"}
)

// swctxLayout is swctx, field by field in order, in groups: words, then
// narrower fields from the widest down, so that no padding comes between
// them (its size is per suspended coroutine).
var swctxLayout = [][]*Field{
	{fHi, fN, fBuf, fPC, fG},
	{fCopies},
	{fHiOff, fYret, fBufCap, fMaxcpsz},
	{fMxcsrCo, fMxcsrMain, fCwCo, fCwMain},
	{fSlow, fEnter, fFPUShared, fStatus},
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
