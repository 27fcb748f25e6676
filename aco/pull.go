package aco

import "iter"

// pullMain is the main coroutine of the coroutines behind Pull. It is never
// destroyed, so those coroutines are not counted as its children.
var pullMain = NewMain()

// Pull is [iter.Pull] on an aco coroutine: it converts the push iterator seq
// into a pull iterator. next returns the next value and true, or the zero
// value and false once seq has returned; stop ends the iteration early, so
// that seq's yield returns false (seq should then return; its deferred calls
// run). Both may be called any number of times; a panic in seq comes out of
// the next or stop call that was running it. As with iter.Pull, next and
// stop must not be called from several goroutines at once.
//
// The coroutine runs on a share stack of its own; use [PullOn] to choose one.
func Pull[V any](seq iter.Seq[V]) (next func() (V, bool), stop func()) {
	p := &puller[V]{}
	p.init(&p.own, seq)
	return p.next, p.stop
}

// PullOn is [Pull] with the coroutine on the share stack ss, or standalone if
// ss is nil. Coroutines on one share stack run one at a time, so two
// iterators on the same share stack must not be pulled from inside each
// other. The coroutine counts as live on ss until seq has ended or stop has
// been called.
func PullOn[V any](ss *ShareStack, seq iter.Seq[V]) (next func() (V, bool), stop func()) {
	if ss != nil {
		ss.addLive()
	}
	p := &puller[V]{counted: ss}
	p.init(ss, seq)
	return p.next, p.stop
}

// Pull2 is [iter.Pull2] on an aco coroutine; see [Pull].
func Pull2[K, V any](seq iter.Seq2[K, V]) (next func() (K, V, bool), stop func()) {
	return pull2(Pull(func(yield func(kv[K, V]) bool) {
		seq(func(k K, v V) bool { return yield(kv[K, V]{k, v}) })
	}))
}

// Pull2On is [Pull2] on the share stack ss; see [PullOn].
func Pull2On[K, V any](ss *ShareStack, seq iter.Seq2[K, V]) (next func() (K, V, bool), stop func()) {
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
	co       *Co
	own      ShareStack  // the private share stack used by Pull
	counted  *ShareStack // share stack whose live count PullOn raised
	seq      iter.Seq[V]
	v        V
	ok       bool // v holds a value from yield
	done     bool // seq returned or stop was called
	stopping bool // stop asked seq to return: yield returns false
}

func (p *puller[V]) init(ss *ShareStack, seq iter.Seq[V]) {
	p.seq = seq
	p.co = newCo(pullMain, ss, 0, pullBody[V], p)
}

// pullBody is the coroutine function: it runs seq with a yield that hands
// each value to next and suspends.
func pullBody[V any](co *Co) {
	p := co.arg.(*puller[V])
	p.seq(func(v V) bool {
		if p.stopping || p.done {
			return false
		}
		p.v, p.ok = v, true
		co.Yield()
		return !p.stopping
	})
}

func (p *puller[V]) next() (V, bool) {
	var zero V
	if p.done {
		return zero, false
	}
	p.ok = false
	p.resume()
	v, ok := p.v, p.ok
	p.v = zero
	return v, ok
}

func (p *puller[V]) stop() {
	if p.done {
		return
	}
	if p.co.state() == stInit {
		p.finish()
		return
	}
	p.stopping = true
	p.resume()
}

// resume runs the coroutine and notices when it ends, however it ends.
func (p *puller[V]) resume() {
	defer func() {
		if p.co.IsEnd() {
			p.finish()
		}
	}()
	p.co.Resume()
}

func (p *puller[V]) finish() {
	if p.done {
		return
	}
	p.done = true
	p.co.st.Store(uint32(stEnded))
	p.co.fn, p.co.arg = nil, nil
	if p.co.x != nil {
		p.co.x.port = nil
	}
	if p.co.copyStack {
		p.co.releaseCopyStack()
	}
	if p.counted != nil {
		p.counted.releaseLive()
	}
}
