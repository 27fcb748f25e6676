package aco

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Version of this package (semantic versioning). The API follows libaco
// 1.2.2 (see [LibacoVersion]); the numbers here are aco's own.
const (
	VersionMajor = 0
	VersionMinor = 1
	VersionPatch = 0
	// Version is VersionMajor.VersionMinor.VersionPatch as a string.
	Version = "0.1.0"
	// LibacoVersion is the libaco release whose API and semantics aco follows.
	LibacoVersion = "1.2.2"
)

// DefaultSaveStackSize is the save-stack size a coroutine gets when Create is
// given 0, as in libaco.
const DefaultSaveStackSize = 64

// state is the life-cycle state of a coroutine.
type state uint32

const (
	stInit      state = iota // created or reset, never resumed
	stSuspended              // yielded, waiting for Resume
	stRunning                // between Resume and Yield/end
	stEnded                  // function returned, Exit, panic or unwound by Destroy
	stDestroyed              // Destroy done; the object must not be used
	stMain                   // a main coroutine
	// stYielding: a co on a goroutine of its own yielded, and its resumer
	// has not yet come back from the runtime's switch (see handBack).
	stYielding
	// stBusy: Reset or Destroy holds the co while it looks at it or
	// changes it; nothing else may use it.
	stBusy
	// stReading: Stack holds a suspended or init co while it reads its
	// frames; Resume, Destroy and Reset wait until it is done
	// (waitReading), so that a dump never makes them fail.
	stReading
)

func (s state) String() string {
	switch s {
	case stInit:
		return "init"
	case stSuspended:
		return "suspended"
	case stRunning:
		return "running"
	case stEnded:
		return "ended"
	case stDestroyed:
		return "destroyed"
	case stMain:
		return "main"
	case stYielding:
		return "yielding"
	case stBusy:
		return "busy"
	case stReading:
		return "reading"
	}
	return "invalid"
}

// Func is the function a coroutine runs. It receives its own coroutine, which
// is how libaco's aco_get_co() and aco_get_arg() are reached in Go.
type Func func(co *Co)

// Co is a coroutine: libaco's aco_t. A main coroutine comes from [NewMain]
// (or Create with a nil main); a non-main one from [Create].
//
// As libaco's main co belongs to a thread, a main co belongs to one goroutine
// at a time: its coroutines may be resumed from any goroutine, one at a
// time, but creating and destroying them from several goroutines at once
// needs the caller's synchronisation (the race detector reports it).
type Co struct {
	// cs is the copy-stack engine's state. It comes first: the switch
	// routines' context is at the Co's own address. The layout keeps a
	// share-stack co in 240 bytes on amd64, 17 to a 4 KiB slab (coSlab,
	// TestCoSize).
	cs

	// st is the life-cycle state. Outside the copy-stack fast paths it
	// is changed with a CAS when a coroutine starts running, so two
	// goroutines that resume the same coroutine at once cannot both
	// succeed.
	st atomic.Uint32

	mode     mode // the engine the co runs on
	returned bool // fn has returned normally
	// unwinding is set while Exit or Destroy unwinds the coroutine's
	// stack (a byte, not the *Unwind: it fits beside st and mode, and a
	// Co's size is per suspended coroutine).
	unwinding unwindReason
	// memoImage: memo describes the saved image of the suspended co (the
	// yield that saved it matched or built memo), so Destroy and relocate
	// need not match it (see imageMemo). Copy-stack engine only.
	memoImage bool
	kid       uint32 // the co's place in its main co's list (kidList)

	main *Co // the main co this co belongs to (nil for a main co)
	// ss is the share stack: nil for a main co and for a standalone co on
	// the portable engine; one of its own (private) for a standalone co
	// on the copy-stack engine (standaloneCo).
	ss *ShareStack

	fn  Func
	arg any

	x *coExtra // what only some coroutines need
}

// coExtra holds the fields that only main coroutines or the portable
// engine need, out of the line of share-stack coroutines.
type coExtra struct {
	// kids are the live (not destroyed) coroutines of a main coroutine,
	// in the order they were created (see teardown.go). Plain fields, since
	// a main co belongs to one goroutine at a time.
	kids kidList

	port *portable // portable-engine state (&portMem); nil until first resumed
	hint int       // save stack size asked for, on the portable engine
	// abandoned: the garbage collector found the handle of this moved co
	// unreachable (see abandon); its goroutine is to end.
	abandoned bool
	// portableKids (main cos, tests only): Create with a nil share stack
	// makes portable-engine cos, a goroutine each, as it does where the
	// copy-stack engine does not run; the behavioural suite and the
	// differential fuzzer hold the two engines to the same behaviour
	// through it.
	portableKids bool
	// slabLeft counts the Cos of slab's array not yet handed out, slab
	// first (main cos: the memory of the share-stack cos Create makes
	// next, see newKid).
	slabLeft uint8
	slab     *Co

	// portMem is the memory of port, in this allocation: a portable
	// co is a Co and a coExtra, besides what iter.Pull allocates. It is
	// reused only once the goroutine of the last port has ended (after
	// the co ended, was destroyed or abandoned), the only other holder of
	// the old state.
	portMem portable

	// cs is the copy-stack engine's defer records and scratch, for a co
	// with a share stack only (extra allocates them together): a co
	// without one is on the portable engine from its start and never
	// takes the copy-stack paths, which read cs whenever x is set.
	cs *csExtra
}

// coExtraCS is the allocation of a share-stack co's coExtra and its cs.
type coExtraCS struct {
	coExtra
	cs csExtra
}

// NewMain creates a main coroutine: libaco's aco_create(NULL, NULL, 0, NULL,
// NULL). A main coroutine stands for the code that resumes non-main
// coroutines; it groups them and outlives them. It cannot itself be resumed.
func NewMain() *Co {
	co := &Co{x: &coExtra{}}
	co.st.Store(uint32(stMain))
	return co
}

// Create is libaco's aco_create. With a nil main and a nil fn it returns a
// new main coroutine, like [NewMain]. Otherwise main must be a live main
// coroutine and fn non-nil; ss is the share stack the coroutine runs on, or
// nil for a standalone coroutine; saveStackSize is the initial size in bytes
// of its private save stack (0 means [DefaultSaveStackSize]; it grows as
// needed); arg is returned by [Co.Arg].
//
// A standalone coroutine shares its stack with no other coroutine, as in
// libaco, so resuming it never waits for another one to yield. On the
// copy-stack engine it runs as a share-stack coroutine alone on its share
// stack does: its frames are copied out at each yield and back at each
// resume (which its [Co.SaveStack] statistics count), until they grow past
// [MoveThreshold] and it moves onto a goroutine of its own ([Co.Moved]).
//
// The new coroutine is in the "init" state: its function starts at the first
// [Co.Resume]. The main co keeps it reachable until it is destroyed, so that
// [Co.DestroyAll] can end it.
//
// Share-stack coroutines of one main co are allocated several to a block,
// so a *Co need not be the start of an allocation: attach cleanup to one
// with [runtime.AddCleanup], not [runtime.SetFinalizer] (which accepts only
// the start of an allocation, and otherwise ends the program).
func Create(main *Co, ss *ShareStack, saveStackSize int, fn Func, arg any) *Co {
	if main == nil {
		if fn == nil && ss == nil && saveStackSize == 0 && arg == nil {
			return NewMain()
		}
		panic("aco: Create: main co is nil (create one with NewMain)")
	}
	switch main.state() {
	case stMain:
	case stDestroyed:
		if main.main == nil {
			panic("aco: Create: main co has been destroyed")
		}
		panic("aco: Create: main argument is not a main co (make one with NewMain)")
	default:
		// A non-main co, or a zero Co value, which NewMain did not make.
		panic("aco: Create: main argument is not a main co (make one with NewMain)")
	}
	if fn == nil {
		panic("aco: Create: nil function")
	}
	if saveStackSize < 0 {
		panic("aco: Create: negative save stack size")
	}
	if saveStackSize == 0 {
		saveStackSize = DefaultSaveStackSize
	}
	if ss != nil {
		ss.addLive()
	}
	co := newCo(main, ss, saveStackSize, fn, arg, true)
	main.x.kids.add(co)
	return co
}

// extra returns co.x, made if needed: with its cs for a share-stack co.
func (co *Co) extra() *coExtra {
	if co.x == nil {
		if co.ss == nil {
			co.x = &coExtra{}
		} else {
			e := &coExtraCS{}
			e.coExtra.cs = &e.cs
			co.x = &e.coExtra
		}
	}
	return co.x
}

// newPortable returns x's portable-engine state, zeroed, as its port.
func (x *coExtra) newPortable() *portable {
	p := &x.portMem
	p.next, p.stop, p.yield = nil, nil, nil
	p.g.Store(0) // atomic: see portable.g
	p.m, p.locks = 0, 0
	x.port = p
	return p
}

// newCo builds a non-main coroutine without Create's checks and accounting.
// fromSlab: the caller owns main (as Create does), so a share-stack co may
// take its memory from main's slab.
func newCo(main *Co, ss *ShareStack, saveStackSize int, fn Func, arg any, fromSlab bool) *Co {
	if ss == nil && copyStackOn && !main.x.portableKids {
		// A standalone co runs on the copy-stack engine too, on a share
		// stack of its own: nothing else runs there, so claiming it is a
		// plain store (the co's own compare-and-swap already gives it to
		// one resumer at a time). Its yields copy its frames as any
		// share-stack co's do, and once they cost more than a goroutine
		// switch it moves onto a goroutine of its own (move.go).
		sc := &standaloneCo{}
		sc.own.private = true
		sc.co = Co{main: main, ss: &sc.own, fn: fn, arg: arg}
		co := &sc.co
		co.mode = modeCopyStack
		co.initCopyStack(saveStackSize)
		return co
	}
	if ss != nil && copyStackOn {
		var co *Co
		if fromSlab {
			co = main.x.newKid()
			co.main, co.ss, co.fn, co.arg = main, ss, fn, arg
		} else {
			co = &Co{main: main, ss: ss, fn: fn, arg: arg}
		}
		co.mode = modeCopyStack
		co.initCopyStack(saveStackSize)
		return co
	}
	return &Co{main: main, ss: ss, fn: fn, arg: arg, x: &coExtra{hint: saveStackSize}}
}

// coSlab is how many share-stack cos Create makes in one allocation: as
// many as fit in 4 KiB (17 on amd64) with the malloc header of an object
// of pointers that size.
//
// One allocation per slab rather than per co takes most of the
// allocator's work out of Create (a loop of Create, Resume and Destroy
// spent about a fifth of its instructions in mallocgc). The cost is the
// garbage collector's unit: a slab is freed when none of its cos is
// reachable, as the allocator's own spans, which hold 33 Cos each, are
// released only when all their objects are free. A destroyed co holds
// nothing of the user's (release clears fn, arg and the save stack), so a
// slab kept by a live sibling keeps only its main co and share stack.
const coSlab = int((4096 - ptrSize) / unsafe.Sizeof(Co{}))

// newKid returns zeroed memory for a share-stack co of main co x: the
// next Co of its slab. Only Create calls it, on the goroutine that owns
// the main co (kids is updated there too, without a lock).
func (x *coExtra) newKid() *Co {
	co := x.slab
	if co == nil {
		co = &new([coSlab]Co)[0]
		x.slabLeft = uint8(coSlab)
	}
	if x.slabLeft--; x.slabLeft == 0 {
		x.slab = nil
	} else {
		// The next Co of the same array: never past its end.
		x.slab = (*Co)(unsafe.Add(unsafe.Pointer(co), unsafe.Sizeof(Co{})))
	}
	return co
}

func (co *Co) state() state { return state(co.st.Load() & stateMask) }

// stateMask is the bits of Co.st that hold the state; the bits above them
// hold, for an instant, the token of a hold (see Co.hold).
const stateMask = 1<<stateBits - 1

const stateBits = 8

// setStateFast sets the state with a release store: a plain one where the
// copy-stack engine runs (see storeRelease).
//
//go:nosplit
func (co *Co) setStateFast(s state) { storeRelease((*uint32)(unsafe.Pointer(&co.st)), uint32(s)) }

// IsMain reports whether co is a main coroutine.
func (co *Co) IsMain() bool { return co.state() == stMain || co.main == nil }

// IsEnd reports whether the coroutine has ended: libaco's co->is_end. A
// coroutine ends when its function returns, calls Exit or panics, or when
// Destroy unwinds it.
func (co *Co) IsEnd() bool {
	s := co.state()
	return s == stEnded || s == stDestroyed
}

// Arg returns the argument given to Create or Reset: libaco's aco_get_arg().
func (co *Co) Arg() any { return co.arg }

// Main returns the main coroutine co belongs to (nil for a main coroutine).
func (co *Co) Main() *Co { return co.main }

// ShareStack returns the share stack co runs on, or nil for standalone and
// main coroutines.
func (co *Co) ShareStack() *ShareStack {
	if co.ss != nil && co.ss.private {
		return nil
	}
	return co.ss
}

// standaloneCo is a standalone co on the copy-stack engine: a co with a
// share stack of its own.
type standaloneCo struct {
	co  Co
	own ShareStack
}

// SaveStack returns the coroutine's save-stack statistics: libaco's
// co->save_stack.
func (co *Co) SaveStack() SaveStack {
	if co.mode != modeOwn {
		return co.copyStackStats()
	}
	if co.x == nil {
		return SaveStack{}
	}
	return SaveStack{ValidSize: co.x.hint}
}

// Engine reports the engine that runs co now: [CopyStack] for a co on the
// copy-stack engine, which runs on its resumer's stack; [Portable] for any
// co when the portable engine is the one in use (see [Engine]), and for a
// co that the copy-stack engine moved onto a goroutine of its own (see
// [Co.Moved]). It is empty for a main co.
func (co *Co) Engine() EngineName {
	switch {
	case co.IsMain():
		return ""
	case co.copyStack():
		return CopyStack
	}
	return Portable
}

// Moved reports whether the copy-stack engine moved co off its share stack
// (a standalone co's own stack) onto a goroutine of its own, because the frames live
// at one of its yields took more than [MoveThreshold] bytes. A moved co
// stays on its goroutine until it ends; [Co.Reset] puts it back on its share
// stack.
func (co *Co) Moved() bool { return co.moved() }

// Standalone reports whether co is a standalone non-main coroutine: one
// created with a nil share stack.
func (co *Co) Standalone() bool { return !co.IsMain() && (co.ss == nil || co.ss.private) }

// String describes the coroutine for debugging.
func (co *Co) String() string {
	if co == nil {
		return "aco.Co(nil)"
	}
	return "aco.Co(" + co.state().String() + ")"
}

// Resume is libaco's aco_resume: it starts or continues co and returns when
// co yields or ends. If co's function panics, the panic continues from
// Resume, with co already ended.
//
// Unlike libaco, any goroutine may resume a coroutine, and a running
// coroutine may resume another one (coroutines nest; each yields back to
// whoever resumed it). A coroutine runs on one goroutine at a time and a
// share stack runs one coroutine at a time.
func (co *Co) Resume() {
	if co == nil {
		panic("aco: Resume of a nil *Co")
	}
	// The copy-stack fast path: claim the co and its share stack (see
	// claim), the pieces inlined, each one jumping to fast when it
	// succeeds (branches, not a boolean expression the compiler would
	// materialise).
	if s := co.st.Load(); co.copyStack() && (s == uint32(stSuspended) || s == uint32(stInit)) {
		if ss := co.ss; ss.private {
			if co.claimOwn(s) {
				goto fast
			}
		} else if !co.isPull() {
			if co.claimLocked(s) {
				goto fast
			}
		} else if co.claimPullShared(s) {
			goto fast
		}
	}
	// The portable engine. Resume calls the iterator's next itself: after
	// a goroutine switch the CPU's return predictor holds the other
	// goroutine's return addresses, so each frame of aco between the
	// caller and the switch costs a mispredicted return on the way back.
	// Checks are calls that return before the switch.
	if p := co.resumeOnG(); p != nil {
		if _, ok := p.next(); !ok {
			p.rethrow() // the co ended in a panic: raise it here
		}
		co.handBack()
		return
	}
	co.startRunning()
	if co.copyStack() {
		co.resumeCopyStack()
		return
	}
	if p := co.portableReady(); p != nil {
		if _, ok := p.next(); !ok {
			p.rethrow()
		}
		co.handBack()
		return
	}
	co.resumePortable() // the first resume
	co.handBack()
	return

fast:
	// claim took the co and its share stack (a private one is taken
	// here): two goroutines cannot both resume the co, and no two cos of
	// one share stack run at once. The co gives both back when it
	// yields, after its last use of them (swapleave).
	co.ss.own(co)
	// The trampoline is called from here and nowhere else in Resume: for
	// this call site swapout returns from Resume itself, so a yield does
	// not come back here (see learnResumeSkip). mine: the co is still
	// this goroutine's (see afterResume).
	mine := true
	defer co.afterResume(&mine)
	for {
		st := trampoline(&co.swctx)
		if st == swOK {
			mine = false
			break
		}
		if st == swEnd {
			break
		}
		if st == swMove {
			mine = false
			co.move()
			break
		}
		growStack(int(co.n) + stackMargin + 1024) // swGrow
	}
}

// claim marks co, in state s (init or suspended), running and owner of its
// share stack, unless another goroutine changed its state first or another
// co owns the share stack: then it changes nothing and reports false. It
// is the one atomic instruction of a round trip (the yield gives back with
// plain stores, after its last use of the co: swapleave). Two goroutines
// resuming one co, or two cos of one share stack, at once: one fails
// cleanly before either touches a stack. Resume's fast path inlines the
// pieces (claimOwn, claimLocked).
//
//   - A co of a share stack of the API: the share stack is the lock of its
//     cos (ShareStack.locks). claim takes it with a compare-and-swap, then
//     finds the co still in s and marks it running with plain loads and
//     stores: whoever else moves such a co out of init or suspended holds
//     the share stack too, or follows hold's rule.
//   - A standalone co: a compare-and-swap of its state; its share stack
//     is its own (private), taken with a store.
//   - A Pull iterator's co is never exposed: its iterator's guard
//     (puller.acquire), taken first, is the one atomic instruction of its
//     round trip. Its state is a store, its share stack a claim (PullOn's
//     may be shared).
func (co *Co) claim(s uint32) bool {
	if ss := co.ss; ss != nil && !ss.private {
		return co.claimShared(s)
	}
	return co.claimOwn(s)
}

// claimOwn is claim for a co whose share stack is private, or that has
// none: inlined into Resume's fast path.
func (co *Co) claimOwn(s uint32) bool {
	if co.isPull() {
		co.setStateFast(stRunning) // the iterator's guard holds the co
		return true
	}
	return co.st.CompareAndSwap(s, uint32(stRunning))
}

// claimShared is claim for a co of a share stack of the API.
func (co *Co) claimShared(s uint32) bool {
	if co.isPull() {
		return co.claimPullShared(s)
	}
	return co.claimLocked(s)
}

// claimLocked is claimShared for a co whose share stack is its lock
// (ShareStack.locks): inlined into Resume's fast path.
func (co *Co) claimLocked(s uint32) bool {
	ss := co.ss
	if !ss.take(co) {
		return false
	}
	if co.st.Load() != s {
		ss.leave()
		return false
	}
	co.setStateFast(stRunning)
	return true
}

// claimPullShared is claim for a PullOn iterator's co: its iterator's guard
// holds the co; the share stack is taken.
func (co *Co) claimPullShared(s uint32) bool {
	co.setStateFast(stRunning)
	if co.ss.take(co) {
		return true
	}
	co.setStateFast(state(s))
	return false
}

// unclaim gives back what claim took: co goes back to state s. Where the
// share stack is the co's lock, the state is stored before the lock is
// given back; elsewhere the state is the lock, and stored last.
func (co *Co) unclaim(s state) {
	ss := co.ss
	if ss.locks(co) {
		co.setStateFast(s)
		ss.leave()
		return
	}
	if ss != nil && ss.Owner() == co {
		ss.leave()
	}
	co.setStateFast(s)
}

// hold moves co from state s to h (busy, reading or destroyed) for Destroy,
// Reset or Stack, or reports false, changing nothing, if co was not in s
// (the caller looks at its state again). Where the co's share stack is its
// lock (see claim), a Resume stores "running" after it loaded s: Destroy
// and Reset take the share stack when it is free, and else (a sibling
// runs on it: a supervisor destroying a co) compare and swap to h marked
// with a token of their own, then look. Stack always does the latter: it
// may run on any goroutine while the share stack's own goroutine resumes
// the co's siblings, whose Resume would find the share stack taken. A Resume that loaded s before that may still
// store over it, but owns the share stack until after its store; a later
// one loads the token and backs off. So: the share stack owned by co means
// give the state back; a state other than the token means a Resume came
// first. The token (holdTokens) makes the state one no other hold can
// have set.
func (co *Co) hold(s, h state) bool {
	ss := co.ss
	if !ss.locks(co) {
		return co.st.CompareAndSwap(uint32(s), uint32(h))
	}
	if h != stReading && ss.take(co) {
		ok := co.st.Load() == uint32(s)
		if ok {
			co.setStateFast(h) // under the lock: a plain store
		}
		ss.leave()
		return ok
	}
	held := uint32(h) | (holdTokens.Add(1)|1)<<stateBits
	if !co.st.CompareAndSwap(uint32(s), held) {
		return false
	}
	if ss.Owner() == co {
		co.st.CompareAndSwap(held, uint32(s)) // unless that Resume stored first
		runtime.Gosched()                     // let it go on
		return false
	}
	if co.st.Load() != held {
		return false // a Resume came first: the co ran meanwhile
	}
	co.setStateFast(h) // the co is ours: no one else stores now
	return true
}

// holdTokens numbers hold's compare-and-swaps made without the share stack.
var holdTokens atomic.Uint32

// startRunning checks that co may be resumed now and marks it running and
// owner of its share stack. Every misuse panics before anything changes.
func (co *Co) startRunning() {
	var s state
	for {
		s = co.state()
		switch s {
		case stInit, stSuspended:
		case stMain:
			panic("aco: Resume of a main co")
		case stRunning, stYielding:
			panic(co.runningMsg("Resume"))
		case stBusy:
			panic(msgBusy("Resume"))
		case stReading:
			co.waitReading()
			continue
		case stEnded:
			panic("aco: Resume of an ended co")
		case stDestroyed:
			panic("aco: Resume of a destroyed co")
		default:
			panic("aco: Resume of a Co in no known state (its memory was overwritten, or it was copied while in use)")
		}
		if ss := co.ss; ss.locks(co) {
			if co.claimShared(uint32(s)) {
				return // the share stack and the co: see claim
			}
			if o := ss.Owner(); o != nil && o != co {
				panic(msgShareStackBusy)
			}
			runtime.Gosched() // another goroutine has the co: look again
			continue
		}
		if co.st.CompareAndSwap(uint32(s), uint32(stRunning)) {
			break
		}
	}
	// The co is this goroutine's: only now are its fields read.
	if s == stInit && co.fn == nil {
		co.st.Store(uint32(s))
		panic(msgZeroCo) // Create and Reset never leave fn nil
	}
	// Only the goroutine that won the co looks at its share stack.
	if ss := co.ss; ss != nil && !ss.claim(co) {
		co.st.Store(uint32(s))
		panic(msgShareStackBusy)
	}
}

// runningMsg is the panic message of what, a Resume, Destroy or Reset of
// co, which is running (or yielding: its resumer is not back from the
// switch yet): it names the cause where it can be told. On the goroutine
// the co runs on, the caller is inside the co or a co it resumed; on
// another goroutine, that goroutine is running the co at the same time,
// unless the caller is a co the running co resumed that runs on a
// goroutine of its own (moved, or on the portable engine), which cannot be
// told apart from it.
func (co *Co) runningMsg(what string) string {
	if rtAvailable && co.state() == stRunning && co.goroutine() == getg() {
		return "aco: " + what + " of a running co from inside itself or a co it resumed (a co cannot be resumed or destroyed until it has yielded back to its resumer)"
	}
	if rtAvailable {
		return "aco: " + what + " of a running co while another goroutine runs it (a co runs on one goroutine at a time; a co it resumed may run on a goroutine of its own)"
	}
	return msgResumeRunning
}

// stopRunning hands the share stack back and sets the new state. It is
// nosplit because the copy-stack engine's capture calls it.
//
//go:nosplit
func (co *Co) stopRunning(s state) {
	// An atomic load: Resume, Destroy and Reset of the co's siblings, and
	// of the co itself from other goroutines, compare and swap the owner
	// meanwhile (ShareStack.take).
	if ss := co.ss; ss != nil && ss.Owner() == co { // not while Destroy unwinds it off its share stack
		ss.leave()
	}
	co.st.Store(uint32(s))
}

// checkInside panics unless co is a running non-main coroutine. what names
// the calling method.
func (co *Co) checkInside(what string) {
	switch co.state() {
	case stRunning:
		return
	case stMain:
		panic("aco: " + what + " on a main co (only a non-main co can " + what + ")")
	case stInit:
		if co.fn == nil {
			panic(msgZeroCo)
		}
	}
	panic("aco: " + what + " called outside the co (the co is not running)")
}

// Yield is libaco's aco_yield: it suspends co and returns control to its
// resumer. It must be called from inside co's own function (at any call
// depth). It returns when co is resumed again.
//
// If co is being destroyed while suspended, Yield does not return: it
// unwinds co's stack (see [Co.Destroy]).
//
// Yield is never inlined: on the copy-stack engine it is the innermost
// frame of every saved image, and the switch returns from it for the co.
//
//go:noinline
func (co *Co) Yield() {
	if co.copyStack() {
		// Copy-stack engine: swapout returns with status 0 when the co
		// is resumed, or at once with a status telling what to do
		// first. There is one call of swapout, so every image starts
		// with the same frame of Yield; it is part of every saved image,
		// so it is small: every call here passes one word (the caller
		// reserves the spill space of a call's register arguments). A
		// resume returns from Yield for the co (see swapin) unless
		// Destroy is unwinding it: then it comes back here and panics.
		for {
			swapout(&co.swctx)
			if co.status == swOK {
				break
			}
			co.yieldFailed()
		}
		if co.unwinding != 0 {
			co.panicUnwind()
		}
		return
	}
	// The portable engine. The switch is called from here, with the checks
	// before it in a call that returns first: each frame between the co's
	// code and the switch costs a mispredicted return after it (see
	// Resume).
	// A portable co's common yield makes no call after the switch; one
	// more word in this frame would be in every copy-stack image.
	co.leavePortable()
	if ok := co.x.port.yield(struct{}{}); !ok {
		co.enterStopped()
	} else if co.mode == modeMoved {
		co.fpuEnter()
	}
}

// yieldValue is Yield for a Coroutine, whose Yield, inlined into its
// caller, passes itself as p (a *coroutine: its first field) and the value
// v it yields. yieldValue stores it where the resumer reads it only once
// it knows the co runs on this goroutine: a Yield from outside writes
// nothing another goroutine may be reading. It switches as Yield does (and
// is never inlined, for the same reasons), with nothing to do after the
// switch: on the copy-stack engine the resume returns from it for the co,
// straight into the code that reads the resumer's value.
//
//go:noinline
func yieldValue(p, v unsafe.Pointer) {
	yieldPut(p, v)
	// c.co is loaded again after each call: kept, it would be a word of
	// this frame, where c lives in its caller's spill slot.
	c := (*coroutine)(p)
	if c.co.copyStack() {
		for {
			swapout(&c.co.swctx)
			if c.co.status == swOK {
				break
			}
			c.co.yieldFailed()
		}
		if c.co.unwinding != 0 {
			c.co.panicUnwind()
		}
		return
	}
	c.co.leavePortable()
	if ok := c.co.x.port.yield(struct{}{}); !ok || c.co.mode == modeMoved {
		c.co.enterPortable(ok)
	}
}

// yieldPut is yieldValue up to the switch, a call that returns first so
// that yieldValue's frame, in every saved image, stays as small as
// Yield's: it checks that the co runs here and stores v.
//
//go:noinline
func yieldPut(p, v unsafe.Pointer) {
	c := (*coroutine)(p)
	if c == nil || c.co == nil {
		panicNoCoroutine("Yield")
	}
	co := c.co
	if !co.runsHere() {
		// Not inside: Yield panics with the message that says why, or
		// unwinds a co being destroyed.
		co.Yield()
		panic("aco: internal error: a Coroutine yielded from outside")
	}
	typedmemmove(c.outType, c.out, v)
}

// goroutine returns the goroutine running co, where that can be known.
func (co *Co) goroutine() uintptr {
	if co.copyStack() {
		return co.g
	}
	if x := co.x; x != nil {
		// portMem, not port, which the co's owner may be clearing: g is
		// 0 until a goroutine runs the co.
		return x.portMem.g.Load()
	}
	return 0
}
