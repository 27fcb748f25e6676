package aco

import "strconv"

// The engine's hooks: what the rest of the package uses of the copy-stack
// engine, which builds without it stub in engine_portable_only.go, in this
// order (TestEngineHooksListed checks that the two agree). Where the
// copy-stack engine has them:
//
//   - swctx (zswitch.go): the switch's context, at the start of a Co
//   - cs, csExtra (copystack.go): a co's engine state, and its rarely used part
//   - yieldMemo (memo.go): the layout of a yield's frames
//   - stackMargin (zswitch.go): the room a resume keeps below a co's frames
//   - swOK, swMove, swEnd (zswitch.go, copystack.go): the switch statuses Resume reads
//   - copyStackOn, copyStackSupported, engineReason (engine_copystack.go): the engine chosen
//   - moveThreshold, moveAfter (move.go): when a co leaves its share stack
//   - trampoline, swapout (zswitch_*.s): the switch
//   - growStack (copystack_resume.go): room on the resumer's stack for an image
//   - startMoved, learnMoved, forgetMoved (placement.go): Pull iterators that start on a goroutine
//   - captureFPU (engine_copystack.go): the FPU environment new cos start with
//   - initCopyStack, resetCopyStack, releaseCopyStack, recycleCopyStack, reuseCopyStack (copystack.go): a co's life cycle
//   - resumeCopyStack, afterResume (copystack_resume.go): a resume's slow path and its end
//   - yieldFailed (copystack_yield.go): a yield's slow path
//   - move, fpuLeave, fpuEnter (move.go): a co leaving its share stack, and its FPU environment after
//   - copyStackStats, hasPendingDefers, imagePCs (copystack.go): what a suspended co holds
//   - storeRelease, storeReleasePtr (engine_copystack.go): release stores

// EngineName names an engine that runs share-stack coroutines.
type EngineName string

// The engines.
const (
	// Portable runs every coroutine on a goroutine of its own, switched
	// through the runtime's coroutine support (the mechanism of iter.Pull).
	// It works on every platform and under the race detector.
	Portable EngineName = "portable"
	// CopyStack runs share-stack coroutines on the resuming goroutine's own
	// stack and copies their frames to the save stack at every yield.
	CopyStack EngineName = "copystack"
)

// Engine reports the engine that runs new coroutines, share-stack and
// standalone, in this process (one that moves runs on the portable engine
// from then on: see [Co.Moved]).
func Engine() EngineName {
	if copyStackOn {
		return CopyStack
	}
	return Portable
}

// EngineNote explains the choice of engine: empty when the copy-stack engine
// is active, otherwise why it is not (platform, release, race detector,
// ACO_ENGINE=portable, or a failed self-test).
func EngineNote() string {
	if copyStackOn {
		return ""
	}
	return engineReason
}

// The Go releases the copy-stack engine supports, from the first to the one
// before the last: its build constraints say go1.26 && !go1.28. This is
// the one place the window is written down; TestReleaseWindowInOnePlace
// checks that every build constraint of the package, the generator's and
// the runtime tables' files agree with it (a new release: move
// releaseLast, add its tables with make rtlayout, run the tests).
const (
	releaseFirst = 26 // go1.26
	releaseLast  = 27 // go1.27; the constraints say !go1.28
)

// MoveThreshold is the size, in bytes, of the frames live at a yield above
// which the copy-stack engine moves a share-stack co onto a goroutine of its
// own (see [Co.Moved]), once its yields have stayed above it for a while. A
// copy-stack switch copies those frames out at the yield and back in at the
// resume, and scans them for pointers; the portable engine's switch costs
// the same whatever the depth. On the machine of the README's benchmark
// report a copy-stack round trip costs less than a moved co's up to frames
// of about 4 KB, with 1,000 coroutines in round robin as with one
// (acobench's live-stack rows, BenchmarkMoveCrossover).
const MoveThreshold = 4096

// MoveWalkFrameBytes is what each frame of a yield whose frames changed
// since the co's last yields (a recursive generator) adds to its size, for
// [MoveThreshold]: such frames are walked one by one from the frame cache,
// which costs far more than copying a frame's bytes. It is MoveThreshold,
// so a yield whose frames had to be walked counts as costly whatever its
// size; one whose frames a layout recorded before describes (its own, or
// one another co's yields recorded) does not. On the machine of the
// README's report a depth-6 tree walk, whose yields are mostly described,
// costs 124 ns per value on its share stack against 143 moved.
const MoveWalkFrameBytes = MoveThreshold

// A mode is the engine a co runs on. The modes of a co with a share stack
// (a standalone co on the copy-stack engine has one of its own) run from
// the copy-stack engine to a goroutine of its own (move.go); a co on the
// portable engine from its start and a main co never change mode.
type mode uint8

const (
	// modeOwn: the portable engine (a co on a goroutine of its own from
	// its start), or a main co.
	modeOwn mode = iota
	// modeMoved: a share-stack co moved onto a goroutine of its own (see
	// MoveThreshold).
	modeMoved
	// modeLeaving: a moved co whose iterator was abandoned, leaving its
	// goroutine by a copy-stack yield that nobody resumes (abandonYield).
	modeLeaving
	// modeCopyStack: the copy-stack engine, on its resumer's stack.
	modeCopyStack
	// modeMoveNext: the copy-stack engine; its costly yields (or
	// relocations) paid for a move, which its next resume makes.
	modeMoveNext
)

// copyStack reports whether the co yields by the copy-stack engine.
func (co *Co) copyStack() bool { return co.mode >= modeLeaving }

// moved reports whether the co left its share stack.
func (co *Co) moved() bool { return co.mode == modeMoved || co.mode == modeLeaving }

// moveNext reports whether the co's next resume moves it off its share
// stack.
func (co *Co) moveNext() bool { return co.mode == modeMoveNext }

// moveOff in moveThreshold or moveAfter turns moves off: no co leaves its
// share stack (ACO_MOVE_THRESHOLD=off, or a test's pin).
const moveOff = 1 << 30

// movesOff reports whether moves are off (moveOff).
//
//go:nosplit
func movesOff() bool { return moveThreshold >= moveOff || moveAfter >= moveOff }

// readMoveEnv sets the move policy from the environment variable
// ACO_MOVE_THRESHOLD, read once at init as ACO_ENGINE is (by both engines,
// so a misspelt value fails on every platform alike): "off" keeps every
// co on its share stack (to measure the copy path alone, or to keep the
// memory of a share-stack co); a byte count moves a co at its first yield
// above it (0: at its first yield, which CI uses to run every test on both
// sides of the move). Anything else is a mistake that init panics on:
// a program measured with a misspelt setting would measure the default.
func readMoveEnv(v string) {
	switch v {
	case "":
		return
	case "off":
		moveThreshold, moveAfter = moveOff, moveOff
		return
	}
	t, err := strconv.ParseUint(v, 10, 64)
	if err != nil || t >= moveOff {
		panic("aco: ACO_MOVE_THRESHOLD=" + strconv.Quote(v) + ": want a byte count below 2^30 or off")
	}
	moveThreshold, moveAfter = uintptr(t), 1
}
