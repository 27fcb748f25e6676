package main

// The FPU environment: the x87 control word and MXCSR (rounding modes,
// exception masks, denormal handling). By default each coroutine keeps its
// own, as libaco does: swapin saves the resumer's and loads the co's,
// swapout saves the co's and loads the resumer's. Built with
// -tags aco_share_fpu_env (libaco's ACO_CONFIG_SHARE_FPU_MXCSR_ENV) all
// coroutines share the thread's environment and the switch does neither.
// fpuEnv, which reads the environment new coroutines start with, exists in
// both variants.

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
)

// ctlEmitter is what the FPU sequences need of an architecture's emitter:
// store and load a control register to and from a field of the swctx in
// the Ctx register, store one to a result of the current function.
type ctlEmitter interface {
	ctlSave(w CtlWord, f *Field)
	ctlLoad(w CtlWord, f *Field)
	ctlResult(w CtlWord, result string)
	// skipIfSet jumps to label if the 16-bit field f of the swctx in Ctx
	// is non-zero.
	skipIfSet(f *Field, label string)
	Label(l string)
	Comment(lines ...string)
}

// fpuEnter switches from the resumer's environment to the co's (swapin).
func fpuEnter(e ctlEmitter, shared bool) {
	switchFPU(e, shared, "resumer's", "co's", func(w CtlWord) (*Field, *Field) { return w.Main, w.Co })
}

// fpuLeave switches from the co's environment to the resumer's (swapout).
func fpuLeave(e ctlEmitter, shared bool) {
	switchFPU(e, shared, "co's", "resumer's", func(w CtlWord) (*Field, *Field) { return w.Co, w.Main })
}

func switchFPU(e ctlEmitter, shared bool, from, to string, fields func(CtlWord) (save, load *Field)) {
	if shared {
		e.Comment("No FPU switch: all coroutines share the thread's FPU environment.")
		return
	}
	e.Comment("Save the "+from+" FPU environment, load the "+to+",",
		"unless the co shares its resumer's (fpuShared).")
	e.skipIfSet(fFPUShared, "fpudone")
	for _, w := range fpuWords {
		save, _ := fields(w)
		e.ctlSave(w, save)
	}
	for _, w := range fpuWords {
		_, load := fields(w)
		e.ctlLoad(w, load)
	}
	e.Label("fpudone")
}

// fpuEnvResults stores the control registers into fpuEnv's results, in
// the order of its signature.
func fpuEnvResults(e ctlEmitter) {
	res := dFpuEnv.Sig.Results()
	for i := 0; i < res.Len(); i++ {
		name := res.At(i).Name()
		w, ok := ctlWordFor(name)
		if !ok {
			panic("fpuEnv: no control register for result " + name)
		}
		e.ctlResult(w, name)
	}
}

func ctlWordFor(result string) (CtlWord, bool) {
	for _, w := range fpuWords {
		if w.Result == result {
			return w, true
		}
	}
	return CtlWord{}, false
}

// checkFPU checks the FPU words against the swctx fields and fpuEnv's
// results that hold them.
func checkFPU(a *Arch) error {
	res := dFpuEnv.Sig.Results()
	for _, w := range fpuWords {
		for _, f := range []*Field{w.Co, w.Main} {
			if n := a.Sizes.Sizeof(f.Type); n != w.Bytes {
				return fmt.Errorf("%s: field %s has %d bytes for the %d-byte %s", a.GOARCH, f.Name, n, w.Bytes, w.Name)
			}
		}
		found := false
		for i := 0; i < res.Len(); i++ {
			if v := res.At(i); v.Name() == w.Result {
				found = a.Sizes.Sizeof(v.Type()) == w.Bytes
			}
		}
		if !found {
			return fmt.Errorf("fpuEnv has no %d-byte result %s for the %s", w.Bytes, w.Result, w.Name)
		}
	}
	return nil
}

// The amd64 emitter.

func (b *asmAMD64) ctlSave(w CtlWord, f *Field) { b.ctl(w.Save, b.fld(f, b.a.Roles.Ctx, w.Bytes)) }
func (b *asmAMD64) ctlLoad(w CtlWord, f *Field) { b.ctl(w.Load, b.fld(f, b.a.Roles.Ctx, w.Bytes)) }
func (b *asmAMD64) ctlResult(w CtlWord, result string) {
	b.ctl(w.Save, b.arg(result))
}

func (b *asmAMD64) skipIfSet(f *Field, label string) {
	b.CMPW(b.fld(f, b.a.Roles.Ctx, 2), operand.U16(0))
	b.JNE(lbl(label))
}

func fpuEnvAMD64(b *asmAMD64) {
	fpuEnvResults(b)
	b.RET()
}

// fpuToCoAMD64 and fpuToMainAMD64 are the switch's FPU sequences on their
// own, for a co whose switch is the runtime's.
func fpuToCoAMD64(b *asmAMD64, shared bool) {
	if !shared {
		b.MOVQ(b.arg("c"), b.r(b.a.Roles.Ctx))
	}
	fpuEnter(b, shared)
	b.RET()
}

func fpuToMainAMD64(b *asmAMD64, shared bool) {
	if !shared {
		b.MOVQ(b.arg("c"), b.r(b.a.Roles.Ctx))
	}
	fpuLeave(b, shared)
	b.RET()
}

// The 386 emitter.

func (f *func386) ctlSave(w CtlWord, fl *Field) {
	f.ctlStore(w.Save, f.fld(fl, f.a.Roles.Ctx, w.Bytes))
}
func (f *func386) ctlLoad(w CtlWord, fl *Field) {
	f.ctlLoadOp(w.Load, f.fld(fl, f.a.Roles.Ctx, w.Bytes))
}
func (f *func386) ctlResult(w CtlWord, result string) {
	f.ctlStore(w.Save, f.arg(result))
}

func (f *func386) skipIfSet(fl *Field, label string) {
	f.CMPW(f.fld(fl, f.a.Roles.Ctx, 2), imm(0))
	f.JNE(label)
}

func fpuEnv386(f *func386) {
	fpuEnvResults(f)
	f.RET()
}

func fpuToCo386(f *func386, shared bool) {
	if !shared {
		f.MOVL(f.arg("c"), f.a.Roles.Ctx)
	}
	fpuEnter(f, shared)
	f.RET()
}

func fpuToMain386(f *func386, shared bool) {
	if !shared {
		f.MOVL(f.arg("c"), f.a.Roles.Ctx)
	}
	fpuLeave(f, shared)
	f.RET()
}

// fpuSetEnv loads its arguments into the control registers.
func fpuSetEnvAMD64(b *asmAMD64) {
	for _, w := range fpuWords {
		b.ctl(w.Load, b.arg(w.Result))
	}
	b.RET()
}

func fpuSetEnv386(f *func386) {
	for _, w := range fpuWords {
		f.ctlLoadOp(w.Load, f.arg(w.Result))
	}
	f.RET()
}
