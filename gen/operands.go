package main

// The operands of the switch routines, shared by both lowerings: the 386
// emitter prints them (asm), the amd64 one turns them into avo's operands
// (amd64.go). Registers are the contract's Reg.

import (
	"fmt"
	"strings"

	"github.com/mmcloughlin/avo/operand"
)

// opnd is an operand of an instruction, printed as the Go assembler reads
// it.
type opnd interface{ asm() string }

// Pseudo-registers of the Go assembler, valid as the base of a memory
// operand only.
const (
	SB Reg = "SB" // static base: globals and functions
	FP Reg = "FP" // the arguments
)

// mem is a memory operand: sym+disp(base)(index*scale). sym is a name
// (an argument, a global, a go_asm.h constant) or "".
type mem struct {
	sym   string
	disp  int64
	base  Reg
	index Reg
	scale int
}

func (m mem) asm() string {
	s := m.sym
	if s != "" {
		s += fmt.Sprintf("%+d", m.disp)
	} else if m.disp != 0 {
		s += fmt.Sprint(m.disp)
	}
	if m.base != "" {
		if m.base == SB || m.base == FP {
			s += "(" + string(m.base) + ")"
		} else {
			s += "(" + m.base.asm() + ")"
		}
	}
	if m.index != "" {
		s += fmt.Sprintf("(%s*%d)", m.index.asm(), m.scale)
	}
	return s
}

// at returns the memory operand disp(base).
func at(disp int64, base Reg) mem { return mem{disp: disp, base: base} }

// idx returns m indexed by r*scale.
func (m mem) idx(r Reg, scale int) mem { m.index, m.scale = r, scale; return m }

// imm is an immediate.
type imm uint64

func (i imm) asm() string { return operand.Imm(uint64(i)).Asm() }

// symImm is an immediate that adds go_asm.h constants: $(n+const_a+...).
type symImm struct {
	n    int64
	syms []string
}

func (i symImm) asm() string {
	return fmt.Sprintf("$(%d+%s)", i.n, strings.Join(i.syms, "+"))
}

// asmConst is a go_asm.h constant as an immediate: $const_name.
type asmConst string

func (c asmConst) asm() string { return "$" + string(c) }

// tls is the thread-local slot holding g: (TLS).
type tls struct{}

func (tls) asm() string { return "(TLS)" }

// asmText is an operand written as it is printed: for another
// architecture's registers (getgARM64File).
type asmText string

func (t asmText) asm() string { return string(t) }

// label is a branch target.
type label string

func (l label) asm() string { return string(l) }

// target is a function called: ·name(SB).
type target string

func (t target) asm() string { return "·" + string(t) + "(SB)" }
