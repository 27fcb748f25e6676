package aco

import (
	"iter"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// pullMain is the main coroutine of the coroutines behind Pull. It is never
// destroyed, so those coroutines are not counted as its children.
var pullMain = NewMain()

// Pull is [iter.Pull] on an aco coroutine: it converts the push iterator seq
// into a pull iterator. Like iter.Pull's goroutine, the coroutine shares
// the FPU environment of whoever calls next (a [Co] of [Create] keeps its
// own). next returns the next value and true, or the zero
// value and false once seq has returned; stop ends the iteration early, so
// that seq's yield returns false (seq should then return; its deferred calls
// run). Both may be called any number of times; a panic in seq comes out of
// the next or stop call that was running it.
//
// As with iter.Pull, next and stop are for one goroutine at a time. A call
// of next or stop while another one runs on another goroutine panics
// ("aco: Pull: next called from two goroutines at once"), before it
// touches the coroutine, and the call that was running goes on: the
// iterator stays usable. Under the race detector such calls are also
// reported as a data race at the calls, as iter.Pull's are. A call of next
// from inside seq panics too. stop called from inside seq does what
// iter.Pull's stop does there: seq is left where it is and never runs again
// (its pending deferred calls do not run), and the next call that was
// running it returns; that call returns the zero value and false (iter.Pull's
// returns seq's last value again). The guard costs one atomic instruction
// per call.
//
// The coroutine runs on a share stack of its own; use [PullOn] to choose one.
// If the coroutines of earlier iterators of the same generator function
// (seq's code, whatever its closure holds) moved onto goroutines of their
// own ([MoveThreshold]), the coroutine usually starts on one, from the
// first call of next.
//
// An iterator that is dropped without stop is reclaimed by the garbage
// collector, goroutine and all, where the copy-stack engine runs it: seq
// does not run again and its pending deferred calls do not run (as for
// a goroutine blocked forever). On the portable engine ([Engine]), and for
// [PullOn] with a nil share stack, it keeps its goroutine, as iter.Pull's
// does.
//
// Where the portable engine runs share-stack coroutines, Pull is iter.Pull
// behind the same guard.
func Pull[V any](seq iter.Seq[V]) (next func() (V, bool), stop func()) {
	if seq == nil {
		panic("aco: Pull: nil iterator")
	}
	if !copyStackOn {
		return guardedPull(seq)
	}
	return newPull(seq).funcs()
}

// newPull is Pull's iterator before its functions: on its own share stack,
// or on a goroutine from the start for a generator whose iterators moved
// (see placement.go).
func newPull[V any](seq iter.Seq[V]) *puller[V] {
	p := &puller[V]{}
	p.own.private = true
	p.init(&p.own, seq)
	if startMoved(funcPC(seq)) {
		p.co.mode = modeMoveNext // its first resume moves it
		p.premoved = true
	}
	return p
}

// funcPC returns the code pointer of the function value f, a func of any
// type: its closure's first word.
func funcPC[F any](f F) uintptr {
	return **(**uintptr)(unsafe.Pointer(&f))
}

// PullOn is [Pull] with the coroutine on the share stack ss, or on a
// goroutine of its own if ss is nil. Coroutines on one share stack run one at a time, so two
// iterators on the same share stack must not be pulled from inside each
// other. The coroutine counts as live on ss until seq has ended or stop has
// been called (an abandoned iterator stays counted).
//
// With a nil share stack PullOn is iter.Pull behind Pull's guard (see Pull).
func PullOn[V any](ss *ShareStack, seq iter.Seq[V]) (next func() (V, bool), stop func()) {
	if seq == nil {
		panic("aco: PullOn: nil iterator")
	}
	if ss == nil {
		return guardedPull(seq)
	}
	ss.addLive()
	p := &puller[V]{counted: ss}
	p.init(ss, seq)
	return p.funcs()
}

// Pull2 is [iter.Pull2] on an aco coroutine; see [Pull].
func Pull2[K, V any](seq iter.Seq2[K, V]) (next func() (K, V, bool), stop func()) {
	if seq == nil {
		panic("aco: Pull2: nil iterator")
	}
	return pull2(Pull(func(yield func(kv[K, V]) bool) {
		seq(func(k K, v V) bool { return yield(kv[K, V]{k, v}) })
	}))
}

// Pull2On is [Pull2] on the share stack ss; see [PullOn].
func Pull2On[K, V any](ss *ShareStack, seq iter.Seq2[K, V]) (next func() (K, V, bool), stop func()) {
	if seq == nil {
		panic("aco: Pull2On: nil iterator")
	}
	return pull2(PullOn(ss, func(yield func(kv[K, V]) bool) {
		seq(func(k K, v V) bool { return yield(kv[K, V]{k, v}) })
	}))
}

type kv[K, V any] struct {
	k K
	v V
}

func pull2[K, V any](next func() (kv[K, V], bool), stop func()) (func() (K, V, bool), func()) {
	return func() (K, V, bool) {
		p, ok := next()
		return p.k, p.v, ok
	}, stop
}

// puller is the state shared by a pull iterator and its coroutine.
type puller[V any] struct {
	// busy is who holds the iterator (see acquire): a call of next or
	// stop holds it from its first instruction to its last use of the
	// puller or the co, so that a second goroutine calling next or stop
	// meanwhile panics instead of resuming the co.
	busy     uint32
	racer    uint32 // what next and stop mark written for the race detector
	co       *Co
	own      ShareStack  // the private share stack used by Pull
	counted  *ShareStack // share stack whose live count PullOn raised
	seq      iter.Seq[V]
	v        V
	ok       bool // v holds a value from yield
	done     bool // seq returned or stop was called
	stopping bool // stop asked seq to return: yield returns false
	stopped  bool // stop was called from inside seq, which is suspended there
	// cleanup: a cleanup on the handle ends the co if the iterator is
	// dropped (see abandon); stopCleanup is it, stopped when the iteration
	// ends (the runtime keeps a span's cleanups in a list it searches).
	cleanup     bool
	stopCleanup runtime.Cleanup
	// premoved: the co started on a goroutine of its own, as the
	// iterators of its generator had moved (see placement.go); yields
	// counts its yields there, up to moveAfter.
	premoved bool
	yields   int
	// onG: the co moved onto a goroutine of its own (p.own its share
	// stack, a cleanup set) and the runtime can be read: next's moved
	// fast path may run it (see funcs).
	onG bool
	// tnext and tyield are iter.Pull's next and yield once the co runs
	// on a goroutine of its own (startTyped): the value passes through
	// them, not v.
	tnext  func() (V, bool)
	tyield func(V) bool
}

// typedPull is implemented by the puller only (the method is unexported):
// startPull starts a Pull co's goroutine through it.
type typedPull interface {
	startTyped(port *portable, body func(), grow int)
}

// isPull reports whether co is the coroutine of a Pull iterator, never
// exposed: its iterator's guard stands in front of it (see claim), and its
// panics reach the caller of next without the last-word hook.
func (co *Co) isPull() bool { return co.main == pullMain }

// startPull starts the goroutine of co, if it is a Pull co, through
// startTyped, and reports whether it did (see startOnG).
func (co *Co) startPull(p *portable, body func(), grow int) bool {
	t, ok := co.arg.(typedPull)
	if ok {
		t.startTyped(p, body, grow)
	}
	return ok
}

// startTyped starts the goroutine of a Pull co through iter.Pull of the
// iterator's own value type, which then carries the values: next calls its
// next, and a yield calls its yield with no frame between. port gets the
// untyped functions the engine uses.
func (p *puller[V]) startTyped(port *portable, body func(), grow int) {
	p.tnext, port.stop = iter.Pull(func(yield func(V) bool) {
		if grow > 0 {
			growStack(grow) // see startOnG
		}
		p.tyield = yield
		port.started()
		port.runOnG(body)
	})
	port.next = func() (struct{}, bool) {
		v, ok := p.tnext()
		p.v, p.ok = v, ok
		return struct{}{}, ok
	}
	// What Co.Yield's portable path would call; a Pull co's own yields
	// call tyield from pullBody and never take that path.
	port.yield = func(struct{}) bool { return p.tyield(p.v) }
}

// pullHandle is what the next and stop functions hold. The coroutine holds
// the puller (its argument) but not this, so the garbage collector can find
// the handle unreachable while a goroutine runs the coroutine.
type pullHandle[V any] struct {
	p *puller[V]
}

func (p *puller[V]) init(ss *ShareStack, seq iter.Seq[V]) {
	p.seq = seq
	fn := Func(pullBody[V]) // one function value (one frame layout) for both
	if ss == &p.own {
		if co, _ := pullCos.Get().(*Co); co != nil {
			co.reuseCopyStack(ss)
			co.ss, co.fn, co.arg = ss, fn, p
			co.st.Store(uint32(stInit))
			p.co = co
			return
		}
	}
	p.co = newCo(pullMain, ss, 0, fn, p, false)
	// A Pull iterator's coroutine shares its caller's FPU environment, as
	// iter.Pull's goroutine does (Go keeps none per goroutine), on the
	// share stack and after a move alike: the switch does not save and
	// load it (about 12 ns of a round trip here).
	p.co.fpuShared = 1
}

// pullCos are the coroutines of Pull iterators that ended, ready for the
// next Pull with their save stacks, root slices and walk buffers: a
// generator pulled in a loop (a tree walk per query) then allocates only
// its closures. Nobody else holds these coroutines (Pull's are never
// exposed), so no stale *Co can see one reused. sync.Pool gives them back
// to the garbage collector over two cycles.
var pullCos sync.Pool

// recycledCo stands for the co of an ended iterator whose co was recycled:
// ended, with nothing for next's fast path to resume.
var recycledCo = func() *Co {
	co := new(Co)
	co.st.Store(uint32(stEnded))
	return co
}()

// recycle puts p's ended coroutine in pullCos, reset, if it ran on Pull's
// own share stack on the copy-stack engine; it reports whether it did.
func (p *puller[V]) recycle() bool {
	co := p.co
	if co.mode == modeOwn || co.ss != &p.own || co.unwinding != 0 {
		return false
	}
	co.recycleCopyStack() // a moved co's goroutine has ended: back on a share stack
	co.ss, co.fn, co.arg = nil, nil, nil
	p.co = recycledCo
	pullCos.Put(co)
	return true
}

// funcs returns next and stop. next resumes the co itself, with no frame
// of aco in between on its common path: the return after a switch is
// mispredicted once per frame it passes (see Resume).
//
// Not inlined: the compiler does not inline calls inside closures that
// inlining copied (Go issue 81380), so next and stop inlined into Pull
// would call acquire, release, the atomic loads and the state stores out
// of line, about a hundred instructions more per next.
//
//go:noinline
func (p *puller[V]) funcs() (func() (V, bool), func()) {
	h := &pullHandle[V]{p: p}
	next := func() (V, bool) {
		p := h.p
		if !p.acquire(holdFast) {
			p.refuse()
		}
		// Branches, not boolean expressions, which the compiler would
		// materialise (see Resume).
		co := p.co
		if co.st.Load() == uint32(stSuspended) {
			if co.mode == modeCopyStack {
				if p.counted == nil {
					// The common next: a Pull co suspended on
					// its own share stack, which stays there
					// for this resume. No deferred call: a
					// panic from the co ended it and gave the
					// iterator back (see ended), and the next
					// call of next or stop notices the end
					// (noticeEnd). What resumed does matters
					// only if the co ended.
					p.ok = false
					co.Resume()
					if co.st.Load() != uint32(stSuspended) || p.stopped {
						p.resumed(h)
					}
					v, ok := p.take()
					p.release()
					return v, ok
				}
			} else if p.onG {
				if port := co.x.port; port.sameLocks(getg()) {
					// A Pull co that moved onto a goroutine of
					// its own: iter.Pull's next, with the
					// thread-lock check the runtime's switch
					// needs and no deferred call. busy alone
					// claims the co: it stays marked suspended
					// while it runs, and its yield, seeing
					// that, takes the matching fast path
					// (pullBody), so neither side stores a
					// state or the share stack's owner. A
					// panic from the generator comes back as
					// !ok (runOnG keeps it); a runtime.Goexit
					// ends the co, whose end gives the
					// iterator back (endPanic), before tnext
					// calls runtime.Goexit here.
					v, ok := p.tnext()
					if ok && !p.stopped && co.st.Load() == uint32(stSuspended) {
						p.release()
						// h is live until here: while the co runs, the
						// cleanup that ends a dropped iterator's co must
						// not run.
						runtime.KeepAlive(h)
						return v, true
					}
					return p.afterMoved(h, port, v, ok)
				}
			}
		}
		return p.nextSlow(h)
	}
	stop := func() {
		p := h.p
		if !p.acquire(holdDeferred) {
			p.stopRefused()
			return
		}
		defer p.leave(h)
		if p.noticeEnd() {
			return
		}
		if p.co.state() == stInit {
			p.finish()
			return
		}
		p.stopping = true
		p.co.Resume()
	}
	return next, stop
}

// nextSlow is next for every case its fast paths leave: a co on a
// goroutine of its own not yet given its cleanup, a PullOn co, the end,
// misuse. Its deferred call gives the iterator back however it ends; a
// function of its own keeps that defer's cost out of the fast paths.
func (p *puller[V]) nextSlow(h *pullHandle[V]) (V, bool) {
	storeRelease(&p.busy, holdDeferred)
	defer p.leave(h)
	var zero V
	if p.noticeEnd() {
		return zero, false
	}
	p.ok = false
	if port := p.co.resumeOnG(); port != nil {
		if p.counted == nil {
			// A Pull co on a goroutine of its own: iter.Pull's
			// next, which carries the value.
			v, ok := p.tnext()
			if !ok {
				port.rethrow() // the generator panicked
			}
			if p.stopped {
				return zero, false
			}
			return v, ok
		}
		// A PullOn co on a goroutine of its own, marked running.
		if _, ok := port.next(); !ok {
			port.rethrow()
		}
	} else {
		p.checkNext()
		p.co.Resume()
	}
	v, ok := p.take()
	if p.stopped {
		return zero, false // seq called stop: the iteration is over
	}
	return v, ok
}

// afterMoved is next's fast path for a moved co (see funcs) after a switch
// that did not end in a plain yield: the co ended, panicked, or the
// generator called stop. As next's other paths, it gives the iterator
// back however it ends.
func (p *puller[V]) afterMoved(h *pullHandle[V], port *portable, v V, ok bool) (V, bool) {
	defer p.leave(h)
	var zero V
	if !ok {
		port.rethrow() // the generator panicked
		return zero, false
	}
	if p.stopped {
		return zero, false // seq called stop: the iteration is over
	}
	return v, ok
}

// Who holds a Pull iterator (puller.busy).
const (
	holdNone     = iota
	holdFast     // next's common path, which has no deferred call
	holdDeferred // a call whose deferred leave gives the iterator back
)

// acquire takes the iterator for a call of next or stop: the one atomic
// instruction of a Pull round trip (a compare-and-swap, about 5 ns here),
// which makes a second goroutine's call fail cleanly instead of resuming
// the co under the first.
func (p *puller[V]) acquire(how uint32) bool {
	raceWrite(unsafe.Pointer(&p.racer))
	return atomic.CompareAndSwapUint32(&p.busy, holdNone, how)
}

// release gives the iterator back after the call's last use of it.
func (p *puller[V]) release() { storeRelease(&p.busy, holdNone) }

// ender is a puller or a Coroutine, the argument of their co: endPanic
// tells it that the co ended in a panic (or runtime.Goexit, or Exit).
type ender interface{ ended() }

// ended gives the iterator back for the call of next whose co ended in a
// panic or runtime.Goexit on next's common path, which has no deferred
// call; a call holding it otherwise (holdDeferred) gives it back itself.
func (p *puller[V]) ended() {
	if p.busy == holdFast {
		p.release()
	}
}

// leave runs, deferred, at the end of a call of next or stop that held the
// iterator with holdDeferred: it notices how the co came back (resumed)
// and gives the iterator back.
func (p *puller[V]) leave(h *pullHandle[V]) {
	p.co.handBack()
	p.resumed(h)
	p.release()
}

// refuse panics for a call of next that found the iterator held: by the
// call of next running the generator, on this goroutine (next called from
// inside the generator), or by a call on another goroutine.
func (p *puller[V]) refuse() {
	if p.inside() {
		panic(msgNextAgain)
	}
	panic(msgNextTwo)
}

// stopRefused is stop on an iterator another call holds. Called from inside
// the generator (its co runs on this goroutine), it does what iter.Pull's
// stop does there: the generator is left where it is, never to run again
// (its pending deferred calls do not run), and the next call that is
// running it returns; the iteration is over. From another goroutine it
// panics.
func (p *puller[V]) stopRefused() {
	if !p.inside() {
		panic(msgStopBusy)
	}
	p.stopping, p.stopped = true, true
	if p.co.st.Load() == uint32(stSuspended) {
		// Run by next's moved fast path, which leaves it marked
		// suspended: the portable Yield below wants it running, as
		// next's other paths leave it.
		p.co.setStateFast(stRunning)
	}
	p.co.Yield()
	panic("aco: internal error: a generator stopped from inside was resumed")
}

// inside reports whether the co runs on this goroutine: a call that finds
// the iterator held comes from inside the generator. It reads what another
// goroutine may be writing (the co, its goroutine): only to choose a panic
// message, which is right whenever the call is.
func (p *puller[V]) inside() bool {
	co := p.co
	if !rtAvailable {
		return false
	}
	switch co.state() {
	case stRunning:
	case stSuspended:
		// next's moved fast path runs a moved co marked suspended (see
		// funcs): its goroutine runs only while a call runs it. A
		// suspended co on its share stack has no goroutine (0).
	default:
		return false
	}
	return co.goroutine() == getg()
}

// The messages of two goroutines using one iterator at once, with why.
const (
	msgOneGoroutine = "an iterator, like iter.Pull's, is used by one goroutine at a time: the second call panics and the first goes on"
	msgNextTwo      = "aco: Pull: next called from two goroutines at once (" + msgOneGoroutine + ")"
	msgStopBusy     = "aco: Pull: stop called while another goroutine runs next or stop (" + msgOneGoroutine + ")"
)

// take returns the value the co's last yield handed over, if any, and
// clears it (the iterator must not keep it alive).
func (p *puller[V]) take() (V, bool) {
	v, ok := p.v, p.ok
	var zero V
	p.v = zero
	return v, ok
}

// noticeEnd reports whether the iteration is over, finishing it if the co
// ended in a panic that next's fast path let through.
func (p *puller[V]) noticeEnd() bool {
	if !p.done && p.co.IsEnd() {
		p.finish()
	}
	return p.done
}

// Messages of Pull's misuse, in iter.Pull's words where the situation is
// the same.
const (
	msgNextAgain = "aco: Pull: next called again before yield (next of an iterator called from inside its own generator)"
	msgNextBusy  = "aco: PullOn: next called while another coroutine of the same share stack runs (iterators on one share stack cannot be pulled from inside each other: give the inner one a share stack of its own, or use Pull)"
)

// checkNext panics, changing nothing, if next cannot resume the co now:
// the two misuses whose Resume messages would name aco's internals.
func (p *puller[V]) checkNext() {
	co := p.co
	if co.state() == stRunning {
		panic(msgNextAgain)
	}
	if ss := co.ss; ss != nil && ss.Owner() != nil && ss.Owner() != co {
		panic(msgNextBusy)
	}
}

// resumed runs after the co was resumed, however it came back: it notices
// the end, ends the iteration if stop was called from inside the generator,
// and gives a co that moved onto a goroutine of its own a cleanup that ends
// it if the iterator is dropped.
func (p *puller[V]) resumed(h *pullHandle[V]) {
	if p.stopped && !p.done {
		// The generator is suspended in its stop: it never runs again.
		// A co on a goroutine of its own leaves its frames as an
		// abandoned one does, so that the goroutine ends.
		if p.co.moved() {
			p.co.abandon()
		}
		p.finish()
		return
	}
	if p.co.IsEnd() {
		p.finish()
		return
	}
	if p.co.moved() && !p.cleanup {
		p.cleanup = true
		p.stopCleanup = runtime.AddCleanup(h, (*puller[V]).abandon, p)
		p.onG = p.counted == nil && rtAvailable
		if !p.premoved && p.counted == nil {
			learnMoved(funcPC(p.seq)) // the next iterators start moved
		}
	}
}

// pullBody is the coroutine function: it runs seq with a yield that hands
// each value to next and suspends.
func pullBody[V any](co *Co) {
	p := co.arg.(*puller[V])
	p.seq(func(v V) bool {
		if p.onG {
			if co.st.Load() == uint32(stSuspended) && co.x.port.onItsG(getg()) {
				// next's moved fast path runs the co (see funcs): it
				// stays marked suspended, and nothing here stores.
				// Only the checks the runtime's switch needs: the co's
				// own goroutine, with the thread locks of its first
				// resume. No FPU handover: a Pull co shares its
				// resumer's environment.
				if p.yields < int(moveAfter) {
					p.yields++ // see finish
				}
				if !p.tyield(v) {
					co.enterStopped() // abandoned: it leaves, running nothing more
				}
				return !p.stopping
			}
			return p.yieldOnG(co, v)
		}
		if p.stopping || p.done {
			return false
		}
		if co.copyStack() {
			p.v, p.ok = v, true
			co.Yield()
			return !p.stopping
		}
		return p.yieldOnG(co, v)
	})
}

// yieldOnG is the yield of a Pull co that is not on its share stack, in
// every case but the moved fast path's.
func (p *puller[V]) yieldOnG(co *Co, v V) bool {
	if p.stopping || p.done {
		return false
	}
	if p.onG && co.st.Load() == uint32(stSuspended) {
		// Marked suspended, as next's moved fast path leaves it, but not
		// on the co's goroutine with the thread locks of its first resume.
		co.checkYieldPortable() // panics with what is wrong
		panic("aco: internal error: a moved Pull co's yield refused for no reason")
	}
	if co.leaveOnG() == nil {
		// pullBody yields a co on its share stack itself.
		panic("aco: internal error: a Pull co on its share stack in yieldOnG")
	}
	// On a goroutine: iter.Pull's yield is called from here, as the
	// switch is in Yield; the value passes through it.
	if p.yields < int(moveAfter) {
		p.yields++ // see finish
	}
	// A Pull co shares its resumer's FPU environment: no call after the
	// switch unless stopped (see Yield).
	if ok := p.tyield(v); !ok || co.fpuShared == 0 {
		co.enterPortable(ok)
	}
	return !p.stopping
}

func (p *puller[V]) finish() {
	if p.done {
		return
	}
	p.done = true
	p.co.st.Store(uint32(stEnded))
	if p.premoved && p.yields < int(moveAfter) {
		// It started on a goroutine and ended before it would have
		// moved by itself: its generator's next iterators start on
		// their share stack.
		forgetMoved(funcPC(p.seq))
	}
	if p.cleanup {
		p.stopCleanup.Stop()
	}
	if p.recycle() {
		return
	}
	p.co.fn, p.co.arg = nil, nil
	if p.co.mode != modeOwn {
		p.co.releaseCopyStack()
	} else if p.co.x != nil {
		p.co.x.port = nil
	}
	if p.counted != nil {
		p.counted.releaseLive()
	}
}

// abandon is the cleanup of a dropped iterator whose co moved onto a
// goroutine of its own: it ends the co without running any more of seq.
// The share stack's live count is left alone (another goroutine may be
// using the share stack); the puller is garbage once this returns.
func (p *puller[V]) abandon() {
	if !p.done && p.co.state() == stSuspended {
		p.co.abandon()
	}
}

// guardedPull is iter.Pull with the guard of aco's own iterators: a call of
// next or stop while another one runs on another goroutine panics, where
// iter.Pull's runtime switch may throw, hang or hand a value to the wrong
// caller. Pull is this where share-stack coroutines run on the portable
// engine, and PullOn with no share stack: the coroutine is iter.Pull's, and
// the guard costs a compare-and-swap and a deferred store per call.
func guardedPull[V any](seq iter.Seq[V]) (func() (V, bool), func()) {
	var busy, racer uint32
	var gen atomic.Uintptr  // the generator's goroutine, where it can be known
	var stopped atomic.Bool // stop was called from inside the generator
	inext, istop := iter.Pull(func(yield func(V) bool) {
		if rtAvailable {
			gen.Store(getg())
		}
		seq(yield)
	})
	inside := func() bool { return rtAvailable && gen.Load() == getg() }
	next := func() (V, bool) {
		raceWrite(unsafe.Pointer(&racer))
		if !atomic.CompareAndSwapUint32(&busy, holdNone, holdDeferred) {
			if inside() {
				panic(msgNextAgain)
			}
			panic(msgNextTwo)
		}
		defer storeRelease(&busy, holdNone)
		v, ok := inext()
		if stopped.Load() {
			// As aco's own iterators: the iteration is over (iter.Pull's
			// next would return the last value again).
			var zero V
			return zero, false
		}
		return v, ok
	}
	stop := func() {
		raceWrite(unsafe.Pointer(&racer))
		if !atomic.CompareAndSwapUint32(&busy, holdNone, holdDeferred) {
			if !inside() {
				panic(msgStopBusy)
			}
			stopped.Store(true)
			istop() // from inside the generator: iter.Pull's own way
			return
		}
		defer storeRelease(&busy, holdNone)
		istop()
	}
	return next, stop
}
