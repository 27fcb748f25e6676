package aco

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sentinel is a heap object with a finalizer that records when it is
// collected.
type sentinel struct {
	id        int
	data      [48]byte
	collected *atomic.Bool
}

func newSentinel(id int, flag *atomic.Bool) *sentinel {
	s := &sentinel{id: id, collected: flag}
	for i := range s.data {
		s.data[i] = byte(id + i)
	}
	runtime.SetFinalizer(s, func(s *sentinel) { s.collected.Store(true) })
	return s
}

func (s *sentinel) ok(id int) bool {
	if s.id != id {
		return false
	}
	for i := range s.data {
		if s.data[i] != byte(id+i) {
			return false
		}
	}
	return true
}

// waitCollected runs the GC until flag is set or a generous deadline passes.
func waitCollected(flag *atomic.Bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !flag.Load() && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	return flag.Load()
}

// TestSuspendedLocalStaysAlive holds an object that only a suspended
// coroutine's local variable refers to, collects garbage repeatedly, and
// checks with a finalizer that the object survives as long as the coroutine
// holds it and is collected once the coroutine is destroyed.
func TestSuspendedLocalStaysAlive(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		var collected atomic.Bool
		intact := false
		co := e.create(func(co *Co) {
			s := newSentinel(7, &collected) // referenced from this frame only
			for {
				co.Yield()
				intact = s.ok(7)
			}
		}, nil)
		co.Resume()
		for i := 0; i < 5; i++ {
			garbage := make([][]byte, 0, 1000)
			for j := 0; j < 1000; j++ {
				garbage = append(garbage, make([]byte, 1024))
			}
			runtime.GC()
			runtime.GC()
			require.False(t, collected.Load(), "object held by a suspended co was collected")
			co.Resume()
			require.True(t, intact, "object held by the co changed while it was suspended")
			runtime.KeepAlive(garbage)
		}
		co.Destroy()
		assert.True(t, waitCollected(&collected), "object was not collected after the co was destroyed")
	})
}
