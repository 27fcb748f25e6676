package main

// A small typed emitter of Go assembly for 386, which avo lacks: typed
// registers and operands, one method per instruction the switch routines
// use, and a printer that lays the file out as avo's printer does, so that
// the amd64 and 386 files read side by side. The operands are shared with
// the amd64 lowering (operands.go). Immediates and TEXT flags are
// printed by avo's own operand and attr packages.

import (
	"bytes"
	"fmt"
	"go/types"
	"strings"

	"github.com/mmcloughlin/avo/attr"
)

// regs386 are the machine registers of 386 (and the SSE registers the copy
// loops use).
var regs386 = map[Reg]bool{AX: true, BX: true, CX: true, DX: true, SI: true, DI: true, BP: true, SP: true, X0: true, X1: true}

// asm prints r, which must be a register of 386.
func (r Reg) asm() string {
	if !regs386[r] {
		panic("not a 386 register: " + string(r))
	}
	return string(r)
}

// Instructions, labels and comments.
type node386 interface{}

type inst386 struct {
	op   string
	args []opnd
	// writes is the operand written, if any.
	writes opnd
	// ends: an unconditional transfer, which ends a block of aligned
	// instructions.
	ends bool
}

type comment386 []string

type label386 label

// func386 is one assembly function.
type func386 struct {
	a     *Arch
	d     *Decl
	frame int64
	args  abi0
	nodes []node386
}

func (f *func386) add(op string, write bool, args ...opnd) *inst386 {
	i := &inst386{op: op, args: args}
	if write {
		i.writes = args[len(args)-1]
	}
	f.nodes = append(f.nodes, i)
	return i
}

func (f *func386) Label(l string)          { f.nodes = append(f.nodes, label386(l)) }
func (f *func386) Comment(lines ...string) { f.nodes = append(f.nodes, comment386(lines)) }
func (f *func386) MOVL(s, d opnd)          { f.add("MOVL", true, s, d) }
func (f *func386) LEAL(s mem, d Reg)       { f.add("LEAL", true, s, d) }
func (f *func386) ADDL(s, d opnd)          { f.add("ADDL", true, s, d) }
func (f *func386) ADCL(s, d opnd)          { f.add("ADCL", true, s, d) }
func (f *func386) SUBL(s, d opnd)          { f.add("SUBL", true, s, d) }
func (f *func386) XORL(s, d Reg)           { f.add("XORL", true, s, d) }
func (f *func386) CMPL(x, y opnd)          { f.add("CMPL", false, x, y) }
func (f *func386) CMPW(x, y opnd)          { f.add("CMPW", false, x, y) }
func (f *func386) CMPB(x, y opnd)          { f.add("CMPB", false, x, y) }
func (f *func386) MOVB(s, d opnd)          { f.add("MOVB", true, s, d) }
func (f *func386) TESTL(x, y Reg)          { f.add("TESTL", false, x, y) }
func (f *func386) JMP(t opnd)              { f.add("JMP", false, t).ends = true }
func (f *func386) JNE(l string)            { f.add("JNE", false, label(l)) }
func (f *func386) ANDL(s, d opnd)          { f.add("ANDL", true, s, d) }
func (f *func386) MOVOU(s, d opnd)         { f.add("MOVOU", true, s, d) }
func (f *func386) CALL(c Callee)           { f.add("CALL", false, target(c.Name)) }
func (f *func386) RET()                    { f.add("RET", false).ends = true }
func (f *func386) NO_LOCAL_POINTERS()      { f.add("NO_LOCAL_POINTERS", false) }

// Operands from the contract.

// arg is the argument or result name of the function: name+off(FP).
func (f *func386) arg(name string) mem { return mem{sym: name, disp: f.args.off(name), base: FP} }

// out is an argument of c in the current frame: its offset from SP.
func (f *func386) out(c Callee, name string) mem { return at(f.a.abi0(c.Sig).off(name), SP) }

// The lowering (lower.go).

func (f *func386) arch() *Arch               { return f.a }
func (f *func386) Mov(s, d opnd)             { f.MOVL(f.op(s), d) }
func (f *func386) Mov32(s, d opnd)           { f.MOVL(f.op(s), d) }
func (f *func386) Mov8(s, d opnd)            { f.MOVB(f.op(s), d) } // Go's assembler names AX's low byte AX
func (f *func386) Movou(s, d opnd)           { f.MOVOU(s, d) }
func (f *func386) Lea(m mem, d Reg)          { f.LEAL(m, d) }
func (f *func386) Add(s opnd, d Reg)         { f.ADDL(s, d) }
func (f *func386) Sub(s opnd, d Reg)         { f.SUBL(s, d) }
func (f *func386) AndImm(n int32, d Reg)     { f.ANDL(imm(uint32(n)), d) }
func (f *func386) XorWord(r Reg)             { f.XORL(r, r) }
func (f *func386) Zero(r Reg)                { f.XORL(r, r) }
func (f *func386) Cmp(x, y opnd)             { f.CMPL(x, y) }
func (f *func386) Cmp32(x, y opnd)           { f.CMPL(x, f.op(y)) }
func (f *func386) Cmp16(x, y opnd)           { f.CMPW(x, y) }
func (f *func386) Cmp8(x, y opnd)            { f.CMPB(x, y) }
func (f *func386) Test(r Reg)                { f.TESTL(r, r) }
func (f *func386) Jump(c cond, l string)     { f.add("J"+string(c), false, label(l)) }
func (f *func386) Jmp(l string)              { f.JMP(label(l)) }
func (f *func386) JmpReg(r Reg)              { f.JMP(r) }
func (f *func386) Call(c Callee)             { f.CALL(c) }
func (f *func386) Ret()                      { f.RET() }
func (f *func386) LoadG(dst Reg)             { f.MOVL(tls{}, dst) }
func (f *func386) NoLocalPointers()          { f.NO_LOCAL_POINTERS() }
func (f *func386) RepMovsb()                 { panic("386: no string move in the contract") }
func (f *func386) ctlStore(w CtlWord, m mem) { f.add(w.Save, false, m) } // FSTCW, STMXCSR
func (f *func386) ctlLoad(w CtlWord, m mem)  { f.add(w.Load, false, m) } // FLDCW, LDMXCSR

// op prints a go_asm.h constant as the 386 files always have: $(0+const).
func (f *func386) op(o opnd) opnd {
	if c, ok := o.(asmConst); ok {
		return symImm{0, []string{string(c)}}
	}
	return o
}

// Move64 moves the two halves through Hi32.
func (f *func386) Move64(s, d mem) {
	for range 2 {
		f.MOVL(s, f.a.Roles.Hi32)
		f.MOVL(f.a.Roles.Hi32, d)
		s.disp += f.a.Word
		d.disp += f.a.Word
	}
}

// Inc64 adds one to the low half and the carry to the high half.
func (f *func386) Inc64(m mem) {
	f.ADDL(imm(1), m)
	m.disp += f.a.Word
	f.ADCL(imm(0), m)
}

// Jnz64 tests the halves one by one.
func (f *func386) Jnz64(m mem, l string) {
	for range 2 {
		f.CMPL(m, imm(0))
		f.JNE(l)
		m.disp += f.a.Word
	}
}

// Reestablish sets the fixed registers of ABIInternal code (none on 386)
// before a switch jumps into Go code in place of a return.
func (f *func386) Reestablish() {
	if len(f.a.Internal) > 0 {
		f.Comment(rewrap(whyABIInternal)...)
	}
	for _, k := range f.a.Internal {
		switch k.Hold {
		case FromTLS:
			f.LoadG(k.Reg)
		case Zero:
			f.XORL(k.Reg, k.Reg)
		default:
			panic("cannot re-establish " + k.What)
		}
	}
}

// registers written by the function, for the contract check.
func (f *func386) written() []Reg {
	var rs []Reg
	for _, n := range f.nodes {
		if i, ok := n.(*inst386); ok {
			if r, ok := i.writes.(Reg); ok {
				rs = append(rs, r)
			}
		}
	}
	return rs
}

// branches returns the labels branched to, and the labels defined.
func (f *func386) labels() (used, defined []string) {
	for _, n := range f.nodes {
		switch n := n.(type) {
		case *inst386:
			for _, a := range n.args {
				if l, ok := a.(label); ok {
					used = append(used, string(l))
				}
			}
		case label386:
			defined = append(defined, string(n))
		}
	}
	return used, defined
}

// file386 is an assembly file for 386.
type file386 struct {
	generatedBy string
	constraint  string
	includes    []string
	funcs       []*func386
}

// print lays the file out as avo's printer does.
func (file *file386) print() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by %s. DO NOT EDIT.\n\n", file.generatedBy)
	fmt.Fprintf(&b, "//go:build %s\n\n", file.constraint)
	for _, inc := range file.includes {
		fmt.Fprintf(&b, "#include %q\n", inc)
	}
	for _, f := range file.funcs {
		fmt.Fprintf(&b, "\n// func %s%s\n", f.d.Name, sigString(f.d.Sig))
		var flags attr.Attribute
		if f.d.NoSplit {
			flags |= attr.NOSPLIT
		}
		if f.d.NoFrame {
			flags |= attr.NOFRAME
		}
		fmt.Fprintf(&b, "TEXT ·%s(SB)", f.d.Name)
		if flags != 0 {
			fmt.Fprintf(&b, ", %s", flags.Asm())
		}
		fmt.Fprintf(&b, ", $%d", f.frame)
		if f.args.size > 0 {
			fmt.Fprintf(&b, "-%d", f.args.size)
		}
		b.WriteString("\n")

		var block []*inst386
		clear := true
		flush := func() {
			width := 0
			for _, i := range block {
				if len(i.args) > 0 {
					width = max(width, len(i.op))
				}
			}
			for _, i := range block {
				if len(i.args) == 0 {
					fmt.Fprintf(&b, "\t%s\n", i.op)
					continue
				}
				var args []string
				for _, a := range i.args {
					args = append(args, a.asm())
				}
				fmt.Fprintf(&b, "\t%-*s%s\n", width+1, i.op, strings.Join(args, ", "))
			}
			block = nil
		}
		separate := func() {
			flush()
			if !clear {
				b.WriteString("\n")
				clear = true
			}
		}
		for _, n := range f.nodes {
			switch n := n.(type) {
			case *inst386:
				block = append(block, n)
				clear = false
				if n.ends {
					flush()
				}
			case label386:
				separate()
				fmt.Fprintf(&b, "%s:\n", n)
			case comment386:
				separate()
				for _, l := range n {
					fmt.Fprintf(&b, "\t// %s\n", l)
				}
			}
		}
		flush()
	}
	return b.Bytes()
}

// sigString prints a signature as avo's printer does: without "func",
// types of package aco unqualified.
func sigString(s *types.Signature) string {
	var b bytes.Buffer
	types.WriteSignature(&b, s, func(p *types.Package) string {
		if p == acoPkg {
			return ""
		}
		return p.Name()
	})
	return b.String()
}
