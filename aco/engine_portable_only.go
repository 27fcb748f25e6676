//go:build !(linux && (amd64 || 386) && go1.26 && !go1.28 && !race)

package aco

import (
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Without runtime tables for this platform, release or build mode, every
// coroutine runs on the portable engine. These stand in for the copy-stack
// engine's hooks, in the order engine.go lists them, so that the code that
// uses them compiles; with copyStackOn false no co is in a copy-stack mode
// and none of it runs.

type swctx struct {
	n, yret, enter, g uintptr
	copies, maxcpsz   uint64
	fpuShared, status uint8
}
type cs struct{ swctx }
type csExtra struct{}
type yieldMemo struct{}

const stackMargin = 0

const (
	swOK = iota
	swMove
	swEnd
)

const copyStackOn = false

// copyStackSupported: this build has the copy-stack engine.
const copyStackSupported = false

var engineReason = "no copy-stack support for " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + raceNote

// moveThreshold stands for the copy-stack engine's knob (move.go).
var moveThreshold uintptr = MoveThreshold

var moveAfter uintptr

// init checks ACO_MOVE_THRESHOLD as the copy-stack engine's init reads it:
// nothing moves here, but a misspelt value fails on every platform alike.
func init() { readMoveEnv(os.Getenv("ACO_MOVE_THRESHOLD")) }

func trampoline(*swctx) uintptr { return 0 }
func swapout(*swctx)            {}
func growStack(int)             {}
func startMoved(uintptr) bool   { return false }
func learnMoved(uintptr)        {}
func forgetMoved(uintptr)       {}
func captureFPU()               {}

func (co *Co) initCopyStack(int)          {}
func (co *Co) resetCopyStack()            {}
func (co *Co) releaseCopyStack()          {}
func (co *Co) recycleCopyStack()          {}
func (co *Co) reuseCopyStack(*ShareStack) {}
func (co *Co) resumeCopyStack()           {}
func (co *Co) afterResume(*bool)          {}
func (co *Co) yieldFailed()               {}
func (co *Co) move()                      {}
func (co *Co) fpuLeave()                  {}
func (co *Co) fpuEnter()                  {}
func (co *Co) copyStackStats() SaveStack  { return SaveStack{} }
func (co *Co) hasPendingDefers() bool     { return true }
func (co *Co) imagePCs() []uintptr        { return nil }

// storeRelease is an atomic store here: the race detector checks aco's own
// synchronization too, and arm64 reorders plain stores.
func storeRelease(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

// storeReleasePtr is storeRelease for a pointer.
func storeReleasePtr(p *unsafe.Pointer, v unsafe.Pointer) { atomic.StorePointer(p, v) }
