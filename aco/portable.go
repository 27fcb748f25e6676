package aco

import "iter"

// The portable engine runs each coroutine on a goroutine of its own and
// passes control with the runtime's coroutine switch, reached through
// iter.Pull (runtime.coroswitch itself cannot be linknamed). The resumer
// blocks in next() while the coroutine runs; the coroutine blocks in yield()
// while it is suspended. Panics in the coroutine come out of next() or stop()
// in the resumer, which is where aco wants them.

// portable is the portable-engine state of one coroutine.
type portable struct {
	next  func() (struct{}, bool)
	stop  func()
	yield func(struct{}) bool
}

// resumePortable runs co until it yields or ends. co is already marked
// running.
func (co *Co) resumePortable() {
	p := co.x.port
	if p == nil {
		p = new(portable)
		p.next, p.stop = iter.Pull(func(yield func(struct{}) bool) {
			p.yield = yield
			co.run()
		})
		co.x.port = p
	}
	p.next()
}

// switchPortable switches from co back to its resumer. co is already marked
// suspended. yield returns false only when Destroy has stopped the iterator:
// the coroutine must then unwind.
func (co *Co) switchPortable() {
	if !co.x.port.yield(struct{}{}) {
		panic(co.unwind)
	}
}

// unwindPortable unwinds a suspended coroutine for Destroy: stop makes its
// pending yield return false. A panic from a deferred call comes out of stop.
func (co *Co) unwindPortable() {
	co.x.port.stop()
}
