//go:build !(linux && (amd64 || 386) && go1.26 && !go1.28 && !race)

package aco

import "runtime"

// Without runtime tables for this platform, release or build mode, every
// coroutine runs on the portable engine.

const copyStackOn = false

var engineReason = "no copy-stack support for " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + raceNote

// These stand in for the copy-stack engine so the code that uses it
// compiles; with copyStackOn false, Co.cs is always nil and none of it runs.

type swctx struct {
	n, tcaller, yret  uintptr
	ctSave, ctRestore uint64
}
type cs struct{ swctx }

const stackMargin = 0

var resumeSkipPC uintptr

func trampoline(*swctx) uintptr { return 0 }
func growStack(int)             {}
func learnResumeSkip(uintptr)   {}
func (co *Co) afterResume()     {}

func (co *Co) useCopyStack() bool     { return false }
func (co *Co) resumeCopyStack()       { panic("aco: internal error: copy-stack engine unavailable") }
func (co *Co) yieldFailed(st uintptr) {}
func swapout(*swctx) uintptr          { return 0 }
func captureFPU()                     {}
func (s *cs) reset()                  {}
func (co *Co) copyStats(*SaveStack)   {}

const stOK = 0
