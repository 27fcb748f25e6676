//go:build linux && (amd64 || 386) && go1.26 && !go1.28 && !race

package aco

import (
	"unsafe"
)

// The co's defer and panic records on the copy-stack engine: detached from
// the goroutine at a yield (they point into the image, which leaves the
// stack) and attached again at a resume.

// attachRecords re-attaches the co's defer and panic records.
//
//go:nosplit
func (co *Co) attachRecords(gp, hi uintptr) {
	if co.x.cs.npanic > 0 {
		co.attachPanics(gp, hi)
	}
	if len(co.x.cs.defers) > 0 {
		co.attachDefers(gp, hi)
	}
}

// attachDefers links the co's saved defer records back on top of the
// goroutine's defer chain, at their places below hi. Like the runtime's
// deferprocStack it writes the links and g._defer without write barriers:
// the garbage collector finds defer records by walking g._defer itself.
//
//go:nosplit
func (co *Co) attachDefers(gp, hi uintptr) {
	x := co.x.cs
	img := uintptr(co.buf) + co.n + ptrSize
	next := gDefer(gp)
	for i := len(x.defers) - 1; i >= 0; i-- {
		d := x.defers[i]
		if d.heap != nil {
			setDeferLink(uintptr(d.heap), next)
			next = uintptr(d.heap)
		} else {
			setDeferLink(img-d.off, next)
			next = hi - d.off
		}
	}
	// The records stay in x.defers (dropping them would need write
	// barriers, calls): the next capture or reset overwrites them.
	x.defers = x.defers[:0]
	setGDefer(gp, next) // the last thing: see prepareResume
}

// detachDefers takes the co's nd defer records off the goroutine's chain
// into x.cs.defers, which has room for them. On capture's nosplit path: no
// bounds checks (-N builds keep them, and the panic path is deep).
//
//go:nosplit
func (co *Co) detachDefers(gp, hi uintptr, nd int) {
	x := co.x.cs
	x.defers = x.defers[:nd:nd]
	r := unsafe.Pointer(unsafe.SliceData(x.defers))
	d := gDefer(gp)
	for i := 0; i < nd; i++ {
		next := deferLink(d)
		ref := (*deferRef)(unsafe.Add(r, uintptr(i)*unsafe.Sizeof(deferRef{})))
		if deferHeap(d) {
			ref.heap, ref.off = ptrAt(d), 0
			// While suspended a heap record must not point into a stack:
			// the stack may be freed before the co resumes.
			setDeferLink(d, 0)
		} else {
			ref.heap, ref.off = nil, hi-d
		}
		d = next
	}
	setGDefer(gp, d)
}

// detachPanics takes the co's np panic records (stack objects in the
// image: a deferred call yields while a panic unwinds through the co) off
// the goroutine's panic chain, which goes on with the resumer's panics, as
// the runtime's own chain would if the co ran on a goroutine of its own.
// The records keep their links into the image (relocate adjusts them, as
// copystack does); attachPanics links the outermost one to the resumer's
// chain again. Plain stores, as the runtime's: the chain holds only stack
// addresses, which write barriers ignore.
//
//go:nosplit
func (co *Co) detachPanics(gp, hi uintptr, np int) {
	p := gPanic(gp)
	co.x.cs.panics = hi - p
	co.x.cs.npanic = np
	for i := 0; i < np; i++ {
		p = panicLink(p)
	}
	setGPanic(gp, p)
}

// attachPanics puts the co's saved panic records, at their places below hi,
// back on top of the goroutine's panic chain; like attachDefers it writes
// the image still in the save stack, before swapin copies it in.
//
//go:nosplit
func (co *Co) attachPanics(gp, hi uintptr) {
	x := co.x.cs
	img := uintptr(co.buf) + co.n + ptrSize
	p := img - x.panics // the innermost record, in the save stack
	for i := 1; i < x.npanic; i++ {
		p = img - (hi - panicLink(p))
	}
	setPanicLink(p, gPanic(gp))
	x.npanic = 0
	setGPanic(gp, hi-x.panics)
}
