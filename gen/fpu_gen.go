package main

// The FPU environment: the x87 control word and MXCSR (rounding modes,
// exception masks, denormal handling). By default each coroutine keeps its
// own, as libaco does: swapin saves the resumer's and loads the co's,
// swapout saves the co's and loads the resumer's. Built with
// -tags aco_share_fpu_env (libaco's ACO_CONFIG_SHARE_FPU_MXCSR_ENV) all
// coroutines share the thread's environment and the switch does neither.
// fpuEnv, which reads the environment new coroutines start with, exists in
// both variants.

import "fmt"

// fpuEnter switches from the resumer's environment to the co's (swapin).
func fpuEnter(e lower, shared bool) {
	switchFPU(e, shared, "resumer's", "co's", func(w CtlWord) (*Field, *Field) { return w.Main, w.Co })
}

// fpuLeave switches from the co's environment to the resumer's (swapout).
func fpuLeave(e lower, shared bool) {
	switchFPU(e, shared, "co's", "resumer's", func(w CtlWord) (*Field, *Field) { return w.Co, w.Main })
}

func switchFPU(e lower, shared bool, from, to string, fields func(CtlWord) (save, load *Field)) {
	if shared {
		e.Comment("No FPU switch: all coroutines share the thread's FPU environment.")
		return
	}
	a, ctx := e.arch(), e.arch().Roles.Ctx
	e.Comment("Save the "+from+" FPU environment, load the "+to+",",
		"unless the co shares its resumer's (fpuShared).")
	e.Cmp8(a.fld(fFPUShared, ctx, 1), imm(0))
	e.Jump(ifNotEqual, "fpudone")
	for _, w := range fpuWords {
		save, _ := fields(w)
		e.ctlStore(w, a.fld(save, ctx, w.Bytes))
	}
	for _, w := range fpuWords {
		_, load := fields(w)
		e.ctlLoad(w, a.fld(load, ctx, w.Bytes))
	}
	e.Label("fpudone")
}

// fpuEnvResults stores the control registers into fpuEnv's results, in
// the order of its signature.
func fpuEnvResults(e lower) {
	res := dFpuEnv.Sig.Results()
	for i := 0; i < res.Len(); i++ {
		name := res.At(i).Name()
		w, ok := ctlWordFor(name)
		if !ok {
			panic("fpuEnv: no control register for result " + name)
		}
		e.ctlStore(w, e.arg(name))
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

// fpuEnv returns the thread's FPU environment.
func fpuEnv(e lower) {
	fpuEnvResults(e)
	e.Ret()
}

// fpuToCo and fpuToMain are the switch's FPU sequences on their own, for a
// co whose switch is the runtime's.
func fpuToCo(e lower, shared bool) {
	if !shared {
		e.Mov(e.arg("c"), e.arch().Roles.Ctx)
	}
	fpuEnter(e, shared)
	e.Ret()
}

func fpuToMain(e lower, shared bool) {
	if !shared {
		e.Mov(e.arg("c"), e.arch().Roles.Ctx)
	}
	fpuLeave(e, shared)
	e.Ret()
}

// fpuSetEnv loads its arguments into the control registers.
func fpuSetEnv(e lower) {
	for _, w := range fpuWords {
		e.ctlLoad(w, e.arg(w.Result))
	}
	e.Ret()
}
