package aco

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCoroutineValues passes values both ways, strings and slices that
// hold heap pointers, with a collection at every step: each Resume gets the
// value the coroutine yields, each Yield the value of the next Resume.
func TestCoroutineValues(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[string, []string], first string) {
			seen := []string{first}
			for len(seen) < 4 {
				runtime.GC()
				in := c.Yield(append([]string(nil), seen...))
				seen = append(seen, strings.ToUpper(in))
			}
		})
		var got []string
		for _, in := range []string{"a", "b", "c", "d"} {
			out, ok := c.Resume(in)
			runtime.GC()
			got = append(got, fmt.Sprint(out, ok))
		}
		// The fourth value completes seen: the function returns, and that
		// Resume ends the coroutine.
		assert.Equal(t, []string{"[a] true", "[a B] true", "[a B C] true", "[] false"}, got)
		c.Destroy()
	})
}

// TestCoroutineEnd: the Resume that the function's return ends gives the
// zero value and false, and so does every Resume after it (not a panic, as
// a Co's Resume after the end is).
func TestCoroutineEnd(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[int, int], first int) {
			for i := 0; i < 2; i++ {
				first = c.Yield(first * 10)
			}
		})
		var got []string
		for i := 1; i <= 5; i++ {
			v, ok := c.Resume(i)
			got = append(got, fmt.Sprint(v, ok))
		}
		assert.Equal(t, []string{"10 true", "20 true", "0 false", "0 false", "0 false"}, got)
		assert.True(t, c.IsEnd())
		c.Destroy()
		assert.PanicsWithValue(t, "aco: Coroutine.Resume of a destroyed coroutine", func() { c.Resume(0) })
	})
}

// TestCoroutineAll ranges over a coroutine's values, breaks, and continues
// where it left off.
func TestCoroutineAll(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[struct{}, int], _ struct{}) {
			for i := 1; i <= 5; i++ {
				c.Yield(i)
			}
		})
		var first, rest []int
		for v := range c.All() {
			first = append(first, v)
			if v == 2 {
				break
			}
		}
		for v := range c.All() {
			rest = append(rest, v)
		}
		assert.Equal(t, []int{1, 2}, first)
		assert.Equal(t, []int{3, 4, 5}, rest)
		assert.True(t, c.IsEnd())
		c.Destroy()
	})
}

// TestCoroutinePanic: a panic in the coroutine comes out of Resume, and the
// coroutine, ended, answers the next Resume with the end (the panic gave it
// back: a held coroutine would panic "while another goroutine resumes").
func TestCoroutinePanic(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[int, int], first int) {
			c.Yield(1)
			panic("boom")
		})
		v, ok := c.Resume(0)
		require.Equal(t, 1, v)
		require.True(t, ok)
		assert.PanicsWithValue(t, "boom", func() { c.Resume(0) })
		assert.True(t, c.IsEnd())
		v, ok = c.Resume(0)
		assert.Equal(t, 0, v)
		assert.False(t, ok)
		c.Destroy()
		healthy(t, e)
	})
}

// TestCoroutineDestroyUnwinds: Destroy of a suspended coroutine runs its
// deferred calls, and a deferred call that yields does not hand a value to
// anyone (Yield unwinds instead).
func TestCoroutineDestroyUnwinds(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var trace []string
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[int, string], first int) {
			defer func() { trace = append(trace, "deferred") }()
			c.Yield("one")
			trace = append(trace, "resumed")
		})
		v, ok := c.Resume(0)
		require.True(t, ok)
		require.Equal(t, "one", v)
		c.Destroy()
		assert.Equal(t, []string{"deferred"}, trace)
		assert.True(t, c.IsEnd())
	})
}

// TestCoroutineMoved runs a coroutine whose yields are deep enough for the
// copy-stack engine to move it onto a goroutine of its own: values still
// pass both ways.
func TestCoroutineMoved(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[int, int], v int) {
			for {
				deepYield(deepFrames, func() { v = c.Yield(v + 1) })
			}
		})
		v := 0
		for i := 0; i < 200; i++ {
			var ok bool
			v, ok = c.Resume(v)
			require.True(t, ok)
		}
		assert.Equal(t, 200, v)
		if e.ss != nil && copyStackOn && !movesOff() { // not with ACO_MOVE_THRESHOLD=off
			assert.True(t, c.co.Moved(), "a co yielding from deepFrames frames of 64 bytes and more moves")
		}
		c.Destroy()
	})
}

// TestCoroutineAllocs: a round trip allocates nothing, on each kind.
func TestCoroutineAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates")
	}
	forKinds(t, func(t *testing.T, e *env) {
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[string, string], in string) {
			for {
				in = c.Yield(in)
			}
		})
		c.Resume("")
		s := "value"
		allocs := testing.AllocsPerRun(1000, func() {
			if out, ok := c.Resume(s); !ok || out != s {
				t.Fatalf("Resume returned %q, %v", out, ok)
			}
		})
		assert.Zero(t, allocs, "allocations per round trip")
		c.Destroy()
	})
}

// bigValue is larger than the registers that carry arguments and has
// pointers throughout: Yield hands it over by address, and the copy must
// carry the garbage collector's write barriers.
type bigValue struct {
	ptrs [12]*int
	name string
	pad  [5]uint64
}

// makeBig returns the bigValue for n, each pointer to a fresh heap int.
func makeBig(n int) bigValue {
	var b bigValue
	for i := range b.ptrs {
		v := n*100 + i
		b.ptrs[i] = &v
	}
	b.name = fmt.Sprint("value ", n)
	b.pad[4] = uint64(n)
	return b
}

// bigNumber returns the n of makeBig(n), or -1 if b is not one of them.
func bigNumber(b bigValue) int {
	var n int
	if _, err := fmt.Sscanf(b.name, "value %d", &n); err != nil || b.pad[4] != uint64(n) {
		return -1
	}
	for i, p := range b.ptrs {
		if p == nil || *p != n*100+i {
			return -1
		}
	}
	return n
}

// TestCoroutineLargeValues passes big values with pointers both ways while
// the coroutine yields from depths that change (so its frames are copied to
// new places, its stack grows, and deep enough it moves), with a collection
// and a clobbered heap in between: every value arrives whole.
func TestCoroutineLargeValues(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		c := NewCoroutine(e.main, e.ss, func(c *Coroutine[bigValue, bigValue], in bigValue) {
			for i := 0; ; i++ {
				n := bigNumber(in)
				deepYield(i*7%40, func() { in = c.Yield(makeBig(n + 1)) })
			}
		})
		for n := 0; n < 120; n += 2 {
			out, ok := c.Resume(makeBig(n))
			require.True(t, ok)
			runtime.GC()
			require.Equal(t, n+1, bigNumber(out), "round trip %d", n/2)
		}
		c.Destroy()
	})
}
