package aco

import (
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

// LastWordFunc is the hook set by [ThreadInit]. It is called when a
// coroutine's function panics, with the coroutine (already ended) and the
// panic value, before the panic continues in the resumer.
type LastWordFunc func(co *Co, panicValue any)

var lastWord atomic.Pointer[LastWordFunc]

// ThreadInit is libaco's aco_thread_init. Go has no thread-local state that a
// library can use, so the hook is process-wide; ThreadInit may be called any
// number of times, from any goroutine, and the last call wins. A nil hook
// removes it.
//
// libaco aborts the process when a coroutine's function returns instead of
// calling aco_exit, after running the "last word" hook. In Go returning is a
// normal way to end, so the hook runs instead when a coroutine's function
// panics; the panic then continues in the resumer. Calling ThreadInit is
// optional.
func ThreadInit(lastWordFn LastWordFunc) {
	captureFPU()
	if lastWordFn == nil {
		lastWord.Store(nil)
		return
	}
	lastWord.Store(&lastWordFn)
}

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
	// share-stack co in one 224-byte allocation on amd64.
	cs

	// st is the life-cycle state. Outside the copy-stack fast paths it
	// is changed with a CAS when a coroutine starts running, so two
	// goroutines that resume the same coroutine at once cannot both
	// succeed.
	st atomic.Uint32

	copyStack bool // runs on the copy-stack engine, on its resumer's stack
	returned  bool // fn has returned normally
	// moved: a share-stack co the copy-stack engine moved onto a goroutine
	// of its own (see MoveThreshold); copyStack is false from then on.
	moved bool
	// moveNext: the image saved at the last yield is larger than
	// MoveThreshold, and the next resume moves the co.
	moveNext bool

	main *Co         // the main co this co belongs to (nil for a main co)
	ss   *ShareStack // nil for standalone and main coroutines

	fn  Func
	arg any

	// unwind is set while Exit or Destroy unwinds the coroutine's stack.
	unwind *Unwind

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

	// portMem is the memory of port, in this allocation: a standalone co
	// is a Co and a coExtra, besides what iter.Pull allocates. It is
	// reused only once the goroutine of the last port has ended (after
	// the co ended, was destroyed or abandoned), the only other holder of
	// the old state.
	portMem portable

	// cs is the copy-stack engine's defer records and scratch, for a
	// share-stack co only (extra allocates them together): a standalone
	// co never takes the copy-stack paths, which read cs whenever x is set.
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
// The new coroutine is in the "init" state: its function starts at the first
// [Co.Resume]. The main co keeps it reachable until it is destroyed, so that
// [Co.DestroyAll] can end it.
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
	co := newCo(main, ss, saveStackSize, fn, arg)
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
func newCo(main *Co, ss *ShareStack, saveStackSize int, fn Func, arg any) *Co {
	co := &Co{main: main, ss: ss, fn: fn, arg: arg}
	if ss != nil && copyStackOn {
		co.copyStack = true
		co.initCopyStack(saveStackSize)
	} else {
		co.x = &coExtra{hint: saveStackSize}
	}
	return co
}

func (co *Co) state() state { return state(co.st.Load()) }

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
func (co *Co) ShareStack() *ShareStack { return co.ss }

// SaveStack returns the coroutine's save-stack statistics: libaco's
// co->save_stack.
func (co *Co) SaveStack() SaveStack {
	if co.copyStack || co.moved {
		return co.copyStackStats()
	}
	if co.x == nil {
		return SaveStack{}
	}
	return SaveStack{ValidSize: co.x.hint}
}

// Engine reports the engine that runs co now: [CopyStack] for a share-stack
// co on the copy-stack engine, which runs on its resumer's stack; [Portable]
// for a standalone co, for any co when the portable engine is the one in
// use (see [Engine]), and for a share-stack co that the copy-stack engine
// moved onto a goroutine of its own (see [Co.Moved]). It is empty for a
// main co.
func (co *Co) Engine() EngineName {
	switch {
	case co.IsMain():
		return ""
	case co.copyStack:
		return CopyStack
	}
	return Portable
}

// Moved reports whether the copy-stack engine moved co, a share-stack co,
// off its share stack onto a goroutine of its own, because the frames live
// at one of its yields took more than [MoveThreshold] bytes. A moved co
// stays on its goroutine until it ends; [Co.Reset] puts it back on its share
// stack.
func (co *Co) Moved() bool { return co.moved }

// Standalone reports whether co is a standalone (not share-stack) non-main
// coroutine.
func (co *Co) Standalone() bool { return !co.IsMain() && co.ss == nil }

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
	if s := co.st.Load(); co.copyStack && (s == uint32(stSuspended) || s == uint32(stInit)) && co.claim(s) {
		// The copy-stack fast path. claim makes sure two goroutines
		// cannot both resume the co, and the share stack's claim that
		// no two cos of it run at once; the co gives both back when it
		// yields, after its last use of them (swapleave).
		if !co.ss.claim(co) {
			co.setStateFast(state(s))
			panic(msgShareStackBusy)
		}
		// The trampoline is called from here and nowhere else in Resume:
		// for this call site swapout returns from Resume itself, so a
		// yield does not come back here (see learnResumeSkip).
		// mine: the co is still this goroutine's (see afterResume).
		mine := true
		defer co.afterResume(&mine)
		for {
			st := trampoline(&co.swctx)
			if st == stOK {
				mine = false
				break
			}
			if st == stEnd {
				break
			}
			if st == stMove {
				mine = false
				co.move()
				break
			}
			growStack(int(co.n) + stackMargin + 1024) // stGrow
		}
		return
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
	if co.copyStack {
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
}

// handBack is the resumer's side of a portable yield, back from the
// runtime's switch: a co that yielded (stYielding) is suspended from now
// on, and another goroutine may resume it. Only the resumer stores here,
// so a plain load and store do.
func (co *Co) handBack() {
	if co.st.Load() == uint32(stYielding) {
		co.setStateFast(stSuspended)
	}
}

// claim marks co, in state s, running, unless another goroutine changed
// its state first. For a Co of the API that is a compare-and-swap: with
// the share stack's (ShareStack.claim), one of the two atomic instructions
// of a round trip (each about 5-10 ns here; the yield gives both back with
// plain stores, after its last use of the co: swapleave). They are what
// makes two goroutines resuming one co, or two cos of one share stack, at
// once fail cleanly before either touches a stack. A Pull iterator's co is
// never exposed: its iterator's guard (puller.acquire), taken first, is the
// one atomic instruction of its round trip, and its claim a store.
func (co *Co) claim(s uint32) bool {
	if co.main == pullMain {
		co.setStateFast(stRunning)
		return true
	}
	return co.st.CompareAndSwap(s, uint32(stRunning))
}

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
// unless the caller is a standalone co the running co resumed (each runs
// on a goroutine of its own), which cannot be told apart from it.
func (co *Co) runningMsg(what string) string {
	if rtAvailable && co.state() == stRunning && co.goroutine() == getg() {
		return "aco: " + what + " of a running co from inside itself or a co it resumed (a co cannot be resumed or destroyed until it has yielded back to its resumer)"
	}
	if rtAvailable {
		return "aco: " + what + " of a running co while another goroutine runs it (a co runs on one goroutine at a time; a standalone co it resumed has a goroutine of its own too)"
	}
	return msgResumeRunning
}

// stopRunning hands the share stack back and sets the new state. It is
// nosplit because the copy-stack engine's capture calls it.
//
//go:nosplit
func (co *Co) stopRunning(s state) {
	if ss := co.ss; ss != nil && ss.owner == co { // not while Destroy unwinds it off its share stack
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
	if co.copyStack {
		// Copy-stack engine: swapout returns 0 when the co is resumed,
		// or at once with a status telling what to do first. There is
		// one call of swapout, so every image starts with the same frame
		// of Yield; it is part of every saved image, so it is small. A
		// resume returns from Yield for the co (see swapin) unless
		// Destroy is unwinding it: then it comes back here and panics.
		for {
			st := swapout(&co.swctx)
			if st == stOK {
				break
			}
			co.yieldFailed(st)
		}
		if u := co.unwind; u != nil {
			panic(u)
		}
		return
	}
	// The portable engine. The switch is called from here, with the checks
	// before it in a call that returns first: each frame between the co's
	// code and the switch costs a mispredicted return after it (see
	// Resume).
	// A standalone co's common yield makes no call after the switch; one
	// more word in this frame would be in every copy-stack image.
	if ok := co.leavePortable().yield(struct{}{}); !ok || co.moved {
		co.enterPortable(ok)
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
	if c.co.copyStack {
		for {
			st := swapout(&c.co.swctx)
			if st == stOK {
				break
			}
			c.co.yieldFailed(st)
		}
		if u := c.co.unwind; u != nil {
			panic(u)
		}
		return
	}
	if ok := c.co.leavePortable().yield(struct{}{}); !ok || c.co.moved {
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

// enterPortable is Yield on the portable engine after a switch that
// returned ok, for a co that moved or was stopped: it hands a moved co its
// FPU environment, and ends a stopped one (see stoppedOnG).
func (co *Co) enterPortable(ok bool) {
	co.fpuEnter()
	if !ok && co.stoppedOnG() {
		// The co moved onto a goroutine of its own and was abandoned (see
		// abandon): it leaves without running any more.
		co.abandonYield()
	}
}

// abandonYield is the end of an abandoned co: it leaves through its
// trampoline by a copy-stack yield (from Yield, called again), saving an
// image nobody resumes, so that none of its code runs and its goroutine
// ends.
func (co *Co) abandonYield() {
	co.copyStack = true
	co.Yield()
	panic("aco: internal error: an abandoned co was resumed")
}

// abandon ends a moved co, suspended on its goroutine, whose iterator the
// garbage collector found unreachable: it runs on the runtime's cleanup
// goroutine. The co's goroutine leaves the co's frames by a copy-stack
// yield that nobody resumes (see Yield), and ends; none of the co's code
// runs. A co moved while its resumer held an OS thread lock is left alone:
// the runtime's coroutine switch could not reach it from another thread.
func (co *Co) abandon() {
	p := co.x.port
	if p == nil || p.locks != 0 {
		return
	}
	co.x.abandoned = true
	// The copy-stack yield hands its share stack back: give it one of its
	// own, not the iterator's, which another goroutine may be using.
	co.ss = &ShareStack{private: true}
	co.setStateFast(stRunning)
	p.stop()
}

// resumeOnG starts resuming a co that runs on a goroutine of its own, was
// resumed before and may be resumed now, and returns its portable-engine
// state for the caller to switch with: it marks the co running and owner
// of its share stack. For anything else, misuse included, it changes
// nothing and returns nil: Resume's slow path does the resume, or panics
// with the message that names the mistake.
//
// It is the whole of a portable resume before the switch, in one call:
// a few loads and compares, claim, two stores.
func (co *Co) resumeOnG() *portable {
	if co.st.Load() != uint32(stSuspended) || co.copyStack || !co.claim(uint32(stSuspended)) {
		return nil
	}
	// The co is this goroutine's now: only from here on are its fields
	// read, which the goroutine that handed it back wrote.
	var p *portable
	if x := co.x; x != nil && !co.copyStack {
		p = x.port
	}
	if p == nil || rtAvailable && !p.sameLocks(getg()) {
		co.setStateFast(stSuspended) // Resume's slow path says why
		return nil
	}
	if ss := co.ss; ss != nil && !ss.claim(co) {
		co.setStateFast(stSuspended) // busy: startRunning says so
		return nil
	}
	return p
}

// leaveOnG is leavePortable for a co on a goroutine of its own, or nil on
// the copy-stack engine.
func (co *Co) leaveOnG() *portable {
	if co.copyStack {
		return nil
	}
	return co.leavePortable()
}

// leavePortable is Yield on the portable engine up to the switch: it checks
// that the co may yield and marks it suspended.
func (co *Co) leavePortable() *portable {
	if co.st.Load() != uint32(stRunning) || co.unwind != nil {
		co.yieldRefused() // the checks again, to name what is wrong
	}
	p := co.x.port
	if rtAvailable && !p.onItsG(getg()) {
		co.yieldRefused()
	}
	if ss := co.ss; ss != nil {
		ss.leave()
	}
	// Not suspended yet: the resumer marks it so once it is back from
	// the switch (handBack), so that no other goroutine resumes the co
	// while the resumer is still inside iter.Pull's next. A plain store
	// where the copy-stack engine runs (x86): one atomic per round trip
	// is the budget (each costs about 10 ns here).
	co.setStateFast(stYielding)
	co.fpuLeave()
	return p
}

// stoppedOnG is Yield on the portable engine after a switch that returned
// false: Destroy or abandon stopped the iterator. It reports an abandoned
// co, and panics to unwind a destroyed one.
func (co *Co) stoppedOnG() bool {
	if co.x.abandoned {
		return true
	}
	panic(co.unwind)
}

// Exit is libaco's aco_exit: it ends co from anywhere inside its function.
// Deferred calls run first, as with [runtime.Goexit]; then control returns to
// the resumer with co ended. Returning from the function has the same
// effect.
func (co *Co) Exit() {
	co.checkInside("Exit")
	if rtAvailable && getg() != co.goroutine() {
		panic(msgExitOutside)
	}
	if co.unwind == nil {
		co.unwind = &Unwind{co: co, reason: "Exit"}
	}
	panic(co.unwind)
}

// msgBusy is the panic message of what, a Resume, Destroy or Reset of a
// co that another goroutine's Reset or Destroy holds.
func msgBusy(what string) string {
	return "aco: " + what + " of a co that another goroutine is resetting or destroying at the same time"
}

// Messages of misuse the engines share.
const (
	msgZeroCo = "aco: use of a Co that Create did not make (a zero Co value: make coroutines with Create, main coroutines with NewMain)"
	// Where the runtime cannot be read (runningMsg tells the causes
	// apart where it can).
	msgResumeRunning  = "aco: Resume of a running co (from inside itself or a co it resumed, or while another goroutine runs it)"
	msgShareStackBusy = "aco: Resume: share stack is busy running another co (a share stack runs one co at a time)"
	msgYieldOutside   = "aco: Yield called outside the co (from another goroutine, or from inside another co it resumed)"
	msgExitOutside    = "aco: Exit called outside the co (from another goroutine)"
	msgYieldLocked    = "aco: Yield while the co holds an OS thread lock (runtime.LockOSThread without UnlockOSThread)"
	msgYieldCgo       = "aco: Yield inside a cgo callback is not supported"
)

// Unwind is the panic value with which Exit and Destroy unwind a coroutine's
// stack so that its deferred calls run. aco recovers it itself at the bottom
// of the coroutine; a deferred function in the coroutine that recovers it
// should panic with it again.
type Unwind struct {
	co     *Co
	reason string
}

// Error implements error.
func (u *Unwind) Error() string { return "aco: coroutine unwound by " + u.reason }

// Co returns the coroutine being unwound.
func (u *Unwind) Co() *Co { return u.co }

// run is the bottom frame of every coroutine on the portable engine.
func (co *Co) run() {
	defer co.runEnded()
	co.fn(co)
	co.returned = true
}

// runEnded runs, deferred, when run's function is done.
func (co *Co) runEnded() {
	if co.returned {
		co.returned = false
		co.finish()
		return
	}
	co.endPanic(recover())
}

// endPanic ends a co whose function did not return: r is the recovered
// panic value (nil for runtime.Goexit). The co's own Unwind (Exit, Destroy)
// is an ordinary end; any other panic goes on after the last-word hook.
func (co *Co) endPanic(r any) {
	// A Pull iterator's or a Coroutine's co on its share stack, which
	// their common paths resume without a deferred call (elsewhere their
	// deferred calls do this after the switch): it gives the iterator or
	// Coroutine back once ended. Read before finish: from then on another
	// goroutine may reset the co.
	e, _ := co.arg.(ender)
	if !co.copyStack {
		e = nil
	}
	co.finish()
	if e != nil {
		e.ended() // nothing below uses the iterator or Coroutine
	}
	if u, ok := r.(*Unwind); ok && u.co == co {
		return
	}
	if r == nil {
		return // runtime.Goexit: let it continue
	}
	// The hook is for coroutines made with Create: a Pull iterator's panic
	// reaches its caller as iter.Pull's does, without it.
	if lw := lastWord.Load(); lw != nil && co.main != pullMain {
		(*lw)(co, r)
	}
	panic(r)
}

// goroutine returns the goroutine running co, where that can be known.
func (co *Co) goroutine() uintptr {
	if co.copyStack {
		return co.g
	}
	if x := co.x; x != nil {
		// portMem, not port, which the co's owner may be clearing: g is
		// 0 until a goroutine runs the co.
		return x.portMem.g.Load()
	}
	return 0
}

// finish marks co ended and releases its share stack.
func (co *Co) finish() {
	if co.copyStack || co.moved {
		co.resetCopyStack()
	}
	co.unwind = nil
	co.stopRunning(stEnded)
}

// Destroy is libaco's aco_destroy.
//
// For a non-main coroutine: a suspended one is first unwound, so its deferred
// calls run (a panic raised by one of them continues from Destroy, and the
// coroutine is destroyed anyway); then its save stack is released. The
// unwinding does not need the share stack to itself: a supervisor may destroy
// a suspended sibling of its own share stack. Destroying a running coroutine
// panics.
//
// For a main coroutine: all its coroutines must have been destroyed first.
//
// A destroyed coroutine must not be used again; doing so panics.
func (co *Co) Destroy() {
	if co == nil {
		panic("aco: Destroy of a nil *Co")
	}
	switch co.state() {
	case stMain:
		if co.x.kids.n != 0 {
			panic("aco: Destroy of a main co that still has live coroutines (destroy them first)")
		}
	case stRunning, stYielding:
		panic(co.runningMsg("Destroy"))
	case stBusy:
		panic(msgBusy("Destroy"))
	case stReading:
		co.waitReading()
		co.Destroy()
		return
	case stDestroyed:
		panic("aco: Destroy of a destroyed co")
	case stSuspended:
		if !co.st.CompareAndSwap(uint32(stSuspended), uint32(stBusy)) {
			co.Destroy() // another goroutine came first: say what it did
			return
		}
		// The co is this goroutine's: only now is its image read.
		if co.copyStack && !co.hasPendingDefers() {
			// Nothing would observe an unwinding: just drop the frames
			// (which does not need the share stack either).
			co.st.Store(uint32(stDestroyed))
			co.release()
			return
		}
		co.destroySuspended()
		return
	}
	co.markDestroyed()
}

// destroySuspended unwinds a suspended coroutine so its deferred calls run,
// then marks it destroyed. Its share stack may be busy with another co (a
// supervisor destroying a sibling, perhaps from a co nested in it, or from
// another goroutine): nothing the unwinding runs needs the share stack to
// itself (it cannot yield, and on either engine its frames have a stack
// of their own: the destroying goroutine's or its goroutine's), so it
// runs without owning it, and the share stack stays with its owner.
func (co *Co) destroySuspended() {
	co.st.Store(uint32(stRunning)) // from stBusy: Destroy holds the co
	if ss := co.ss; ss != nil {
		ss.claim(co) // if it has an owner, the owner keeps it: stopRunning leaves it alone
	}
	// A panic from a deferred call of the coroutine continues from
	// Destroy; the coroutine is destroyed all the same.
	defer co.markDestroyed()
	co.unwind = &Unwind{co: co, reason: "Destroy"}
	if co.copyStack {
		co.enter = 1         // resume into Yield itself, which unwinds
		co.resumeCopyStack() // its Yield panics with co.unwind
		return
	}
	co.unwindPortable()
}

// markDestroyed moves an ended, init or main coroutine to "destroyed" and
// releases what it holds.
func (co *Co) markDestroyed() {
	s := co.state()
	if s != stEnded && s != stInit && s != stMain || !co.st.CompareAndSwap(uint32(s), uint32(stDestroyed)) {
		panic("aco: Destroy of a co that another goroutine resumed or destroyed at the same time")
	}
	// The co is this goroutine's: only now are its fields read.
	if s == stInit && co.fn == nil && co.main == nil {
		co.st.Store(uint32(s))
		panic(msgZeroCo) // Create and Reset never leave fn nil
	}
	co.release()
}

// release drops what a destroyed co holds and its counts.
func (co *Co) release() {
	if co.main == nil {
		return
	}
	co.fn, co.arg = nil, nil // first: the main co's list tells the released by fn
	co.main.x.kids.drop(co)
	if co.ss != nil {
		co.ss.releaseLive()
	}
	if co.copyStack || co.moved {
		co.releaseCopyStack()
	} else {
		co.x.port = nil
	}
}

// Reset reuses an ended coroutine object (libaco's planned aco_reset): it
// gets a new function and argument and goes back to the "init" state, keeping
// its main coroutine, share stack and save stack (statistics start over).
func (co *Co) Reset(fn Func, arg any) {
	if co == nil {
		panic("aco: Reset of a nil *Co")
	}
	if fn == nil {
		panic("aco: Reset: nil function")
	}
	for {
		s := co.state()
		switch s {
		case stEnded, stInit:
		case stMain:
			panic("aco: Reset of a main co")
		case stDestroyed:
			panic("aco: Reset of a destroyed co")
		case stBusy:
			panic(msgBusy("Reset"))
		case stReading:
			co.waitReading()
			continue
		default:
			panic("aco: Reset of a co that has not ended (it is " + s.String() + ")")
		}
		// The co is this goroutine's while it is busy: a Resume, Destroy
		// or Reset from another goroutine meanwhile panics.
		if co.st.CompareAndSwap(uint32(s), uint32(stBusy)) {
			if s == stInit && co.fn == nil {
				co.st.Store(uint32(s))
				panic(msgZeroCo) // Create and Reset never leave fn nil
			}
			break
		}
	}
	co.fn, co.arg = fn, arg
	if co.moved {
		// A moved co starts on its share stack again.
		co.copyStack, co.moved = true, false
		co.x.port = nil
	}
	co.moveNext = false
	if co.copyStack {
		co.resetCopyStack()
		co.ctSave, co.ctRestore, co.maxcpsz = 0, 0, 0
	} else {
		co.x.port = nil
	}
	co.st.Store(uint32(stInit))
}
