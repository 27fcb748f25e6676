package aco

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The differential fuzzer's driver (fuzz_test.go): one run of a program,
// its top-level operations and the checks of each co's statistics.

// fzPanic is the value a script panics with.
type fzPanic struct {
	co string
	v  int
}

func (p fzPanic) String() string { return fmt.Sprintf("fzpanic(%s,%d)", p.co, p.v) }

// fzBox is a heap object only a suspended co's frame refers to.
type fzBox struct {
	v    int
	name string
}

// fzHolder is an address-taken local (a stack object with pointers).
type fzHolder struct {
	box  *fzBox
	tail []int
}

//go:noinline
func fzTouch(h *fzHolder) { h.tail = append(h.tail[:0], h.box.v) }

func fzMagic(name string, v, i int) uint64 {
	return uint64(len(name))<<48 ^ uint64(v)<<20 ^ uint64(i)*0x9e3779b97f4a7c15
}

// fzCo is the harness's view of one coroutine (one life of a slot).
type fzCo struct {
	run    *fzRun
	slot   int
	name   string
	co     *Co
	ssIdx  int // share stack in the share-stack run (-1: none)
	hint   int
	script []fzInstr
	vals   []string // the co's own trace: the values it yielded

	destroyed bool
	suspended bool // the harness believes it is suspended in a Yield
	moved     bool // it moved off its share stack: no more copies
	panicking bool // a panic raised by the script is unwinding it
	// Expected save-stack statistics on the copy-stack engine.
	yields, restores uint64
}

// fzResult is what one run observed.
type fzResult struct {
	log    []string
	traces []string // each co's own trace, "name: v v v"
	fails  []string // harness checks that failed
}

type fzRun struct {
	prog   *fzProg
	useSS  bool
	copies bool // share-stack cos really copy: statistics must count
	main   *Co
	stacks []*ShareStack
	slots  [fzMaxCos]*fzCo
	all    []*fzCo
	chain  []*fzCo // running cos, outermost first
	lives  [fzMaxCos]int
	res    fzResult
	cover  map[string]bool // operations executed, for the seed-coverage test
}

func (r *fzRun) logf(format string, args ...any) {
	r.res.log = append(r.res.log, fmt.Sprintf(format, args...))
}

func (r *fzRun) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.res.fails = append(r.res.fails, msg)
	r.logf("FAIL %s", msg)
}

func (r *fzRun) covered(what string) {
	if r.cover != nil {
		r.cover[what] = true
	}
}

// fzNormalize maps a misuse message to what is compared. Each engine panics
// with the same messages for every misuse a program can perform (they come
// from the shared checks in coroutine.go, and the copy-stack yieldFailed
// re-checks with checkInside before its own wording), so nothing is
// rewritten. A message that differed would be a finding, not something to
// normalise away.
//
// The cause a "running co" panic names is the one thing the engines may
// tell apart differently: a co resumed from inside a standalone co it
// resumed is on the same goroutine on the copy-stack engine and on
// another one on the portable engine (runningMsg), so the traces keep
// only what both say.
func fzNormalize(s string) string {
	for _, p := range []string{"aco: Resume of a running co", "aco: Destroy of a running co"} {
		if strings.HasPrefix(s, p) {
			return p
		}
	}
	return s
}

// fzCall runs f and reports the panic it raised, if any.
func fzCall(f func()) (v any, panicked bool) {
	panicked = true
	defer func() {
		if panicked {
			v = recover()
		}
	}()
	f()
	panicked = false
	return nil, false
}

// fzOnGoroutine runs f on a new goroutine and waits for it.
func fzOnGoroutine(f func()) (v any, panicked bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		v, panicked = fzCall(f)
	}()
	<-done
	return v, panicked
}

// describe renders a panic value that reached the harness.
func (r *fzRun) describe(v any) string {
	switch x := v.(type) {
	case *Unwind:
		r.failf("an *aco.Unwind escaped its co: %v", x)
		return "UNWIND " + x.Error()
	case string:
		return fzNormalize(x)
	case error:
		return fzNormalize(x.Error())
	}
	return fmt.Sprint(v)
}

func (r *fzRun) inChain(c *fzCo) bool { return slices.Contains(r.chain, c) }

// busy reports whether c's share stack in the share-stack run is held by a
// running co, so that resuming (or unwinding) c would panic there, and not in
// the standalone run.
func (r *fzRun) busy(c *fzCo) bool {
	for _, o := range r.chain {
		if o.ssIdx == c.ssIdx && o != c {
			return true
		}
	}
	return false
}

// fzExecute runs p with share-stack coroutines (useSS) or standalone ones
// on the portable engine.
func fzExecute(p *fzProg, useSS bool) fzResult {
	return fzExecuteCover(p, useSS, nil)
}

func fzExecuteCover(p *fzProg, useSS bool, cover map[string]bool) fzResult {
	r := &fzRun{prog: p, useSS: useSS, copies: useSS && Engine() == CopyStack, cover: cover}
	defer func(t, a uintptr) { moveThreshold, moveAfter = t, a }(moveThreshold, moveAfter)
	moveThreshold = fzMoveThresholds[p.move]
	if p.move != 0 {
		moveAfter = 1
	}
	// A hang is a finding too: crash with every goroutine's stack (the
	// fuzzer then keeps the input).
	watchdog := time.AfterFunc(2*time.Minute, func() {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		panic(fmt.Sprintf("FuzzDifferential: program hangs (share stacks: %v)\n%s\n%s", useSS, p, buf))
	})
	defer watchdog.Stop()
	ThreadInit(func(co *Co, v any) {
		r.logf("lastword %s ended=%v: %s", co.Arg().(*fzCo).name, co.IsEnd(), r.describe(v))
	})
	defer ThreadInit(nil)

	r.main = NewMain()
	// The standalone run is the portable engine's: the oracle the
	// copy-stack run is compared with.
	r.main.x.portableKids = !useSS
	n := fzMaxCos
	if p.shared {
		n = p.nss
	}
	for range n {
		r.stacks = append(r.stacks, NewShareStack(0))
	}
	if v, panicked := fzCall(func() {
		for _, op := range p.ops {
			r.top(op)
		}
	}); panicked {
		// The driver catches every panic it expects; anything else is a
		// harness or engine failure that leaves the state unknown.
		r.failf("unexpected panic in the driver: %v", v)
		return r.res
	}
	// Clean up: every co destroyed, then the share stacks and the main co.
	for _, c := range r.all {
		if !c.destroyed {
			r.checkStats(c)
			r.destroy(c, "final")
		}
	}
	for _, s := range r.stacks {
		if s.keptFrames > 0 {
			r.covered("partial-capture") // a walk record kept frames' roots
		}
	}
	for i, s := range r.stacks {
		if s.Live() != 0 || s.Owner() != nil {
			r.failf("share stack %d: live %d, owner %v after every co was destroyed", i, s.Live(), s.Owner())
		}
		if v, panicked := fzCall(s.Destroy); panicked {
			r.failf("share stack %d: Destroy: %v", i, v)
		}
	}
	if v, panicked := fzCall(r.main.Destroy); panicked {
		r.failf("main co: Destroy: %v", v)
	}
	for _, c := range r.all {
		r.res.traces = append(r.res.traces, c.name+":"+strings.Join(c.vals, " "))
	}
	return r.res
}

func (c *fzCo) trace(v int) { c.vals = append(c.vals, strconv.Itoa(v)) }

// top runs one top-level operation.
func (r *fzRun) top(op fzOp) {
	r.covered(fzOpNames[op.kind])
	c := r.slots[op.slot]
	switch op.kind {
	case fzCreate:
		r.create(op)
		return
	case fzGC:
		runtime.GC()
		r.logf("gc")
		return
	}
	if c == nil {
		r.logf("%s: slot %d empty", fzOpNames[op.kind], op.slot)
		return
	}
	switch op.kind {
	case fzResume:
		fzAt(op.depth, func() { r.resume(c, "resume", false) })
	case fzResumeGo:
		fzAt(op.depth, func() { r.resume(c, "resume-go", true) })
	case fzDestroy:
		fzAt(op.depth, func() { r.destroy(c, "destroy") })
	case fzReset:
		r.reset(c, op.script)
	case fzProbe:
		r.logf("probe %s end=%v main=%v", c.name, c.co.IsEnd(), c.co.Main() == r.main)
		if c.co.Standalone() == r.useSS || (c.co.ShareStack() != nil) != r.useSS {
			r.failf("%s: Standalone %v, ShareStack %v in a run with share stacks %v", c.name, c.co.Standalone(), c.co.ShareStack(), r.useSS)
		}
		r.checkStats(c)
	case fzYieldOutside:
		v, panicked := fzCall(c.co.Yield)
		r.logf("yield %s from outside: %v %s", c.name, panicked, r.describe(v))
	case fzExitOutside:
		v, panicked := fzCall(c.co.Exit)
		r.logf("exit %s from outside: %v %s", c.name, panicked, r.describe(v))
	}
}

func (r *fzRun) create(op fzOp) {
	slot := -1
	for i := range fzMaxCos {
		s := (op.slot + i) % fzMaxCos
		if c := r.slots[s]; c == nil || c.destroyed {
			slot = s
			break
		}
	}
	if slot < 0 {
		r.logf("create: no free slot")
		return
	}
	r.lives[slot]++
	c := &fzCo{run: r, slot: slot, name: fmt.Sprintf("c%d.%d", slot, r.lives[slot]), hint: fzHints[op.hint], script: op.script}
	c.ssIdx = slot
	if r.prog.shared {
		c.ssIdx = op.ss % r.prog.nss
	}
	var ss *ShareStack
	if r.useSS {
		ss = r.stacks[c.ssIdx]
	}
	c.co = Create(r.main, ss, c.hint, fzBody, c)
	r.slots[slot] = c
	r.all = append(r.all, c)
	r.logf("create %s end=%v", c.name, c.co.IsEnd())
	r.checkStats(c)
}

// resume resumes c (from the driver or from inside a co) and logs how it
// came back.
func (r *fzRun) resume(c *fzCo, how string, onGoroutine bool) {
	runnable := !c.co.IsEnd() && !r.inChain(c)
	wasSuspended := c.suspended
	if runnable {
		r.chain = append(r.chain, c)
	}
	var v any
	var panicked bool
	if onGoroutine {
		v, panicked = fzOnGoroutine(c.co.Resume)
	} else {
		v, panicked = fzCall(c.co.Resume)
	}
	if runnable {
		r.chain = r.chain[:len(r.chain)-1]
		if wasSuspended && !c.moved {
			c.restores++ // a copy back, or the move's copy onto the new goroutine
		}
		c.moved = c.co.Moved()
		c.suspended = !c.co.IsEnd()
		if c.suspended && !c.moved {
			c.yields++
		}
	}
	if panicked {
		r.logf("%s %s: panic %s; end=%v", how, c.name, r.describe(v), c.co.IsEnd())
	} else {
		r.logf("%s %s: end=%v", how, c.name, c.co.IsEnd())
	}
}

func (r *fzRun) destroy(c *fzCo, how string) {
	// Destroy resumes a suspended co to unwind it: it runs (and holds its
	// share stack) until it has unwound.
	unwinds := c.suspended && !r.inChain(c)
	if unwinds {
		if !c.moved {
			c.restores++
		}
		r.chain = append(r.chain, c)
	}
	v, panicked := fzCall(c.co.Destroy)
	if unwinds {
		r.chain = r.chain[:len(r.chain)-1]
	}
	if !r.inChain(c) {
		c.destroyed = true
		c.suspended = false
	}
	if panicked {
		r.logf("%s %s: panic %s; end=%v", how, c.name, r.describe(v), c.co.IsEnd())
	} else {
		r.logf("%s %s: end=%v", how, c.name, c.co.IsEnd())
	}
}

func (r *fzRun) reset(c *fzCo, script []fzInstr) {
	v, panicked := fzCall(func() { c.co.Reset(fzBody, c) })
	if panicked {
		r.logf("reset %s: panic %s", c.name, r.describe(v))
		return
	}
	c.name += "r"
	c.script = script
	c.yields, c.restores = 0, 0
	c.suspended, c.panicking, c.moved = false, false, false
	r.logf("reset %s end=%v", c.name, c.co.IsEnd())
	r.checkStats(c)
}

// checkStats checks the save-stack statistics against the harness's count.
func (r *fzRun) checkStats(c *fzCo) {
	if c.destroyed {
		return
	}
	st := c.co.SaveStack()
	hint := c.hint
	if hint == 0 {
		hint = DefaultSaveStackSize
	}
	if !r.copies {
		if st.CtSave != 0 || st.CtRestore != 0 || st.MaxCopySize != 0 || st.ValidSize != hint {
			r.failf("%s: portable statistics %+v, want zero counters and ValidSize %d", c.name, st, hint)
		}
		return
	}
	if st.CtSave != c.yields || st.CtRestore != c.restores {
		r.failf("%s: CtSave %d CtRestore %d, want %d yields and %d restores", c.name, st.CtSave, st.CtRestore, c.yields, c.restores)
	}
	if (st.MaxCopySize > 0) != (c.yields > 0) {
		r.failf("%s: MaxCopySize %d after %d yields", c.name, st.MaxCopySize, c.yields)
	}
	if st.ValidSize < max(hint, st.MaxCopySize) {
		r.failf("%s: ValidSize %d < max(hint %d, MaxCopySize %d)", c.name, st.ValidSize, hint, st.MaxCopySize)
	}
}
