package aco

import (
	"fmt"
	"iter"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// Yields from deferred calls while a panic unwinds the co, runtime errors
// among them, through Pull and Co (shapes_test.go has the other shapes).

// pullScript drives a pull iterator: "n" calls next, "s" calls stop. It
// returns what each call gave: a value and ok, or a panic.
func pullScript(next func() (int, bool), stop func(), script string) []string {
	var out []string
	for _, op := range script {
		func() {
			defer func() {
				if r := recover(); r != nil {
					out = append(out, fmt.Sprint("panic ", r))
				}
			}()
			if op == 's' {
				stop()
				out = append(out, "stopped")
				return
			}
			v, ok := next()
			out = append(out, fmt.Sprint(v, " ", ok))
		}()
	}
	return out
}

// panicYieldSeqs are generators whose deferred calls yield while a panic
// unwinds through them, with and without recover, and nested.
var panicYieldSeqs = map[string]func(yield func(int) bool){
	"recover then yield": func(yield func(int) bool) {
		defer func() {
			if recover() != nil {
				yield(-1)
			}
		}()
		yield(1)
		panic("boom")
	},
	"yield without recover": func(yield func(int) bool) {
		defer func() { yield(-2) }()
		yield(1)
		panic("boom")
	},
	"yield, recover, yield": func(yield func(int) bool) {
		defer func() {
			yield(-3)
			r := recover()
			yield(-4)
			if r == nil {
				yield(-5)
			}
		}()
		yield(1)
		panic("boom")
	},
	"nested panics": func(yield func(int) bool) {
		defer func() {
			yield(-6)
			recover()
		}()
		defer func() {
			defer func() { yield(-7) }()
			yield(-8)
			panic("second")
		}()
		yield(1)
		panic("first")
	},
	"deep frames": func(yield func(int) bool) {
		var rec func(d int)
		rec = func(d int) {
			if d == 0 {
				defer func() { yield(-9); yield(-10) }()
				panic("deep")
			}
			rec(d - 1)
			yield(d)
		}
		defer func() { recover(); yield(-11) }()
		rec(20)
	},
}

// TestPullYieldFromDeferredCallDuringPanic: aco.Pull gives what iter.Pull
// gives, step for step, when the generator yields from deferred calls run
// by a panic, on a share stack of its own, on a shared one, standalone,
// with GCs and resumes from other goroutines in between.
func TestPullYieldFromDeferredCallDuringPanic(t *testing.T) {
	ss := NewShareStack(0)
	defer ss.Destroy()
	pulls := map[string]func(func(func(int) bool)) (func() (int, bool), func()){
		"aco.Pull":       func(s func(func(int) bool)) (func() (int, bool), func()) { return Pull(s) },
		"aco.PullOn(ss)": func(s func(func(int) bool)) (func() (int, bool), func()) { return PullOn(ss, s) },
	}
	for name, seq := range panicYieldSeqs {
		for _, script := range []string{"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnn", "nns", "ns", "nnns"} {
			inext, istop := iter.Pull(seq)
			want := pullScript(inext, istop, script)
			for pname, pull := range pulls {
				next, stop := pull(seq)
				got := pullScript(func() (int, bool) {
					runtime.GC()
					ch := make(chan struct{})
					var v int
					var ok bool
					var r any
					go func() {
						defer close(ch)
						defer func() { r = recover() }()
						v, ok = next()
					}()
					<-ch
					if r != nil {
						panic(r)
					}
					return v, ok
				}, stop, script)
				require.Equal(t, want, got, "%s, script %s, %s against iter.Pull", name, script, pname)
				got = pullScript(next, stop, "nn")
				require.Equal(t, []string{"0 false", "0 false"}, got, "%s, script %s: after the end", name, script)
			}
		}
	}
}

// panicYieldBody panics with a tracked object that only the panic record
// holds, yields from the deferred call that runs, twice, and then recovers
// the object and checks it: while the co sleeps, the panic record is in
// its saved image and must keep the object alive.
//
//go:noinline
func panicYieldBody(co *Co, tc *tortureCo, tr *[]string) {
	defer func() {
		*tr = append(*tr, "deferred: yield")
		co.Yield()
		*tr = append(*tr, "deferred: yield again")
		co.Yield()
		r := recover()
		b, _ := r.(panicBox)
		o := b.o
		tc.checks++
		tc.check(o.ok(tc.idx, 7), "the panic's value", 2)
		tc.releaseAll()
		*tr = append(*tr, "recovered")
	}()
	defer func() { *tr = append(*tr, "inner deferred") }()
	panicWith(tc.obj(7, "panic value"))
}

// panicBox is the panic's value: boxed in an allocation only the panic
// record points to.
type panicBox struct {
	o    *tobj
	n, m int
}

//go:noinline
func panicWith(o *tobj) { panic(panicBox{o, 1, 2}) }

// TestYieldFromDeferredCallDuringPanic: a co yields from a deferred call run
// by a panic, is resumed at other depths and from other goroutines with GCs
// in between, recovers, and ends; or is destroyed while suspended there.
// Both engines alike.
func TestYieldFromDeferredCallDuringPanic(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		l := newLedger(t)
		for run := range 10 {
			var tr []string
			tc := &tortureCo{idx: run, l: l}
			co := e.create(func(co *Co) { panicYieldBody(co, tc, &tr); tr = append(tr, "returned") }, nil)
			for i := 0; !co.IsEnd(); i++ {
				if i%2 == 1 {
					done := make(chan struct{})
					go func() { defer close(done); resumeAt(co, run+i) }()
					<-done
				} else {
					resumeAt(co, run+i)
				}
				churn(1 << 14)
				runtime.GC()
				runtime.GC()
				l.requireNoFailures(t, fmt.Sprint("run ", run, " resume ", i))
			}
			co.Destroy()
			require.Equal(t, []string{"inner deferred", "deferred: yield", "deferred: yield again", "recovered", "returned"}, tr)
			require.Equal(t, 1, tc.checks)
		}

		// Destroyed while suspended in the deferred call: the rest of the
		// deferred calls run, and the panic ends with the co.
		var tr []string
		co := e.create(func(co *Co) {
			defer func() { tr = append(tr, "outer deferred") }()
			defer func() {
				tr = append(tr, "yield")
				co.Yield()
				tr = append(tr, "not reached")
			}()
			panic("boom")
		}, nil)
		co.Resume()
		co.Destroy()
		require.Equal(t, []string{"yield", "outer deferred"}, tr)
		l.requireNoFailures(t, "at the end")
	})
}

// runtimeErrorSeqs yield from deferred calls during panics the runtime
// raises: a nil dereference (a signal: the faulting frame "calls"
// runtime.sigpanic), an index out of range, a division by zero, a nil map
// write, with and without a deferreturn in the faulting frame.
var runtimeErrorSeqs = map[string]func(yield func(int) bool){
	"nil dereference": func(yield func(int) bool) {
		defer func() {
			yield(-1)
			recover()
			yield(-2)
		}()
		yield(1)
		var p *[64]int
		nilDeref(p)
	},
	"nil dereference in a frame with defers": func(yield func(int) bool) {
		defer func() { recover(); yield(-3) }()
		yield(1)
		faultWithDefer(yield)
		yield(-99) // not reached: the panic went on
	},
	"index out of range": func(yield func(int) bool) {
		defer func() { yield(-4); recover(); yield(-5) }()
		s := make([]int, 3)
		yield(indexAt(s, 7))
	},
	"division by zero": func(yield func(int) bool) {
		defer func() { yield(-6); recover() }()
		yield(intDivide(1, 0))
	},
	"nil map write": func(yield func(int) bool) {
		defer func() { yield(-7); recover() }()
		var m map[int]int
		m[1] = 2
	},
}

//go:noinline
func nilDeref(p *[64]int) int { return p[3] }

//go:noinline
func indexAt(s []int, i int) int { return s[i] }

//go:noinline
func intDivide(a, b int) int { return a / b }

// faultWithDefer faults with a deferred call pending that yields (after
// recovering, the frame continues at its deferreturn: the faulting frame
// then is not dead).
//
//go:noinline
func faultWithDefer(yield func(int) bool) (r int) {
	defer func() {
		yield(-8)
		if recover() != nil {
			r = -1
		}
		yield(-9)
	}()
	var p *[64]int
	r = p[5]
	return r
}

// TestPullYieldDuringRuntimeErrorPanic is TestPullYieldFromDeferredCallDuringPanic
// for panics the runtime raises.
func TestPullYieldDuringRuntimeErrorPanic(t *testing.T) {
	for name, seq := range runtimeErrorSeqs {
		for _, script := range []string{"nnnnnnnnnnnn", "ns", "nns"} {
			inext, istop := iter.Pull(seq)
			want := pullScript(inext, istop, script)
			next, stop := Pull(seq)
			got := pullScript(func() (int, bool) { runtime.GC(); return next() }, stop, script)
			require.Equal(t, want, got, "%s, script %s, aco.Pull against iter.Pull", name, script)
		}
	}
}
