package main

// One description per routine, one lowering per architecture. The switch
// routines (switch_gen.go, fpu_gen.go) are written once, against lower:
// word-size instructions over the contract's roles and the neutral
// operands of emit386.go (Reg, mem, imm, symImm, asmConst). Each
// architecture lowers them to its own instructions: amd64.go through avo,
// emit386.go through the small 386 emitter. Where the architectures differ
// in more than the word size, lower names what is meant (Move64, Inc64,
// Jnz64, Zero) and each lowering says how it is done there. Adding an
// architecture means a contract table (contract.go) and a lowering.

import "fmt"

// lower is what the switch routines need of an architecture.
type lower interface {
	arch() *Arch

	// arg is the argument or result name of the current function;
	// out is argument name of the ABI0 function c, in the current frame.
	arg(name string) mem
	out(c Callee, name string) mem

	Label(l string)
	Comment(lines ...string)

	Mov(src, dst opnd)   // a word
	Mov32(src, dst opnd) // 32 bits (zero-extended into a register)
	Mov8(src, dst opnd)  // a byte, to memory
	Movou(src, dst opnd) // 16 bytes, through an SSE register
	Lea(m mem, dst Reg)
	Add(src opnd, dst Reg)
	Sub(src opnd, dst Reg)
	AndImm(n int32, dst Reg)
	XorWord(r Reg) // r ^= r as a word: the copy loop's index
	Zero(r Reg)    // r = 0, in the shortest form
	Cmp(x, y opnd)
	Cmp32(x, y opnd)
	Cmp16(x, y opnd)
	Cmp8(x, y opnd)
	Test(r Reg) // flags of r & r

	// Move64 copies a 64-bit value between memory operands, through Acc
	// on a 64-bit architecture, through Hi32 in two halves on a 32-bit
	// one. Inc64 adds one to a 64-bit counter. Jnz64 jumps to l if the
	// 64-bit value at m is not zero.
	Move64(src, dst mem)
	Inc64(m mem)
	Jnz64(m mem, l string)

	Jump(c cond, l string)
	Jmp(l string)
	JmpReg(r Reg)
	Call(c Callee)
	Ret()

	LoadG(dst Reg) // g, from thread-local storage
	NoLocalPointers()
	Reestablish() // the fixed registers of ABIInternal code (see Arch.Internal)
	RepMovsb()    // a string move: Dst in DI, Src in SI, N in CX (where Roles.Keep is set)

	// ctlStore and ctlLoad store and load the FPU control register w.
	ctlStore(w CtlWord, m mem)
	ctlLoad(w CtlWord, m mem)
}

// cond is the condition of a conditional jump, as Go's x86 assembler
// spells it after the J.
type cond string

const (
	ifZero     cond = "Z"
	ifNonZero  cond = "NZ"
	ifNotEqual cond = "NE"
	ifAboveEq  cond = "AE" // unsigned
	ifAbove    cond = "A"  // unsigned
	ifBelow    cond = "B"  // unsigned
	ifCarry    cond = "CS" // unsigned below, after a subtraction or compare
)

// Operands from the contract, the same on every architecture.

// fld is field f of the swctx in register base; size is the access width,
// checked against the field's type.
func (a *Arch) fld(f *Field, base Reg, size int64) mem {
	if n := a.Sizes.Sizeof(f.Type); n != size {
		panic(fmt.Sprintf("%s: %d-byte access to %d-byte field %s", a.GOARCH, size, n, f.Name))
	}
	return mem{sym: f.asmName(), base: base}
}

// word is fld of a word-sized field.
func (a *Arch) word(f *Field, base Reg) mem { return a.fld(f, base, a.Word) }

// glob is the package variable g.
func (a *Arch) glob(g Global) mem {
	if a.Sizes.Sizeof(g.Type) != a.Word {
		panic("not a word: " + g.Name)
	}
	return mem{sym: "·" + g.Name, base: SB}
}

// rt is the runtime field at go_asm.h constant c in the structure at base.
func rt(c string, base Reg) mem { return mem{sym: goAsmConstPfx + c, base: base} }

// symAt is the field at go_asm.h offset name (Type_field) of the structure
// at base.
func symAt(name string, base Reg) mem { return mem{sym: name, base: base} }

// constOf is the go_asm.h constant c as an immediate.
func constOf(c string) asmConst { return asmConst(goAsmConstPfx + c) }
