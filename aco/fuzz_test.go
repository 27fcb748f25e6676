package aco

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzDifferential decodes its input into a program over a main co, a few
// share stacks and up to fzMaxCos coroutines, each of which runs a small
// script that is itself part of the input, and runs the same program twice:
//
//   - with share stacks: every co is created on a share stack, so it runs on
//     the copy-stack engine (when Engine() is CopyStack; under -race or
//     ACO_ENGINE=portable this run is portable too);
//   - standalone: every co is created with a nil share stack, so it runs on
//     the portable engine (a goroutine per co).
//
// Both runs write a log of everything observable — the values yielded, each
// co's own trace, which deferred calls ran and in what order, what
// recover() saw inside the co, the panics (values and misuse messages) that
// reach a resumer, the last-word hook, IsEnd after every switch — and the
// logs must be equal. What legitimately differs between the runs is not
// compared but checked against the harness's own expectation in each run:
// the save-stack statistics (copy-stack: CtSave is the number of yields,
// CtRestore the number of resumes of a suspended co — Destroy of a suspended
// co resumes it to unwind it, so it counts —, MaxCopySize > 0 once it has
// yielded; portable: all zero). A share-stack co whose image outgrows the
// move threshold moves onto a goroutine of its own at its next resume (one
// more restore) and makes no copies after that; the program chooses the
// threshold (bits 2-3 of the first byte: the default MoveThreshold, 0 — every
// co moves at its first resume after a yield —, 256 bytes, or never).
//
// Share stacks run one co at a time; standalone coroutines have no such rule.
// To keep the runs comparable, the program has two modes (bit 0 of the first
// byte): in "own" mode every slot has a share stack of its own, so nested
// resumes never meet a busy share stack; in "shared" mode the cos share 2 or 3
// share stacks, and a nested Resume (or Destroy) whose target's share stack
// is held by a running co is skipped — in both runs, as the harness knows the
// share-stack assignment of the first run in the second — and logged as such.
//
// The driver resumes and destroys cos from varying call depths and from
// other goroutines, and cos resume and destroy each other, so the copy-stack
// engine restores images at other addresses (relocation), on other
// goroutines and below other cos' frames.
//
// No misuse message differs between the engines for the operations the
// program can perform, so fzNormalize is the identity; see its comment.
//
// ACO_FUZZ_DUMP=1 logs the program and both runs' logs for every input.
//
// One misuse is kept out of the random programs because the misuse
// catalogue (misuse_table_test.go) reports it on its own: yielding an outer
// co from inside a co it resumed (fiMisuse only yields cos that are not
// running). Deferred calls that yield while a panic (raised by the script,
// or a runtime error) unwinds the co are in: both engines run them.
func FuzzDifferential(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fzDecode(data)
		ss := fzExecute(p, true)
		sa := fzExecute(p, false)
		if os.Getenv("ACO_FUZZ_DUMP") != "" {
			t.Logf("program:\n%s\nshare-stack run:\n  %s\nstandalone run:\n  %s", p,
				strings.Join(ss.log, "\n  "), strings.Join(sa.log, "\n  "))
		}
		for _, msg := range ss.fails {
			t.Errorf("share-stack run: %s", msg)
		}
		for _, msg := range sa.fails {
			t.Errorf("standalone run: %s", msg)
		}
		if d := fzDiff(ss.log, sa.log); d != "" {
			t.Errorf("the traces differ (share-stack run on %s, standalone run on %s):\n%s\nprogram:\n%s",
				Engine(), Portable, d, p)
		}
		if !slices.Equal(ss.traces, sa.traces) {
			t.Errorf("per-co traces differ:\nshare-stack: %q\nstandalone:  %q", ss.traces, sa.traces)
		}
	})
}

const (
	fzMaxCos   = 8  // coroutine slots
	fzMaxOps   = 64 // top-level operations per program
	fzMaxInstr = 12 // instructions per co script
)

// Top-level operations, run by the driver (the main co's side).
const (
	fzCreate       = iota // create a co in the first free slot from slot
	fzResume              // resume the co in slot
	fzResumeGo            // resume it from a new goroutine and wait
	fzDestroy             // destroy it (a suspended co is unwound: its defers run)
	fzReset               // reset it with a new script (misuse unless ended)
	fzGC                  // runtime.GC()
	fzProbe               // log IsEnd, check the save-stack statistics
	fzYieldOutside        // misuse: co.Yield() from the driver
	fzExitOutside         // misuse: co.Exit() from the driver
	fzNumOps
)

var fzOpNames = [...]string{"create", "resume", "resume-go", "destroy", "reset", "gc", "probe", "yield-outside", "exit-outside"}

// Script instructions, run inside a co. a is the instruction's argument byte.
const (
	fiYield         = iota // yield a; a heap local and stack locals are checked after resume
	fiDescend              // block: recurse a/4%24+1 frames with locals (checked on return), run the block at the bottom
	fiProtect              // block: run it under a deferred recover that logs (and re-panics an *Unwind)
	fiDefer                // heap-allocated defer (in exec's loop) that logs a
	fiOpenDefer            // block: run it in a function with an open-coded defer that logs a
	fiStackDefer           // block: run it in a function with a stack-allocated defer that logs a
	fiExit                 // co.Exit()
	fiReturn               // return from the co's function
	fiPanic                // panic with an fzPanic value
	fiRuntimeErr           // a runtime error: a%2 == 0 nil dereference, else index out of range
	fiGC                   // runtime.GC() inside the co
	fiNested               // resume slot a%8 from inside the co; from a new goroutine if a&8 != 0
	fiNestedDestroy        // destroy slot a%8 from inside the co
	fiDeferYield           // defer a call that yields (also while a panic unwinds the co)
	fiDeferPanic           // defer a call that panics
	fiMisuse               // misuse a%6 from inside the co (see fzMisuseNames), on slot a/6%8 for the last two
	fiRangeDefer           // block: run it inside a range-over-func loop body that defers a call logging a
	fiNum
)

var fzInstrNames = [...]string{"Y", "Descend", "Protect", "Defer", "OpenDefer", "StackDefer", "Exit", "Return",
	"Panic", "RuntimeErr", "GC", "Nested", "NestedDestroy", "DeferYield", "DeferPanic", "Misuse", "RangeDefer"}

var fzMisuseNames = [...]string{"resume-self", "destroy-self", "reset-self", "create-nil-fn", "yield-other", "exit-other"}

var fzHints = [...]int{0, 1, 64, 4096}

// fzBlock reports whether op takes the next a%4+1 instructions as its block.
func fzBlock(op int) bool {
	return op == fiDescend || op == fiProtect || op == fiOpenDefer || op == fiStackDefer || op == fiRangeDefer
}

type fzInstr struct{ op, a int }

type fzOp struct {
	kind, slot int
	depth      int // resume, resume-go, destroy: from this many frames deeper (0-3)
	ss, hint   int // create: share-stack choice (shared mode), save-stack size index
	script     []fzInstr
}

type fzProg struct {
	shared bool
	nss    int
	move   int // index in fzMoveThresholds
	ops    []fzOp
}

// fzMoveThresholds are the move thresholds a program can choose.
var fzMoveThresholds = [...]uintptr{MoveThreshold, 0, 256, ^uintptr(0)}

func (p *fzProg) String() string {
	var b strings.Builder
	mode := "own share stack per slot"
	if p.shared {
		mode = fmt.Sprintf("%d shared share stacks", p.nss)
	}
	fmt.Fprintf(&b, "  mode: %s, move threshold %d\n", mode, fzMoveThresholds[p.move])
	for _, op := range p.ops {
		fmt.Fprintf(&b, "  %s %d", fzOpNames[op.kind], op.slot)
		if op.depth != 0 && (op.kind == fzResume || op.kind == fzResumeGo || op.kind == fzDestroy) {
			fmt.Fprintf(&b, " depth=%d", op.depth)
		}
		if op.kind == fzCreate {
			fmt.Fprintf(&b, " ss=%d hint=%d", op.ss%p.nss, fzHints[op.hint])
		}
		if op.kind == fzCreate || op.kind == fzReset {
			for _, in := range op.script {
				fmt.Fprintf(&b, " %s(%d)", fzInstrNames[in.op], in.a)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// fzReader reads the input; past its end it reads zeros.
type fzReader struct {
	b []byte
	i int
}

func (r *fzReader) next() int {
	if r.i >= len(r.b) {
		r.i++
		return 0
	}
	v := r.b[r.i]
	r.i++
	return int(v)
}

func (r *fzReader) done() bool { return r.i >= len(r.b) }

func (r *fzReader) script() []fzInstr {
	n := r.next() % (fzMaxInstr + 1)
	s := make([]fzInstr, 0, n)
	for range n {
		op := r.next() % fiNum
		s = append(s, fzInstr{op: op, a: r.next()})
	}
	return s
}

// fzDecode turns fuzz input into a program. Every input is a valid program.
func fzDecode(data []byte) *fzProg {
	r := &fzReader{b: data}
	flags := r.next()
	p := &fzProg{shared: flags&1 != 0, nss: 2 + (flags>>1)%2, move: (flags >> 2) % 4}
	for len(p.ops) < fzMaxOps && !r.done() {
		b := r.next()
		op := fzOp{kind: b % fzNumOps, depth: b / fzNumOps % 4, slot: r.next() % fzMaxCos}
		switch op.kind {
		case fzCreate:
			op.ss = r.next()
			op.hint = r.next() % len(fzHints)
			op.script = r.script()
		case fzReset:
			op.script = r.script()
		}
		p.ops = append(p.ops, op)
	}
	return p
}

// fzEncode is fzDecode's inverse, for writing seeds.
func fzEncode(p *fzProg) []byte {
	var b []byte
	flags := byte(0)
	if p.shared {
		flags |= 1
	}
	flags |= byte(p.nss-2) << 1
	flags |= byte(p.move) << 2
	b = append(b, flags)
	for _, op := range p.ops {
		b = append(b, byte(op.kind+fzNumOps*op.depth), byte(op.slot))
		if op.kind == fzCreate {
			b = append(b, byte(op.ss), byte(op.hint))
		}
		if op.kind == fzCreate || op.kind == fzReset {
			b = append(b, byte(len(op.script)))
			for _, in := range op.script {
				b = append(b, byte(in.op), byte(in.a))
			}
		}
	}
	return b
}

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

// fzExecute runs p with share-stack coroutines (useSS) or standalone ones.
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
	box := &fzBox{v: a, name: c.name}
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

// The seed corpus in testdata/fuzz/FuzzDifferential is written by
// fzWriteSeeds (ACO_FUZZ_WRITE_SEEDS=1 go test -run TestFuzzSeedCorpus) from
// fzSeeds; TestFuzzSeedCorpus checks that the committed corpus still executes
// every operation and instruction.

func fzI(op, a int) fzInstr { return fzInstr{op, a} }

// fzBlk is a block instruction over body (instructions and blocks): its
// argument says how long body is.
func fzBlk(op, a int, body ...any) []fzInstr {
	b := fzS(body...)
	if len(b) < 1 || len(b) > 4 {
		panic("fzBlk: block of 1 to 4 instructions")
	}
	return append([]fzInstr{{op, a&^3 | (len(b) - 1)}}, b...)
}

func fzS(parts ...any) []fzInstr {
	var s []fzInstr
	for _, p := range parts {
		switch x := p.(type) {
		case fzInstr:
			s = append(s, x)
		case []fzInstr:
			s = append(s, x...)
		default:
			panic("fzS: not an instruction")
		}
	}
	if len(s) > fzMaxInstr {
		panic("fzS: script too long")
	}
	return s
}

func fzC(slot, ss, hint int, script []fzInstr) fzOp {
	return fzOp{kind: fzCreate, slot: slot, ss: ss, hint: hint, script: script}
}

func fzO(kind, slot int) fzOp { return fzOp{kind: kind, slot: slot} }

var fzSeeds = map[string]*fzProg{
	"basic-yield": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzI(fiYield, 2), fzI(fiYield, 3))),
		fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
		fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0),
	}},
	"shared-interleave": {shared: true, nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzI(fiYield, 2))),
		fzC(1, 0, 1, fzS(fzI(fiYield, 10), fzI(fiYield, 11))),
		fzC(2, 1, 2, fzS(fzI(fiYield, 20), fzI(fiGC, 0), fzI(fiYield, 21))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzGC, 0),
		fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResume, 2), fzO(fzProbe, 0), fzO(fzProbe, 1), fzO(fzProbe, 2),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2),
	}},
	"deep-yield": {nss: 2, ops: []fzOp{
		fzC(0, 0, 3, fzS(fzBlk(fiDescend, 23*4, fzI(fiYield, 1), fzI(fiGC, 0), fzI(fiYield, 2)),
			fzBlk(fiDescend, 2*4, fzI(fiYield, 3)), fzI(fiYield, 4))),
		fzO(fzResume, 0), fzO(fzResumeGo, 0), fzO(fzGC, 0), fzOp{kind: fzResume, slot: 0, depth: 3}, fzO(fzResumeGo, 0),
		fzO(fzProbe, 0), fzOp{kind: fzResume, slot: 0, depth: 1}, fzO(fzProbe, 0),
	}},
	// The move off the share stack: every co moves at its first resume
	// after a yield, with defers pending, a panic on the goroutine, a
	// Destroy that unwinds a moved co, a Reset back onto the share stack
	// and nested resumes.
	"move-everything": {nss: 2, move: 1, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiStackDefer, 2, fzI(fiYield, 1), fzI(fiGC, 0), fzI(fiYield, 2)), fzI(fiYield, 3))),
		fzC(1, 1, 2, fzS(fzBlk(fiDescend, 6*4, fzI(fiYield, 10), fzI(fiYield, 11)), fzI(fiPanic, 12))),
		fzC(2, 0, 0, fzS(fzI(fiYield, 20), fzI(fiNested, 0), fzI(fiYield, 21), fzI(fiNestedDestroy, 1))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzProbe, 0),
		fzO(fzResumeGo, 0), fzOp{kind: fzResume, slot: 1, depth: 2}, fzO(fzResume, 2), fzO(fzGC, 0),
		fzO(fzDestroy, 0), fzO(fzResume, 1), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzProbe, 2),
		fzO(fzReset, 1), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzResume, 2),
	}},
	// A 256-byte threshold: shallow cos stay, deep ones move.
	"move-deep-only": {shared: true, nss: 2, move: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzI(fiYield, 2), fzI(fiYield, 3))),
		fzC(1, 1, 0, fzS(fzBlk(fiDescend, 20*4, fzI(fiOpenDefer, 1), fzI(fiYield, 4), fzI(fiYield, 5)), fzI(fiYield, 6))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzProbe, 0), fzO(fzProbe, 1),
		fzO(fzResumeGo, 1), fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzDestroy, 1), fzO(fzResume, 0),
	}},
	"exit": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiOpenDefer, 2, fzI(fiYield, 5), fzI(fiExit, 0)), fzI(fiYield, 99))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0),
	}},
	"return": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiDescend, 4, fzI(fiYield, 2), fzI(fiReturn, 0)), fzI(fiYield, 99))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0),
	}},
	"panic-recover": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiProtect, 0, fzI(fiYield, 1), fzI(fiPanic, 7)), fzI(fiYield, 2),
			fzBlk(fiProtect, 0, fzI(fiRuntimeErr, 0)), fzBlk(fiProtect, 0, fzI(fiRuntimeErr, 1)), fzI(fiYield, 3))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
	}},
	"panic-escapes": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiDescend, 8, fzI(fiYield, 2), fzI(fiPanic, 3)))),
		fzC(1, 0, 0, fzS(fzI(fiYield, 1), fzI(fiRuntimeErr, 0))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResumeGo, 1), fzO(fzProbe, 0), fzO(fzProbe, 1),
		fzO(fzResume, 0), fzO(fzDestroy, 0), fzO(fzDestroy, 0),
	}},
	"destroy-suspended": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzI(fiDefer, 2), fzBlk(fiStackDefer, 3, fzBlk(fiOpenDefer, 4,
			fzBlk(fiProtect, 0, fzI(fiYield, 5))), fzI(fiYield, 6)))),
		fzO(fzResume, 0), fzO(fzDestroy, 0), fzO(fzResume, 0), fzO(fzDestroy, 0), fzO(fzProbe, 0),
	}},
	"destroy-deep": {nss: 2, ops: []fzOp{
		fzC(0, 0, 1, fzS(fzI(fiDefer, 1), fzBlk(fiDescend, 10*4, fzI(fiDefer, 2), fzBlk(fiStackDefer, 1, fzI(fiYield, 3))))),
		fzO(fzResume, 0), fzO(fzGC, 0), fzO(fzResumeGo, 0), fzO(fzResume, 0),
		fzC(0, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiDescend, 10*4, fzI(fiDefer, 2), fzBlk(fiStackDefer, 1, fzI(fiYield, 3))))),
		fzO(fzResume, 1), fzO(fzResumeGo, 1), fzOp{kind: fzDestroy, slot: 1, depth: 3}, fzO(fzDestroy, 0),
	}},
	"reset": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1))),
		fzOp{kind: fzReset, slot: 0, script: fzS(fzI(fiYield, 2))},
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
		fzOp{kind: fzReset, slot: 0, script: fzS(fzI(fiYield, 3), fzI(fiYield, 4))},
		fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
		fzO(fzDestroy, 0),
		fzOp{kind: fzReset, slot: 0, script: fzS(fzI(fiYield, 5))},
	}},
	"misuse-outside": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1))),
		fzO(fzYieldOutside, 0), fzO(fzExitOutside, 0), fzO(fzResume, 0),
		fzO(fzYieldOutside, 0), fzO(fzExitOutside, 0), fzO(fzResume, 0),
		fzO(fzYieldOutside, 0), fzO(fzExitOutside, 0), fzO(fzResume, 0), fzO(fzDestroy, 0),
		fzO(fzYieldOutside, 0), fzO(fzExitOutside, 0), fzO(fzResume, 0), fzO(fzResumeGo, 0),
		fzO(fzProbe, 7), fzO(fzResume, 7),
	}},
	"misuse-inside": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiMisuse, 0), fzI(fiMisuse, 1), fzI(fiMisuse, 2), fzI(fiMisuse, 3),
			fzI(fiMisuse, 1*6+4), fzI(fiMisuse, 1*6+5), fzI(fiMisuse, 0*6+4), fzI(fiYield, 1), fzI(fiMisuse, 6*6+5))),
		fzC(1, 0, 0, fzS(fzI(fiYield, 1))),
		fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzResume, 1),
	}},
	"nested": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiNested, 1), fzI(fiYield, 1), fzI(fiNested, 1), fzI(fiNested, 1+8), fzI(fiNested, 0), fzI(fiNested, 5))),
		fzC(1, 0, 0, fzS(fzI(fiYield, 10), fzI(fiNested, 2), fzI(fiYield, 11), fzI(fiNested, 0))),
		fzC(2, 0, 0, fzS(fzBlk(fiDescend, 12, fzI(fiYield, 20), fzI(fiYield, 21)))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzResume, 0), fzO(fzProbe, 1), fzO(fzProbe, 2),
		fzO(fzResume, 0), fzO(fzResume, 2),
	}},
	"nested-shared-busy": {shared: true, nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiNested, 1), fzI(fiNested, 2), fzI(fiNested, 2+8), fzI(fiYield, 1), fzI(fiNestedDestroy, 1), fzI(fiNestedDestroy, 2))),
		fzC(1, 0, 0, fzS(fzI(fiYield, 10))),
		fzC(2, 1, 0, fzS(fzI(fiYield, 20), fzI(fiYield, 21))),
		fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 1), fzO(fzProbe, 2),
	}},
	"nested-panic": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiNested, 1), fzI(fiNested, 1+8), fzI(fiYield, 1), fzI(fiNested, 2))),
		fzC(1, 0, 0, fzS(fzI(fiDefer, 1), fzI(fiYield, 10), fzI(fiPanic, 11))),
		fzC(2, 0, 0, fzS(fzI(fiRuntimeErr, 1))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0),
	}},
	"nested-destroy": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzI(fiNestedDestroy, 1), fzI(fiNestedDestroy, 1), fzI(fiNestedDestroy, 0), fzI(fiNestedDestroy, 6))),
		fzC(1, 0, 0, fzS(fzI(fiDefer, 5), fzBlk(fiProtect, 0, fzI(fiYield, 10)))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 0), fzO(fzProbe, 0),
	}},
	"defer-yield": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiDefer, 2), fzI(fiDeferYield, 3), fzI(fiYield, 4))),
		fzO(fzResume, 0), fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzResume, 0), fzO(fzResumeGo, 0), fzO(fzProbe, 0),
		fzC(1, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiYield, 2))),
		fzO(fzResume, 1), fzO(fzResume, 1), fzO(fzDestroy, 1),
		fzC(2, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiPanic, 2))),
		fzO(fzResume, 2),
	}},
	// The first yield of the co is inside a deferred call run at a normal
	// return, and the next resume (Resume's fast path, then another
	// goroutine) puts the image at another address: the remaining deferred
	// calls must still run (the fuzzer's first finding: relocation adjusted
	// runtime.deferreturn's _panic twice, and they were skipped).
	"defer-yield-relocated": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiDescend, 12*4, fzI(fiDefer, 1), fzI(fiDeferYield, 2), fzI(fiDefer, 3), fzI(fiDeferYield, 4)))),
		fzO(fzResume, 0), fzOp{kind: fzResume, slot: 0, depth: 2}, fzOp{kind: fzResumeGo, slot: 0, depth: 1}, fzO(fzProbe, 0),
	}},
	// Deferred calls that yield while a panic unwinds the co: one the
	// script raises, a nil dereference (a signal), an index out of range;
	// resumed at other depths and goroutines, and destroyed there.
	"defer-yield-panicking": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiProtect, 1, fzI(fiDeferYield, 1), fzI(fiDeferYield, 2), fzI(fiPanic, 3)), fzI(fiYield, 4))),
		fzO(fzResume, 0), fzOp{kind: fzResume, slot: 0, depth: 2}, fzO(fzGC, 0), fzOp{kind: fzResumeGo, slot: 0, depth: 1}, fzO(fzResume, 0), fzO(fzProbe, 0),
		fzC(1, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiRuntimeErr, 0))),
		fzO(fzResume, 1), fzO(fzResumeGo, 1), fzO(fzResume, 1),
		fzC(2, 0, 0, fzS(fzI(fiDeferYield, 1), fzI(fiDeferYield, 2), fzI(fiRuntimeErr, 1))),
		fzO(fzResume, 2), fzO(fzDestroy, 2),
	}},
	// A defer inside a range-over-func loop body, then yields: resumed
	// elsewhere, run to the end; and destroyed while suspended there.
	"range-defer": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiRangeDefer, 4*1+1, fzI(fiYield, 1), fzBlk(fiRangeDefer, 2, fzI(fiYield, 2))), fzI(fiYield, 3))),
		fzO(fzResume, 0), fzOp{kind: fzResume, slot: 0, depth: 3}, fzO(fzGC, 0), fzOp{kind: fzResumeGo, slot: 0, depth: 1}, fzO(fzResume, 0), fzO(fzResume, 0),
		fzC(1, 0, 0, fzS(fzBlk(fiRangeDefer, 7, fzI(fiYield, 1)))),
		fzO(fzResume, 1), fzO(fzDestroy, 1),
	}},
	"defer-panic": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiDeferPanic, 1), fzI(fiYield, 2))),
		fzO(fzResume, 0), fzO(fzDestroy, 0),
		fzC(1, 0, 0, fzS(fzI(fiDeferPanic, 1), fzI(fiExit, 0))),
		fzO(fzResume, 1),
		fzC(2, 0, 0, fzS(fzBlk(fiProtect, 0, fzI(fiDeferPanic, 3), fzI(fiYield, 4)), fzI(fiYield, 5))),
		fzO(fzResume, 2), fzO(fzDestroy, 2), fzO(fzProbe, 2),
	}},
	"exit-through-protect": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzBlk(fiProtect, 0, fzI(fiDefer, 1), fzI(fiExit, 0)))),
		fzC(1, 0, 0, fzS(fzBlk(fiProtect, 0, fzBlk(fiOpenDefer, 2, fzI(fiYield, 1))))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzDestroy, 1),
	}},
	"goroutine-hop": {shared: true, nss: 3, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 1), fzBlk(fiDescend, 20*4, fzI(fiYield, 2)), fzI(fiYield, 3), fzI(fiGC, 0), fzI(fiYield, 4))),
		fzC(1, 1, 2, fzS(fzBlk(fiStackDefer, 0, fzI(fiYield, 1), fzI(fiYield, 2)))),
		fzC(2, 2, 3, fzS(fzI(fiYield, 1))),
		fzO(fzResumeGo, 0), fzO(fzResume, 0), fzO(fzResumeGo, 1), fzO(fzResumeGo, 0), fzO(fzResume, 1), fzO(fzResumeGo, 2),
		fzO(fzResumeGo, 0), fzO(fzProbe, 0), fzO(fzProbe, 1), fzO(fzResumeGo, 1), fzO(fzResumeGo, 0),
	}},
	"full-pool": {shared: true, nss: 3, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiYield, 0))), fzC(0, 1, 0, fzS(fzI(fiYield, 1))), fzC(0, 2, 0, fzS(fzI(fiYield, 2))),
		fzC(0, 0, 1, fzS(fzI(fiYield, 3))), fzC(0, 1, 2, fzS(fzI(fiYield, 4))), fzC(0, 2, 3, fzS(fzI(fiYield, 5))),
		fzC(0, 0, 0, fzS(fzI(fiYield, 6))), fzC(0, 1, 0, fzS(fzI(fiYield, 7))), fzC(0, 2, 0, fzS(fzI(fiYield, 8))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzResume, 2), fzO(fzResume, 3), fzO(fzResume, 4), fzO(fzResume, 5),
		fzO(fzResume, 6), fzO(fzResume, 7), fzO(fzDestroy, 3), fzC(1, 0, 0, fzS(fzI(fiYield, 9))), fzO(fzResume, 3),
	}},
	"gc-everywhere": {nss: 2, ops: []fzOp{
		fzC(0, 0, 0, fzS(fzI(fiGC, 0), fzBlk(fiDescend, 5*4, fzI(fiGC, 0), fzI(fiYield, 1), fzI(fiGC, 0)), fzI(fiYield, 2))),
		fzC(1, 0, 0, fzS(fzI(fiDefer, 1), fzBlk(fiStackDefer, 1, fzI(fiGC, 0), fzI(fiYield, 1)))),
		fzO(fzResume, 0), fzO(fzResume, 1), fzO(fzGC, 0), fzO(fzResume, 0), fzO(fzGC, 0), fzO(fzResume, 1),
		fzO(fzGC, 0), fzO(fzResume, 0), fzO(fzProbe, 0), fzO(fzProbe, 1),
	}},
	"empty": {nss: 2},
	"empty-slots": {nss: 2, ops: []fzOp{
		fzO(fzResume, 3), fzO(fzResumeGo, 3), fzO(fzDestroy, 3), fzOp{kind: fzReset, slot: 3}, fzO(fzProbe, 3),
		fzO(fzYieldOutside, 3), fzO(fzExitOutside, 3), fzO(fzGC, 0), fzC(3, 0, 0, nil), fzO(fzResume, 3), fzO(fzResume, 3),
	}},
}

// fzCorpusDir is the committed seed corpus of FuzzDifferential.
const fzCorpusDir = "testdata/fuzz/FuzzDifferential"

// fzCorpusFile renders data in the "go test fuzz v1" format.
func fzCorpusFile(data []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n")
}

// fzParseCorpusFile reads a "go test fuzz v1" file with one []byte value.
func fzParseCorpusFile(b []byte) ([]byte, error) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		return nil, fmt.Errorf("not a one-value go test fuzz v1 file")
	}
	v, ok := strings.CutPrefix(lines[1], "[]byte(")
	if !ok || !strings.HasSuffix(v, ")") {
		return nil, fmt.Errorf("value is not []byte(...)")
	}
	s, err := strconv.Unquote(strings.TrimSuffix(v, ")"))
	return []byte(s), err
}

// TestFuzzSeedCorpus checks that the committed seeds decode to the programs
// in fzSeeds and that, together, they execute every top-level operation,
// every script instruction and every kind of inside misuse. With
// ACO_FUZZ_WRITE_SEEDS=1 it (re)writes them first.
func TestFuzzSeedCorpus(t *testing.T) {
	if os.Getenv("ACO_FUZZ_WRITE_SEEDS") == "1" {
		if err := os.MkdirAll(fzCorpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, p := range fzSeeds {
			if err := os.WriteFile(filepath.Join(fzCorpusDir, "seed-"+name), fzCorpusFile(fzEncode(p)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cover := map[string]bool{}
	for name, p := range fzSeeds {
		b, err := os.ReadFile(filepath.Join(fzCorpusDir, "seed-"+name))
		if err != nil {
			t.Errorf("seed %s: %v (write the seeds with ACO_FUZZ_WRITE_SEEDS=1)", name, err)
			continue
		}
		data, err := fzParseCorpusFile(b)
		if err != nil {
			t.Errorf("seed %s: %v", name, err)
			continue
		}
		if !bytes.Equal(data, fzEncode(p)) {
			t.Errorf("seed %s is stale: rewrite the seeds with ACO_FUZZ_WRITE_SEEDS=1", name)
		}
		if got := fzDecode(data).String(); got != p.String() {
			t.Errorf("seed %s decodes to\n%s\nwant\n%s", name, got, p)
		}
		for _, useSS := range []bool{true, false} {
			res := fzExecuteCover(fzDecode(data), useSS, cover)
			for _, msg := range res.fails {
				t.Errorf("seed %s (share stacks %v): %s", name, useSS, msg)
			}
		}
	}
	var want []string
	want = append(want, fzOpNames[:]...)
	want = append(want, fzInstrNames[:]...)
	for _, m := range fzMisuseNames {
		want = append(want, "Misuse-"+m)
	}
	want = append(want, "nested-resume", "nested-go-resume", "nested-destroy")
	for _, w := range want {
		if !cover[w] {
			t.Errorf("no seed executes %s", w)
		}
	}
}

// TestFuzzDecodeRoundTrip checks fzEncode against fzDecode on every seed.
func TestFuzzDecodeRoundTrip(t *testing.T) {
	for name, p := range fzSeeds {
		if !bytes.Equal(fzEncode(fzDecode(fzEncode(p))), fzEncode(p)) {
			t.Errorf("seed %s does not round-trip", name)
		}
	}
}
