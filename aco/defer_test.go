package aco

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Deferred calls pending in a coroutine's frames across its yields: the
// copy-stack engine detaches the co's defer records from the goroutine at
// every yield and re-attaches them (relocated) at every resume. Each of the
// compiler's three kinds of defer is covered: open-coded (a function with
// few defers, none in a loop), stack-allocated records (too many defers to
// open-code) and heap-allocated records (a defer in a loop).

// dtrace records events in order.
type dtrace struct{ ev []string }

func (d *dtrace) add(s string) { d.ev = append(d.ev, s) }

// ending is a way a test ends its coroutine: resumed to its end, or
// destroyed while suspended.
type ending struct {
	name string
	end  func(t *testing.T, co *Co, resume func())
}

var endings = []ending{
	{"exit", func(t *testing.T, co *Co, resume func()) {
		for !co.IsEnd() {
			resume()
		}
		co.Destroy()
	}},
	{"destroy", func(t *testing.T, co *Co, resume func()) {
		require.False(t, co.IsEnd())
		co.Destroy()
	}},
}

// forEndings runs f for each kind and each way of ending.
func forEndings(t *testing.T, f func(t *testing.T, e *env, end ending)) {
	for _, end := range endings {
		t.Run(end.name, func(t *testing.T) {
			forKinds(t, func(t *testing.T, e *env) { f(t, e, end) })
		})
	}
}

// openCoded has three open-coded defers and yields between them.
//
//go:noinline
func openCoded(co *Co, tr *dtrace, tag string) {
	defer tr.add(tag + " open 1")
	co.Yield()
	defer func() { tr.add(tag + " open 2") }()
	co.Yield()
	if tr != nil {
		defer tr.add(tag + " open 3") // conditional: still open-coded
	}
	co.Yield()
	tr.add(tag + " open body end")
}

var openCodedOrder = []string{"open body end", "open 3", "open 2", "open 1"}

// stackDefers has nine defers, more than can be open-coded: each is a
// _defer record in the frame. It yields between them.
//
//go:noinline
func stackDefers(co *Co, tr *dtrace, tag string) {
	defer tr.add(tag + " stack 1")
	defer tr.add(tag + " stack 2")
	defer tr.add(tag + " stack 3")
	co.Yield()
	defer tr.add(tag + " stack 4")
	defer func() { tr.add(tag + " stack 5") }()
	defer tr.add(tag + " stack 6")
	co.Yield()
	defer tr.add(tag + " stack 7")
	defer tr.add(tag + " stack 8")
	defer tr.add(tag + " stack 9")
	co.Yield()
	tr.add(tag + " stack body end")
}

var stackDefersOrder = []string{"stack body end", "stack 9", "stack 8", "stack 7", "stack 6", "stack 5", "stack 4", "stack 3", "stack 2", "stack 1"}

// heapDefers defers in a loop (heap-allocated _defer records) and yields
// after each.
//
//go:noinline
func heapDefers(co *Co, tr *dtrace, tag string) {
	for i := 1; i <= 4; i++ {
		defer tr.add(fmt.Sprint(tag, " heap ", i))
		co.Yield()
	}
	tr.add(tag + " heap body end")
}

var heapDefersOrder = []string{"heap body end", "heap 4", "heap 3", "heap 2", "heap 1"}

// tagged prefixes every event of evs with tag.
func tagged(tag string, evs ...[]string) []string {
	var out []string
	for _, l := range evs {
		for _, ev := range l {
			out = append(out, tag+" "+ev)
		}
	}
	return out
}

// ranBefore returns the events of want that are in pending, in want's
// order: what a co destroyed with those defers pending records.
func ranBefore(want []string, pending ...string) []string {
	var out []string
	for _, w := range want {
		for _, p := range pending {
			if w == p {
				out = append(out, w)
			}
		}
	}
	return out
}

func TestDeferOpenCodedAcrossYields(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { openCoded(co, tr, "a") }, nil)
		for k := 0; k < 3; k++ {
			resumeAt(co, k)
			assert.Empty(t, tr.ev)
		}
		end.end(t, co, func() { resumeAt(co, 4) })
		want := tagged("a", openCodedOrder)
		if end.name == "destroy" {
			want = want[1:]
		}
		assert.Equal(t, want, tr.ev)
	})
}

func TestDeferStackRecordsAcrossYields(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { stackDefers(co, tr, "b") }, nil)
		for k := 0; k < 3; k++ {
			resumeAt(co, 2*k)
			assert.Empty(t, tr.ev)
		}
		end.end(t, co, func() { resumeAt(co, 1) })
		want := tagged("b", stackDefersOrder)
		if end.name == "destroy" {
			want = want[1:]
		}
		assert.Equal(t, want, tr.ev)
	})
}

func TestDeferHeapRecordsAcrossYields(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { heapDefers(co, tr, "c") }, nil)
		for k := 0; k < 4; k++ {
			resumeAt(co, 3-k)
			assert.Empty(t, tr.ev)
		}
		end.end(t, co, func() { resumeAt(co, 2) })
		want := tagged("c", heapDefersOrder)
		if end.name == "destroy" {
			want = want[1:]
		}
		assert.Equal(t, want, tr.ev)
	})
}

// threeFrames runs the three kinds of defer in three nested frames: open
// coded outermost, then stack records, then heap records innermost. Each
// frame yields (with its defers pending) before calling the next.
//
//go:noinline
func threeFrames(co *Co, tr *dtrace) {
	defer tr.add("f1 open 1")
	defer func() { tr.add("f1 open 2") }()
	co.Yield()
	threeFramesStack(co, tr)
	tr.add("f1 end")
}

//go:noinline
func threeFramesStack(co *Co, tr *dtrace) {
	defer tr.add("f2 stack 1")
	defer tr.add("f2 stack 2")
	defer tr.add("f2 stack 3")
	defer tr.add("f2 stack 4")
	defer tr.add("f2 stack 5")
	defer tr.add("f2 stack 6")
	defer tr.add("f2 stack 7")
	defer tr.add("f2 stack 8")
	co.Yield()
	defer tr.add("f2 stack 9")
	threeFramesHeap(co, tr)
	tr.add("f2 end")
}

//go:noinline
func threeFramesHeap(co *Co, tr *dtrace) {
	for i := 1; i <= 3; i++ {
		defer tr.add(fmt.Sprint("f3 heap ", i))
		co.Yield()
	}
	tr.add("f3 end")
}

var threeFramesOrder = []string{
	"f3 end", "f3 heap 3", "f3 heap 2", "f3 heap 1",
	"f2 end", "f2 stack 9", "f2 stack 8", "f2 stack 7", "f2 stack 6", "f2 stack 5", "f2 stack 4", "f2 stack 3", "f2 stack 2", "f2 stack 1",
	"f1 end", "f1 open 2", "f1 open 1",
}

// TestDeferThreeFramesEveryStop runs threeFrames to each of its yields,
// resumed at a different depth each time, then exits or destroys it: the
// defers registered so far run, once each, innermost first.
func TestDeferThreeFramesEveryStop(t *testing.T) {
	// The events registered before each yield.
	registered := [][]string{
		{"f1 open 1", "f1 open 2"},
		{"f2 stack 1", "f2 stack 2", "f2 stack 3", "f2 stack 4", "f2 stack 5", "f2 stack 6", "f2 stack 7", "f2 stack 8"},
		{"f2 stack 9", "f3 heap 1"},
		{"f3 heap 2"},
		{"f3 heap 3"},
	}
	for stop := 1; stop <= len(registered); stop++ {
		t.Run(fmt.Sprint("yields=", stop), func(t *testing.T) {
			forEndings(t, func(t *testing.T, e *env, end ending) {
				tr := &dtrace{}
				co := e.create(func(co *Co) { threeFrames(co, tr) }, nil)
				for k := 0; k < stop; k++ {
					resumeAt(co, (k*5)%7)
					require.Empty(t, tr.ev)
				}
				n := 0
				end.end(t, co, func() { resumeAt(co, n%4); n++ })
				want := threeFramesOrder
				if end.name == "destroy" {
					var pending []string
					for _, r := range registered[:stop] {
						pending = append(pending, r...)
					}
					want = ranBefore(threeFramesOrder, pending...)
				}
				assert.Equal(t, want, tr.ev)
			})
		})
	}
}

// TestDeferFromOtherGoroutines resumes a co with pending defers of all
// kinds from a different goroutine each time.
func TestDeferFromOtherGoroutines(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { threeFrames(co, tr) }, nil)
		onOther := func(depth int) {
			done := make(chan string)
			go func() { done <- catch(func() { resumeAt(co, depth) }) }()
			require.Empty(t, <-done)
		}
		for k := 0; k < 5; k++ {
			onOther(k)
		}
		n := 0
		end.end(t, co, func() { onOther(n); n++ })
		want := threeFramesOrder
		if end.name == "destroy" {
			want = ranBefore(threeFramesOrder, "f3 heap 3", "f3 heap 2", "f3 heap 1", "f2 stack 9", "f2 stack 8", "f2 stack 7",
				"f2 stack 6", "f2 stack 5", "f2 stack 4", "f2 stack 3", "f2 stack 2", "f2 stack 1", "f1 open 2", "f1 open 1")
		}
		assert.Equal(t, want, tr.ev)
	})
}

// TestDeferAllKindsSequence calls the three single-kind functions in
// sequence from one co, each finishing before the next starts.
func TestDeferAllKindsSequence(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		tr := &dtrace{}
		co := e.create(func(co *Co) {
			openCoded(co, tr, "x")
			stackDefers(co, tr, "y")
			heapDefers(co, tr, "z")
		}, nil)
		for k := 0; !co.IsEnd(); k++ {
			resumeAt(co, k%6)
		}
		co.Destroy()
		var want []string
		for _, ev := range openCodedOrder {
			want = append(want, "x "+ev)
		}
		for _, ev := range stackDefersOrder {
			want = append(want, "y "+ev)
		}
		for _, ev := range heapDefersOrder {
			want = append(want, "z "+ev)
		}
		assert.Equal(t, want, tr.ev)
	})
}

// TestDestroyUnwindsThreeFramesOfDefers destroys a co suspended with heap,
// stack and open-coded defers pending in three frames: every one runs,
// once, innermost first.
func TestDestroyUnwindsThreeFramesOfDefers(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { threeFrames(co, tr) }, nil)
		for k := 0; k < 5; k++ {
			resumeAt(co, k)
		}
		require.Empty(t, tr.ev)
		co.Destroy()
		assert.Equal(t, []string{"f3 heap 3", "f3 heap 2", "f3 heap 1", "f2 stack 9", "f2 stack 8", "f2 stack 7",
			"f2 stack 6", "f2 stack 5", "f2 stack 4", "f2 stack 3", "f2 stack 2", "f2 stack 1", "f1 open 2", "f1 open 1"}, tr.ev)
		assert.True(t, co.IsEnd())
	})
}

// TestResumerDefersIntact gives the resumer defers of all three kinds
// pending around its Resume calls, while the co keeps its own defers across
// yields: each side's run once, in order, in its own frames.
func TestResumerDefersIntact(t *testing.T) {
	forEndings(t, func(t *testing.T, e *env, end ending) {
		tr := &dtrace{}
		co := e.create(func(co *Co) { threeFrames(co, tr) }, nil)
		resumerOpen(co, tr, func() { end.end(t, co, co.Resume) })
		want := []string{"r heap resumed 0", "r heap resumed 1", "r heap resumed 2"}
		if end.name == "exit" {
			want = append(want, threeFramesOrder...)
		} else {
			want = append(want, ranBefore(threeFramesOrder, "f2 stack 8", "f2 stack 7", "f2 stack 6", "f2 stack 5", "f2 stack 4",
				"f2 stack 3", "f2 stack 2", "f2 stack 1", "f1 open 2", "f1 open 1", "f2 stack 9", "f3 heap 1")...)
		}
		want = append(want, "r ended", "r heap 2", "r heap 1", "r heap 0")
		for i := 9; i >= 1; i-- {
			want = append(want, fmt.Sprint("r stack ", i))
		}
		want = append(want, "r open 2", "r open 1")
		assert.Equal(t, want, tr.ev)
	})
}

//go:noinline
func resumerOpen(co *Co, tr *dtrace, end func()) {
	defer tr.add("r open 1")
	defer func() { tr.add("r open 2") }()
	resumerStack(co, tr, end)
}

//go:noinline
func resumerStack(co *Co, tr *dtrace, end func()) {
	defer tr.add("r stack 1")
	defer tr.add("r stack 2")
	defer tr.add("r stack 3")
	defer tr.add("r stack 4")
	defer tr.add("r stack 5")
	defer tr.add("r stack 6")
	defer tr.add("r stack 7")
	defer tr.add("r stack 8")
	defer tr.add("r stack 9")
	resumerLoop(co, tr, end)
}

//go:noinline
func resumerLoop(co *Co, tr *dtrace, end func()) {
	for i := 0; i < 3; i++ {
		defer tr.add(fmt.Sprint("r heap ", i))
		co.Resume()
		tr.add(fmt.Sprint("r heap resumed ", i))
	}
	end()
	tr.add("r ended")
}
