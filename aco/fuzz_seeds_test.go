package aco

// The differential fuzzer's seed programs (fuzz_test.go), written with
// small constructors.
//
// The seed corpus in testdata/fuzz/FuzzDifferential is written by
// fzWriteSeeds (ACO_FUZZ_WRITE_SEEDS=1 go test -run TestFuzzSeedCorpus) from
// fzSeeds; TestFuzzSeedCorpus checks that the committed corpus still executes
// every operation and instruction.

func fzI(op, a int) fzInstr { return fzInstr{op, a} }

// fzBlk is a block instruction over body (instructions and blocks): its
// argument says how long body is.
func fzBlk(op, a int, body ...any) []fzInstr {
	b := fzS(body...)
	if len(b) < 1 || len(b) > 4 {
		panic("fzBlk: block of 1 to 4 instructions")
	}
	return append([]fzInstr{{op, a&^3 | (len(b) - 1)}}, b...)
}

func fzS(parts ...any) []fzInstr {
	var s []fzInstr
	for _, p := range parts {
		switch x := p.(type) {
		case fzInstr:
			s = append(s, x)
		case []fzInstr:
			s = append(s, x...)
		default:
			panic("fzS: not an instruction")
		}
	}
	if len(s) > fzMaxInstr {
		panic("fzS: script too long")
	}
	return s
}

func fzC(slot, ss, hint int, script []fzInstr) fzOp {
	return fzOp{kind: fzCreate, slot: slot, ss: ss, hint: hint, script: script}
}

func fzO(kind, slot int) fzOp { return fzOp{kind: kind, slot: slot} }

var fzSeeds = map[string]*fzProg{
	"basic-yield": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzI(fiYield, 2), fzI(fiYield, 3))),
		fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
		fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0),
	}},
	"shared-interleave": {shared: true, nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzI(fiYield, 2))),
		fzC(1, 0, 1, fzS(fzI(fiYield, 10), fzI(fiYield, 11))),
		fzC(2, 1, 2, fzS(fzI(fiYield, 20), fzI(fiGC, 0), fzI(fiYield, 21))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzGC, 0),
		fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResume, 2), fzO(fzProbe, 0), fzO(fzProbe, 1), fzO(fzProbe, 2),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2),
	}},
	"deep-yield": {nss: 2, ops: []fzOp{
		fzC(0, 0, 3, fzS(fzBlk(fiDescend, 23*4, fzI(fiYield, 1), fzI(fiGC, 0), fzI(fiYield, 2)),
			fzBlk(fiDescend, 2*4, fzI(fiYield, 3)), fzI(fiYield, 4))),
		fzO(fzResume, 0), fzO(fzResumeGo, 0), fzO(fzGC, 0), fzOp{kind: fzResume, slot: 0, depth: 3}, fzO(fzResumeGo, 0),
		fzO(fzProbe, 0), fzOp{kind: fzResume, slot: 0, depth: 1}, fzO(fzProbe, 0),
	}},
	// The move off the share stack: every co moves at its first resume
	// after a yield, with defers pending, a panic on the goroutine, a
	// Destroy that unwinds a moved co, a Reset back onto the share stack
	// and nested resumes.
	"move-everything": {nss: 2, move: 1, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiStackDefer, 2, fzI(fiYield, 1), fzI(fiGC, 0), fzI(fiYield, 2)), fzI(fiYield, 3))),
		fzC(1, 1, 2, fzS(fzBlk(fiDescend, 6*4, fzI(fiYield, 10), fzI(fiYield, 11)), fzI(fiPanic, 12))),
		fzC(2, 0, 0, fzS(fzI(fiYield, 20), fzI(fiNested, 0), fzI(fiYield, 21), fzI(fiNestedDestroy, 1))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzProbe, 0),
		fzO(fzResumeGo, 0), fzOp{kind: fzResume, slot: 1, depth: 2}, fzO(fzResume, 2), fzO(fzGC, 0),
		fzO(fzDestroy, 0), fzO(fzResume, 1), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzProbe, 2),
		fzO(fzReset, 1), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzResume, 2),
	}},
	// A 256-byte threshold: shallow cos stay, deep ones move.
	"move-deep-only": {shared: true, nss: 2, move: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzI(fiYield, 2), fzI(fiYield, 3))),
		fzC(1, 1, 0, fzS(fzBlk(fiDescend, 20*4, fzI(fiOpenDefer, 1), fzI(fiYield, 4), fzI(fiYield, 5)), fzI(fiYield, 6))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzProbe, 0), fzO(fzProbe, 1),
		fzO(fzResumeGo, 1), fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzDestroy, 1), fzO(fzResume, 0),
	}},
	"exit": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiOpenDefer, 2, fzI(fiYield, 5), fzI(fiExit, 0)), fzI(fiYield, 99))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0),
	}},
	"return": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiDescend, 4, fzI(fiYield, 2), fzI(fiReturn, 0)), fzI(fiYield, 99))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0),
	}},
	"panic-recover": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiProtect, 0, fzI(fiYield, 1), fzI(fiPanic, 7)), fzI(fiYield, 2),
			fzBlk(fiProtect, 0, fzI(fiRuntimeErr, 0)), fzBlk(fiProtect, 0, fzI(fiRuntimeErr, 1)), fzI(fiYield, 3))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
	}},
	"panic-escapes": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiDescend, 8, fzI(fiYield, 2), fzI(fiPanic, 3)))),
		fzC(1, 0, 0, fzS(fzI(fiYield, 1), fzI(fiRuntimeErr, 0))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResumeGo, 1), fzO(fzProbe, 0), fzO(fzProbe, 1),
		fzO(fzResume, 0), fzO(fzDestroy, 0), fzO(fzDestroy, 0),
	}},
	"destroy-suspended": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzI(fiDefer, 2), fzBlk(fiStackDefer, 3, fzBlk(fiOpenDefer, 4,
			fzBlk(fiProtect, 0, fzI(fiYield, 5))), fzI(fiYield, 6)))),
		fzO(fzResume, 0), fzO(fzDestroy, 0), fzO(fzResume, 0), fzO(fzDestroy, 0), fzO(fzProbe, 0),
	}},
	"destroy-deep": {nss: 2, ops: []fzOp{
		fzC(0, 0, 1, fzS(fzI(fiDefer, 1), fzBlk(fiDescend, 10*4, fzI(fiDefer, 2), fzBlk(fiStackDefer, 1, fzI(fiYield, 3))))),
		fzO(fzResume, 0), fzO(fzGC, 0), fzO(fzResumeGo, 0), fzO(fzResume, 0),
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiDescend, 10*4, fzI(fiDefer, 2), fzBlk(fiStackDefer, 1, fzI(fiYield, 3))))),
		fzO(fzResume, 1), fzO(fzResumeGo, 1), fzOp{kind: fzDestroy, slot: 1, depth: 3}, fzO(fzDestroy, 0),
	}},
	"reset": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1))),
		fzOp{kind: fzReset, slot: 0, script: fzS(fzI(fiYield, 2))},
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
		fzOp{kind: fzReset, slot: 0, script: fzS(fzI(fiYield, 3), fzI(fiYield, 4))},
		fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
		fzO(fzDestroy, 0),
		fzOp{kind: fzReset, slot: 0, script: fzS(fzI(fiYield, 5))},
	}},
	"misuse-outside": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1))),
		fzO(fzYieldOutside, 0), fzO(fzExitOutside, 0), fzO(fzResume, 0),
		fzO(fzYieldOutside, 0), fzO(fzExitOutside, 0), fzO(fzResume, 0),
		fzO(fzYieldOutside, 0), fzO(fzExitOutside, 0), fzO(fzResume, 0), fzO(fzDestroy, 0),
		fzO(fzYieldOutside, 0), fzO(fzExitOutside, 0), fzO(fzResume, 0), fzO(fzResumeGo, 0),
		fzO(fzProbe, 7), fzO(fzResume, 7),
	}},
	"misuse-inside": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiMisuse, 0), fzI(fiMisuse, 1), fzI(fiMisuse, 2), fzI(fiMisuse, 3),
			fzI(fiMisuse, 1*6+4), fzI(fiMisuse, 1*6+5), fzI(fiMisuse, 0*6+4), fzI(fiYield, 1), fzI(fiMisuse, 6*6+5))),
		fzC(1, 0, 0, fzS(fzI(fiYield, 1))),
		fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzResume, 1),
	}},
	"nested": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiNested, 1), fzI(fiYield, 1), fzI(fiNested, 1), fzI(fiNested, 1+8), fzI(fiNested, 0), fzI(fiNested, 5))),
		fzC(1, 0, 0, fzS(fzI(fiYield, 10), fzI(fiNested, 2), fzI(fiYield, 11), fzI(fiNested, 0))),
		fzC(2, 0, 0, fzS(fzBlk(fiDescend, 12, fzI(fiYield, 20), fzI(fiYield, 21)))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzResume, 0), fzO(fzProbe, 1), fzO(fzProbe, 2),
		fzO(fzResume, 0), fzO(fzResume, 2),
	}},
	"nested-shared-busy": {shared: true, nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiNested, 1), fzI(fiNested, 2), fzI(fiNested, 2+8), fzI(fiYield, 1), fzI(fiNestedDestroy, 1), fzI(fiNestedDestroy, 2))),
		fzC(1, 0, 0, fzS(fzI(fiYield, 10))),
		fzC(2, 1, 0, fzS(fzI(fiYield, 20), fzI(fiYield, 21))),
		fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 1), fzO(fzProbe, 2),
	}},
	"nested-panic": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiNested, 1), fzI(fiNested, 1+8), fzI(fiYield, 1), fzI(fiNested, 2))),
		fzC(1, 0, 0, fzS(fzI(fiDefer, 1), fzI(fiYield, 10), fzI(fiPanic, 11))),
		fzC(2, 0, 0, fzS(fzI(fiRuntimeErr, 1))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
	}},
	"nested-destroy": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzI(fiNestedDestroy, 1), fzI(fiNestedDestroy, 1), fzI(fiNestedDestroy, 0), fzI(fiNestedDestroy, 6))),
		fzC(1, 0, 0, fzS(fzI(fiDefer, 5), fzBlk(fiProtect, 0, fzI(fiYield, 10)))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzProbe, 0),
	}},
	"defer-yield": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiDefer, 2), fzI(fiDeferYield, 3), fzI(fiYield, 4))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0), fzO(fzResumeGo, 0), fzO(fzProbe, 0),
		fzC(1, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiYield, 2))),
		fzO(fzResume, 1), fzO(fzResume, 1), fzO(fzDestroy, 1),
		fzC(2, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiPanic, 2))),
		fzO(fzResume, 2),
	}},
	// The first yield of the co is inside a deferred call run at a normal
	// return, and the next resume (Resume's fast path, then another
	// goroutine) puts the image at another address: the remaining deferred
	// calls must still run (the fuzzer's first finding: relocation adjusted
	// runtime.deferreturn's _panic twice, and they were skipped).
	"defer-yield-relocated": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiDescend, 12*4, fzI(fiDefer, 1), fzI(fiDeferYield, 2), fzI(fiDefer, 3), fzI(fiDeferYield, 4)))),
		fzO(fzResume, 0), fzOp{kind: fzResume, slot: 0, depth: 2}, fzOp{kind: fzResumeGo, slot: 0, depth: 1}, fzO(fzProbe, 0),
	}},
	// Deferred calls that yield while a panic unwinds the co: one the
	// script raises, a nil dereference (a signal), an index out of range;
	// resumed at other depths and goroutines, and destroyed there.
	"defer-yield-panicking": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiProtect, 1, fzI(fiDeferYield, 1), fzI(fiDeferYield, 2), fzI(fiPanic, 3)), fzI(fiYield, 4))),
		fzO(fzResume, 0), fzOp{kind: fzResume, slot: 0, depth: 2}, fzO(fzGC, 0), fzOp{kind: fzResumeGo, slot: 0, depth: 1}, fzO(fzResume, 0), fzO(fzProbe, 0),
		fzC(1, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiRuntimeErr, 0))),
		fzO(fzResume, 1), fzO(fzResumeGo, 1), fzO(fzResume, 1),
		fzC(2, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiDeferYield, 2), fzI(fiRuntimeErr, 1))),
		fzO(fzResume, 2), fzO(fzDestroy, 2),
	}},
	// A defer inside a range-over-func loop body, then yields: resumed
	// elsewhere, run to the end; and destroyed while suspended there.
	"range-defer": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiRangeDefer, 4*1+1, fzI(fiYield, 1), fzBlk(fiRangeDefer, 2, fzI(fiYield, 2))), fzI(fiYield, 3))),
		fzO(fzResume, 0), fzOp{kind: fzResume, slot: 0, depth: 3}, fzO(fzGC, 0), fzOp{kind: fzResumeGo, slot: 0, depth: 1}, fzO(fzResume, 0), fzO(fzResume, 0),
		fzC(1, 0, 0, fzS(fzBlk(fiRangeDefer, 7, fzI(fiYield, 1)))),
		fzO(fzResume, 1), fzO(fzDestroy, 1),
	}},
	"defer-panic": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDeferPanic, 1), fzI(fiYield, 2))),
		fzO(fzResume, 0), fzO(fzDestroy, 0),
		fzC(1, 0, 0, fzS(fzI(fiDeferPanic, 1), fzI(fiExit, 0))),
		fzO(fzResume, 1),
		fzC(2, 0, 0, fzS(fzBlk(fiProtect, 0, fzI(fiDeferPanic, 3), fzI(fiYield, 4)), fzI(fiYield, 5))),
		fzO(fzResume, 2), fzO(fzDestroy, 2), fzO(fzProbe, 2),
	}},
	"exit-through-protect": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiProtect, 0, fzI(fiDefer, 1), fzI(fiExit, 0)))),
		fzC(1, 0, 0, fzS(fzBlk(fiProtect, 0, fzBlk(fiOpenDefer, 2, fzI(fiYield, 1))))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzDestroy, 1),
	}},
	"goroutine-hop": {shared: true, nss: 3, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzBlk(fiDescend, 20*4, fzI(fiYield, 2)), fzI(fiYield, 3), fzI(fiGC, 0), fzI(fiYield, 4))),
		fzC(1, 1, 2, fzS(fzBlk(fiStackDefer, 0, fzI(fiYield, 1), fzI(fiYield, 2)))),
		fzC(2, 2, 3, fzS(fzI(fiYield, 1))),
		fzO(fzResumeGo, 0), fzO(fzResume, 0), fzO(fzResumeGo, 1), fzO(fzResumeGo, 0), fzO(fzResume, 1), fzO(fzResumeGo, 2),
		fzO(fzResumeGo, 0), fzO(fzProbe, 0), fzO(fzProbe, 1), fzO(fzResumeGo, 1), fzO(fzResumeGo, 0),
	}},
	"full-pool": {shared: true, nss: 3, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 0))), fzC(0, 1, 0, fzS(fzI(fiYield, 1))), fzC(0, 2, 0, fzS(fzI(fiYield, 2))),
		fzC(0, 0, 1, fzS(fzI(fiYield, 3))), fzC(0, 1, 2, fzS(fzI(fiYield, 4))), fzC(0, 2, 3, fzS(fzI(fiYield, 5))),
		fzC(0, 0, 0, fzS(fzI(fiYield, 6))), fzC(0, 1, 0, fzS(fzI(fiYield, 7))), fzC(0, 2, 0, fzS(fzI(fiYield, 8))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzResume, 3), fzO(fzResume, 4), fzO(fzResume, 5),
		fzO(fzResume, 6), fzO(fzResume, 7), fzO(fzDestroy, 3), fzC(1, 0, 0, fzS(fzI(fiYield, 9))), fzO(fzResume, 3),
	}},
	"gc-everywhere": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiGC, 0), fzBlk(fiDescend, 5*4, fzI(fiGC, 0), fzI(fiYield, 1), fzI(fiGC, 0)), fzI(fiYield, 2))),
		fzC(1, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiStackDefer, 1, fzI(fiGC, 0), fzI(fiYield, 1)))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzGC, 0), fzO(fzResume, 0), fzO(fzGC, 0), fzO(fzResume, 1),
		fzO(fzGC, 0), fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzProbe, 1),
	}},
	// Recursive generators whose yields keep changing frames: walks 11
	// frames deeper (more frames than the memo index takes), in order and
	// in pre-order, get a walk record after a few yields and then capture
	// only the frames that ran, with GCs while suspended, resumes on
	// another goroutine and at other depths (the image relocated); a
	// shallow walk beside them, whose frames the memo index may take, is
	// destroyed in mid-walk.
	"tree-walk": {nss: 2, move: 3, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiWalk, 11*4+2), fzI(fiYield, 99))),
		fzC(1, 1, 0, fzS(fzI(fiWalk, 3), fzI(fiGC, 0), fzI(fiWalk, 3))),
		fzC(2, 0, 0, fzS(fzI(fiWalk, 48+11*4+2))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResume, 0),
		fzO(fzResume, 2), fzO(fzResume, 2), fzO(fzResume, 2), fzO(fzResume, 2),
		fzO(fzResume, 2), fzO(fzResume, 2), fzO(fzResume, 2), fzO(fzResume, 2),
		fzO(fzResume, 2), fzO(fzGC, 0), fzO(fzResume, 2), fzO(fzGC, 0), fzO(fzResume, 2), fzO(fzGC, 0),
		fzO(fzResume, 2), fzO(fzGC, 0), fzO(fzResume, 2), fzO(fzGC, 0), fzO(fzResumeGo, 2), fzO(fzGC, 0),
		fzOp{kind: fzResume, slot: 2, depth: 2}, fzO(fzGC, 0), fzO(fzResume, 2),
		fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzGC, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzGC, 0),
		fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzGC, 0), fzO(fzResumeGo, 0), fzO(fzResume, 0),
		fzOp{kind: fzResume, slot: 0, depth: 2}, fzO(fzGC, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzGC, 0),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 1), fzO(fzProbe, 0), fzO(fzProbe, 1), fzO(fzProbe, 2),
		fzO(fzResume, 1), fzO(fzResume, 1), fzO(fzResume, 1), fzO(fzDestroy, 1),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzResume, 0),
	}},
	"empty": {nss: 2},
	"empty-slots": {nss: 2, ops: []fzOp{
		fzO(fzResume, 3), fzO(fzResumeGo, 3), fzO(fzDestroy, 3), fzOp{kind: fzReset, slot: 3}, fzO(fzProbe, 3),
		fzO(fzYieldOutside, 3), fzO(fzExitOutside, 3), fzO(fzGC, 0), fzC(3, 0, 0, nil), fzO(fzResume, 3), fzO(fzResume, 3),
	}},
}
