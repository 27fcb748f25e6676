package main

// The amd64 side of the emitter: avo's build context, with the contract's
// registers, fields and frames turned into avo operands, plus the few
// things avo cannot express (x87 instructions, the TLS slot, go_asm.h
// constants in immediates, NO_LOCAL_POINTERS), added as raw instructions
// that still record the registers they write.

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/gotypes"
	"github.com/mmcloughlin/avo/ir"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

type asmAMD64 struct {
	*build.Context
	a    *Arch
	d    *Decl
	args abi0
}

func newAMD64() *asmAMD64 {
	return &asmAMD64{Context: build.NewContext(), a: amd64}
}

// avoRegs maps the contract's registers to avo's 64-bit and XMM registers.
var avoRegs = func() map[Reg]reg.Register {
	m := map[Reg]reg.Register{}
	for _, r := range reg.GeneralPurpose.Registers() {
		if r.Size() == 8 {
			m[Reg(r.Asm())] = r
		}
	}
	for _, r := range reg.Vector.Registers() {
		if r.Size() == 16 {
			m[Reg(r.Asm())] = r
		}
	}
	return m
}()

// r is the avo register of x.
func (b *asmAMD64) r(x Reg) reg.Register {
	r, ok := avoRegs[x]
	if !ok {
		panic("no amd64 register " + x)
	}
	return r
}

// text starts function d: its signature, flags and frame from the contract.
func (b *asmAMD64) text(d *Decl) {
	b.d = d
	b.args = b.a.abi0(d.Sig)
	b.Function(d.Name)
	s := gotypes.NewSignature(acoPkg, d.Sig)
	if int64(s.Bytes()) != b.args.size {
		panic(fmt.Sprintf("%s: avo lays out %d bytes of arguments, the contract %d", d.Name, s.Bytes(), b.args.size))
	}
	b.Signature(s)
	var flags attr.Attribute
	if d.NoSplit {
		flags |= attr.NOSPLIT
	}
	if d.NoFrame {
		flags |= attr.NOFRAME
	}
	b.Attributes(flags)
	if n := b.a.frameSize(d); n > 0 {
		b.AllocLocal(int(n))
	}
}

// arg is the argument or result name of the current function: name+off(FP).
func (b *asmAMD64) arg(name string) operand.Mem {
	return operand.NewParamAddr(name, int(b.args.off(name)))
}

// fld is field f of the swctx in register base; size is the access width,
// checked against the field's type.
func (b *asmAMD64) fld(f *Field, base Reg, size int64) operand.Mem {
	if n := b.a.Sizes.Sizeof(f.Type); n != size {
		panic(fmt.Sprintf("%d-byte access to %d-byte field %s", size, n, f.Name))
	}
	return operand.Mem{Symbol: operand.Symbol{Name: f.asmName()}, Base: b.r(base)}
}

// rt is the runtime field at go_asm.h constant c in the structure at base.
func (b *asmAMD64) rt(c string, base Reg) operand.Mem {
	return operand.Mem{Symbol: operand.Symbol{Name: goAsmConstPfx + c}, Base: b.r(base)}
}

// sym is the field at go_asm.h offset name (Type_field) of the structure
// at base.
func (b *asmAMD64) sym(name string, base Reg) operand.Mem {
	return operand.Mem{Symbol: operand.Symbol{Name: name}, Base: b.r(base)}
}

// at is disp(base).
func (b *asmAMD64) at(disp int64, base Reg) operand.Mem {
	return operand.Mem{Disp: int(disp), Base: b.r(base)}
}

// glob is the package variable g.
func (b *asmAMD64) glob(g Global) operand.Mem {
	if b.a.Sizes.Sizeof(g.Type) != b.a.Word {
		panic("not a word: " + g.Name)
	}
	return operand.NewDataAddr(operand.Symbol{Name: "·" + g.Name}, 0)
}

// call calls the Go function c.
func (b *asmAMD64) call(c Callee) { b.CALL(operand.LabelRef("·" + c.Name + "(SB)")) }

// out is an argument of c in the current frame: its offset from SP.
func (b *asmAMD64) out(c Callee, name string) operand.Mem {
	return b.at(b.a.abi0(c.Sig).off(name), SP)
}

// Operands avo has no type for. They are only printed: the raw
// instructions that use them list the registers they write themselves.
type rawOp string

func (o rawOp) Asm() string { return string(o) }

// raw adds an instruction avo's tables lack or cannot express; writes are
// the registers it writes.
func (b *asmAMD64) raw(op string, args []operand.Op, writes ...Reg) {
	i := &ir.Instruction{Opcode: op, Operands: args}
	for _, w := range writes {
		i.Outputs = append(i.Outputs, b.r(w))
	}
	b.Instruction(i)
}

// loadG loads g from thread-local storage.
func (b *asmAMD64) loadG(dst Reg) {
	b.raw("MOVQ", []operand.Op{rawOp("(TLS)"), b.r(dst)}, dst)
}

// subSym subtracts n plus go_asm.h constants from dst.
func (b *asmAMD64) subSym(dst Reg, si symImm) {
	b.raw("SUBQ", []operand.Op{rawOp(si.asm()), b.r(dst)}, dst)
}

// addrOf loads the address of a function: $·name(SB).
func (b *asmAMD64) addrOf(name string, dst Reg) {
	b.raw("MOVQ", []operand.Op{rawOp(addrOf(name).asm()), b.r(dst)}, dst)
}

// NO_LOCAL_POINTERS declares that the frame holds no pointers the garbage
// collector must see.
func (b *asmAMD64) NO_LOCAL_POINTERS() { b.raw("NO_LOCAL_POINTERS", nil) }

// ctl stores or loads an FPU control register: STMXCSR and LDMXCSR are in
// avo's tables, the x87 FSTCW and FLDCW are not.
func (b *asmAMD64) ctl(op string, m operand.Mem) {
	switch op {
	case "STMXCSR":
		b.STMXCSR(m)
	case "LDMXCSR":
		b.LDMXCSR(m)
	default:
		b.raw(op, []operand.Op{m})
	}
}

// reestablish sets the fixed registers of ABIInternal code before a switch
// jumps into Go code in place of a return through an ABI wrapper.
func (b *asmAMD64) reestablish() {
	if len(b.a.Internal) > 0 {
		b.Comment(rewrap(whyABIInternal)...)
	}
	for _, k := range b.a.Internal {
		switch k.Hold {
		case FromTLS:
			b.loadG(k.Reg)
		case Zero:
			b.XORPS(b.r(k.Reg), b.r(k.Reg))
		default:
			panic("cannot re-establish " + k.What)
		}
	}
}

// file finishes the file: constraints, includes, and checks.
func (b *asmAMD64) file(constraint []string) (*ir.File, error) {
	for _, c := range constraint {
		b.ConstraintExpr(c)
	}
	f, err := b.Result()
	if err != nil {
		return nil, err
	}
	f.Includes = includes
	for _, fn := range f.Functions() {
		var written []Reg
		var used, defined []string
		for _, n := range fn.Nodes {
			switch n := n.(type) {
			case *ir.Instruction:
				for _, r := range n.OutputRegisters() {
					written = append(written, Reg(r.Asm()))
				}
				if n.IsBranch {
					if l := n.TargetLabel(); l != nil {
						used = append(used, string(*l))
					}
				}
			case ir.Label:
				defined = append(defined, string(n))
			}
		}
		if err := checkFunc(amd64, declByName(fn.Name), written, used, defined); err != nil {
			return nil, err
		}
	}
	return f, nil
}
