//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

// Moving a co off its share stack. A copy-stack round trip copies the live
// image twice; past MoveThreshold bytes that costs more than the runtime's
// coroutine switch, whose cost does not depend on depth. So when a yield
// saves a larger image, capture marks the co (modeMoveNext) and the next resume
// runs the trampoline on a goroutine of the co's own, started through
// iter.Pull, instead of on the resumer's stack: the trampoline's slow path
// relocates the image to the new goroutine's stack, as it relocates any
// image resumed at a new place, and the co continues there. Its bottom
// frame still returns into a trampoline and a panic still unwinds into the
// resumer (iter.Pull re-panics it from next), but from then on its Yield
// takes the portable engine's path: its frames stay where they are and no
// more copies are made.
//
// A moved co keeps everything else: its share stack (which it still owns
// while it runs, so nothing a program can observe depends on the move but
// speed), its FPU environment (handed over at each switch here, as swapin
// and swapleave do, unless it shares its resumer's, as a Pull co does),
// its statistics (which stop counting, as no copies are
// made). An ended co that is Reset starts on its share stack again.

// moveThreshold is MoveThreshold, or what ACO_MOVE_THRESHOLD says (see
// readMoveEnv); tests change it to move cos of any size.
var moveThreshold uintptr = MoveThreshold

const walkFrameBytes = MoveWalkFrameBytes

// collectYieldBytes is what a yield whose roots collectRoots had to find,
// in Go code, adds to its size: a scan in Go is far dearer than a goroutine
// switch, so such a yield is costly whatever its size.
const collectYieldBytes = MoveThreshold

// costlyDecay is how much a cheap yield takes off a co's count of costly
// yields (moveAfter moves it): a co moves once more than about half of its
// yields are costly, as a lexer resumed at a new depth of its parser for
// most tokens is, or a tree walk whose yields are walked about as often as
// a memo describes them (depth 8: 145 ns per value on the share stack
// against 126 moved), and not while cheap ones keep coming in between.
const costlyDecay = 1

// moveAfter is how many yields must cost more than the threshold before a
// co moves, each cheap one in between taking costlyDecay off the count: a
// move costs a goroutine, a cleanup and a copy, which
// a short generator never earns back (BenchmarkMoveCrossover's "short"
// rows: a 15-value tree walk, moving at once or never).
var moveAfter uintptr = 32

// walkBufsAfter is how many walked yields a co makes before its walks get
// buffers (scan.go): a short generator is cheaper without.
const walkBufsAfter = 8

// move is Resume of a co whose trampoline said swMove: co is running, with
// its image saved. It starts the co's goroutine, which resumes the image
// below a trampoline of its own, and returns when the co yields or ends
// there, or panics with its panic.
func (co *Co) move() {
	x := co.extra()
	p := x.newPortable()
	gp := getg()
	if p.locks = gLocks(gp); p.locks != 0 {
		p.m = gM(gp)
	}
	co.mode = modeMoved
	// The goroutine is new, with a small stack: it grows it first, for the
	// image and the room below it (see prepareResume), where few frames
	// are on it for the runtime to copy, not in the trampoline's slow
	// path under the frames the goroutine runs it from.
	co.startOnG(p, co.resumeCopyStack, int(co.n)+stackMargin+2048)
	if _, ok := p.next(); !ok {
		p.rethrow()
	}
	co.handBack()
}

// fpuLeave and fpuEnter hand the FPU environment over when a moved co
// switches on the portable path: the goroutines share the thread, so its
// control words would leak between the co and its resumer. They are the
// copy-stack switch's own sequences (fpuToMain, fpuToCo): save one
// environment, load the other, unconditionally, as swapin and swapleave
// do. Comparing first would wait for the saved words (STMXCSR's result
// takes several ns here), which the plain sequence never does. The
// sequences skip a co that shares its resumer's environment themselves;
// the test here spares a Pull co the call. (A co leaving its goroutine,
// modeLeaving, switches by the copy-stack engine: not here.)
func (co *Co) fpuLeave() {
	if co.mode == modeMoved && co.fpuShared == 0 {
		fpuToMain(&co.swctx)
	}
}

func (co *Co) fpuEnter() {
	if co.mode == modeMoved && co.fpuShared == 0 {
		fpuToCo(&co.swctx)
	}
}
