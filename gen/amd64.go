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

func (b *asmAMD64) arch() *Arch { return b.a }

// arg is the argument or result name of the current function: name+off(FP).
func (b *asmAMD64) arg(name string) mem { return mem{sym: name, disp: b.args.off(name), base: FP} }

// out is an argument of c in the current frame: its offset from SP.
func (b *asmAMD64) out(c Callee, name string) mem { return at(b.a.abi0(c.Sig).off(name), SP) }

// m is the avo operand of x.
func (b *asmAMD64) m(x mem) operand.Mem {
	o := operand.Mem{Symbol: operand.Symbol{Name: x.sym}, Disp: int(x.disp)}
	switch x.base {
	case "":
	case SB:
		o.Base = reg.StaticBase
	case FP:
		o.Base = reg.FramePointer
	default:
		o.Base = b.r(x.base)
	}
	if x.index != "" {
		o.Index, o.Scale = b.r(x.index), uint8(x.scale)
	}
	return o
}

// op is the avo operand of o: an immediate as the smallest that holds it;
// the operands avo has no type for as they are printed (rawOp).
func (b *asmAMD64) op(o opnd) operand.Op {
	switch o := o.(type) {
	case Reg:
		return b.r(o)
	case mem:
		return b.m(o)
	case imm:
		return operand.Imm(uint64(o))
	}
	return rawOp(o.asm())
}

// isRaw reports whether o is an operand only raw instructions take.
func isRaw(o opnd) bool {
	switch o.(type) {
	case symImm, asmConst, tls:
		return true
	}
	return false
}

// written is the register o names, if it is one, as raw's writes.
func written(o opnd) []Reg {
	if r, ok := o.(Reg); ok {
		return []Reg{r}
	}
	return nil
}

// The lowering (lower.go).

func (b *asmAMD64) Mov(s, d opnd) {
	switch {
	case isRaw(s):
		b.raw("MOVQ", []operand.Op{b.op(s), b.op(d)}, written(d)...)
	case isImm(s) && isMem(d):
		b.MOVQ(operand.U32(s.(imm)), b.op(d)) // sign-extended to 64 bits
	default:
		b.MOVQ(b.op(s), b.op(d))
	}
}

func (b *asmAMD64) Mov32(s, d opnd) {
	switch {
	case isRaw(s):
		b.raw("MOVL", []operand.Op{b.op(s), b.op(d)}, written(d)...)
	case isReg(d):
		b.MOVL(b.op(s), b.r32(d.(Reg)))
	case isReg(s):
		b.MOVL(b.r32(s.(Reg)), b.op(d))
	default:
		b.MOVL(b.op(s), b.op(d))
	}
}

func (b *asmAMD64) Mov8(s, d opnd) {
	if i, ok := s.(imm); ok {
		b.MOVB(operand.U8(i), b.op(d))
		return
	}
	b.MOVB(b.r(s.(Reg)).(reg.GP).As8(), b.op(d))
}

func (b *asmAMD64) Movou(s, d opnd)       { b.MOVOU(b.op(s), b.op(d)) }
func (b *asmAMD64) Lea(m mem, d Reg)      { b.LEAQ(b.m(m), b.r(d)) }
func (b *asmAMD64) Add(s opnd, d Reg)     { b.ADDQ(b.op(s), b.r(d)) }
func (b *asmAMD64) AndImm(n int32, d Reg) { b.ANDQ(operand.I32(n), b.r(d)) }
func (b *asmAMD64) XorWord(r Reg)         { b.XORQ(b.r(r), b.r(r)) }
func (b *asmAMD64) Zero(r Reg)            { b.XORL(b.r32(r), b.r32(r)) }
func (b *asmAMD64) Cmp(x, y opnd) {
	if isRaw(x) || isRaw(y) {
		b.raw("CMPQ", []operand.Op{b.op(x), b.op(y)})
		return
	}
	b.CMPQ(b.op(x), b.op(y))
}
func (b *asmAMD64) Test(r Reg) { b.TESTQ(b.r(r), b.r(r)) }
func (b *asmAMD64) Move64(s, d mem) {
	acc := b.r(b.a.Roles.Acc)
	b.MOVQ(b.m(s), acc)
	b.MOVQ(acc, b.m(d))
}
func (b *asmAMD64) Inc64(m mem)               { b.INCQ(b.m(m)) }
func (b *asmAMD64) Jnz64(m mem, l string)     { b.CMPQ(b.m(m), operand.Imm(0)); b.JNE(lbl(l)) }
func (b *asmAMD64) Jmp(l string)              { b.JMP(lbl(l)) }
func (b *asmAMD64) JmpReg(r Reg)              { b.JMP(b.r(r)) }
func (b *asmAMD64) Call(c Callee)             { b.CALL(lbl("·" + c.Name + "(SB)")) }
func (b *asmAMD64) Ret()                      { b.RET() }
func (b *asmAMD64) LoadG(d Reg)               { b.raw("MOVQ", []operand.Op{rawOp("(TLS)"), b.r(d)}, d) }
func (b *asmAMD64) NoLocalPointers()          { b.raw("NO_LOCAL_POINTERS", nil) }
func (b *asmAMD64) RepMovsb()                 { b.raw("REP; MOVSB", nil, DI, SI, CX) }
func (b *asmAMD64) ctlStore(w CtlWord, m mem) { b.ctl(w.Save, b.m(m)) }
func (b *asmAMD64) ctlLoad(w CtlWord, m mem)  { b.ctl(w.Load, b.m(m)) }

func (b *asmAMD64) Sub(s opnd, d Reg) {
	if isRaw(s) {
		b.raw("SUBQ", []operand.Op{b.op(s), b.r(d)}, d)
		return
	}
	b.SUBQ(b.op(s), b.r(d))
}

func (b *asmAMD64) Cmp32(x, y opnd) {
	if isRaw(y) {
		b.raw("CMPL", []operand.Op{b.op(x), b.op(y)})
		return
	}
	b.CMPL(b.op(x), b.op(y))
}

func (b *asmAMD64) Cmp16(x, y opnd) {
	if i, ok := y.(imm); ok {
		b.CMPW(b.op(x), operand.U16(i))
		return
	}
	b.CMPW(b.op(x), b.op(y))
}

func (b *asmAMD64) Cmp8(x, y opnd) {
	if i, ok := y.(imm); ok {
		b.CMPB(b.op(x), operand.U8(i))
		return
	}
	b.CMPB(b.op(x), b.op(y))
}

func (b *asmAMD64) Jump(c cond, l string) {
	jumps := map[cond]func(operand.Op){
		ifZero: b.JZ, ifNonZero: b.JNZ, ifNotEqual: b.JNE, ifAboveEq: b.JAE,
		ifAbove: b.JA, ifBelow: b.JB, ifCarry: b.JCS,
	}
	j, ok := jumps[c]
	if !ok {
		panic("amd64: no jump if " + string(c))
	}
	j(lbl(l))
}

func lbl(l string) operand.LabelRef { return operand.LabelRef(l) }

// r32 is the 32-bit form of x.
func (b *asmAMD64) r32(x Reg) reg.Register { return b.r(x).(reg.GP).As32() }

func isImm(o opnd) bool { _, ok := o.(imm); return ok }
func isMem(o opnd) bool { _, ok := o.(mem); return ok }
func isReg(o opnd) bool { _, ok := o.(Reg); return ok }

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

// Reestablish sets the fixed registers of ABIInternal code before a switch
// jumps into Go code in place of a return through an ABI wrapper.
func (b *asmAMD64) Reestablish() {
	if len(b.a.Internal) > 0 {
		b.Comment(rewrap(whyABIInternal)...)
	}
	for _, k := range b.a.Internal {
		switch k.Hold {
		case FromTLS:
			b.LoadG(k.Reg)
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
