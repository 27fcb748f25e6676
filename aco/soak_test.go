package aco

import (
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// soakCell is what a soak coroutine keeps on the heap and checks.
type soakCell struct {
	id, step uint64
	next     *soakCell
	payload  [6]uint64
}

func newSoakCell(id, step uint64, next *soakCell) *soakCell {
	c := &soakCell{id: id, step: step, next: next}
	for i := range c.payload {
		c.payload[i] = id*1_000_003 + step*31 + uint64(i)
	}
	return c
}

func (c *soakCell) ok(id, step uint64) bool {
	if c.id != id || c.step != step {
		return false
	}
	for i := range c.payload {
		if c.payload[i] != id*1_000_003+step*31+uint64(i) {
			return false
		}
	}
	return true
}

// soakBody yields forever, allocating at every step and keeping a short
// chain of cells reachable only from its frames; it checks them after every
// resume and reports its step through the shared slot.
func soakBody(co *Co) {
	id := co.Arg().(*soakSlot).id
	var tail *soakCell
	for step := uint64(0); ; step++ {
		head := newSoakCell(id, step, tail)
		if tail != nil && tail.next != nil {
			tail.next.next = nil // keep the chain three cells long
		}
		soakDeeper(co, head, 3)
		slot := co.Arg().(*soakSlot)
		if !head.ok(id, step) || (tail != nil && !tail.ok(id, step-1)) {
			slot.bad++
		}
		slot.step = step + 1
		tail = head
	}
}

// soakDeeper yields from a few calls down, with a local array live across
// the yield.
//
//go:noinline
func soakDeeper(co *Co, c *soakCell, depth int) {
	var local [4]uint64
	for i := range local {
		local[i] = c.payload[i] ^ uint64(depth)
	}
	if depth > 0 {
		soakDeeper(co, c, depth-1)
	} else {
		co.Yield()
	}
	for i := range local {
		if local[i] != c.payload[i]^uint64(depth) {
			co.Arg().(*soakSlot).bad++
		}
	}
}

type soakSlot struct {
	id, step uint64
	bad      int
}

// TestSoak runs many share-stack coroutines through tens of millions of
// switches under allocation pressure and periodic garbage collection,
// checking every value. ACO_SOAK=1 gives the full run (100,000 coroutines,
// 50 million switches); without it a shorter one runs; -short skips it.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak test does not run under -short")
	}
	n, switches := 10_000, 2_000_000
	if os.Getenv("ACO_SOAK") != "" {
		n, switches = 100_000, 50_000_000
	}
	main, ss := NewMain(), NewShareStack(0)
	cos := make([]*Co, n)
	slots := make([]*soakSlot, n)
	for i := range cos {
		slots[i] = &soakSlot{id: uint64(i)}
		cos[i] = Create(main, ss, 0, soakBody, slots[i])
	}
	start := time.Now()
	done := 0
	var garbage [][]byte
	for pass := uint64(0); done < switches; pass++ {
		for i, co := range cos {
			co.Resume()
			done++
			if slots[i].step != pass { // each resume finishes one step
				require.Fail(t, "soak: a coroutine lost its place", "co %d at step %d in pass %d", i, slots[i].step, pass)
			}
			if done%64 == 0 {
				garbage = append(garbage, make([]byte, 256))
				if len(garbage) > 4096 {
					garbage = garbage[:0]
				}
			}
			if done%(switches/20) == 0 {
				runtime.GC()
			}
		}
	}
	elapsed := time.Since(start)
	for i, s := range slots {
		require.Zero(t, s.bad, "soak: coroutine %d saw a wrong value", i)
	}
	t.Logf("soak: %d coroutines (%s engine), %d switches (resume+yield) in %v: %.1f M/s, %.0f ns each",
		n, Engine(), done, elapsed.Round(time.Millisecond), float64(done)/elapsed.Seconds()/1e6, float64(elapsed.Nanoseconds())/float64(done))
	for _, co := range cos {
		co.Destroy()
	}
	ss.Destroy()
	main.Destroy()
}
