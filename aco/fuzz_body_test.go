package aco

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"weak"
)

// The differential fuzzer's co body (fuzz_test.go): the interpreter of a
// co's script.

// fzBody is every co's function: it runs the co's script.
func fzBody(co *Co) {
	c := co.Arg().(*fzCo)
	r := c.run
	r.logf("%s start", c.name)
	if r.exec(co, c, c.script) {
		r.logf("%s returns", c.name)
		return
	}
	r.logf("%s ends", c.name)
}

// exec runs a script block; it returns true when the co must return. Its
// defers are in a loop: heap-allocated.
func (r *fzRun) exec(co *Co, c *fzCo, ins []fzInstr) (stop bool) {
	for i := 0; i < len(ins); i++ {
		in := ins[i]
		r.covered(fzInstrNames[in.op])
		if fzBlock(in.op) {
			n := min(in.a%4+1, len(ins)-i-1)
			body := ins[i+1 : i+1+n]
			i += n
			switch in.op {
			case fiDescend:
				stop = r.descend(co, c, in.a/4%24+1, body)
			case fiProtect:
				stop = r.protect(co, c, body)
			case fiOpenDefer:
				stop = r.openDefer(co, c, in.a, body)
			case fiStackDefer:
				stop = r.stackDefer(co, c, in.a, body)
			case fiRangeDefer:
				stop = r.rangeDefer(co, c, in.a, body)
			}
			if stop {
				return true
			}
			continue
		}
		switch in.op {
		case fiYield:
			r.yield(co, c, in.a)
		case fiDefer:
			defer r.logf("%s defer %d", c.name, in.a)
		case fiExit:
			r.logf("%s exits", c.name)
			co.Exit()
			r.failf("%s: Exit returned", c.name)
		case fiReturn:
			return true
		case fiPanic:
			c.panicking = true
			panic(fzPanic{c.name, in.a})
		case fiRuntimeErr:
			c.panicking = true
			fzRuntimeError(in.a)
		case fiGC:
			runtime.GC()
			r.logf("%s gc", c.name)
		case fiNested:
			r.nested(c, in.a%fzMaxCos, in.a&8 != 0)
		case fiNestedDestroy:
			r.nestedDestroy(c, in.a%fzMaxCos)
		case fiDeferYield:
			v := in.a
			defer func() {
				r.logf("%s deferred yield %d (panicking: %v)", c.name, v, c.panicking)
				r.yield(co, c, v)
			}()
		case fiDeferPanic:
			v := in.a
			defer func() {
				r.logf("%s deferred panic %d", c.name, v)
				c.panicking = true
				panic(fzPanic{c.name, 1000 + v})
			}()
		case fiMisuse:
			r.misuse(co, c, in.a)
		case fiWalk:
			r.walkTree(co, c, in.a/4%12, in.a%4+2, in.a/48%2 == 1, fzHeap(&fzBox{v: 1, name: c.name}))
		}
	}
	return false
}

// fzAt calls f d frames deeper: the same goroutine resumes a co at another
// stack address, so the copy-stack engine relocates its image by a distance
// smaller than the image.
//
//go:noinline
func fzAt(d int, f func()) {
	var pad [12]uint64
	pad[d] = uint64(d)
	if d > 0 {
		fzAt(d-1, f)
	} else {
		f()
	}
	if pad[d] != uint64(d) {
		panic("fzAt: frame changed")
	}
}

//go:noinline
func fzRuntimeError(a int) {
	if a%2 == 0 {
		var b *fzBox
		_ = b.v
	}
	var s []int
	_ = s[a]
}

// yield yields a from c. A heap object and stack words only this frame refers
// to are checked when it is resumed.
//
//go:noinline
func (r *fzRun) yield(co *Co, c *fzCo, a int) {
	box := fzHeap(&fzBox{v: a, name: c.name})
	var loc [5]uint64
	for i := range loc {
		loc[i] = fzMagic(c.name, a, i)
	}
	c.trace(a)
	r.logf("%s yields %d arg=%v", c.name, a, co.Arg() == c)
	co.Yield()
	if box.v != a || box.name != c.name {
		r.failf("%s: heap local changed while suspended: %+v", c.name, *box)
	}
	for i := range loc {
		if loc[i] != fzMagic(c.name, a, i) {
			r.failf("%s: stack local %d changed while suspended", c.name, i)
		}
	}
	r.logf("%s resumed after %d", c.name, a)
}

// walkTree is a recursive generator: lead frames deeper, it walks a
// complete binary tree of depth d, yielding every node's number, each
// frame holding heap objects only it refers to. Consecutive yields differ
// by a few frames at the top, so a co that walks deep enough gets the
// copy-stack engine's walk record, whose partial captures keep the roots
// of the frames below from the last yield: an object that is lost (freed
// by a GC while the co is suspended) fails a check here. In order, the
// children are called from two call sites; in pre-order (pre), from one,
// in a loop whose object changes: the frame's return PC is the same at
// the first yield in the second subtree and its roots are not.
//
//go:noinline
func (r *fzRun) walkTree(co *Co, c *fzCo, lead, d int, pre bool, node *fzBox) {
	n := node.v
	held := weak.Make(node)
	switch {
	case lead > 0:
		r.walkTree(co, c, lead-1, d, pre, fzHeap(&fzBox{v: n, name: c.name}))
	case d == 1:
		r.yield(co, c, n)
	case pre && d > 2:
		r.yield(co, c, n)
		for i := range 2 {
			// An object only this frame refers to, another one for
			// each child: the slot changes, the return PC does not.
			mark := fzHeap(&fzBox{v: 2*n + i, name: c.name})
			markHeld := weak.Make(mark)
			r.walkTree(co, c, 0, d-1, pre, fzHeap(&fzBox{v: 2*n + i, name: c.name}))
			r.checkHeld(c, markHeld, mark, 2*n+i, "child mark")
		}
	case pre:
		r.yield(co, c, n)
		r.walkTree(co, c, 0, d-1, pre, fzHeap(&fzBox{v: 2 * n, name: c.name}))
		r.walkTree(co, c, 0, d-1, pre, fzHeap(&fzBox{v: 2*n + 1, name: c.name}))
	default:
		r.walkTree(co, c, 0, d-1, pre, fzHeap(&fzBox{v: 2 * n, name: c.name}))
		r.yield(co, c, n)
		r.walkTree(co, c, 0, d-1, pre, fzHeap(&fzBox{v: 2*n + 1, name: c.name}))
	}
	r.checkHeld(c, held, node, n, fmt.Sprintf("node (lead %d)", lead))
}

// checkHeld checks an object a walk frame held while the co was suspended:
// a weak pointer to it that no longer resolves means a GC did not see the
// frame's pointer (a lost root, which freed it); changed contents mean a
// stale one.
func (r *fzRun) checkHeld(c *fzCo, w weak.Pointer[fzBox], b *fzBox, v int, what string) {
	if w.Value() != b {
		r.failf("%s: walk %s %d: a GC lost the frame's object while it was held", c.name, what, v)
	}
	if b.v != v || b.name != c.name {
		r.failf("%s: walk %s %d: heap object changed: %+v", c.name, what, v, *b)
	}
}

// fzHeap returns b, which escapes: fzSinkOn is never set, but the compiler
// cannot know, so b is a heap object that only its caller's frame refers to.
//
//go:noinline
func fzHeap(b *fzBox) *fzBox {
	if fzSinkOn {
		fzSink = b
	}
	return b
}

var (
	fzSinkOn bool
	fzSink   *fzBox
)

// descend recurses d frames, each with stack words and a stack object, and
// runs body at the bottom.
//
//go:noinline
func (r *fzRun) descend(co *Co, c *fzCo, d int, body []fzInstr) bool {
	var pad [24]uint64
	for i := range pad {
		pad[i] = fzMagic(c.name, d, i)
	}
	h := fzHolder{box: &fzBox{v: d, name: c.name}}
	fzTouch(&h)
	var stop bool
	if d > 1 {
		stop = r.descend(co, c, d-1, body)
	} else {
		r.logf("%s at depth", c.name)
		stop = r.exec(co, c, body)
	}
	for i := range pad {
		if pad[i] != fzMagic(c.name, d, i) {
			r.failf("%s: frame at depth %d: word %d changed", c.name, d, i)
		}
	}
	fzTouch(&h)
	if h.box.v != d || h.box.name != c.name || len(h.tail) != 1 || h.tail[0] != d {
		r.failf("%s: stack object at depth %d changed", c.name, d)
	}
	return stop
}

// protect runs body under a deferred recover. A recovered *Unwind (Exit,
// Destroy) is logged and re-panicked, as the package asks.
func (r *fzRun) protect(co *Co, c *fzCo, body []fzInstr) (stop bool) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if u, ok := v.(*Unwind); ok {
			r.logf("%s protect sees %v (own co %v)", c.name, u, u.Co() == co)
			panic(u)
		}
		c.panicking = false
		r.logf("%s protect recovered %s", c.name, r.describe(v))
		stop = false
	}()
	return r.exec(co, c, body)
}

// openDefer runs body in a frame with an open-coded defer.
func (r *fzRun) openDefer(co *Co, c *fzCo, v int, body []fzInstr) bool {
	defer r.logf("%s open defer %d", c.name, v)
	return r.exec(co, c, body)
}

// stackDefer runs body in a frame with a stack-allocated defer (the loop
// below keeps the compiler from open-coding the first one).
func (r *fzRun) stackDefer(co *Co, c *fzCo, v int, body []fzInstr) bool {
	defer r.logf("%s stack defer %d", c.name, v)
	for i := 0; i < v%2; i++ {
		defer r.logf("%s stack defer %d, loop", c.name, v)
	}
	return r.exec(co, c, body)
}

// rangeDefer runs body inside the body of a range-over-func loop that
// defers a call logging v: the deferred call belongs to rangeDefer's frame
// (a range-over-func defer record on the goroutine's chain) and runs when
// rangeDefer returns, or when its frames unwind.
func (r *fzRun) rangeDefer(co *Co, c *fzCo, v int, body []fzInstr) (stop bool) {
	for i := range fzOnce {
		defer r.logf("%s range defer %d.%d", c.name, v, i)
		stop = r.exec(co, c, body)
	}
	return stop
}

// fzOnce is a push iterator of one value.
func fzOnce(yield func(int) bool) { yield(0) }

// nested resumes slot from inside c.
func (r *fzRun) nested(c *fzCo, slot int, onGoroutine bool) {
	t := r.slots[slot]
	how := "nested"
	if onGoroutine {
		how = "nested-go"
	}
	switch {
	case t == nil:
		r.logf("%s %s: slot %d empty", c.name, how, slot)
	case !t.co.IsEnd() && !r.inChain(t) && r.busy(t):
		r.logf("%s %s %s: skipped, share stack busy", c.name, how, t.name)
	default:
		r.covered(how + "-resume")
		r.resume(t, c.name+" "+how, onGoroutine)
	}
}

func (r *fzRun) nestedDestroy(c *fzCo, slot int) {
	t := r.slots[slot]
	switch {
	case t == nil:
		r.logf("%s nested destroy: slot %d empty", c.name, slot)
	case t.suspended && !r.inChain(t) && r.busy(t):
		r.logf("%s nested destroy %s: skipped, share stack busy", c.name, t.name)
	default:
		r.covered("nested-destroy")
		r.destroy(t, c.name+" nested destroy")
	}
}

// misuse does something wrong from inside c and logs the panic.
func (r *fzRun) misuse(co *Co, c *fzCo, a int) {
	k := a % len(fzMisuseNames)
	var f func()
	switch k {
	case 0:
		f = co.Resume
	case 1:
		f = co.Destroy
	case 2:
		f = func() { co.Reset(fzBody, c) }
	case 3:
		f = func() { Create(r.main, nil, 0, nil, nil) }
	case 4, 5:
		t := r.slots[a/len(fzMisuseNames)%fzMaxCos]
		if t == nil || t == c || r.inChain(t) {
			// Yielding or exiting a running co from inside another one is
			// left to the misuse catalogue.
			r.logf("%s misuse %s: skipped", c.name, fzMisuseNames[k])
			return
		}
		f = t.co.Yield
		if k == 5 {
			f = t.co.Exit
		}
	}
	r.covered("Misuse-" + fzMisuseNames[k])
	v, panicked := fzCall(f)
	if u, ok := v.(*Unwind); ok && u.Co() == co {
		panic(u) // the co is being unwound: let it go on
	}
	r.logf("%s misuse %s: %v %s", c.name, fzMisuseNames[k], panicked, r.describe(v))
}

// fzDiff describes the first difference between two logs.
func fzDiff(a, b []string) string {
	if slices.Equal(a, b) {
		return ""
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	var s strings.Builder
	from := max(0, i-8)
	fmt.Fprintf(&s, "first difference at line %d (lines %d.. shown)\n", i, from)
	for _, side := range []struct {
		name string
		log  []string
	}{{"share-stack", a}, {"standalone", b}} {
		fmt.Fprintf(&s, "--- %s (%d lines)\n", side.name, len(side.log))
		for j := from; j < min(len(side.log), i+6); j++ {
			mark := "  "
			if j == i {
				mark = "> "
			}
			fmt.Fprintf(&s, "%s%s\n", mark, side.log[j])
		}
	}
	return s.String()
}
