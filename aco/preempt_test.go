package aco

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestPreemptDuringSwitch switches coroutines in a tight loop while another
// goroutine keeps the garbage collector busy: the collector preempts the
// switching goroutine (with a signal, at any Go instruction where that is
// allowed: the entries of functions, nosplit ones included) to scan its
// stack, sometimes in the middle of a yield. Every frame on the stack at
// such a point must be one the collector's unwinder can walk through: a
// yield routine that wrote SP while Go code ran under it crashed the
// program here ("traceback: unexpected SPWRITE function").
func TestPreemptDuringSwitch(t *testing.T) {
	d := 2 * time.Second
	if testing.Short() {
		d = 300 * time.Millisecond
	}
	var stop atomic.Bool
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for !stop.Load() {
			runtime.GC()
		}
	}()
	main, ss := NewMain(), NewShareStack(0)
	deadline := time.Now().Add(d)
	n := 0
	for time.Now().Before(deadline) {
		// New coroutines (first yields, frame layouts looked up), old ones,
		// and ones with defer records (roots collected before the switch).
		co := Create(main, ss, 0, func(co *Co) {
			for i := 0; i < 3; i++ {
				co.Yield()
			}
		}, nil)
		withDefers := Create(main, ss, 0, func(co *Co) {
			for i := 0; i < 2; i++ {
				defer func() { n++ }()
				co.Yield()
			}
		}, nil)
		for i := 0; i < 100; i++ {
			co.Resume()
			withDefers.Resume()
			if co.IsEnd() {
				co.Reset(func(co *Co) { co.Yield() }, nil)
			}
			if withDefers.IsEnd() {
				withDefers.Destroy()
				withDefers = Create(main, ss, 0, func(co *Co) { defer func() { n++ }(); co.Yield() }, nil)
			}
		}
		co.Destroy()
		withDefers.Destroy()
	}
	stop.Store(true)
	<-gcDone
	ss.Destroy()
	main.Destroy()
	if n == 0 {
		t.Fatal("no deferred call ran")
	}
}
