package aco_test

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/arkenstone-go/arkenstone/aco"
)

// tree is a binary tree for the generator examples.
type tree struct {
	left, right *tree
	v           int
}

// walk is an in-order walk of t that yields from every depth of the
// recursion; it reports whether yield asked for more.
func walk(t *tree, yield func(int) bool) bool {
	return t == nil || walk(t.left, yield) && yield(t.v) && walk(t.right, yield)
}

// all is a recursive push iterator over t's values, in order.
func all(t *tree) func(yield func(int) bool) {
	return func(yield func(int) bool) { walk(t, yield) }
}

// sample is the tree 1 2 3 4 5 6 7, in order.
var sample = &tree{
	left:  &tree{left: &tree{v: 1}, v: 2, right: &tree{v: 3}},
	v:     4,
	right: &tree{left: &tree{v: 5}, v: 6, right: &tree{v: 7}},
}

// Pull over a recursive generator: each value comes from another depth of
// the walk, and stop ends it early (the walk's yield returns false, so it
// returns through all its frames).
func ExamplePull_recursive() {
	next, stop := aco.Pull(all(sample))
	defer stop()
	var got []int
	for {
		v, ok := next()
		if !ok || v > 4 {
			break
		}
		got = append(got, v)
	}
	stop() // early: 6 and 7 are never walked
	fmt.Println(got)
	fmt.Println(next())
	// Output:
	// [1 2 3 4]
	// 0 false
}

// Merging two sorted generators is the classic case for pull iterators: two
// walks advance in turn, each suspended in its own recursion.
func ExamplePull_merge() {
	odd := &tree{left: &tree{v: 1}, v: 3, right: &tree{v: 5}}
	even := &tree{left: &tree{v: 2}, v: 4, right: &tree{v: 6}}
	na, sa := aco.Pull(all(odd))
	defer sa()
	nb, sb := aco.Pull(all(even))
	defer sb()
	var merged []int
	a, okA := na()
	b, okB := nb()
	for okA || okB {
		if okA && (!okB || a < b) {
			merged = append(merged, a)
			a, okA = na()
		} else {
			merged = append(merged, b)
			b, okB = nb()
		}
	}
	fmt.Println(merged)
	// Output:
	// [1 2 3 4 5 6]
}

// walkDepth is an in-order walk of t, at depth d, that yields each value
// with its depth.
func walkDepth(t *tree, d int, yield func(int, int) bool) bool {
	return t == nil || walkDepth(t.left, d+1, yield) && yield(d, t.v) && walkDepth(t.right, d+1, yield)
}

// Pull2 pulls pairs, like iter.Pull2: here (depth, value) from a recursive
// walk, stopped early once the root has been seen.
func ExamplePull2() {
	next, stop := aco.Pull2(func(yield func(int, int) bool) { walkDepth(sample, 0, yield) })
	defer stop()
	for d, v, ok := next(); ok; d, v, ok = next() {
		fmt.Println("depth", d, "value", v)
		if d == 0 {
			stop() // the rest of the walk never runs
		}
	}
	// Output:
	// depth 2 value 1
	// depth 1 value 2
	// depth 2 value 3
	// depth 0 value 4
}

// A deferred recover inside a coroutine sees the *Unwind with which
// Destroy (or Exit) unwinds it, and must panic with it again.
func ExampleUnwind() {
	mainCo := aco.NewMain()
	co := aco.Create(mainCo, aco.NewShareStack(0), 0, func(co *aco.Co) {
		defer func() {
			r := recover()
			if u, ok := r.(*aco.Unwind); ok {
				fmt.Println("unwound:", u.Co() == co)
				panic(u) // keep unwinding
			}
		}()
		co.Yield()
	}, nil)
	co.Resume()
	ss := co.ShareStack()
	co.Destroy()
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// unwound: true
}

// PullOn puts the generator's coroutine on a share stack the caller
// chooses; iterators on one share stack take turns (they must not be pulled
// from inside each other). The share stack can be destroyed once they have
// ended or been stopped.
func ExamplePullOn() {
	ss := aco.NewShareStack(0)
	next1, stop1 := aco.PullOn(ss, all(sample))
	next2, stop2 := aco.PullOn(ss, all(sample))
	var sums []int
	for range 3 {
		a, _ := next1()
		b, _ := next2()
		sums = append(sums, a+b)
	}
	fmt.Println(sums)
	stop1()
	stop2()
	ss.Destroy()
	// Output:
	// [2 4 6]
}

// Pull2On is Pull2 on a chosen share stack.
func ExamplePull2On() {
	ss := aco.NewShareStack(0)
	next, stop := aco.Pull2On(ss, func(yield func(int, string) bool) {
		for i, s := range []string{"x", "y", "z"} {
			if !yield(i, s) {
				return
			}
		}
	})
	k, v, ok := next()
	fmt.Println(k, v, ok)
	stop()
	fmt.Println(next())
	ss.Destroy()
	// Output:
	// 0 x true
	// 0  false
}

// NewMain makes the main co that creates, resumes and outlives the others.
func ExampleNewMain() {
	mainCo := aco.NewMain()
	fmt.Println(mainCo.IsMain())
	mainCo.Destroy()
	// Output:
	// true
}

// Create makes a coroutine: on a share stack, or standalone with a nil one.
// It starts at its first Resume and gets its argument from Arg.
func ExampleCreate() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	greet := func(co *aco.Co) { fmt.Println("hello,", co.Arg()) }
	shared := aco.Create(mainCo, ss, 0, greet, "share stack")
	standalone := aco.Create(mainCo, nil, 0, greet, "standalone")
	fmt.Println(shared.Standalone(), standalone.Standalone())
	shared.Resume()
	standalone.Resume()
	shared.Destroy()
	standalone.Destroy()
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// false true
	// hello, share stack
	// hello, standalone
}

// Resume runs a coroutine until it yields or ends; Yield suspends it, from
// any call depth, until the next Resume; IsEnd tells whether it has ended.
func ExampleCo_Resume() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	var depth func(co *aco.Co, d int)
	depth = func(co *aco.Co, d int) {
		if d == 0 {
			co.Yield() // three calls deep
			return
		}
		depth(co, d-1)
	}
	co := aco.Create(mainCo, ss, 0, func(co *aco.Co) {
		fmt.Println("before")
		depth(co, 3)
		fmt.Println("after")
	}, nil)
	for !co.IsEnd() {
		co.Resume()
		fmt.Println("resumer: end =", co.IsEnd())
	}
	co.Destroy()
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// before
	// resumer: end = false
	// after
	// resumer: end = true
}

// Yield hands control back to the resumer; values travel through the
// coroutine's argument (or any memory both sides share).
func ExampleCo_Yield() {
	mainCo := aco.NewMain()
	var out int
	co := aco.Create(mainCo, aco.NewShareStack(0), 0, func(co *aco.Co) {
		for i := 1; i <= 3; i++ {
			out = i * i
			co.Yield()
		}
	}, nil)
	for co.Resume(); !co.IsEnd(); co.Resume() {
		fmt.Println(out)
	}
	ss := co.ShareStack()
	co.Destroy()
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// 1
	// 4
	// 9
}

// Exit ends the coroutine from any call depth, after its deferred calls,
// like runtime.Goexit; returning from its function does the same.
func ExampleCo_Exit() {
	mainCo := aco.NewMain()
	co := aco.Create(mainCo, nil, 0, func(co *aco.Co) {
		defer fmt.Println("deferred")
		func() {
			co.Exit()
		}()
		fmt.Println("not reached")
	}, nil)
	co.Resume()
	fmt.Println(co.IsEnd())
	co.Destroy()
	mainCo.Destroy()
	// Output:
	// deferred
	// true
}

// Reset reuses an ended coroutine with a new function, keeping its share
// stack and save stack.
func ExampleCo_Reset() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	co := aco.Create(mainCo, ss, 0, func(co *aco.Co) { fmt.Println("first") }, nil)
	co.Resume()
	co.Reset(func(co *aco.Co) { fmt.Println("second:", co.Arg()) }, 2)
	co.Resume()
	co.Destroy()
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// first
	// second: 2
}

// SaveStack reports the copies the copy-stack engine made (zero where the
// portable engine runs the co): here MaxCopySize is never above ValidSize.
func ExampleCo_SaveStack() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	co := aco.Create(mainCo, ss, 0, func(co *aco.Co) {
		for range 3 {
			co.Yield()
		}
	}, nil)
	for !co.IsEnd() {
		co.Resume()
	}
	st := co.SaveStack()
	fmt.Println(st.CtSave == st.CtRestore, st.MaxCopySize <= st.ValidSize)
	co.Destroy()
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// true true
}

// DestroyAll ends a main co and everything it still owns, newest first,
// running the pending deferred calls: for a scheduler's shutdown or a test's
// cleanup. A panic in a deferred call does not stop it; it comes back in the
// error.
func ExampleCo_DestroyAll() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	for _, name := range []string{"a", "b", "c"} {
		co := aco.Create(mainCo, ss, 0, func(co *aco.Co) {
			defer fmt.Println("cleanup", name)
			if name == "b" {
				defer func() { panic("b's cleanup failed") }()
			}
			co.Yield()
		}, nil)
		co.Resume()
	}
	err := mainCo.DestroyAll()
	var pe *aco.PanicError
	fmt.Println(errors.As(err, &pe), pe.Value)
	ss.Destroy()
	// Output:
	// cleanup c
	// cleanup b
	// cleanup a
	// true b's cleanup failed
}

// NewShareStack makes a share stack: its coroutines run one at a time, and
// it reports libaco's sizes.
func ExampleNewShareStack() {
	ss := aco.NewShareStack(0)
	fmt.Println(ss.Size() == aco.DefaultShareStackSize, ss.GuardPage(), ss.Live())
	ss.Destroy()
	// Output:
	// true true 0
}

// NewShareStack2 chooses the guard page. With one, the valid size is
// rounded up to whole pages and one page more is reserved for the guard, as
// libaco does; without, the size is taken as given (at least 4096 bytes).
func ExampleNewShareStack2() {
	page := os.Getpagesize()
	guarded := aco.NewShareStack2(10000, true)
	fmt.Println(guarded.Size() >= 10000 && guarded.Size()%page == 0, guarded.RealSize()-guarded.Size() == page)
	plain := aco.NewShareStack2(10000, false)
	fmt.Println(plain.Size(), plain.RealSize(), plain.GuardPage())
	guarded.Destroy()
	plain.Destroy()
	// Output:
	// true true
	// 10000 10000 false
}

// Engine says which engine runs share-stack coroutines in this process, and
// EngineNote why the portable one was chosen, if it was; Co.Engine says
// where one coroutine runs now.
func ExampleEngine() {
	e := aco.Engine()
	fmt.Println(e == aco.CopyStack || e == aco.Portable)
	if e == aco.Portable {
		_ = aco.EngineNote() // e.g. "race detector"
	}
	mainCo := aco.NewMain()
	co := aco.Create(mainCo, nil, 0, func(*aco.Co) {}, nil)
	// A new co, standalone or on a share stack, starts on that engine.
	fmt.Println(co.Engine() == e)
	co.Destroy()
	mainCo.Destroy()
	// Output:
	// true
	// true
}

// ThreadInit sets the last-word hook: it runs when a coroutine's function
// panics, before the panic continues in the resumer.
func ExampleThreadInit() {
	aco.ThreadInit(func(co *aco.Co, v any) { fmt.Println("last word:", v) })
	defer aco.ThreadInit(nil)
	mainCo := aco.NewMain()
	co := aco.Create(mainCo, nil, 0, func(*aco.Co) { panic("oops") }, nil)
	func() {
		defer func() { fmt.Println("resumer recovered:", recover()) }()
		co.Resume()
	}()
	co.Destroy()
	mainCo.Destroy()
	// Output:
	// last word: oops
	// resumer recovered: oops
}

// A Coroutine passes values both ways, as a Python generator's send does:
// each Resume sends a number to a running average, which yields the
// average so far.
func ExampleCoroutine() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	avg := aco.NewCoroutine(mainCo, ss, func(c *aco.Coroutine[float64, float64], x float64) {
		sum, n := 0.0, 0
		for {
			sum, n = sum+x, n+1
			x = c.Yield(sum / float64(n))
		}
	})
	for _, x := range []float64{10, 20, 60} {
		a, _ := avg.Resume(x)
		fmt.Println(a)
	}
	avg.Destroy()
	ss.Destroy()
	mainCo.Destroy()
	// Output:
	// 10
	// 15
	// 30
}

// All ranges over what a coroutine yields; breaking out leaves it
// suspended, and the next loop goes on from there. Resume after the end
// reports the end again.
func ExampleCoroutine_All() {
	mainCo := aco.NewMain()
	fib := aco.NewCoroutine(mainCo, nil, func(c *aco.Coroutine[struct{}, int], _ struct{}) {
		a, b := 0, 1
		for a < 100 {
			c.Yield(a)
			a, b = b, a+b
		}
	})
	var first, rest []int
	for v := range fib.All() {
		first = append(first, v)
		if v == 5 {
			break
		}
	}
	for v := range fib.All() {
		rest = append(rest, v)
	}
	fmt.Println(first, rest)
	fmt.Println(fib.Resume(struct{}{}))
	fib.Destroy()
	mainCo.Destroy()
	// Output:
	// [0 1 1 2 3 5] [8 13 21 34 55 89]
	// 0 false
}

// parse and term are a recursive-descent parser run as a coroutine, for
// the Stack example: it yields when it needs the next token.
func parse(co *aco.Co) {
	for {
		term(co)
	}
}

func term(co *aco.Co) {
	co.Yield() // wait for the next token
}

// Stack shows where a suspended coroutine is, frame by frame, as
// runtime.Stack shows a goroutine (each function is followed by a line
// with its file:line, left out here); WriteStacks writes the stacks of
// every coroutine of a main co.
func ExampleCo_Stack() {
	mainCo := aco.NewMain()
	ss := aco.NewShareStack(0)
	co := aco.Create(mainCo, ss, 0, parse, nil)
	co.Resume()
	for _, line := range strings.Split(string(co.Stack()), "\n") {
		if fn, ok := strings.CutSuffix(line, "(...)"); ok {
			// Without the package, which is another one in a copy
			// of this example.
			fn = fn[strings.LastIndexByte(fn, '/')+1:]
			fmt.Println(fn[strings.IndexByte(fn, '.')+1:])
		}
	}
	mainCo.DestroyAll()
	ss.Destroy()
	// Output:
	// (*Co).Yield
	// term
	// parse
}
