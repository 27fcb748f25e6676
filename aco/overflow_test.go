package aco

import (
	"bytes"
	"context"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStackOverflow: unbounded recursion inside a co must end the process
// the way it ends any Go program — the runtime's "goroutine stack exceeds
// N-byte limit" and "fatal error: stack overflow" — and not with silent
// corruption, another crash or a hang. libaco's guard page has this job in C.
//
// Each case runs in a child process (this test binary re-executed with
// ACO_OVERFLOW_CHILD naming the case), which lowers the stack limit to 8 MB
// with debug.SetMaxStack so the overflow comes quickly. On the copy-stack
// engine the co's frames are on its resumer's goroutine stack, so that stack
// is the one that overflows; on the portable engine it is the co's own
// goroutine.
func TestStackOverflow(t *testing.T) {
	if c := os.Getenv(ovfChildEnv); c != "" {
		ovfChild(c)
		t.Fatalf("case %s: the recursion returned", c)
	}
	for _, k := range kinds {
		for _, c := range []string{"fresh", "resumed-elsewhere"} {
			name := k.name + "/" + c
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				cmd := childCommand(ctx, os.Args[0], "-test.run=^TestStackOverflow$", "-test.count=1")
				cmd.Env = append(os.Environ(), ovfChildEnv+"="+name)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				out := stderr.String()
				if ctx.Err() != nil {
					t.Fatalf("the child hung instead of overflowing its stack:\n%s", mcHead(stdout.String()+out, 30))
				}
				if err == nil {
					t.Fatalf("the child exited normally; want the runtime's stack overflow error\n%s", mcHead(stdout.String()+out, 30))
				}
				limit := "runtime: goroutine stack exceeds " + strconv.Itoa(ovfMaxStack) + "-byte limit"
				for _, want := range []string{limit, "fatal error: stack overflow"} {
					if !strings.Contains(out, want) {
						t.Errorf("stderr lacks %q", want)
					}
				}
				for _, bad := range []string{"fatal error: unexpected", "bad pointer", "unexpected return pc",
					"split stack overflow", "SIGSEGV", "unexpected signal", "did not unwind completely",
					"unexpected SPWRITE", "found next stack barrier", "invalid stack", "morestack on g0"} {
					if strings.Contains(out, bad) {
						t.Errorf("stderr reports %q", bad)
					}
				}
				if !strings.Contains(out, "aco.ovfRecurse") {
					t.Errorf("the overflow's traceback does not show the co's recursing frames")
				}
				// The traceback unwinds through the co's bottom frames: on
				// the copy-stack engine into its resumer's Resume, on the
				// portable engine to the co's goroutine's start.
				if k.ss != nil && Engine() == CopyStack && !strings.Contains(out, "aco.(*Co).Resume") {
					t.Errorf("the traceback of the overflowing goroutine does not reach the resumer's Resume")
				}
				if t.Failed() {
					t.Logf("child stderr (first lines):\n%s", mcHead(out, 40))
				}
			})
		}
	}
}

const (
	ovfChildEnv = "ACO_OVERFLOW_CHILD"
	ovfMaxStack = 8 << 20
)

// ovfChild runs one case; it does not return if the runtime does its job.
func ovfChild(name string) {
	debug.SetMaxStack(ovfMaxStack)
	kind, c, _ := strings.Cut(name, "/")
	main := NewMain()
	var ss *ShareStack
	if kind == "sharestack" {
		ss = NewShareStack(0)
	}
	co := Create(main, ss, 0, func(co *Co) {
		if c == "resumed-elsewhere" {
			// Yield from some depth and be resumed on another goroutine
			// (a fresh, small stack), then recurse without end.
			ovfYieldAt(co, 50)
		}
		ovfRecurse(0)
	}, nil)
	switch c {
	case "fresh":
		co.Resume()
	case "resumed-elsewhere":
		co.Resume()
		var wg sync.WaitGroup
		wg.Go(co.Resume)
		wg.Wait()
	}
}

//go:noinline
func ovfYieldAt(co *Co, d int) {
	var pad [64]byte
	pad[d%64] = byte(d)
	if d > 0 {
		ovfYieldAt(co, d-1)
	} else {
		co.Yield()
	}
	if pad[d%64] != byte(d) {
		panic("aco test: frame changed across a yield")
	}
}

//go:noinline
func ovfRecurse(n int) int {
	var pad [128]byte
	pad[n%128] = byte(n)
	return ovfRecurse(n+1) + int(pad[(n+7)%128])
}
